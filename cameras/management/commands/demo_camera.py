"""The live demo camera: the SYNTHETIC clip of the demo suspect (``enhancement.synthetic``: one walk past, then an
empty scene) played in a loop, so the suspect ``manage.py demo`` enrolled raises a live alert at each pass once
``run_cameras`` reads it. ``manage.py demo`` calls this; idempotent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from cameras.models import Camera
from cameras.services import camera_create
from facecase.models import Case

DEMO_CAMERA = "Demo camera (synthetic)"
DEMO_CAMERA_PAUSE_S = 24.0  # one pass every 30 s: a live alert soon after start-up without flooding the queue


class Command(BaseCommand):
    help = "Add the looping synthetic demo camera (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--case", default="", help="reference of the case its sightings attach to")

    def handle(self, *args: Any, case: str, **options: Any) -> None:
        from enhancement.synthetic import make_cctv_clip

        path = Path(settings.VAR_DIR) / "demo" / "demo-camera-synthetic.mp4"
        if not path.exists():
            make_cctv_clip(path, seconds=6.0, pause_seconds=DEMO_CAMERA_PAUSE_S)
        if not Camera.objects.filter(name=DEMO_CAMERA).exists():
            users = get_user_model().objects
            admin = users.filter(username="admin").first() or users.filter(is_superuser=True).first()
            camera_create(actor=admin, name=DEMO_CAMERA, location="synthetic clip, looping", source_url=str(path),
                          case=Case.objects.filter(reference=case).first() if case else None)
        self.stdout.write(f"demo camera '{DEMO_CAMERA}' plays {path.name} in a loop (live wall: /cameras/)")
