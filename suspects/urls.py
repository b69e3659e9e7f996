"""URLs of the suspect registry pages (``urlpatterns``, admins only) and of its REST API (``api_urlpatterns``,
mounted under ``/api/`` in the ``api`` namespace by ``facecase/urls.py``)."""

from django.urls import path

from suspects import api, views

urlpatterns = [
    path("suspects/", views.suspect_list, name="suspect-list"),
    path("suspects/rebuild/", views.registry_rebuild_view, name="registry-rebuild"),
    path("suspects/new/", views.suspect_new, name="suspect-new"),
    path("suspects/import/", views.suspect_import, name="suspect-import"),
    path("suspects/<int:pk>/", views.suspect_detail, name="suspect-detail"),
    path("suspects/<int:pk>/photos/", views.suspect_photo_add_view, name="suspect-photo-add"),
    path("suspects/photos/<int:pk>/remove/", views.suspect_photo_remove_view, name="suspect-photo-remove"),
    path("suspects/photos/<int:pk>/face/", views.suspect_photo_face, name="suspect-photo-face"),
]

api_urlpatterns = [
    path("suspects/", api.SuspectListCreateApi.as_view(), name="suspect-list"),
    path("suspects/<int:pk>/", api.SuspectDetailApi.as_view(), name="suspect-detail"),
    path("suspects/<int:pk>/photos/", api.SuspectPhotoApi.as_view(), name="suspect-photos"),
]
