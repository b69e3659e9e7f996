"""Retrospective face search and unknown-person profiles, on real clips analysed by the real footage job.

The HDTF talking-head clip (one person) and the Hamilton clip (Lin-Manuel Miranda) from ``../shared/data`` are cut
into pieces; each piece is another video, uploaded to a case and analysed in this process by the job function a
worker runs (``footage.tasks.process_footage``). Sightings then reach the index and the profiles through the same
post-commit hook as in production.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import HAMILTON_CLIP, shared_file
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from search_support import BBT, HDTF_CLIP, fresh_index, still_from  # noqa: F401 (fixture)

from facecase.models import AuditEvent
from facecase.services import case_create
from facesearch import index as sighting_index
from facesearch.models import CaseSighting, FaceSearch, Profile, ProfileMember
from facesearch.services import face_search_run, profile_assign, search_threshold
from footage.models import Footage, Sighting
from footage.services import footage_ingest
from footage.tasks import process_footage
from research.profiles import split_clip

pytestmark = pytest.mark.django_db



def analyse(actor: Any, case: Any, path: Path, commit_hooks: Any) -> Footage:
    footage = footage_ingest(actor=actor, case=case, upload=SimpleUploadedFile(path.name, path.read_bytes()))
    with commit_hooks(execute=True):  # the post-commit hook that indexes sightings and groups unknown faces
        assert process_footage(footage.pk) == "done", Footage.objects.get(pk=footage.pk).error
    return footage


@pytest.fixture
def two_cases(charlie: Any, dave: Any, charlies_case: Any, tmp_path: Path,
              django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    """Charlie's case holds one HDTF piece; Dave's case holds another HDTF piece and a Hamilton piece."""
    hdtf = split_clip(shared_file(HDTF_CLIP), 4, tmp_path / "hdtf")
    hamilton = split_clip(shared_file(HAMILTON_CLIP), 3, tmp_path / "hamilton")
    daves_case = case_create(actor=dave, reference="D-1", title="Dave's case")
    a = analyse(charlie, charlies_case, hdtf[0], django_capture_on_commit_callbacks)
    b = analyse(dave, daves_case, hdtf[2], django_capture_on_commit_callbacks)
    c = analyse(dave, daves_case, hamilton[1], django_capture_on_commit_callbacks)
    return {"charlies_case": charlies_case, "daves_case": daves_case, "hdtf_a": a, "hdtf_b": b, "hamilton": c,
            "probe": still_from(HDTF_CLIP, 175)}  # a frame from the last piece, in neither case


def test_it_finds_a_person_across_two_cases_ranks_others_below_and_hides_cases_the_user_may_not_see(
        two_cases: dict[str, Any], alice: Any, charlie: Any):
    hdtf_ids = set(Sighting.objects.filter(footage__in=[two_cases["hdtf_a"], two_cases["hdtf_b"]])
                   .values_list("pk", flat=True))
    other_ids = set(Sighting.objects.filter(footage=two_cases["hamilton"]).values_list("pk", flat=True))
    assert hdtf_ids and other_ids
    threshold = search_threshold()

    everywhere = face_search_run(actor=alice, probe=two_cases["probe"], probe_name="witness.jpg")
    found = [r for r in everywhere.results if r.same_person]
    assert {r.sighting.pk for r in found} == hdtf_ids  # both cases, and nobody else under the threshold
    assert {r.sighting.footage.case_id for r in found} == {two_cases["charlies_case"].pk, two_cases["daves_case"].pk}
    others = [r for r in everywhere.results if r.sighting.pk in other_ids]
    assert others and all(r.distance >= threshold and r.score < 0.5 for r in others)
    assert max(r.rank for r in found) < min(r.rank for r in others)
    assert [r.rank for r in everywhere.results] == list(range(1, len(everywhere.results) + 1))

    own = face_search_run(actor=charlie, probe=two_cases["probe"], probe_name="witness.jpg")
    assert {r.sighting.footage.case_id for r in own.results} == {two_cases["charlies_case"].pk}
    assert own.search.result_count == len(own.results) == Sighting.objects.filter(
        footage__case=two_cases["charlies_case"]).count()

    # the probe is kept as evidence and every search is audited
    digest = hashlib.sha256(two_cases["probe"]).hexdigest()
    for outcome, who in ((everywhere, alice), (own, charlie)):
        search = FaceSearch.objects.get(pk=outcome.search.pk)
        assert search.probe_sha256 == digest and search.created_by == who
        assert hashlib.sha256(Path(search.probe.path).read_bytes()).hexdigest() == digest
        event = AuditEvent.objects.get(verb="face_search", object_id=str(search.pk))
        assert event.actor == who and event.details["probe_sha256"] == digest
        assert event.details["results"] == len(outcome.results)
    leaked = AuditEvent.objects.get(verb="face_search", object_id=str(own.search.pk)).details["top"]
    assert {row["sighting"] for row in leaked} <= set(Sighting.objects.filter(
        footage__case=two_cases["charlies_case"]).values_list("pk", flat=True))

    # Dave's sighting attached to Charlie's case by the admin: now Charlie finds it too
    daves = Sighting.objects.filter(footage=two_cases["hdtf_b"]).first()
    client = Client()
    client.force_login(alice)
    response = client.post(f"/api/sightings/{daves.pk}/attach/", {"case": two_cases["charlies_case"].pk},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    assert CaseSighting.objects.filter(case=two_cases["charlies_case"], sighting=daves).exists()
    assert AuditEvent.objects.filter(verb="attach_sighting", object_id=str(two_cases["charlies_case"].pk)).exists()
    again = face_search_run(actor=charlie, probe=two_cases["probe"])
    assert daves.pk in {r.sighting.pk for r in again.results}
    client.force_login(charlie)
    case_page = client.get(f"/cases/{two_cases['charlies_case'].pk}/").content.decode()
    assert f"sighting {daves.pk}<" in case_page and "added by alice" in case_page


def test_it_groups_a_persons_tracks_from_two_videos_into_one_profile_and_keeps_two_people_apart(
        two_cases: dict[str, Any], charlie: Any, dave: Any):
    def profiles_of(footage: Footage) -> set[int]:
        return set(ProfileMember.objects.filter(sighting__footage=footage).values_list("profile_id", flat=True))

    hdtf = profiles_of(two_cases["hdtf_a"]) | profiles_of(two_cases["hdtf_b"])
    hamilton = profiles_of(two_cases["hamilton"])
    assert len(hdtf) == 1 and hamilton and not hdtf & hamilton
    unknown = Sighting.objects.filter(best_suspect=None).exclude(embedding=None).count()
    assert ProfileMember.objects.count() == unknown  # every unmatched sighting has a profile

    # Charlie sees the profile through his own sighting only: the count is of what he may see
    client = Client()
    client.force_login(charlie)
    rows = client.get("/api/profiles/").json()
    assert [row["id"] for row in rows] == list(hdtf)
    assert rows[0]["sightings"] == Sighting.objects.filter(footage=two_cases["hdtf_a"]).count()
    detail = client.get(f"/api/profiles/{next(iter(hdtf))}/").json()
    assert {a["case"] for a in detail["appearances"]} == {two_cases["charlies_case"].pk}
    assert client.get(f"/api/profiles/{next(iter(hamilton))}/").status_code == 404


def bbt_sighting(footage: Footage, track_id: int, path: Path) -> Sighting:
    """A sighting made from a real face crop, embedded as the analysis embeds faces."""
    from enhancement.embed import embed_face

    image = cv2.imread(str(shared_file(path)))
    sighting = Sighting(footage=footage, track_id=track_id, first_frame=0, last_frame=0, first_ts=0.0, last_ts=0.0,
                        box=[0, 0, image.shape[1], image.shape[0]], best_frame_index=0,
                        embedding=np.asarray(embed_face(image), np.float32).tobytes())
    sighting.raw_crop.save("raw.png", ContentFile(cv2.imencode(".png", image)[1].tobytes()), save=False)
    sighting.save()
    return sighting


def test_it_merges_splits_and_promotes_profiles_and_audits_each(charlie: Any, charlies_case: Any):
    still = shared_file(HAMILTON_CLIP.parent / "obama-240p.jpg").read_bytes()
    footage = footage_ingest(actor=charlie, case=charlies_case, upload=SimpleUploadedFile("s.jpg", still))
    sightings = [bbt_sighting(footage, i, BBT / who / f"{who}{n}.png")
                 for i, (who, n) in enumerate([("penny", 2), ("penny", 3), ("sheldon", 1), ("sheldon", 2)])]
    profiles = [profile_assign(s) for s in sightings]
    penny, sheldon = {profiles[0].pk, profiles[1].pk}, {profiles[2].pk, profiles[3].pk}
    assert not penny & sheldon  # two people never share a profile
    client = Client()
    client.force_login(charlie)

    target, *rest = sorted(penny | sheldon)
    merged = client.post(f"/api/profiles/{target}/merge/", {"profiles": rest}, content_type="application/json")
    assert merged.status_code == 200, merged.content
    assert {a["id"] for a in merged.json()["appearances"]} == {s.pk for s in sightings}
    assert set(Profile.objects.filter(pk__in=rest).values_list("status", flat=True)) <= {Profile.Status.MERGED}
    assert AuditEvent.objects.filter(verb="profile_merge", object_id=str(target), actor=charlie).exists()

    sheldons = [sightings[2].pk, sightings[3].pk]
    split = client.post(f"/api/profiles/{target}/split/", {"sightings": sheldons}, content_type="application/json")
    assert split.status_code == 201, split.content
    new = split.json()["id"]
    assert {a["id"] for a in split.json()["appearances"]} == set(sheldons)
    assert set(ProfileMember.objects.filter(profile_id=target).values_list("sighting_id", flat=True)) == {
        sightings[0].pk, sightings[1].pk}
    assert AuditEvent.objects.get(verb="profile_split", object_id=str(target)).details["new_profile"] == new

    promoted = client.post(f"/api/profiles/{new}/promote/", {"name": "Sheldon Cooper", "external_id": "BBT-1"},
                           content_type="application/json")
    assert promoted.status_code == 201, promoted.content
    body = promoted.json()
    assert [c["faces"] for c in body["checks"]] == [1, 1] and all(c["used"] for c in body["checks"])
    profile = Profile.objects.get(pk=new)
    assert profile.status == Profile.Status.PROMOTED and profile.suspect.name == "Sheldon Cooper"
    assert profile.suspect.photos.count() == 2
    assert AuditEvent.objects.filter(verb="promote", object_id=str(new), actor=charlie).exists()
    again = client.post(f"/api/profiles/{new}/promote/", {"name": "X", "external_id": "BBT-2"},
                        content_type="application/json")
    assert again.status_code == 400


def test_it_rebuilds_the_index_from_the_database_and_searches_it_as_the_live_one(charlie: Any, charlies_case: Any):
    from django.core.management import call_command

    still = shared_file(HAMILTON_CLIP.parent / "obama-240p.jpg").read_bytes()
    footage = footage_ingest(actor=charlie, case=charlies_case, upload=SimpleUploadedFile("s.jpg", still))
    sightings = [bbt_sighting(footage, i, BBT / who / f"{who}2.png") for i, who in enumerate(["penny", "raj"])]
    live = face_search_run(actor=charlie, sighting=sightings[0])
    call_command("reindex_sightings")
    assert (sighting_index.snapshot_dir() / "meta.json").exists()
    sighting_index.forget()
    rebuilt = face_search_run(actor=charlie, sighting=sightings[0])
    assert [(r.sighting.pk, round(r.distance, 5)) for r in rebuilt.results] == [
        (r.sighting.pk, round(r.distance, 5)) for r in live.results]
    assert [r.sighting.pk for r in live.results] == [sightings[1].pk]  # the probe sighting itself is left out


def test_it_searches_from_the_page_with_a_photo_and_shows_only_what_the_analyst_may_see(
        charlie: Any, dave: Any, charlies_case: Any):
    from facecase.services import case_create

    still = shared_file(HAMILTON_CLIP.parent / "obama-240p.jpg").read_bytes()
    mine = footage_ingest(actor=charlie, case=charlies_case, upload=SimpleUploadedFile("mine.jpg", still))
    daves_case = case_create(actor=dave, reference="D-9", title="Dave's")
    theirs = footage_ingest(actor=dave, case=daves_case, upload=SimpleUploadedFile("theirs.jpg", still))
    visible = bbt_sighting(mine, 1, BBT / "penny" / "penny2.png")
    hidden = bbt_sighting(theirs, 1, BBT / "penny" / "penny3.png")
    client = Client()
    client.force_login(charlie)

    form = client.get(f"/search/face/?sighting={visible.pk}")
    assert form.status_code == 200 and not FaceSearch.objects.exists()  # a GET never searches
    assert client.get(f"/search/face/?sighting={hidden.pk}").status_code == 404

    probe = (BBT / "penny" / "penny3.png").read_bytes()
    page = client.post("/search/face/", {"probe": SimpleUploadedFile("witness.png", probe, "image/png")})
    assert page.status_code == 200
    html = page.content.decode()
    assert f"sighting {visible.pk}<" in html and f"sighting {hidden.pk}<" not in html
    search = FaceSearch.objects.get(created_by=charlie)
    assert search.result_count == 1 and search.probe_sha256 == hashlib.sha256(probe).hexdigest()

    refused = client.post("/search/face/", {"probe": SimpleUploadedFile(
        "coffee.png", cv2.imencode(".png", np.full((120, 160, 3), 90, np.uint8))[1].tobytes(), "image/png")})
    assert refused.status_code == 400 and "no face found" in refused.content.decode()


def test_it_gives_a_profile_to_unknown_sightings_the_hook_missed_when_consolidating(charlie: Any, charlies_case: Any):
    from facesearch.tasks import profiles_consolidate_task

    still = shared_file(HAMILTON_CLIP.parent / "obama-240p.jpg").read_bytes()
    footage = footage_ingest(actor=charlie, case=charlies_case, upload=SimpleUploadedFile("s.jpg", still))
    sightings = [bbt_sighting(footage, i, BBT / who / f"{who}2.png") for i, who in enumerate(["penny", "raj"])]
    assert not ProfileMember.objects.exists()  # stored without the post-commit hook
    summary = profiles_consolidate_task()
    assert summary["assigned"] == 2 and summary["indexed"] == 2
    profiles = {ProfileMember.objects.get(sighting=s).profile_id for s in sightings}
    assert len(profiles) == 2  # two people, two profiles
    assert (sighting_index.snapshot_dir() / "meta.json").exists()
    assert profiles_consolidate_task()["assigned"] == 0  # running it again changes nothing


def test_it_answers_a_search_from_a_hidden_sighting_exactly_as_from_a_missing_one(charlie: Any, dave: Any,
                                                                                    charlies_case: Any):
    still = shared_file(HAMILTON_CLIP.parent / "obama-240p.jpg").read_bytes()
    footage = footage_ingest(actor=charlie, case=charlies_case, upload=SimpleUploadedFile("s.jpg", still))
    hidden = bbt_sighting(footage, 1, BBT / "penny" / "penny2.png")
    client = Client()
    client.force_login(dave)
    answers = [client.post("/api/search/", {"sighting": pk}, content_type="application/json")
               for pk in (hidden.pk, hidden.pk + 1000)]
    assert [a.status_code for a in answers] == [400, 400]
    assert answers[0].json() == answers[1].json() == {"sighting": ["no such sighting"]}
    assert not FaceSearch.objects.exists()
