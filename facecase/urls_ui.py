"""URLs of the operator, analyst and admin pages. The names of the first pages (``case-list``, ``case-detail``,
``case-upload``, ``footage-detail``, ``alert-list``, ``suspect-list``) are kept so older links still resolve."""

from django.urls import path

from facecase import views_ui as case_views
from facecase.evidence import views as evidence_views
from facesearch import views_ui as search_views
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
    path("search/face/", search_views.face_search, name="face-search"),
    path("search/face/<int:pk>/probe/", search_views.face_search_probe, name="face-search-probe"),
    path("search/face/enrol/", search_views.suspect_enrol_from_sightings, name="face-search-enrol"),
    path("sightings/<int:pk>/add-to-case/", search_views.sighting_add_to_case, name="sighting-add-to-case"),
    path("profiles/", search_views.profile_list, name="profile-list"),
    path("profiles/<int:pk>/", search_views.profile_detail, name="profile-detail"),
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
