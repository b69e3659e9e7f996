"""URLs of the live camera pages (``urlpatterns``) and of their REST API (``api_urlpatterns``, mounted under
``/api/`` in the ``api`` namespace by ``facecase/urls.py``)."""

from django.urls import path

from cameras import api, views

urlpatterns = [
    # live wall: operators, admins, analysts for their cases' cameras; forms: admins
    path("cameras/", views.camera_wall, name="camera-wall"),
    path("cameras/status/", views.camera_wall_status, name="camera-wall-status"),
    path("cameras/new/", views.camera_new, name="camera-new"),
    path("cameras/<int:pk>/", views.camera_detail, name="camera-detail"),
    path("cameras/<int:pk>/edit/", views.camera_edit, name="camera-edit"),
    path("cameras/<int:pk>/remove/", views.camera_remove, name="camera-remove"),
    path("cameras/<int:pk>/snapshot.jpg", views.camera_snapshot, name="camera-snapshot"),
]

api_urlpatterns = [
    path("cameras/", api.CameraListApi.as_view(), name="camera-list"),
    path("cameras/<int:pk>/", api.CameraDetailApi.as_view(), name="camera-detail"),
]
