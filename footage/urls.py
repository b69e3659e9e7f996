"""URLs of the footage, sighting and alert pages (``urlpatterns``) and of their REST API (``api_urlpatterns``,
mounted under ``/api/`` in the ``api`` namespace by ``facecase/urls.py``)."""

from django.urls import path

from footage import api, sightings_api, views

urlpatterns = [
    # analysts
    path("cases/<int:pk>/upload/", views.case_upload, name="case-upload"),
    path("footage/<int:pk>/", views.footage_detail, name="footage-detail"),
    path("footage/<int:pk>/status/", views.footage_status, name="footage-status"),
    path("sightings/", views.sighting_search, name="sighting-search"),
    path("calibration/", views.calibration_page, name="calibration"),
    path("sightings/<int:pk>/provenance/", views.sighting_provenance, name="sighting-provenance"),
    path("sightings/<int:pk>/frame/", views.sighting_frame, name="sighting-frame"),
    path("sightings/<int:pk>/track/<int:index>/", views.sighting_track_frame, name="sighting-track-frame"),
    # operators
    path("alerts/", views.alert_list, name="alert-list"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert-detail"),
    path("alerts/<int:pk>/row/", views.alert_row, name="alert-row"),
    path("alerts/<int:pk>/review/", views.alert_review, name="alert-review"),
    path("alerts/<int:pk>/explain/", views.alert_explain, name="alert-explain"),
    path("alerts/<int:pk>/explain.png", views.alert_explain_image, name="alert-explain-image"),
]

api_urlpatterns = [
    path("cases/<int:case_id>/footage/", api.CaseFootageApi.as_view(), name="case-footage"),
    path("footage/<int:pk>/", api.FootageDetailApi.as_view(), name="footage-detail"),
    path("footage/<int:pk>/log/", api.FootageLogApi.as_view(), name="footage-log"),
    path("footage/<int:pk>/requeue/", api.FootageRequeueApi.as_view(), name="footage-requeue"),
    path("sightings/", sightings_api.SightingListApi.as_view(), name="sighting-list"),
    path("sightings/<int:pk>/", sightings_api.SightingDetailApi.as_view(), name="sighting-detail"),
    path("alerts/", api.AlertListApi.as_view(), name="alert-list"),
    path("alerts/<int:pk>/", api.AlertDetailApi.as_view(), name="alert-detail"),
    path("alerts/<int:pk>/review/", api.AlertReviewApi.as_view(), name="alert-review"),
]
