"""The sighting index of this process: beside the database, never in it.

The database (``Sighting.embedding``) is the source of truth. Each process (web host or worker) holds one
``enhancement.index.FaceIndex`` in memory:
- at first use it loads the snapshot that ``manage.py reindex_sightings`` (and the hourly consolidation) write to
  ``<VAR_DIR>/index/sightings/``, or builds one from the database when there is none or it cannot be read; a newer
  snapshot replaces the one in memory at the next use;
- before every search, and when a sighting is stored (``sighting_stored``), it *catches up*: it adds the sightings
  with ids above the highest it holds (minus ``LOOKBACK_IDS``, so a row whose transaction committed after a
  higher id's is not missed; ids already held are skipped). Sightings from footage and from live cameras are rows
  alike, so both are indexed the same way, whichever process stored them;
- it then replays the ``DescriptorChange`` rows it has not seen (same look-back): a live camera track's sighting whose
  descriptor was replaced by better crops gets its new vector in every process (``FaceIndex.update``: replaced, not
  added twice). A snapshot records the recent changes it holds (``meta.json`` ``changes_seen``).
Deleted sightings stay in memory until the next rebuild; they cost a candidate slot, never a result: every candidate
is looked up in the database (with the user's permissions) before it is counted.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connection

from enhancement.index import FaceIndex
from facesearch.models import DescriptorChange
from footage.models import Sighting

log = logging.getLogger(__name__)

LOOKBACK_IDS = 1000
BATCH = 5000

_lock = threading.Lock()
# key -> [index, mtime of the snapshot it came from (0: built here), recent DescriptorChange ids replayed into it]
_held: dict[str, list] = {}


def snapshot_dir() -> Path:
    return Path(settings.VAR_DIR) / "index" / "sightings"


def _key() -> str:
    # One index per database and var folder (tests switch both); a process normally has exactly one.
    return f"{connection.settings_dict.get('NAME')}|{settings.VAR_DIR}"


def _rows(after_id: int):
    """(ids, vectors) of stored sightings with a descriptor and an id above ``after_id``, in batches."""
    last = after_id
    while True:
        rows = list(Sighting.objects.filter(pk__gt=last).exclude(embedding=None).order_by("pk")
                    .values_list("pk", "embedding")[:BATCH])
        if not rows:
            return
        ids = np.array([pk for pk, _ in rows], np.int64)
        vectors = np.stack([np.frombuffer(bytes(blob), np.float32) for _, blob in rows])
        yield ids, vectors
        last = int(ids[-1])


def build_from_database(kind: str = "auto") -> FaceIndex:
    ids, vectors = [], []
    for batch_ids, batch_vectors in _rows(0):
        ids.append(batch_ids)
        vectors.append(batch_vectors)
    if not ids:
        return FaceIndex("exact")
    return FaceIndex.build(np.concatenate(ids), np.concatenate(vectors), kind=kind)


def catch_up(index: FaceIndex, seen: set[int]) -> tuple[int, set[int]]:
    """Add the sightings stored since the index was made, then replay the descriptor changes not in ``seen``.
    Returns (sightings added, the change ids now seen)."""
    added = 0
    for ids, vectors in _rows(max(0, index.max_id - LOOKBACK_IDS)):
        added += index.add(ids, vectors)
    return added, replay_changes(index, seen)


def changes_now() -> set[int]:
    """The ids of the recent descriptor changes (the look-back window below the last one): an index built from the
    database now holds them."""
    last = DescriptorChange.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return set(DescriptorChange.objects.filter(pk__gt=last - LOOKBACK_IDS).values_list("pk", flat=True))


def replay_changes(index: FaceIndex, seen: set[int]) -> set[int]:
    """Put the current descriptor of each sighting changed since (change ids not in ``seen``, down to the look-back
    window below the last seen one, so a change that committed after a higher id's is not missed) into ``index``.
    Returns the change ids seen now, the window only."""
    floor = max(seen) - LOOKBACK_IDS if seen else 0
    changes = [(pk, sighting) for pk, sighting in DescriptorChange.objects.filter(pk__gt=floor).order_by("pk")
               .values_list("pk", "sighting_id") if pk not in seen]
    if not changes:
        return seen
    rows = list(Sighting.objects.filter(pk__in={s for _, s in changes}).exclude(embedding=None)
                .values_list("pk", "embedding"))
    if rows:
        index.update(np.array([pk for pk, _ in rows], np.int64),
                     np.stack([np.frombuffer(bytes(blob), np.float32) for _, blob in rows]))
    seen = seen | {pk for pk, _ in changes}
    top = max(seen)
    return {pk for pk in seen if pk > top - LOOKBACK_IDS}


def _snapshot_mtime() -> float:
    try:
        return (snapshot_dir() / "meta.json").stat().st_mtime
    except OSError:
        return 0.0


def sighting_index() -> FaceIndex:
    """This process's index, up to date with the database. A newer snapshot (written by the hourly consolidation
    or ``reindex_sightings`` on any host sharing ``VAR_DIR/index/``) replaces it: that is how a web host's exact
    index becomes IVF once the collection grows, and how deleted sightings leave memory."""
    key = _key()
    with _lock:
        held = _held.get(key)
        mtime = _snapshot_mtime()
        if held is None or mtime > held[1]:
            index, seen = _load_or_build(held if held else None)
            held = _held[key] = [index, mtime, seen]
        _, held[2] = catch_up(held[0], held[2])
        return held[0]


def _load_or_build(current: list | None = None) -> tuple[FaceIndex, set[int]]:
    """(index, the recent changes it holds): the snapshot, else the index held now, else one built from the
    database."""
    folder = snapshot_dir()
    if (folder / "meta.json").exists():
        try:
            index, meta = FaceIndex.load(folder)
            return index, set(meta.get("changes_seen", []))
        except (OSError, ValueError, KeyError) as exc:
            log.warning("sighting index snapshot in %s unusable (%s): building from the database", folder, exc)
    if current is not None:
        return current[0], current[2]
    seen = changes_now()  # noted before the build: a change made during it is replayed
    return build_from_database(), seen


def rebuild(kind: str = "auto") -> FaceIndex:
    """Build from the database, write the snapshot (atomically, file by file) and use it in this process."""
    seen = changes_now()
    index = build_from_database(kind)
    index.save(snapshot_dir(), extra={"changes_seen": sorted(seen)})
    with _lock:
        _held[_key()] = [index, _snapshot_mtime(), seen]
    return index


def forget() -> None:
    """Drop this process's index (the next use loads or builds it again)."""
    with _lock:
        _held.clear()
