"""Sightings in the REST API, on sightings made by the real footage job (run in this process, as a worker would):
the synthetic CCTV clip of the astronaut analysed against a registry holding her photo."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

import cv2
import pytest
import requests
import schemathesis
import yaml
from conftest import REPO_ROOT
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from enhancement.provenance import image_sha256
from enhancement.synthetic import astronaut_bgr, make_cctv_clip
from facecase.files import sha256_of_path
from footage.models import Footage, Sighting
from footage.services import footage_ingest
from footage.tasks import process_footage
from suspects.enrolment import registry_rebuild
from suspects.models import Suspect
from suspects.services import suspect_create, suspect_photo_add

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_var_dir(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path / "var"


@pytest.fixture
def analysed(alice: Any, charlie: Any, charlies_case: Any, tmp_path: Path) -> dict[str, Any]:
    eileen = suspect_create(actor=alice, name="Eileen Collins", external_id="E-1", status=Suspect.Status.WANTED)
    photo = cv2.imencode(".png", astronaut_bgr())[1].tobytes()
    suspect_photo_add(actor=alice, suspect=eileen, upload=SimpleUploadedFile("eileen.png", photo, "image/png"))
    registry_rebuild(reason="test")
    clip = make_cctv_clip(tmp_path / "platform-2.mp4").path
    footage = footage_ingest(actor=charlie, case=charlies_case, upload=SimpleUploadedFile(clip.name, clip.read_bytes()))
    assert process_footage(footage.pk) == "done", Footage.objects.get(pk=footage.pk).error
    return {"footage": footage, "suspect": eileen, "sighting": Sighting.objects.get(footage=footage,
                                                                                    best_suspect=eileen)}


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def conforms(path: str, url: str, response: Any) -> None:
    """Schemathesis' own check of a test-client response against the committed schema."""
    schema = schemathesis.openapi.from_dict(yaml.safe_load((REPO_ROOT / "docs" / "openapi.yaml").read_text()))
    converted = schemathesis.Response(
        status_code=response.status_code, headers={name: [value] for name, value in response.headers.items()},
        content=response.content, request=requests.Request("GET", f"http://testserver{url}").prepare(),
        elapsed=0.0, verify=False,
    )
    schema[path]["GET"].validate_response(converted)


def test_it_lists_sightings_with_filters(analysed: dict[str, Any], charlie: Any, dave: Any):
    client = logged_in(charlie)
    sighting, suspect, footage = analysed["sighting"], analysed["suspect"], analysed["footage"]

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/sightings/?{query}")
        assert response.status_code == 200, response.content
        conforms("/api/sightings/", f"/api/sightings/?{query}", response)
        return {row["id"] for row in response.json()["results"]}

    everything = ids("")
    assert sighting.pk in everything
    assert ids(f"case={footage.case_id}") == everything
    assert ids(f"footage={footage.pk}") == everything
    assert ids(f"footage={footage.pk + 1}") == set()
    assert ids("camera=platform-2") == everything and ids("camera=lobby") == set()
    assert sighting.pk in ids(f"suspect={suspect.pk}")
    assert ids(f"suspect={suspect.pk + 1}") == set()
    assert ids("matched=true") == {s.pk for s in Sighting.objects.filter(best_suspect__isnull=False)}
    assert ids("matched=false") == everything - ids("matched=true")
    created = sighting.created_at
    assert sighting.pk in ids(f"created_after={quote(created.replace(microsecond=0).isoformat())}")
    assert ids(f"created_before={quote(created.replace(year=created.year - 1).isoformat())}") == set()
    assert logged_in(dave).get("/api/sightings/").json()["count"] == 0


def test_it_shows_a_sighting_with_its_track_crops_records_and_candidates(analysed: dict[str, Any], charlie: Any,
                                                                         dave: Any, bob: Any):
    client = logged_in(charlie)
    sighting, suspect = analysed["sighting"], analysed["suspect"]
    response = client.get(f"/api/sightings/{sighting.pk}/")
    assert response.status_code == 200
    conforms("/api/sightings/{id}/", f"/api/sightings/{sighting.pk}/", response)
    body = response.json()
    assert body["best_suspect"] == suspect.pk and body["best_suspect_name"] == "Eileen Collins"
    assert body["top_candidates"][0]["suspect_id"] == suspect.pk
    assert body["top_candidates"][0]["raw_score"] is not None
    # Each candidate says how much of the track ranked it and which view of the track gave its distance, as stored.
    for got, stored in zip(body["enhanced_scores"], sighting.enhanced_scores, strict=True):
        assert got["votes"] == stored["votes"] and 0.0 <= got["votes"] <= 1.0
        assert got["view"] == stored["view"] and got["view"] in ("crops", "averaged chip")
    assert body["raw_crop_sha256"] == sighting.raw_crop_sha256
    assert [step["step"] for step in body["enhancement_records"]] == [r["step"] for r in sighting.enhancement_records]
    frames = body["track_frames"]
    assert len(frames) == len(sighting.track_frames) > 1
    assert [f["frame"] for f in frames] == [f["frame"] for f in sighting.track_frames]
    kept = [f for f in frames if f["crop_url"]]
    assert kept and all(f["quality"] and len(f["box"]) == 4 for f in kept)
    assert kept[0]["rank"] is not None and isinstance(kept[0]["records"], list)
    # The averaged chip of the track's frames: file, hash and record as stored, served like the crops, byte for byte.
    averaged = body["averaged_chip"]
    assert sighting.averaged_chip and averaged is not None  # the clip's track has many frames: the matcher averaged
    assert averaged["sha256"] == sighting.averaged_chip_sha256 == sha256_of_path(sighting.averaged_chip.path)
    assert averaged["frames"] == sighting.averaged_chip_record["frames"] and len(averaged["frames"]) >= 2
    assert set(averaged["frames"]) <= {f["frame"] for f in sighting.track_frames}
    assert len(averaged["shares"]) == len(averaged["shifts_px"]) == len(averaged["frames"])
    assert abs(sum(averaged["shares"]) - 1.0) < 1e-3 and averaged["chip_px"] == 150
    served = client.get(averaged["url"])
    assert hashlib.sha256(b"".join(served.streaming_content)).hexdigest() == sighting.averaged_chip_sha256
    # Images come from the permission-checked views: the owner gets them, an analyst on another case does not.
    for url in [body["frame_url"], body["raw_crop_url"], body["enhanced_crop_url"], kept[0]["crop_url"],
                averaged["url"]]:
        if url is None:
            continue
        image = client.get(url)
        assert image.status_code == 200 and image["Content-Type"].startswith("image/"), url
        assert image["X-Content-Type-Options"] == "nosniff"
        assert logged_in(dave).get(url).status_code == 404, url
    assert logged_in(dave).get(f"/api/sightings/{sighting.pk}/").status_code == 404
    # bob, the operator, reviews the alert this sighting raised, so he may read it.
    assert logged_in(bob).get(f"/api/sightings/{sighting.pk}/").status_code == 200


def test_it_shows_the_averaged_frames_on_the_sighting_and_provenance_pages_with_their_hashes_and_record(
        analysed: dict[str, Any], charlie: Any):
    sighting = analysed["sighting"]
    assert sighting.averaged_chip
    client = logged_in(charlie)
    page = client.get(f"/sightings/{sighting.pk}/").content.decode()
    frames = len(sighting.averaged_chip_record["frames"])
    assert f"/media/sighting/{sighting.pk}/averaged_chip/" in page and f"average of {frames} aligned frames" in page
    best = next(c for c in sighting.top_candidates if c["suspect_id"] == sighting.best_suspect_id)
    assert ("it brought the match's distance down" in page) == (best["view"] == "averaged chip")
    provenance = client.get(f"/sightings/{sighting.pk}/provenance/").content.decode()
    assert 'id="averaged-chip"' in provenance and sighting.averaged_chip_sha256 in provenance
    pixels = image_sha256(cv2.imread(sighting.averaged_chip.path, cv2.IMREAD_COLOR))
    assert pixels in provenance  # the decoded pixels' hash, computed from the stored file
    shifts = ", ".join(str(s) for s in sighting.averaged_chip_record["shifts_px"])
    assert ", ".join(str(f) for f in sighting.averaged_chip_record["frames"]) in provenance and shifts in provenance
