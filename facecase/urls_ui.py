"""URLs of the operator, analyst and admin pages. The names of the first pages (``case-list``, ``case-detail``,
``case-upload``, ``footage-detail``, ``alert-list``, ``suspect-list``) are kept so older links still resolve."""

from django.urls import path

from cameras import views_ui as camera_views
from facecase import views_ui as case_views
from facecase.evidence import views as evidence_views
from footage import views_ui as footage_views
from suspects import views_ui as suspect_views

urlpatterns = [
    # analysts
    path("cases/", case_views.case_list, name="case-list"),
    path("cases/<int:pk>/", case_views.case_detail, name="case-detail"),
    path("cases/<int:pk>/upload/", footage_views.case_upload, name="case-upload"),
    path("cases/<int:pk>/members/", case_views.case_member_add_view, name="case-member-add"),
    path("cases/<int:pk>/notes/", case_views.case_note_add_view, name="case-note-add"),
    path("cases/<int:pk>/export/", evidence_views.case_export, name="case-export"),
    path("footage/<int:pk>/", footage_views.footage_detail, name="footage-detail"),
    path("footage/<int:pk>/status/", footage_views.footage_status, name="footage-status"),
    path("sightings/", footage_views.sighting_search, name="sighting-search"),
    path("calibration/", footage_views.calibration_page, name="calibration"),
    path("sightings/<int:pk>/provenance/", footage_views.sighting_provenance, name="sighting-provenance"),
    path("sightings/<int:pk>/frame/", footage_views.sighting_frame, name="sighting-frame"),
    path("sightings/<int:pk>/track/<int:index>/", footage_views.sighting_track_frame, name="sighting-track-frame"),
    # operators
    path("alerts/", footage_views.alert_list, name="alert-list"),
    path("alerts/<int:pk>/", footage_views.alert_detail, name="alert-detail"),
    path("alerts/<int:pk>/row/", footage_views.alert_row, name="alert-row"),
    path("alerts/<int:pk>/review/", footage_views.alert_review, name="alert-review"),
    path("alerts/<int:pk>/explain/", footage_views.alert_explain, name="alert-explain"),
    path("alerts/<int:pk>/explain.png", footage_views.alert_explain_image, name="alert-explain-image"),
    # live cameras (wall: operators, admins, analysts for their cases' cameras; forms: admins)
    path("cameras/", camera_views.camera_wall, name="camera-wall"),
    path("cameras/status/", camera_views.camera_wall_status, name="camera-wall-status"),
    path("cameras/new/", camera_views.camera_new, name="camera-new"),
    path("cameras/<int:pk>/", camera_views.camera_detail, name="camera-detail"),
    path("cameras/<int:pk>/edit/", camera_views.camera_edit, name="camera-edit"),
    path("cameras/<int:pk>/remove/", camera_views.camera_remove, name="camera-remove"),
    path("cameras/<int:pk>/snapshot.jpg", camera_views.camera_snapshot, name="camera-snapshot"),
    path("alerts/<int:pk>/export/", evidence_views.alert_export, name="alert-export"),
    # admins
    path("suspects/", suspect_views.suspect_list, name="suspect-list"),
    path("suspects/rebuild/", suspect_views.registry_rebuild_view, name="registry-rebuild"),
    path("suspects/new/", suspect_views.suspect_new, name="suspect-new"),
    path("suspects/import/", suspect_views.suspect_import, name="suspect-import"),
    path("suspects/<int:pk>/", suspect_views.suspect_detail, name="suspect-detail"),
    path("suspects/<int:pk>/photos/", suspect_views.suspect_photo_add_view, name="suspect-photo-add"),
    path("suspects/photos/<int:pk>/remove/", suspect_views.suspect_photo_remove_view, name="suspect-photo-remove"),
    path("suspects/photos/<int:pk>/face/", suspect_views.suspect_photo_face, name="suspect-photo-face"),
    path("audit/", case_views.audit_log, name="audit-log"),
]
