"""Online grouping of unknown faces into persistent profiles: one pure decision per arriving track.

Conventions: descriptors as in ``enhancement.match`` (128-d float32, Euclidean). A profile is an opaque int label.
The caller finds the new track's stored neighbours (``enhancement.index.FaceIndex``) and passes each with its
profile (None: not in a profile, e.g. a matched suspect's sighting) and distance; :func:`assign` says what to do.

Rule (measured by ``python -m research.profiles``, figures in ``docs/evaluation/profiles.md``): the track joins the
profile of its nearest neighbour closer than ``join``, else it starts a new profile. The track is evidence that
profiles are one person when it lies closer than ``merge.distance`` to at least ``merge.links`` members of each of
them: those profiles then merge into the largest (ties: the smallest label). ``merge=None`` never merges
automatically (analysts merge by hand). Merging on links as loose as the join distance mixed people on LFW (purity
0.977); links under 0.40 kept the purity of no merging (0.993) and reunited a few more people.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class MergeRule:
    distance: float  # a link: the new track lies closer than this to a member of a profile
    links: int = 1  # links needed to each profile


# Chosen on LFW pairsDevTrain (two halves of its identities: chosen on one, reported on the other) and the real
# clips' tracks; never on pairsDevTest. See docs/evaluation/profiles.md for the sweep.
JOIN_DISTANCE = 0.45
MERGE: MergeRule | None = MergeRule(distance=0.40, links=1)
NEIGHBOURS = 16  # how many stored neighbours the caller fetches for one decision


@dataclass(frozen=True)
class Decision:
    profile: int | None  # the profile to join (None: start a new one)
    merge: list[int] = field(default_factory=list)  # other profiles to fold into ``profile``
    distance: float | None = None  # to the nearest neighbour in ``profile``


def assign(neighbours: list[tuple[int | None, float]], *, join: float = JOIN_DISTANCE,
           merge: MergeRule | None = MERGE, sizes: dict[int, int] | None = None) -> Decision:
    """``neighbours``: (profile or None, distance) of the new track's nearest stored tracks. ``sizes``: members per
    profile (to merge into the largest)."""
    close = sorted(((d, p) for p, d in neighbours if p is not None and d < join), key=lambda x: x[0])
    if not close:
        return Decision(None)
    nearest, distance = close[0][1], close[0][0]
    if merge is None:
        return Decision(nearest, [], distance)
    links = Counter(p for d, p in close if d < merge.distance)
    linked = [p for p, n in links.items() if n >= merge.links]
    if len(linked) < 2:
        return Decision(nearest, [], distance)
    sizes = sizes or {}
    target = max(linked, key=lambda p: (sizes.get(p, 0), -p))
    return Decision(target, sorted(p for p in linked if p != target), distance)
