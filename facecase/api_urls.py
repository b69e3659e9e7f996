from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from cameras.api import CameraDetailApi, CameraListApi
from facecase.api import CaseDetailApi, CaseListCreateApi
from facecase.api_tokens import TokenObtainApi, TokenRevokeApi, UserTokenRevokeApi
from facecase.export_api import AlertExportApi, CaseExportApi
from footage.api import (
    AlertDetailApi,
    AlertListApi,
    AlertReviewApi,
    CaseFootageApi,
    FootageDetailApi,
    FootageLogApi,
    FootageRequeueApi,
)
from footage.sightings_api import SightingDetailApi, SightingListApi
from suspects.api import SuspectDetailApi, SuspectListCreateApi, SuspectPhotoApi

app_name = "api"

urlpatterns = [
    path("token/", TokenObtainApi.as_view(), name="token"),
    path("token/revoke/", TokenRevokeApi.as_view(), name="token-revoke"),
    path("users/<int:pk>/token/revoke/", UserTokenRevokeApi.as_view(), name="user-token-revoke"),
    path("cases/", CaseListCreateApi.as_view(), name="case-list"),
    path("cases/<int:pk>/", CaseDetailApi.as_view(), name="case-detail"),
    path("cases/<int:pk>/export/", CaseExportApi.as_view(), name="case-export"),
    path("cases/<int:case_id>/footage/", CaseFootageApi.as_view(), name="case-footage"),
    path("footage/<int:pk>/", FootageDetailApi.as_view(), name="footage-detail"),
    path("footage/<int:pk>/log/", FootageLogApi.as_view(), name="footage-log"),
    path("footage/<int:pk>/requeue/", FootageRequeueApi.as_view(), name="footage-requeue"),
    path("suspects/", SuspectListCreateApi.as_view(), name="suspect-list"),
    path("suspects/<int:pk>/", SuspectDetailApi.as_view(), name="suspect-detail"),
    path("suspects/<int:pk>/photos/", SuspectPhotoApi.as_view(), name="suspect-photos"),
    path("cameras/", CameraListApi.as_view(), name="camera-list"),
    path("cameras/<int:pk>/", CameraDetailApi.as_view(), name="camera-detail"),
    path("sightings/", SightingListApi.as_view(), name="sighting-list"),
    path("sightings/<int:pk>/", SightingDetailApi.as_view(), name="sighting-detail"),
    path("alerts/", AlertListApi.as_view(), name="alert-list"),
    path("alerts/<int:pk>/", AlertDetailApi.as_view(), name="alert-detail"),
    path("alerts/<int:pk>/review/", AlertReviewApi.as_view(), name="alert-review"),
    path("alerts/<int:pk>/export/", AlertExportApi.as_view(), name="alert-export"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
