"""Online grouping of unknown faces into persistent profiles: one pure decision per arriving track.

Conventions: descriptors as in ``enhancement.match`` (128-d float32, Euclidean). A profile is an opaque int label.
The caller finds the new track's stored neighbours (``enhancement.index.FaceIndex``) and passes each with its
profile (None: not in a profile, e.g. a matched suspect's sighting) and distance; :func:`assign` says what to do.

Rule (measured by ``python -m research.profiles``, figures in ``docs/evaluation/profiles.md``): the track joins the
profile of its nearest neighbour closer than ``join``, else it starts a new profile. When neighbours closer than
``join`` belong to several profiles, the track links them; with ``merge_min_links`` set, profiles that each hold at
least that many such neighbours merge into the largest (ties: the smallest label). The measurement chose *no*
automatic merge (``MERGE_MIN_LINKS = None``): on LFW pairsDevTrain every automatic merge rule mixed people
(purity 0.977 with one link, 0.986 with two, against 0.993 without, at the same join distance), while splitting
fewer people only by 1-8 points; merging is left to analysts, who see the candidates side by side.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# Chosen on LFW pairsDevTrain (two halves of its identities: chosen on one, reported on the other) and the real
# clips' tracks; never on pairsDevTest. See docs/evaluation/profiles.md for the sweep.
JOIN_DISTANCE = 0.45
MERGE_MIN_LINKS: int | None = None
NEIGHBOURS = 16  # how many stored neighbours the caller fetches for one decision


@dataclass(frozen=True)
class Decision:
    profile: int | None  # the profile to join (None: start a new one)
    merge: list[int] = field(default_factory=list)  # other profiles to fold into ``profile``
    distance: float | None = None  # to the nearest neighbour in ``profile``


def assign(neighbours: list[tuple[int | None, float]], *, join: float = JOIN_DISTANCE,
           merge_min_links: int | None = MERGE_MIN_LINKS, sizes: dict[int, int] | None = None) -> Decision:
    """``neighbours``: (profile or None, distance) of the new track's nearest stored tracks. ``sizes``: members per
    profile (to merge into the largest)."""
    close = sorted(((d, p) for p, d in neighbours if p is not None and d < join), key=lambda x: x[0])
    if not close:
        return Decision(None)
    nearest = close[0][1]
    if merge_min_links is None:
        return Decision(nearest, [], close[0][0])
    links = Counter(p for _, p in close)
    linked = [p for p, n in links.items() if n >= merge_min_links or p == nearest]
    if len(linked) > 1 and all(links[p] >= merge_min_links for p in linked):
        sizes = sizes or {}
        target = max(linked, key=lambda p: (sizes.get(p, 0), -p))
        return Decision(target, sorted(p for p in linked if p != target), close[0][0])
    return Decision(nearest, [], close[0][0])
