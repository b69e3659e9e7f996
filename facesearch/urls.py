"""URLs of the face-search and unknown-people pages (``urlpatterns``) and of their REST API (``api_urlpatterns``,
mounted under ``/api/`` in the ``api`` namespace by ``facecase/urls.py``)."""

from django.urls import path

from facesearch import api, views

urlpatterns = [
    path("search/face/", views.face_search, name="face-search"),
    path("search/face/<int:pk>/probe/", views.face_search_probe, name="face-search-probe"),
    path("search/face/enrol/", views.suspect_enrol_from_sightings, name="face-search-enrol"),
    path("sightings/<int:pk>/add-to-case/", views.sighting_add_to_case, name="sighting-add-to-case"),
    path("profiles/", views.profile_list, name="profile-list"),
    path("profiles/<int:pk>/", views.profile_detail, name="profile-detail"),
]

api_urlpatterns = [
    path("search/", api.FaceSearchApi.as_view(), name="face-search"),
    path("sightings/<int:pk>/attach/", api.SightingAttachApi.as_view(), name="sighting-attach"),
    path("suspects/from-sightings/", api.SuspectFromSightingsApi.as_view(), name="suspect-from-sightings"),
    path("profiles/", api.ProfileListApi.as_view(), name="profile-list"),
    path("profiles/<int:pk>/", api.ProfileDetailApi.as_view(), name="profile-detail"),
    path("profiles/<int:pk>/merge/", api.ProfileMergeApi.as_view(), name="profile-merge"),
    path("profiles/<int:pk>/split/", api.ProfileSplitApi.as_view(), name="profile-split"),
    path("profiles/<int:pk>/promote/", api.ProfilePromoteApi.as_view(), name="profile-promote"),
]
