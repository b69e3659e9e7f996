"""Valid footage is never refused: the same 4-second face clip, converted by ffmpeg into every container and codec
CCTV exports use, is analysed with the right duration and the right sighting times.

The clip (``tests/media_corpus.py``) shows the astronaut's face from 1.0 s to 3.0 s. Each file goes through the real
ingest and the footage job run in this process (``footage.tasks.process_footage``, what a worker runs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from footage.models import Footage, JobLogLine, Sighting
from footage.services import footage_ingest
from footage.tasks import process_footage
from tests.media_corpus import FACE_FROM, FORMATS, Format, make_master, need_ffmpeg

pytestmark = pytest.mark.django_db

# Analysis runs at 10 frames a second, so a face is first seen within 0.1 s of appearing; Haar may miss the
# first analysed frame of a blurred or converted clip, hence one more step either way.
TIME_TOLERANCE = 0.25


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    need_ffmpeg()
    folder = tmp_path_factory.mktemp("formats")
    masters = {"landscape": make_master(folder), "portrait": make_master(folder, width=240, height=320,
                                                                         name="portrait-master.mkv")}
    return {f.name: f.make(folder, masters) for f in FORMATS}


def analyse(user: Any, case: Any, path: Path) -> Footage:
    footage = footage_ingest(actor=user, case=case, upload=SimpleUploadedFile(path.name, path.read_bytes()))
    process_footage(footage.pk)
    footage.refresh_from_db()
    return footage


@pytest.mark.parametrize("fmt", FORMATS, ids=[f.name for f in FORMATS])
def test_it_analyses_every_format_with_the_right_duration_and_times(
        charlie: Any, charlies_case: Any, corpus: dict[str, Path], fmt: Format):
    footage = analyse(charlie, charlies_case, corpus[fmt.name])
    log = "\n".join(JobLogLine.objects.filter(footage=footage).values_list("message", flat=True))

    assert footage.status == "done", f"{footage.error}\n{log}"
    assert footage.kind == "video"
    assert footage.duration == pytest.approx(fmt.duration, abs=0.1), log
    upright = (240, 320) if fmt.name in ("portrait.mp4", "rotated.mp4") else (320, 240)
    assert (footage.width, footage.height) == ((3840, 2160) if fmt.name == "4k.mp4" else upright)
    assert "damaged" not in log

    sightings = list(Sighting.objects.filter(footage=footage).order_by("first_ts"))
    assert sightings, f"no face found in {fmt.name}\n{log}"
    assert min(s.first_ts for s in sightings) == pytest.approx(FACE_FROM, abs=TIME_TOLERANCE), log
    last = max(s.last_ts for s in sightings)
    assert fmt.face_to - 0.1 - TIME_TOLERANCE <= last < fmt.face_to, log
    for sighting in sightings:  # every stored frame time lies where the face was on screen
        assert all(FACE_FROM - TIME_TOLERANCE <= entry["ts"] < fmt.face_to for entry in sighting.track_frames)


def test_it_notes_an_estimated_frame_count_without_calling_it_damage(
        charlie: Any, charlies_case: Any, corpus: dict[str, Path]):
    """Matroska stores duration x nominal rate; the variable-rate clip decodes fewer frames than that."""
    footage = analyse(charlie, charlies_case, corpus["vfr.mkv"])
    assert footage.status == "done" and footage.frame_count < 120
    note = JobLogLine.objects.get(footage=footage, message__startswith="the container announces 120 frames")
    assert f"and {footage.frame_count} decode" in note.message and note.level == "info"
