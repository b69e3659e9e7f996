"""The audit log: services write one event per change, and nothing can change or remove an event."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import HAMILTON_CLIP, shared_file
from django.contrib.admin.sites import site
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction
from django.test import Client, RequestFactory

from facecase.models import AuditEvent, AuditLogError
from facecase.services import case_create, case_update
from footage.models import Alert, ReviewLabel
from footage.services import alert_confirm, alert_not_this_person, footage_ingest
from suspects.services import suspect_create, suspect_delete, suspect_update


def test_it_records_who_did_what_to_cases_suspects_footage_and_alerts(alice: Any, bob: Any, charlie: Any):
    case = case_create(actor=charlie, reference="CASE-9", title="Night shift")
    case_update(actor=charlie, case=case, title="Night shift, platform 3")
    case_update(actor=charlie, case=case, title="Night shift, platform 3")  # no change, no event
    suspect = suspect_create(actor=alice, name="Joe Biden", external_id="S-9")
    suspect_update(actor=alice, suspect=suspect, status="wanted")
    photo = shared_file(HAMILTON_CLIP.parent / "obama-240p.jpg").read_bytes()
    footage = footage_ingest(actor=charlie, case=case, upload=SimpleUploadedFile("still.jpg", photo, "image/jpeg"))
    alert = Alert.objects.create(footage=footage, suspect=suspect, score=0.7)
    alert_confirm(actor=bob, alert=alert, note="same ear shape")

    trail = [(e.actor_username, e.verb, e.object_type) for e in AuditEvent.objects.order_by("id")]
    assert trail == [
        ("charlie", "create", "facecase.case"),
        ("charlie", "update", "facecase.case"),
        ("alice", "create", "suspects.suspect"),
        ("alice", "update", "suspects.suspect"),
        ("charlie", "upload", "footage.footage"),
        ("bob", "review", "footage.alert"),
    ]
    update = AuditEvent.objects.get(verb="update", object_type="facecase.case")
    assert update.details["changes"]["title"] == {"from": "Night shift", "to": "Night shift, platform 3"}
    review = AuditEvent.objects.get(verb="review")
    assert review.details == {"from": "new", "to": "confirmed", "note": "same ear shape", "suspect": suspect.pk}

    with pytest.raises(ValidationError, match="has alerts on record"):
        suspect_delete(actor=alice, suspect=suspect)
    unseen = suspect_create(actor=alice, name="Rose Leslie", external_id="S-10")
    unseen_id = unseen.pk
    suspect_delete(actor=alice, suspect=unseen)
    assert AuditEvent.objects.filter(verb="delete", object_id=str(unseen_id), actor=alice).exists()


def test_it_keeps_a_training_label_for_each_verdict_on_identity(alice: Any, bob: Any, charlie: Any):
    case = case_create(actor=charlie, reference="CASE-8", title="Lobby")
    suspect = suspect_create(actor=alice, name="Kit Harington", external_id="S-8")
    photo = shared_file(HAMILTON_CLIP.parent / "obama-240p.jpg").read_bytes()
    footage = footage_ingest(actor=charlie, case=case, upload=SimpleUploadedFile("a.jpg", photo, "image/jpeg"))
    first = Alert.objects.create(footage=footage, suspect=suspect, score=0.7)
    alert_not_this_person(actor=bob, alert=first, note="different nose")
    assert list(ReviewLabel.objects.values_list("label", flat=True)) == ["different"]


def test_it_refuses_to_edit_or_delete_an_audit_event(charlie: Any):
    case_create(actor=charlie, reference="CASE-7", title="Car park")
    event = AuditEvent.objects.get()
    event.verb = "nothing happened"
    with pytest.raises(AuditLogError):
        event.save()
    with pytest.raises(AuditLogError):
        event.delete()
    with pytest.raises(AuditLogError):
        AuditEvent.objects.filter(pk=event.pk).update(verb="nothing happened")
    with pytest.raises(AuditLogError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().verb == "create"


def test_it_refuses_a_raw_sql_update_of_the_audit_table(charlie: Any):
    """Even code that bypasses the ORM cannot rewrite history: the database refuses."""
    case_create(actor=charlie, reference="CASE-7", title="Car park")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE facecase_auditevent SET verb = 'nothing happened'")
    assert AuditEvent.objects.get().verb == "create"


def test_it_shows_the_audit_log_read_only_in_the_admin(alice: Any, charlie: Any):
    case_create(actor=charlie, reference="CASE-6", title="Bus stop")
    event = AuditEvent.objects.get()
    model_admin = site._registry[AuditEvent]
    request = RequestFactory().get("/admin/")
    request.user = alice
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)

    client = Client()
    client.force_login(alice)
    page = client.get(f"/admin/facecase/auditevent/{event.pk}/change/")
    assert page.status_code == 200 and b"Save" not in page.content
    assert client.post(f"/admin/facecase/auditevent/{event.pk}/change/", {"verb": "x"}).status_code == 403
    assert client.post(f"/admin/facecase/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.get().verb == "create"


def test_it_audits_downloads_of_originals_and_serves_them_defensively(charlie: Any):
    case = case_create(actor=charlie, reference="CASE-5", title="Shop")
    photo = shared_file(HAMILTON_CLIP.parent / "obama-240p.jpg").read_bytes()
    footage = footage_ingest(actor=charlie, case=case, upload=SimpleUploadedFile("a.jpg", photo, "image/jpeg"))
    client = Client()
    client.force_login(charlie)
    response = client.get(f"/media/footage/{footage.pk}/original/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == photo
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Content-Type"] == "image/jpeg"
    assert AuditEvent.objects.filter(verb="download", object_id=str(footage.pk), actor=charlie).count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_puts_the_role_groups_back_after_a_flush():
    """Transactional tests empty every table between tests; the roles must come back with the permissions."""
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)
    assert set(Group.objects.values_list("name", flat=True)) == {"admin", "operator", "analyst"}
    assert Group.objects.get(name="operator").permissions.filter(codename="change_alert").exists()
