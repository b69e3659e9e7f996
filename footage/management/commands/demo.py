"""Load a demo that shows the main job on a fresh machine: a wanted suspect, footage of her, a real alert.

Everything comes from installed packages (no download, no ``../shared/data``): the suspect is enrolled from
``skimage.data.astronaut()`` and the footage is a SYNTHETIC CCTV clip made from that image
(``enhancement.synthetic.make_cctv_clip``: small, moving, dark, motion-blurred, compressed). The clip goes through
the real ingest and the real footage job (probe, detect, track, enhance, embed, match, alert), run here in this
process so the alert exists when the command returns. ``--shared`` adds the sample footage and registry from
``../shared/data`` when present (Hamilton clip with its two people, Big Bang Theory characters and a group scene,
and an unrelated LFW person who must not alert).

It also adds a live demo camera (the same synthetic clip with an empty pause, looping) that ``run_cameras`` reads:
the demo suspect raises a live alert within a minute of ``make run``.

Idempotent: suspects are keyed by external id, photos and footage by sha256; running it again adds nothing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand

from enhancement.images import encode_png
from facecase.files import sha256_of_path
from facecase.models import Case
from facecase.roles import ROLE_ANALYST, assign_role
from facecase.services import case_create
from footage.models import Alert, Footage
from footage.services import footage_ingest
from footage.tasks import process_footage
from suspects.gallery import registry_rebuild
from suspects.models import Suspect
from suspects.services import suspect_create, suspect_photo_add

DEMO_CASE = "DEMO-1"
SHARED_CASE = "DEMO-SHARED"
BBT = ("amy", "bernadette", "howard", "leonard", "penny", "raj", "sheldon", "stuart")


def _png_upload(name: str, image: Any) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, encode_png(image), content_type="image/png")


class Command(BaseCommand):
    help = "Enrol a demo suspect, attach synthetic CCTV footage of her to a demo case and analyse it (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--shared", action="store_true",
                            help="also load the sample footage and registry from ../shared/data when present")

    def handle(self, *args: Any, shared: bool, **options: Any) -> None:
        self.actor = self._actor()
        from enhancement.synthetic import astronaut_bgr, make_cctv_clip

        self._suspect("Eileen Collins (demo)", "DEMO-ASTRONAUT", Suspect.Status.WANTED,
                      [_png_upload("astronaut.png", astronaut_bgr())],
                      notes="Demo suspect enrolled from skimage.data.astronaut() (NASA, public domain).")
        suspects = [("George W Bush", "DEMO-LFW-GWB", "George_W_Bush")]  # an unrelated enrolled person, when LFW exists
        paths: list[tuple[str, Path]] = []
        if shared:
            paths = self._shared_registry(suspects)
        version = registry_rebuild(reason="manage.py demo")
        self.stdout.write(f"registry {'v' + str(version.number) if version else 'unchanged'}")
        case = self._case(DEMO_CASE, "Demo: synthetic CCTV of a wanted person",
                          "SYNTHETIC footage generated from skimage.data.astronaut(); see enhancement/synthetic.py.")
        self._camera(case)
        with tempfile.TemporaryDirectory() as tmp:
            clip = make_cctv_clip(Path(tmp) / "demo-cctv-synthetic.mp4")
            self.stdout.write(clip.description)
            self._analyse(case, clip.path)
        if shared:
            shared_case = self._case(SHARED_CASE, "Demo: public sample footage",
                                     "Sample clips and stills from ../shared/data (see each folder's SOURCE.md).")
            for _, path in paths:
                self._analyse(shared_case, path)
        alerts = Alert.objects.filter(footage__case__reference__in=[DEMO_CASE, SHARED_CASE]).count()
        self.stdout.write(self.style.SUCCESS(f"demo ready: {alerts} alert(s) on the demo cases"))

    def _camera(self, case: Case) -> None:
        """The live demo camera (``manage.py demo_camera``, in the cameras app, which sits above this one)."""
        from django.core.management import call_command, get_commands

        if "demo_camera" in get_commands():
            call_command("demo_camera", case=case.reference, stdout=self.stdout)

    def _actor(self) -> Any:
        users = get_user_model()
        actor = users.objects.filter(username="analyst").first()
        if actor is None:
            actor, created = users.objects.get_or_create(username="facecase-demo")
            if created:
                actor.set_unusable_password()
                actor.save()
                assign_role(actor, ROLE_ANALYST)
        return actor

    def _case(self, reference: str, title: str, description: str) -> Case:
        case = Case.objects.filter(reference=reference).first()
        return case or case_create(actor=self.actor, reference=reference, title=title, description=description)

    def _suspect(self, name: str, external_id: str, status: str, uploads: list[Any], notes: str = "") -> Suspect:
        suspect = Suspect.objects.filter(external_id=external_id).first()
        if suspect is None:
            suspect = suspect_create(actor=self.actor, name=name, external_id=external_id, status=status, notes=notes)
        for upload in uploads:
            suspect_photo_add(actor=self.actor, suspect=suspect, upload=upload)
        return suspect

    def _shared_registry(self, extra: list[tuple[str, str, str]]) -> list[tuple[str, Path]]:
        from enhancement.datasets import has_shared_data, shared_data_dir

        if not has_shared_data():
            self.stdout.write("--shared: ../shared/data is absent on this machine; skipping the sample footage")
            return []
        root = shared_data_dir()
        examples = root / "face_recognition_examples"
        for name, ext, file in (("Lin-Manuel Miranda", "DEMO-LMM", "lin-manuel-miranda.png"),
                                ("Alex Lacamoire", "DEMO-AL", "alex-lacamoire.png")):
            self._suspect(name, ext, Suspect.Status.PERSON_OF_INTEREST, [self._file(examples / file)])
        for character in BBT:
            photos = sorted((root / "faceapi_bbt" / "images" / character).glob("*.png"))
            self._suspect(character.title(), f"DEMO-BBT-{character.upper()}", Suspect.Status.PERSON_OF_INTEREST,
                          [self._file(p) for p in photos])
        for name, ext, folder in extra:
            photos = sorted((root / "lfw" / "images_deepfunneled" / folder).glob("*.jpg"))[:3]
            if photos:
                self._suspect(name, ext, Suspect.Status.PERSON_OF_INTEREST, [self._file(p) for p in photos])
        # Not the Intel corridor GIFs: their 256-colour faces raised a false alert (a passer-by matched to a BBT
        # character at 0.72) when we tried, which is a finding for calibration, not something to demo.
        return [("hamilton", examples / "short_hamilton_clip.mp4"),
                ("bbt", root / "faceapi_bbt" / "images" / "bbt1.jpg")]

    @staticmethod
    def _file(path: Path) -> SimpleUploadedFile:
        return SimpleUploadedFile(path.name, path.read_bytes())

    def _analyse(self, case: Case, path: Path) -> Footage:
        digest = sha256_of_path(path)
        footage = Footage.objects.filter(case=case, sha256=digest).first()
        if footage is None:
            with open(path, "rb") as handle:
                upload = SimpleUploadedFile(path.name, handle.read())
            footage = footage_ingest(actor=self.actor, case=case, upload=upload)
        if footage.status == Footage.Status.QUEUED:
            # Run the job here (the same task a worker runs) so the alert exists when the command returns; the
            # copy the ingest queued finds the row already claimed and does nothing.
            self.stdout.write(f"analysing {path.name} ...")
            process_footage(footage.pk)
        footage.refresh_from_db()
        alerts = ", ".join(f"{a.suspect.name} {a.score:.2f}" for a in footage.alerts.select_related("suspect"))
        self.stdout.write(f"{path.name}: {footage.status}{' - ' + footage.error if footage.error else ''}; "
                          f"{footage.sightings.count()} sighting(s); alerts: {alerts or 'none'}")
        return footage
