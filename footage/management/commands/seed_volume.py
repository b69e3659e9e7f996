"""Fill the database with a realistic volume for page-speed measurements: by default 1,000 suspects (each with an
indexed photo), 20 cases of 5 footage files, 10,000 sightings each with one alert (a third still new, the rest
reviewed), their audit events, spread over 30 days.

Rows are bulk-inserted; every media field points at one small image written once, so the media view serves real
files. Seeded rows are marked (external ids ``SEED-*``, case references ``SEED-*``), and a second run adds nothing.
Not for production databases: the rows are synthetic.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import cv2
import numpy as np
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from facecase.files import sha256_of_path
from facecase.models import AuditEvent, Case, CaseMember
from facecase.roles import ROLE_ANALYST, ROLE_OPERATOR, assign_role
from facecase.storage import private_storage
from footage.models import Alert, Footage, Sighting
from suspects.models import Suspect, SuspectPhoto

BATCH = 1000


def _seed_image() -> tuple[str, str]:
    """One face-like JPEG in private storage (scikit-image's astronaut crop), reused by every seeded media field."""
    import skimage.data

    storage = private_storage()
    name = "seed/face.jpg"
    if not storage.exists(name):
        image = cv2.cvtColor(skimage.data.astronaut()[20:260, 140:330], cv2.COLOR_RGB2BGR)
        storage.save(name, ContentFile(cv2.imencode(".jpg", image)[1].tobytes()))
    return name, sha256_of_path(storage.path(name))


class Command(BaseCommand):
    help = "Seed a large synthetic volume (default 10,000 alerts, 1,000 suspects) for benchmarks/ui.py."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--alerts", type=int, default=10_000)
        parser.add_argument("--suspects", type=int, default=1_000)
        parser.add_argument("--cases", type=int, default=20)
        parser.add_argument("--footage-per-case", type=int, default=5)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, alerts: int, suspects: int, cases: int, footage_per_case: int, seed: int,
               **options: Any) -> None:
        if Suspect.objects.filter(external_id__startswith="SEED-").exists():
            self.stdout.write("already seeded (SEED-* rows exist); nothing added")
            return
        rng = random.Random(seed)
        image_name, image_sha = _seed_image()
        with transaction.atomic():
            people = self._people()
            suspect_rows = self._suspects(suspects, image_name, image_sha, people["admin"])
            footage_rows = self._footage(cases, footage_per_case, image_name, image_sha, people)
            self._alerts(alerts, rng, suspect_rows, footage_rows, image_name, image_sha, people["operator"])
        self.stdout.write(f"seeded {len(suspect_rows)} suspects, {cases} cases, {len(footage_rows)} footage, "
                          f"{alerts} sightings and alerts")

    def _people(self) -> dict[str, Any]:
        users = get_user_model()
        people = {}
        for key, role in (("operator", ROLE_OPERATOR), ("analyst", ROLE_ANALYST), ("admin", None)):
            user, created = users.objects.get_or_create(username=f"seed-{key}",
                                                        defaults={"is_superuser": key == "admin"})
            if created:
                user.set_unusable_password()
                user.save()
                if role:
                    assign_role(user, role)
            people[key] = user
        return people

    def _suspects(self, count: int, image: str, sha: str, admin: Any) -> list[Suspect]:
        statuses = [s for s, _ in Suspect.Status.choices]
        rows = Suspect.objects.bulk_create(
            [Suspect(name=f"Seed Person {i:04d}", external_id=f"SEED-{i:05d}", status=statuses[i % len(statuses)],
                     created_by=admin) for i in range(count)], batch_size=BATCH)
        vector = np.zeros(128, np.float32).tobytes()
        photos = []
        for suspect in rows:
            photo = SuspectPhoto(suspect=suspect, original_name="face.jpg", sha256=sha, uploaded_by=admin,
                                 embedding=vector, face_box=[10, 10, 100, 100], embedder="seed")
            photo.image.name = image
            photos.append(photo)
        SuspectPhoto.objects.bulk_create(photos, batch_size=BATCH)
        return rows

    def _footage(self, cases: int, per_case: int, image: str, sha: str, people: dict[str, Any]) -> list[Footage]:
        analyst = people["analyst"]
        case_rows = Case.objects.bulk_create(
            [Case(reference=f"SEED-{i:03d}", title=f"Seeded case {i}", created_by=analyst) for i in range(cases)])
        CaseMember.objects.bulk_create([CaseMember(case=case, user=analyst) for case in case_rows])
        rows = []
        for case in case_rows:
            for j in range(per_case):
                footage = Footage(case=case, original_name=f"cam{j}.mp4", sha256=sha, size=1, content_type="image/jpeg",
                                  kind=Footage.Kind.IMAGE, uploaded_by=analyst, status=Footage.Status.DONE,
                                  progress=100, width=190, height=240, frame_count=1)
                footage.original.name = image
                rows.append(footage)
        return Footage.objects.bulk_create(rows, batch_size=BATCH)

    def _alerts(self, count: int, rng: random.Random, suspects: list[Suspect], footage: list[Footage], image: str,
                sha: str, operator: Any) -> None:
        now = timezone.now()
        sightings = []
        for i in range(count):
            chosen = rng.sample(suspects, 5)
            score = round(rng.uniform(0.55, 0.95), 3)
            sighting = Sighting(
                footage=footage[i % len(footage)], track_id=i, first_frame=0, last_frame=24, first_ts=0.0, last_ts=1.0,
                box=[20, 20, 120, 120], best_frame_index=12, raw_crop_sha256=sha, enhanced_crop_sha256=sha,
                ai_enhanced=bool(i % 2), best_suspect=chosen[0], best_score=score,
                top_candidates=[{"suspect_id": s.pk, "score": round(score - k * 0.05, 3), "distance": 0.4 + k * 0.05}
                                for k, s in enumerate(chosen)],
                enhancement_records=[{"step": "srcnn", "params": {}, "ai_enhanced": True}],
                track_frames=[{"frame": f, "ts": f / 25} for f in range(0, 25, 6)],
            )
            sighting.frame.name = sighting.raw_crop.name = sighting.enhanced_crop.name = image
            sightings.append(sighting)
        sightings = Sighting.objects.bulk_create(sightings, batch_size=BATCH)
        reviewed = [Alert.Status.CONFIRMED, Alert.Status.DISMISSED, Alert.Status.NOT_THIS_PERSON]
        alerts, events = [], []
        for i, sighting in enumerate(sightings):
            status = Alert.Status.NEW if i % 3 == 0 else reviewed[i % 3 - 1]
            created = now - timedelta(minutes=rng.randint(0, 30 * 24 * 60))
            alert = Alert(footage=sighting.footage, sighting=sighting, suspect=sighting.best_suspect,
                          score=sighting.best_score, raw_score=round(sighting.best_score - 0.1, 3),
                          holds_on_raw=bool(i % 4), status=status, camera_name=f"Camera {i % 12}")
            if status != Alert.Status.NEW:
                alert.reviewed_by, alert.reviewed_at = operator, created + timedelta(minutes=5)
            alert.created_at = created
            alerts.append(alert)
        created_times = [alert.created_at for alert in alerts]
        alerts = Alert.objects.bulk_create(alerts, batch_size=BATCH)
        # auto_now_add overwrote the spread of dates on insert; put them back.
        for alert, created in zip(alerts, created_times, strict=True):
            alert.created_at = created
        Alert.objects.bulk_update(alerts, ["created_at"], batch_size=BATCH)
        for alert in alerts:
            if alert.status != Alert.Status.NEW:
                events.append(AuditEvent(actor=operator, actor_username=operator.username, verb="review",
                                         object_type="footage.alert", object_id=str(alert.pk),
                                         details={"to": alert.status, "note": ""}))
        AuditEvent.objects.bulk_create(events, batch_size=BATCH)
