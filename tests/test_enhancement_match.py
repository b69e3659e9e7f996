"""Gallery search and open-set matching on real LFW embeddings (``lfw_people`` is in conftest.py)."""

import numpy as np
import pytest

from enhancement.datasets import has_shared_data
from enhancement.match import DEFAULT_THRESHOLD, Gallery, match

needs_data = pytest.mark.skipif(not has_shared_data(), reason="../shared/data is absent")


@needs_data
def test_it_finds_the_right_identity_for_each_probe(lfw_people):
    vectors, enrolled, _, gallery = lfw_people
    right = sum(match(vectors[p][3], gallery).label == p for p in enrolled)
    assert right >= 5, f"{right}/6 probes matched their identity"


@needs_data
def test_it_answers_unknown_for_people_not_enrolled(lfw_people):
    vectors, _, strangers, gallery = lfw_people
    results = [match(vectors[p][0], gallery) for p in strangers]
    # at the calibrated threshold about 2 % of different-person comparisons pass (pairsDevTest FAR), and each
    # stranger meets 18 enrolled photos here: one false accept in four strangers is what that rate predicts
    assert sum(r.unknown and r.label is None for r in results) >= 3
    assert all(len(r.candidates) == 5 for r in results)  # the reviewer still sees the closest identities
    assert all(c.score < 0.5 for r in results if r.unknown for c in r.candidates)


def test_it_returns_distinct_identities_best_first():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 0.1, (50, 128)).astype(np.float32)
    vectors = np.repeat(centres, 4, axis=0) + rng.normal(0, 0.01, (200, 128)).astype(np.float32)
    gallery = Gallery(vectors, [f"id{i}" for i in range(50) for _ in range(4)])
    found = gallery.search(centres[7], k=5)
    assert found[0].label == "id7" and found[0].score > 0.5
    assert len({c.label for c in found}) == 5
    assert [c.distance for c in found] == sorted(c.distance for c in found)
    assert np.isclose(found[0].distance, np.linalg.norm(vectors[found[0].index] - centres[7]), atol=1e-4)


def test_it_has_a_calibrated_default_threshold():
    assert 0.3 < DEFAULT_THRESHOLD < 0.8
    with pytest.raises(ValueError, match="labels"):
        Gallery(np.zeros((3, 128)), ["a", "b"])


def test_the_open_set_threshold_tightens_as_the_gallery_grows():
    from enhancement.match import OPEN_SET_TABLE, open_set_threshold, threshold_for_far

    assert len(OPEN_SET_TABLE) >= 10, "weights/matcher_calibration.json lacks the open-set table"
    fars, thresholds = zip(*OPEN_SET_TABLE, strict=True)
    assert list(thresholds) == sorted(thresholds)  # a stricter false-accept rate never allows a larger distance
    assert all(t < DEFAULT_THRESHOLD for t, f in zip(thresholds, fars, strict=True) if f <= 0.01)
    sizes = [1, 10, 100, 1000, 10000]
    values = [open_set_threshold(n, 0.01) for n in sizes]
    assert values == sorted(values, reverse=True) and values[0] > values[-1]
    assert all(v <= DEFAULT_THRESHOLD for v in values)
    # one enrolled photo: the threshold is the calibrated point for a 1 % false accept per comparison
    assert open_set_threshold(1, 0.01) == pytest.approx(min(DEFAULT_THRESHOLD, threshold_for_far(0.01)))
    assert open_set_threshold(100, 0.01, ceiling=0.3) == 0.3


def test_the_open_set_table_holds_on_people_it_was_not_read_from():
    """Each row's threshold was read from pairsDevTrain impostors; on the disjoint pairsDevTest people the same
    threshold must accept about the same share of impostors (within a factor of 3 where there are enough pairs)."""
    import json

    from enhancement.match import CALIBRATION_FILE

    table = json.loads(CALIBRATION_FILE.read_text())["open_set"]
    for row in table["table"]:
        if row["far"] * table["dev_test_impostor_comparisons"] >= 100:
            assert row["far"] / 3 <= row["dev_test_far"] <= row["far"] * 3, row
