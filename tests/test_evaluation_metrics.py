"""The evaluation's metrics and probe preparation, on small arrays with known answers and on real LFW pairs."""

import numpy as np
import pytest

from enhancement.datasets import has_shared_data, lfw_pairs
from research.evaluate import metrics
from research.evaluate.probes import LFW_FACE_BOX, face_box, face_crop
from research.evaluate.verification import probe_seed, select_pairs


def test_it_sets_the_threshold_so_that_at_most_the_allowed_impostors_pass():
    impostor = np.arange(1000) / 1000 + 0.5  # 0.500 ... 1.499
    t = metrics.threshold_at_far(impostor, 0.01)
    assert np.sum(impostor < t) == 10
    assert metrics.threshold_at_far(impostor, 0.0) == pytest.approx(0.5)
    genuine = np.array([0.1, 0.3, 0.505, 0.52, 0.9])
    assert metrics.tar_at_far(genuine, impostor, 0.01) == pytest.approx(0.6)  # the threshold is 0.510


def test_it_scores_a_perfect_separation_as_auc_one_and_chance_as_a_half():
    rng = np.random.default_rng(0)
    assert metrics.roc_auc(np.zeros(10), np.ones(10)) == 1.0
    same = rng.normal(size=4000)
    assert metrics.roc_auc(same[:2000], same[2000:]) == pytest.approx(0.5, abs=0.03)


def test_it_never_counts_two_photos_of_one_person_as_impostors():
    gallery = np.eye(3, 128, dtype=np.float32)
    probes = np.eye(3, 128, dtype=np.float32)
    d = metrics.cross_impostors(gallery, ["ann", "bob", "ann"], probes, ["ann", "cat", "bob"])
    # 6 of the 9 combinations are two different people; the two with the same vector index are at distance 0
    assert np.allclose(sorted(d), [0, 0] + [np.sqrt(2)] * 4, atol=1e-6)


def test_it_ranks_the_true_identity_pessimistically_on_ties():
    assert metrics.rank_of_truth({"a": 0.2, "b": 0.5, "c": 0.9}, "b") == 2
    assert metrics.rank_of_truth({"a": 0.5, "b": 0.5}, "b") == 2
    assert metrics.rank_of_truth({"a": 0.1, "b": 0.7}, "b", higher_is_better=True) == 1
    assert metrics.rank_of_truth({"a": 0.1}, "z") == 0


def test_it_gives_each_pair_and_degradation_its_own_stable_seed():
    assert probe_seed(1, 5, "x4") == probe_seed(1, 5, "x4")
    assert len({probe_seed(1, i, d) for i in range(50) for d in ("x4", "blur")}) == 100


@pytest.mark.skipif(not has_shared_data(), reason="needs ../shared/data (LFW)")
def test_it_picks_balanced_nested_pair_samples():
    pairs = lfw_pairs("pairsDevTest")
    small, large = select_pairs(pairs, 60, 3), select_pairs(pairs, 500, 3)
    assert sum(s for *_, s in small) == 30 and len(small) == 60
    assert large[:60] == small and set(small) <= set(large)
    assert select_pairs(pairs, 60, 3) == small and select_pairs(pairs, 60, 4) != small


@pytest.mark.skipif(not has_shared_data(), reason="needs ../shared/data (LFW)")
def test_it_crops_the_centre_face_with_the_product_margin_at_any_probe_size():
    import cv2

    image = cv2.imread(str(lfw_pairs("pairsDevTest")[0][1]))
    crop, box = face_crop(image, 1.0)
    assert crop.shape[:2] == (184, 184) and box[2:] == LFW_FACE_BOX[2:]
    small = cv2.resize(image, (63, 63), interpolation=cv2.INTER_AREA)
    crop_s, box_s = face_crop(small, 63 / 250)
    assert face_box(63 / 250) == (17, 17, 29, 29)
    assert abs(crop_s.shape[0] - 184 * 63 / 250) <= 2 and box_s[2] == 29
