"""The pages: each role reaches its own pages and nothing else, links it may not follow are not shown, and the
analyst's case page and upload, the operator's queue and review workspace show real data."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from facecase.models import AuditEvent
from footage.models import Alert, Footage, ReviewLabel
from tests.ui_factory import astronaut, jpeg, make_alert, make_footage, make_sighting, make_suspect

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alert(alice: Any, charlie: Any, charlies_case: Any) -> Alert:
    return make_alert(charlies_case, charlie, make_suspect(alice))


PAGES = {
    "/cases/": {"alice": 200, "bob": 403, "charlie": 200, "mallory": 403},
    "/sightings/": {"alice": 200, "bob": 403, "charlie": 200, "mallory": 403},
    "/alerts/": {"alice": 200, "bob": 200, "charlie": 200, "mallory": 403},
    "/suspects/": {"alice": 200, "bob": 403, "charlie": 403, "mallory": 403},
    "/suspects/new/": {"alice": 200, "bob": 403, "charlie": 403, "mallory": 403},
    "/suspects/import/": {"alice": 200, "bob": 403, "charlie": 403, "mallory": 403},
    "/audit/": {"alice": 200, "bob": 403, "charlie": 403, "mallory": 403},
}


def test_it_lets_each_role_reach_only_its_pages(alice: Any, bob: Any, charlie: Any, mallory: Any):
    people = {"alice": alice, "bob": bob, "charlie": charlie, "mallory": mallory}
    seen = {}
    for url in PAGES:
        for name, user in people.items():
            seen[(url, name)] = logged_in(user).get(url).status_code
    assert seen == {(url, name): code for url, codes in PAGES.items() for name, code in codes.items()}


def test_it_sends_anonymous_visitors_to_the_login_page(db: None):
    for url in [*PAGES, "/alerts/1/", "/cases/1/"]:
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


def test_it_shows_a_designed_page_instead_of_a_bare_403(bob: Any):
    response = logged_in(bob).get("/audit/")
    assert response.status_code == 403
    assert "You don't have access to this page" in response.content.decode()


def test_it_hides_links_a_user_may_not_follow(alice: Any, bob: Any, charlie: Any):
    operator_page = logged_in(bob).get("/alerts/").content.decode()
    assert 'href="/alerts/"' in operator_page
    for hidden in ('href="/cases/"', 'href="/suspects/"', 'href="/audit/"', 'href="/users/"', 'href="/admin/"'):
        assert hidden not in operator_page
    analyst_page = logged_in(charlie).get("/cases/").content.decode()
    assert 'href="/cases/"' in analyst_page and 'href="/suspects/"' not in analyst_page
    admin_page = logged_in(alice).get("/cases/").content.decode()
    for shown in ('href="/suspects/"', 'href="/audit/"', 'href="/users/"'):
        assert shown in admin_page
    assert 'href="/admin/"' not in admin_page  # users and roles are in the app; the Django admin is for superusers
    alice.is_superuser = True
    alice.save(update_fields=["is_superuser"])
    assert 'href="/admin/"' in logged_in(alice).get("/cases/").content.decode()


def test_it_counts_new_alerts_in_the_header_for_operators_only(alert: Alert, bob: Any, charlie: Any):
    assert 'id="alert-count"' in logged_in(bob).get("/alerts/").content.decode()
    assert 'aria-label="1 new alerts"' in logged_in(bob).get("/alerts/").content.decode()
    assert 'id="alert-count"' not in logged_in(charlie).get("/cases/").content.decode()


def test_it_keeps_another_analysts_case_and_its_footage_out_of_reach(alert: Alert, dave: Any, charlies_case: Any):
    client = logged_in(dave)
    assert client.get(f"/cases/{charlies_case.pk}/").status_code == 404
    assert client.get(f"/footage/{alert.footage_id}/").status_code == 404
    assert client.get(f"/alerts/{alert.pk}/").status_code == 404
    assert client.get(f"/sightings/{alert.sighting_id}/provenance/").status_code == 404


def test_it_shows_the_case_with_footage_sightings_alerts_and_members(alert: Alert, charlie: Any, charlies_case: Any):
    page = logged_in(charlie).get(f"/cases/{charlies_case.pk}/").content.decode()
    assert "platform2-cam3.jpg" in page and 'class="footage-status status-done"' in page
    assert f"/media/sighting/{alert.sighting_id}/raw_crop/" in page  # the sightings gallery shows the best crop
    assert "Eileen Collins" in page and "still image" in page  # a photo is labelled a still, not "0.0 s"
    assert f'href="/alerts/{alert.pk}/"' in page
    assert "charlie" in page and 'id="upload-form"' in page


def test_it_says_against_which_registry_an_unmatched_sighting_found_no_match(charlie: Any, charlies_case: Any):
    from suspects.models import RegistryVersion

    sighting = make_sighting(make_footage(charlies_case, charlie), suspect=None)
    page = logged_in(charlie).get(f"/cases/{charlies_case.pk}/").content.decode()
    assert "No match (no registry yet)" in page and "Unknown" not in page
    sighting.registry_version = RegistryVersion.objects.create(number=7, status="ready", suspect_count=2)
    sighting.save(update_fields=["registry_version"])
    page = logged_in(charlie).get(f"/cases/{charlies_case.pk}/").content.decode()
    assert "No match in registry v7 (2 suspects)" in page


def test_it_keeps_case_notes_in_the_audit_log_and_adds_members(charlie: Any, dave: Any, charlies_case: Any):
    client = logged_in(charlie)
    client.post(f"/cases/{charlies_case.pk}/notes/", {"text": "Suspect seen leaving at 14:02."})
    client.post(f"/cases/{charlies_case.pk}/members/", {"username": "dave"})
    refused = client.post(f"/cases/{charlies_case.pk}/notes/", {"text": "   "}, follow=True).content.decode()
    assert "Note not saved: Write something first." in refused
    page = client.get(f"/cases/{charlies_case.pk}/").content.decode()
    assert "Suspect seen leaving at 14:02." in page
    assert AuditEvent.objects.filter(verb="note", object_id=str(charlies_case.pk)).count() == 1
    assert logged_in(dave).get(f"/cases/{charlies_case.pk}/").status_code == 200  # dave is a member now


def test_it_answers_an_xhr_upload_with_json_for_the_progress_page(charlie: Any, charlies_case: Any, settings: Any):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = logged_in(charlie)
    response = client.post(f"/cases/{charlies_case.pk}/upload/",
                           {"file": SimpleUploadedFile("still.jpg", jpeg(astronaut()), content_type="image/jpeg")},
                           HTTP_ACCEPT="application/json")
    assert response.status_code == 201
    body = response.json()
    assert body["url"] == f"/footage/{body['id']}/" and body["status"] == "queued"
    refused = client.post(f"/cases/{charlies_case.pk}/upload/",
                          {"file": SimpleUploadedFile("x.mp4", b"not a video", content_type="video/mp4")},
                          HTTP_ACCEPT="application/json")
    assert refused.status_code == 400 and "Upload refused (x.mp4)" in refused.json()["error"]
    status = client.get(f"/footage/{body['id']}/status/").json()
    assert status["status"] == "queued" and status["log"] == []


def test_it_shows_a_failed_footage_reason(charlie: Any, charlies_case: Any):
    footage = make_footage(charlies_case, charlie)
    footage.status, footage.error = "failed", "video is truncated or damaged"
    footage.save()
    page = logged_in(charlie).get(f"/footage/{footage.pk}/").content.decode()
    assert "Analysis failed: video is truncated or damaged" in page


def test_it_opens_the_queue_on_new_alerts_and_filters_it(alice: Any, bob: Any, charlie: Any, charlies_case: Any):
    eileen = make_suspect(alice)
    other = make_suspect(alice, name="Franz Kafka", external_id="W-0002", photo=False)
    footage = make_footage(charlies_case, charlie)
    first = make_alert(charlies_case, charlie, eileen, track_id=1, footage=footage)
    second = make_alert(charlies_case, charlie, other, track_id=2, footage=footage)
    Alert.objects.filter(pk=second.pk).update(status="dismissed", camera_name="Car park")
    client = logged_in(bob)

    def ids(query: str) -> set[int]:
        return {a.pk for a in client.get("/alerts/" + query).context["page"].object_list}

    assert ids("") == {first.pk}  # the queue opens on what needs review
    assert ids("?status=") == {first.pk, second.pk}
    assert ids(f"?status=&suspect={other.pk}") == {second.pk}
    assert ids("?status=&suspect=kafka") == {second.pk} and ids("?status=&suspect=W-0001") == {first.pk}
    assert ids("?status=&camera=car+park") == {second.pk}
    assert ids(f"?status=&case={charlies_case.pk}") == {first.pk, second.pk}
    today = first.created_at.date().isoformat()
    assert ids(f"?status=&date_from={today}&date_to={today}") == {first.pk, second.pk}
    assert ids("?status=&date_to=2000-01-01") == set()


def test_the_alerts_api_filters_by_suspect_case_camera_footage_and_time(alice: Any, bob: Any, charlie: Any,
                                                                        charlies_case: Any):
    from cameras.models import Camera

    eileen = make_suspect(alice)
    other = make_suspect(alice, name="Franz Kafka", external_id="W-0002", photo=False)
    footage = make_footage(charlies_case, charlie)
    upload = make_alert(charlies_case, charlie, eileen, track_id=1, footage=footage)
    live = make_alert(charlies_case, charlie, other, track_id=2)
    camera = Camera.objects.create(name="Gate 1", source_url="rtsp://127.0.0.1:1/cam")
    # a camera alert whose footage file name would match a name search for "1": the API filters by id
    Alert.objects.filter(pk=live.pk).update(camera=camera, footage=None, camera_name=camera.name)
    client = logged_in(bob)

    def ids(query: str) -> set[int]:
        response = client.get("/api/alerts/" + query)
        assert response.status_code == 200, response.content
        return {a["id"] for a in response.json()["results"]}

    assert ids("") == {upload.pk, live.pk}
    assert ids(f"?camera={camera.pk}") == {live.pk}
    assert ids(f"?camera={camera.pk + 1}") == set()
    assert ids(f"?footage={footage.pk}") == {upload.pk}
    assert ids(f"?suspect={eileen.pk}") == {upload.pk} and ids(f"?suspect={other.pk}") == {live.pk}
    assert ids(f"?case={charlies_case.pk}") == {upload.pk}  # the camera is attached to no case
    Camera.objects.filter(pk=camera.pk).update(case=charlies_case)
    assert ids(f"?case={charlies_case.pk}") == {upload.pk, live.pk}
    stamp = upload.created_at.isoformat().replace("+00:00", "Z")
    assert upload.pk in ids(f"?created_after={stamp}") and ids(f"?created_before={stamp}") & {upload.pk} == set()
    for bad in ("?camera=gate", "?camera=0", "?suspect=1&suspect=2", "?created_after=yesterday"):
        response = client.get("/api/alerts/" + bad)
        assert response.status_code == 400, bad


def test_it_shows_the_review_workspace_with_both_crops_and_the_suspect_photo(alert: Alert, bob: Any):
    client = logged_in(bob)
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    photo = alert.suspect.photos.get()
    for url in (f"/sightings/{alert.sighting_id}/frame/", f"/media/sighting/{alert.sighting_id}/raw_crop/",
                f"/media/sighting/{alert.sighting_id}/enhanced_crop/", f"/media/suspect-photo/{photo.pk}/image/"):
        assert url in page
        response = client.get(url)
        assert response.status_code == 200 and response["X-Content-Type-Options"] == "nosniff", url
        assert b"".join(response.streaming_content)[:4] in (b"\xff\xd8\xff\xe0", b"\x89PNG"), url
    assert "AI-enhanced" in page and "srcnn" in page
    assert f'href="/sightings/{alert.sighting_id}/provenance/"' in page
    assert "83%" in page and "52%" in page  # enhanced vs raw score
    assert "The match depends on enhancement" in page
    assert "W-0001" in page and "Wanted" in page
    assert 'href="/cases/' not in page and 'href="/suspects/' not in page  # an operator may follow neither
    assert 'data-box="' in page and "3 frames, 0.0–1.0 s" in page  # face box and the track summary
    assert 'id="alert-threshold"' not in page  # this footage's analysis saved no threshold: nothing to explain


def test_it_says_which_threshold_the_footage_alerted_under_and_why(alert: Alert, bob: Any):
    from footage.calibration import threshold_basis

    basis = threshold_basis(12)
    Footage.objects.filter(pk=alert.footage_id).update(
        analysis_state={"config": {"threshold": 0.5338}, "threshold_basis": basis})
    page = logged_in(bob).get(f"/alerts/{alert.pk}/").content.decode()
    assert "Alerts when d &lt; 0.534" in page
    assert "a registry of 12 suspects so that about 1 % of people who are not in it would alert" in page


def test_it_shows_the_provenance_record_of_the_enhanced_crop(alert: Alert, bob: Any):
    page = logged_in(bob).get(f"/sightings/{alert.sighting_id}/provenance/").content.decode()
    assert "srcnn" in page and "srcnn.weights.h5" in page and "c" * 64 in page


def test_it_records_a_decision_with_its_note_and_shows_who_decided(alert: Alert, bob: Any):
    client = logged_in(bob)
    response = client.post(f"/alerts/{alert.pk}/review/", {"action": "confirm", "note": "Same scar on the chin"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert (alert.status, alert.reviewed_by, alert.review_note) == ("confirmed", bob, "Same scar on the chin")
    event = AuditEvent.objects.get(verb="review", object_id=str(alert.pk))
    assert event.actor == bob and event.details["to"] == "confirmed"
    assert event.details["note"] == "Same scar on the chin"
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert "by <strong>bob</strong>" in page and "Same scar on the chin" in page


def test_it_does_not_silently_overwrite_another_operators_decision(alert: Alert, bob: Any):
    from conftest import make_user

    carol = make_user("carol", "operator")
    logged_in(bob).post(f"/alerts/{alert.pk}/review/", {"action": "confirm"})
    refused = logged_in(carol).post(f"/alerts/{alert.pk}/review/", {"action": "dismiss"},
                                    HTTP_ACCEPT="application/json")
    assert refused.status_code == 409 and "by bob" in refused.json()["error"]
    alert.refresh_from_db()
    assert alert.status == "confirmed"
    unexplained = logged_in(carol).post(f"/alerts/{alert.pk}/review/", {"action": "not_this_person", "override": "1"},
                                        HTTP_ACCEPT="application/json")
    assert unexplained.status_code == 409 and "needs a note" in unexplained.json()["error"]
    changed = logged_in(carol).post(f"/alerts/{alert.pk}/review/", {
        "action": "not_this_person", "override": "1", "note": "different ear shape"}, HTTP_ACCEPT="application/json")
    assert changed.json()["status"] == "not_this_person" and changed.json()["reviewed_by"] == "carol"
    override = AuditEvent.objects.get(verb="review_override", object_id=str(alert.pk))
    assert override.actor == carol and override.details["previous_decision"]["status"] == "confirmed"
    assert override.details["previous_decision"]["reviewed_by"] == "bob"


def test_it_refuses_a_second_review_through_the_api_unless_overridden(alert: Alert, bob: Any):
    from rest_framework.test import APIClient

    api = APIClient()  # the API takes JSON bodies (uploads excepted): the schema offers one content type
    api.default_format = "json"
    api.force_authenticate(bob)
    assert api.post(f"/api/alerts/{alert.pk}/review/", {"decision": "confirm"}).status_code == 200
    again = api.post(f"/api/alerts/{alert.pk}/review/", {"decision": "dismiss"})
    assert again.status_code == 409 and "already reviewed" in again.json()["detail"]
    assert Alert.objects.get(pk=alert.pk).status == "confirmed"
    no_note = api.post(f"/api/alerts/{alert.pk}/review/", {"decision": "dismiss", "override": True})
    assert no_note.status_code == 400
    changed = api.post(f"/api/alerts/{alert.pk}/review/", {"decision": "dismiss", "override": True,
                                                            "note": "wrong track: two people crossed"})
    assert changed.status_code == 200 and changed.json()["status"] == "dismissed"
    assert not ReviewLabel.objects.filter(alert=alert).exists()  # the latest decision says nothing about identity


def test_it_shows_review_actions_only_to_those_who_may_perform_them(alert: Alert, alice: Any, bob: Any):
    admin_page = logged_in(alice).get(f"/alerts/{alert.pk}/").content.decode()
    operator_page = logged_in(bob).get(f"/alerts/{alert.pk}/").content.decode()
    assert 'id="review-form"' not in admin_page
    assert logged_in(alice).post(f"/alerts/{alert.pk}/review/", {"action": "confirm"}).status_code == 403
    assert 'id="review-form"' in operator_page
    assert logged_in(bob).post(f"/alerts/{alert.pk}/review/", {"action": "confirm"}).status_code == 302


def test_it_lets_analysts_see_but_not_review_alerts_on_their_cases(alert: Alert, charlie: Any):
    client = logged_in(charlie)
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert 'id="review-form"' not in page and "Only operators review alerts." in page
    assert client.post(f"/alerts/{alert.pk}/review/", {"action": "confirm"}).status_code == 403
    assert Alert.objects.get(pk=alert.pk).status == "new"


def test_it_renders_one_queue_row_for_a_live_pushed_alert(alert: Alert, bob: Any):
    row = logged_in(bob).get(f"/alerts/{alert.pk}/row/").content.decode()
    assert row.startswith(f'<tr data-alert-id="{alert.pk}"') and "fresh" in row and "Eileen Collins" in row


def test_it_finds_sightings_of_a_suspect_across_cases(alert: Alert, alice: Any, charlie: Any):
    from facecase.services import case_create

    second_case = case_create(actor=charlie, reference="CASE-2", title="Car park")
    make_sighting(make_footage(second_case, charlie, name="carpark.jpg"), suspect=alert.suspect)
    page = logged_in(charlie).get(f"/sightings/?suspect={alert.suspect_id}")
    assert page.context["page"].paginator.count == 2
    assert "CASE-1" in page.content.decode() and "CASE-2" in page.content.decode()
    by_name = logged_in(charlie).get("/sightings/?q=eileen")
    assert by_name.context["suspect"] == alert.suspect and by_name.context["page"].paginator.count == 2
    make_suspect(alice, name="Eileen Other", external_id="W-8", photo=False)
    choice = logged_in(charlie).get("/sightings/?q=eileen").content.decode()
    assert "2 suspects match “eileen” — choose one" in choice and f'href="?suspect={alert.suspect_id}"' in choice
    nobody = make_suspect(alice, name="Nobody Seen", external_id="W-9", photo=False)
    empty = logged_in(charlie).get(f"/sightings/?suspect={nobody.pk}").content.decode()
    assert "No sightings of Nobody Seen" in empty


def test_it_decodes_the_full_frame_from_the_original_when_the_analysis_kept_none(alert: Alert, bob: Any):
    import cv2
    import numpy as np

    from footage.models import Sighting

    Sighting.objects.filter(pk=alert.sighting_id).update(frame="")
    response = logged_in(bob).get(f"/sightings/{alert.sighting_id}/frame/")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    frame = cv2.imdecode(np.frombuffer(b"".join(response.streaming_content), np.uint8), cv2.IMREAD_COLOR)
    assert frame.shape == (512, 512, 3)  # the footage original, not a crop
    assert Sighting.objects.get(pk=alert.sighting_id).frame.name.endswith("/frame-12.jpg")


def test_it_serves_track_strip_crops_only_from_the_sightings_own_folder(alert: Alert, bob: Any):
    from django.core.files.base import ContentFile

    from facecase.storage import private_storage
    from footage.models import Sighting

    storage = private_storage()
    own = storage.save(f"sightings/footage-{alert.footage_id}/track-1/frame-0.png", ContentFile(b"\x89PNG fake"))
    other = storage.save("suspects/1/secret.png", ContentFile(b"\x89PNG secret"))
    Sighting.objects.filter(pk=alert.sighting_id).update(track_frames=[
        {"frame": 0, "ts": 0.0, "crop": own}, {"frame": 6, "ts": 0.2, "crop": other},
        {"frame": 9, "ts": 0.3, "crop": f"sightings/footage-{alert.footage_id}/track-1/../../../suspects/1/secret.png"},
    ])
    client = logged_in(bob)
    assert f'src="/sightings/{alert.sighting_id}/track/0/"' in client.get(f"/alerts/{alert.pk}/").content.decode()
    assert b"".join(client.get(f"/sightings/{alert.sighting_id}/track/0/").streaming_content) == b"\x89PNG fake"
    assert client.get(f"/sightings/{alert.sighting_id}/track/1/").status_code == 404
    assert client.get(f"/sightings/{alert.sighting_id}/track/2/").status_code == 404
    assert client.get(f"/sightings/{alert.sighting_id}/track/7/").status_code == 404
