"""The sighting index of this process: beside the database, never in it.

The database (``Sighting.embedding``) is the source of truth. Each process (web host or worker) holds one
``enhancement.index.FaceIndex`` in memory:
- at first use it loads the snapshot that ``manage.py reindex_sightings`` (and the hourly consolidation) write to
  ``<VAR_DIR>/index/sightings/``, or builds one from the database when there is none or it cannot be read; a newer
  snapshot replaces the one in memory at the next use;
- before every search, and when a sighting is stored (``sighting_stored``), it *catches up*: it adds the sightings
  with ids above the highest it holds (minus ``LOOKBACK_IDS``, so a row whose transaction committed after a
  higher id's is not missed; ids already held are skipped). Sightings from footage and from live cameras are rows
  alike, so both are indexed the same way, whichever process stored them.
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
from footage.models import Sighting

log = logging.getLogger(__name__)

LOOKBACK_IDS = 1000
BATCH = 5000

_lock = threading.Lock()
_held: dict[str, tuple[FaceIndex, float]] = {}  # key -> (index, mtime of the snapshot it came from, 0: built here)


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


def catch_up(index: FaceIndex) -> int:
    added = 0
    for ids, vectors in _rows(max(0, index.max_id - LOOKBACK_IDS)):
        added += index.add(ids, vectors)
    return added


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
            held = (_load_or_build(held[0] if held else None), mtime)
            _held[key] = held
        catch_up(held[0])
        return held[0]


def _load_or_build(current: FaceIndex | None = None) -> FaceIndex:
    folder = snapshot_dir()
    if (folder / "meta.json").exists():
        try:
            index, _ = FaceIndex.load(folder)
            return index
        except (OSError, ValueError, KeyError) as exc:
            log.warning("sighting index snapshot in %s unusable (%s): building from the database", folder, exc)
    return current if current is not None else build_from_database()


def rebuild(kind: str = "auto") -> FaceIndex:
    """Build from the database, write the snapshot (atomically, file by file) and use it in this process."""
    index = build_from_database(kind)
    index.save(snapshot_dir())
    with _lock:
        _held[_key()] = (index, _snapshot_mtime())
    return index


def forget() -> None:
    """Drop this process's index (the next use loads or builds it again)."""
    with _lock:
        _held.clear()
