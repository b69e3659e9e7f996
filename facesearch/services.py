"""Write paths for face search, case attachments and unknown-person profiles; each records its audit event in the
same transaction.

Scores use the alerts' calibrated scale: ``enhancement.match.score(distance, threshold)`` with the threshold
``footage.calibration.alert_threshold()`` (per comparison: a search compares the probe with each sighting one to
one), so 0.5 is the distance at which an alert would be raised for one enrolled person.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from enhancement.match import SCORE_SCALE
from enhancement.match import score as match_score
from enhancement.profiles import JOIN_DISTANCE, MERGE, NEIGHBOURS, assign
from facecase.models import Case
from facecase.services import audit_record
from facesearch import index as sighting_index
from facesearch.models import CaseSighting, DescriptorChange, FaceSearch, Profile, ProfileMember
from facesearch.selectors import SEARCH_FILTERS, sighting_case_id, visible_ids
from footage.models import Sighting

MAX_RESULTS = 100
MAX_PROBE_BYTES = 20 * 1024 * 1024


def search_threshold() -> float:
    from footage.calibration import alert_threshold

    return alert_threshold()


def distance_for_score(score: float, threshold: float) -> float:
    """The distance at which ``match_score`` equals ``score`` (scores fall as distances grow)."""
    score = min(max(score, 1e-9), 1 - 1e-9)
    return threshold + SCORE_SCALE * math.log(1.0 / score - 1.0)


@dataclass
class SearchResult:
    rank: int
    sighting: Sighting
    distance: float
    score: float
    same_person: bool  # under the alert threshold


@dataclass
class SearchOutcome:
    search: FaceSearch
    results: list[SearchResult]


def _vector(blob: Any) -> np.ndarray:
    return np.frombuffer(bytes(blob), np.float32)


def probe_embedding(data: bytes) -> tuple[np.ndarray, list[int]]:
    """The descriptor of the largest face in an uploaded photo (found as enrolment finds faces), and its box."""
    from enhancement.embed import embed_face
    from suspects.photo_enrolment import find_faces

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise ValidationError("the probe is not an image that can be read (JPEG, PNG, ...)", code="not_image")
    faces = [tuple(int(v) for v in box) for box in find_faces(image)]
    if not faces:
        raise ValidationError("no face found in the probe photo; use a clearer, front-facing still", code="no_face")
    box = max(faces, key=lambda b: b[2] * b[3])
    return np.asarray(embed_face(image, box), np.float32), list(box)


def _clean_filters(filters: dict[str, Any] | None) -> dict[str, Any]:
    cleaned = {k: v for k, v in (filters or {}).items() if k in SEARCH_FILTERS and v not in (None, "")}
    if "case" in cleaned:
        cleaned["case"] = int(cleaned["case"])
    if "min_score" in cleaned:
        cleaned["min_score"] = float(cleaned["min_score"])
        if not 0.0 <= cleaned["min_score"] <= 1.0:
            raise ValidationError({"min_score": ["must lie between 0 and 1"]})
    for key in ("date_from", "date_to", "source"):
        if key in cleaned:
            cleaned[key] = str(cleaned[key])
    return cleaned


def face_search_run(*, actor: Any, probe: bytes | None = None, probe_name: str = "", sighting: Sighting | None = None,
                    filters: dict[str, Any] | None = None, limit: int = 50) -> SearchOutcome:
    """Search every sighting ``actor`` may see for the face in ``probe`` (photo bytes) or of ``sighting`` (which the
    caller has checked the actor may see). The probe is kept as evidence and the search audited. Results: nearest
    first, at most ``limit``, only those at or above ``min_score``; the probe sighting itself is left out."""
    if (probe is None) == (sighting is None):
        raise ValidationError("give either a probe photo or a sighting", code="probe")
    filters = _clean_filters(filters)
    limit = max(1, min(int(limit), MAX_RESULTS))
    box = None
    if probe is not None:
        if len(probe) > MAX_PROBE_BYTES:
            raise ValidationError("the probe photo is too large", code="too_large")
        vector, box = probe_embedding(probe)
    else:
        if not sighting.embedding:
            raise ValidationError("this sighting has no face descriptor to search with", code="no_embedding")
        vector = _vector(sighting.embedding)
    threshold = search_threshold()
    min_score = filters.get("min_score")
    max_distance = distance_for_score(min_score, threshold) if min_score else None
    exclude = sighting.pk if sighting is not None else None
    try:
        visible_ids(actor, filters, [])  # a malformed date fails here, before anything is stored
    except ValueError as exc:
        raise ValidationError({"date": [f"not a date (YYYY-MM-DD): {exc}"]}) from exc

    def accept(ids: list[int]) -> set[int]:
        return visible_ids(actor, filters, ids) - {exclude}

    neighbours = sighting_index.sighting_index().search(vector, limit, accept=accept, max_distance=max_distance)
    rows = Sighting.objects.select_related("footage__case", "camera__case", "best_suspect").defer(
        "enhancement_records", "raw_scores", "enhanced_scores", "top_candidates", "track_frames",
    ).in_bulk([n.id for n in neighbours])
    ranked = []
    for n in neighbours:
        row = rows.get(n.id)
        if row is None or not row.embedding:
            continue
        distance = float(np.linalg.norm(_vector(row.embedding) - vector))  # from the database: exact
        if max_distance is not None and distance > max_distance:
            continue
        ranked.append((distance, row))
    ranked.sort(key=lambda r: (r[0], r[1].pk))
    results = [SearchResult(rank, row, d, match_score(d, threshold), d < threshold)
               for rank, (d, row) in enumerate(ranked, start=1)]
    with transaction.atomic():
        search = FaceSearch(sighting=sighting, embedding=vector.tobytes(), filters=filters, threshold=threshold,
                            result_count=len(results), created_by=actor, probe_box=box, probe_name=probe_name[:255])
        if probe is not None:
            search.probe_sha256 = hashlib.sha256(probe).hexdigest()
            search.probe.save(probe_name or "probe.img", ContentFile(probe), save=False)
        search.save()
        audit_record(actor=actor, verb="face_search", obj=search, details={
            "probe_sha256": search.probe_sha256, "sighting": sighting.pk if sighting else None, "filters": filters,
            "results": len(results), "threshold": threshold,
            "top": [{"sighting": r.sighting.pk, "distance": round(r.distance, 4)} for r in results[:10]],
        })
    return SearchOutcome(search, results)


# --- results: add to case, enrol as suspect ---------------------------------------------------------------------


@transaction.atomic
def sighting_attach_to_case(*, actor: Any, sighting: Sighting, case: Case, search: FaceSearch | None = None
                            ) -> tuple[CaseSighting, bool]:
    """Attach a sighting to a case (a footage sighting brings its footage reference along; a camera sighting has no
    footage: the sighting itself, with its camera named, is what is attached); the caller has checked the actor may
    see both. Attaching twice changes nothing. Returns (attachment, created)."""
    attachment, created = CaseSighting.objects.get_or_create(
        case=case, sighting=sighting, defaults={"added_by": actor, "search": search})
    if created:
        audit_record(actor=actor, verb="attach_sighting", obj=case, details={
            "sighting": sighting.pk, "footage": sighting.footage_id, "camera": sighting.camera_id,
            "from_case": sighting_case_id(sighting), "search": search.pk if search else None})
    return attachment, created


@dataclass
class CropCheck:
    sighting: int
    faces: int
    used: bool


def suspect_from_sightings(*, actor: Any, sightings: list[Sighting], name: str, external_id: str,
                           status: str | None = None, profile: Profile | None = None) -> tuple[Any, list[CropCheck]]:
    """Start a suspect from sightings' raw crops: each crop goes through the registry's face check and only crops
    with exactly one face become photos (the registry rebuild enrols them). Refused when no crop passes."""
    from suspects.face_check import check_image_bytes
    from suspects.models import Suspect
    from suspects.services import suspect_create, suspect_photo_add

    checks, passed = [], []
    for sighting in sightings:
        if not sighting.raw_crop:
            checks.append(CropCheck(sighting.pk, 0, False))
            continue
        with sighting.raw_crop.open("rb") as handle:
            data = handle.read()
        found = check_image_bytes(data)
        faces = found.count if found else 0
        checks.append(CropCheck(sighting.pk, faces, faces == 1))
        if faces == 1:
            passed.append((sighting, data))
    if not passed:
        raise ValidationError("no chosen sighting has a crop with exactly one face: nothing to enrol", code="no_face")
    with transaction.atomic():
        suspect = suspect_create(actor=actor, name=name, external_id=external_id,
                                 status=status or Suspect.Status.PERSON_OF_INTEREST,
                                 notes=f"started from sightings {', '.join(str(s.pk) for s, _ in passed)}")
        for sighting, data in passed:
            suspect_photo_add(actor=actor, suspect=suspect, check_face=True,  # the registry's own rule, again
                              upload=SimpleUploadedFile(f"sighting-{sighting.pk}.png", data, "image/png"))
        audit_record(actor=actor, verb="enrol_from_sightings", obj=suspect, details={
            "sightings": [c.sighting for c in checks], "used": [c.sighting for c in checks if c.used],
            "profile": profile.pk if profile else None})
        if profile is not None:
            Profile.objects.filter(pk=profile.pk).update(status=Profile.Status.PROMOTED, suspect=suspect)
            audit_record(actor=actor, verb="promote", obj=profile, details={"suspect": suspect.pk, "name": name})
            profile.refresh_from_db()
    return suspect, checks


def profile_promote(*, actor: Any, profile: Profile, sightings: list[Sighting], name: str, external_id: str,
                    status: str | None = None) -> tuple[Any, list[CropCheck]]:
    """Promote an active profile to a suspect from its sightings' crops (``suspect_from_sightings``: the face check,
    the audit events ``create``, ``add_photo``, ``enrol_from_sightings`` and ``promote``, and the registry rebuild that
    every new photo queues). Issue 20 lets analysts promote, although admins manage the registry otherwise: an
    analyst's promotion starts a person of interest only; an admin chooses the status (here or on the registry
    page), as for any suspect."""
    from facecase.roles import is_admin
    from suspects.models import Suspect

    if profile.status != Profile.Status.ACTIVE:
        raise ValidationError("only an active profile can be promoted", code="not_active")
    if status not in (None, "", Suspect.Status.PERSON_OF_INTEREST) and not is_admin(actor):
        raise ValidationError({"status": ["an analyst's promotion starts a person of interest; an admin sets another "
                                          "status on the registry page"]})
    return suspect_from_sightings(actor=actor, sightings=sightings, name=name, external_id=external_id,
                                  status=status or None, profile=profile)


# --- profiles ----------------------------------------------------------------------------------------------------


def sighting_stored(sighting_id: int) -> None:
    """Called after a sighting's transaction commits (``footage.analysis``; live cameras store through the same
    path): this process's index takes it in and, when it matched no suspect, it joins an unknown-person profile."""
    index = sighting_index.sighting_index()
    sighting = Sighting.objects.filter(pk=sighting_id).only("pk", "embedding", "best_suspect_id").first()
    if sighting is not None and sighting.embedding and sighting.best_suspect_id is None:
        profile_assign(sighting, index=index)


def sighting_changed(sighting_id: int) -> None:
    """Called inside the transaction that replaced a stored sighting's descriptor (a live camera track's better
    crops): the change is recorded with it (every process's index replays it), and after the commit this process's
    index takes the new vector and the sighting's profile is decided again (``profile_reassess``)."""
    with transaction.atomic():
        DescriptorChange.objects.create(sighting_id=sighting_id)
    transaction.on_commit(lambda: sighting_descriptor_changed(sighting_id), robust=True)


def sighting_descriptor_changed(sighting_id: int) -> Profile | None:
    index = sighting_index.sighting_index()  # replays the change: the vector is replaced, not added twice
    sighting = (Sighting.objects.filter(pk=sighting_id).only("pk", "embedding", "best_suspect_id", "created_at")
                .first())
    return profile_reassess(sighting, index=index) if sighting is not None else None


def _neighbours(vector: np.ndarray, index: Any, exclude: int) -> list[tuple[int | None, float, int]]:
    near = [n for n in index.search(vector, NEIGHBOURS + 1) if n.id != exclude][:NEIGHBOURS]
    profiles = dict(ProfileMember.objects.filter(sighting_id__in=[n.id for n in near],
                                                 profile__status=Profile.Status.ACTIVE)
                    .values_list("sighting_id", "profile_id"))
    return [(profiles.get(n.id), n.distance, n.id) for n in near]


def _sizes(profiles: set[int]) -> dict[int, int]:
    return dict(ProfileMember.objects.filter(profile_id__in=profiles).values("profile").annotate(n=Count("id"))
                .values_list("profile", "n"))


def _merge_linked(target: Profile, linked: list[int], reason: str) -> Profile:
    """Fold the ``linked`` profiles into ``target``, leaving out curated ones (an analyst's split or merge stands)."""
    if target.curated:
        return target
    merge = list(Profile.objects.filter(pk__in=linked, curated=False, status=Profile.Status.ACTIVE)
                 .exclude(pk=target.pk))
    if merge:
        _merge(actor=None, target=target, others=merge, reason=reason)
    return target


@transaction.atomic
def profile_assign(sighting: Sighting, *, index: Any = None) -> Profile | None:
    """Online grouping (``enhancement.profiles.assign``): join the nearest profile under the same-person distance,
    merge the profiles this track links when a merge rule is set (never curated ones), else start a new profile."""
    if ProfileMember.objects.filter(sighting=sighting).exists() or not sighting.embedding:
        return None
    index = index or sighting_index.sighting_index()
    near = _neighbours(_vector(sighting.embedding), index, sighting.pk)
    decision = assign([(p, d) for p, d, _ in near], join=JOIN_DISTANCE, merge=MERGE,
                      sizes=_sizes({p for p, _, _ in near if p}))
    if decision.profile is None:
        profile = Profile.objects.create()
        audit_record(actor=None, verb="profile_create", obj=profile, details={"sighting": sighting.pk})
    else:
        profile = _merge_linked(Profile.objects.get(pk=decision.profile), decision.merge,
                                f"linked by sighting {sighting.pk}")
    ProfileMember.objects.create(profile=profile, sighting=sighting, distance=decision.distance)
    Profile.objects.filter(pk=profile.pk).update(updated_at=sighting.created_at or profile.updated_at)
    return profile


@transaction.atomic
def profile_reassess(sighting: Sighting, *, index: Any = None) -> Profile | None:
    """A stored sighting's descriptor changed: decide its profile again as if it arrived now. What an analyst shaped
    stands (a curated or promoted profile, a sighting split off by hand). A sighting that now matches a suspect leaves
    its profile; an unmatched one stays when its new neighbours agree, else moves to the profile they say (or a new
    one). Leaving is audited (``profile_leave``); a profile left empty is marked merged into the sighting's new one
    (it is never listed: every read goes through its members)."""
    member = ProfileMember.objects.select_related("profile").filter(sighting=sighting).first()
    if member is not None and (member.added_by_id or member.profile.curated
                               or member.profile.status != Profile.Status.ACTIVE):
        return member.profile
    unknown = sighting.best_suspect_id is None and bool(sighting.embedding)
    if member is None:
        return profile_assign(sighting, index=index) if unknown else None
    old = member.profile
    if unknown:
        index = index or sighting_index.sighting_index()
        near = _neighbours(_vector(sighting.embedding), index, sighting.pk)
        decision = assign([(p, d) for p, d, _ in near], join=JOIN_DISTANCE, merge=MERGE,
                          sizes=_sizes({p for p, _, _ in near if p}))
        alone = not ProfileMember.objects.filter(profile=old).exclude(pk=member.pk).exists()
        if decision.profile == old.pk or (decision.profile is None and alone):
            ProfileMember.objects.filter(pk=member.pk).update(distance=decision.distance)
            return _merge_linked(old, decision.merge, f"linked by sighting {sighting.pk}")
    member.delete()
    new = profile_assign(sighting, index=index) if unknown else None
    audit_record(actor=None, verb="profile_leave", obj=old, details={
        "sighting": sighting.pk, "profile": new.pk if new else None,
        "reason": "descriptor changed" if unknown else "now matches a suspect"})
    if not ProfileMember.objects.filter(profile=old).exists():
        Profile.objects.filter(pk=old.pk).update(status=Profile.Status.MERGED, merged_into=new)
        audit_record(actor=None, verb="profile_merge", obj=new or old, details={
            "merged": [old.pk], "sightings_moved": 1 if new else 0, "reason": f"emptied by sighting {sighting.pk}"})
    return new


def _merge(*, actor: Any, target: Profile, others: list[Profile], reason: str) -> None:
    ids = [p.pk for p in others if p.pk != target.pk]
    moved = ProfileMember.objects.filter(profile_id__in=ids).update(profile=target)
    Profile.objects.filter(pk__in=ids).update(status=Profile.Status.MERGED, merged_into=target)
    audit_record(actor=actor, verb="profile_merge", obj=target, details={"merged": ids, "sightings_moved": moved,
                                                                         "reason": reason})


@transaction.atomic
def profile_merge(*, actor: Any, target: Profile, others: list[Profile]) -> Profile:
    """An analyst says these profiles are one person: every sighting moves to ``target``; audited. Curated
    profiles are never re-merged or re-split by the consolidation job."""
    if any(p.status != Profile.Status.ACTIVE for p in [target, *others]):
        raise ValidationError("only active profiles can be merged", code="not_active")
    if not [p for p in others if p.pk != target.pk]:
        raise ValidationError("choose at least one other profile to merge", code="nothing")
    _merge(actor=actor, target=target, others=others, reason="analyst")
    Profile.objects.filter(pk=target.pk).update(curated=True)
    target.refresh_from_db()
    return target


@transaction.atomic
def profile_split(*, actor: Any, profile: Profile, sightings: list[Sighting]) -> Profile:
    """Move the chosen sightings of ``profile`` to a new profile (an analyst says they are someone else); audited."""
    if profile.status != Profile.Status.ACTIVE:
        raise ValidationError("only an active profile can be split", code="not_active")
    ids = [s.pk for s in sightings]
    members = ProfileMember.objects.filter(profile=profile, sighting_id__in=ids)
    if not ids or members.count() != len(set(ids)):
        raise ValidationError("choose sightings of this profile to split off", code="not_members")
    if ProfileMember.objects.filter(profile=profile).count() == len(set(ids)):
        raise ValidationError("leave at least one sighting in the profile", code="all")
    new = Profile.objects.create(curated=True)
    members.update(profile=new, added_by=actor)
    Profile.objects.filter(pk=profile.pk).update(curated=True)
    audit_record(actor=actor, verb="profile_split", obj=profile, details={"new_profile": new.pk, "sightings": ids})
    profile.refresh_from_db()
    return new


def profiles_consolidate() -> dict[str, int]:
    """The periodic job: write a fresh index snapshot (for web hosts that start later), give every unmatched sighting
    without a profile one (a hook that did not run, sightings stored before profiles existed), and, when a merge rule
    is set (``enhancement.profiles.MERGE``), apply it to every stored track as if it arrived again (never to a
    curated profile)."""
    index = sighting_index.rebuild()
    # the snapshot just written holds every descriptor change: a day's margin for processes that loaded an older one
    DescriptorChange.objects.filter(changed_at__lt=timezone.now() - dt.timedelta(days=1)).delete()
    assigned = merged = 0
    missing = (Sighting.objects.filter(best_suspect=None, profile_member=None).exclude(embedding=None)
               .only("pk", "embedding", "best_suspect_id", "created_at").order_by("pk"))
    for sighting in missing.iterator():
        if profile_assign(sighting, index=index) is not None:
            assigned += 1
    if MERGE is None:
        return {"assigned": assigned, "merged": 0, "indexed": len(index)}
    members = (ProfileMember.objects.filter(profile__status=Profile.Status.ACTIVE, profile__curated=False)
               .select_related("sighting").only("profile_id", "sighting__embedding", "sighting_id"))
    for member in members.iterator():
        with transaction.atomic():
            own = ProfileMember.objects.filter(pk=member.pk).values_list("profile_id", flat=True).first()
            if own is None or not member.sighting.embedding:
                continue
            near = _neighbours(_vector(member.sighting.embedding), index, member.sighting_id)
            decision = assign([(p, d) for p, d, _ in near], join=JOIN_DISTANCE, merge=MERGE,
                              sizes=_sizes({p for p, _, _ in near if p} | {own}))
            if decision.merge:
                before = Profile.objects.filter(status=Profile.Status.ACTIVE).count()
                _merge_linked(Profile.objects.get(pk=decision.profile), decision.merge, "consolidation")
                merged += before - Profile.objects.filter(status=Profile.Status.ACTIVE).count()
    return {"assigned": assigned, "merged": merged, "indexed": len(index)}
