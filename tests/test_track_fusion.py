"""Track-level fusion (enhancement.fusion) and the matcher that uses it, on a real face degraded frame by frame."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from enhancement.analysis import AnalysisConfig
from enhancement.analysis.checkpoint import CheckpointError, LoopState, dump, load
from enhancement.analysis.matching import TrackMatcher, embedding_view
from enhancement.analysis.timing import StageClock
from enhancement.embed import aligned_chips, describe_chips, embed_face
from enhancement.frames import BestCrops, crop_quality
from enhancement.fusion import (
    FusionRule,
    average_chips,
    average_chips_recorded,
    combine_views,
    identity_distance,
    pooled_descriptor,
    register_translation,
    select_best,
    track_distances,
)
from enhancement.match import Gallery
from enhancement.synthetic import ASTRONAUT_FACE, astronaut_bgr
from enhancement.track import Track, TrackPoint


def degraded_frame(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One CCTV-like frame: a motion-blur line of random length and angle, a sub-pixel shift, low gain with shot
    noise. Each call draws its own blur, shift and noise."""
    length = int(rng.integers(7, 16))
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), float(rng.uniform(0, 180)), 1.0)
    kernel = cv2.warpAffine(kernel, rot, (length, length))
    kernel /= kernel.sum()
    out = cv2.filter2D(image, -1, kernel)
    dx, dy = rng.uniform(-1.5, 1.5, 2)
    out = cv2.warpAffine(out, np.float32([[1, 0, dx], [0, 1, dy]]), (out.shape[1], out.shape[0]),
                         borderMode=cv2.BORDER_REFLECT)
    gain = float(rng.uniform(0.25, 0.6))
    photons = rng.poisson(out.astype(np.float64) / 255.0 * gain * 300.0)
    return np.clip(photons / 300.0 * 255.0, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def track_frames() -> tuple[np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(16)
    image = astronaut_bgr()
    return image, [degraded_frame(image, rng) for _ in range(8)]


@pytest.fixture(scope="module")
def track_vectors(track_frames) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    clean, frames = track_frames
    vectors = np.stack([embed_face(f, ASTRONAUT_FACE) for f in frames])
    x, y, w, h = ASTRONAUT_FACE
    # The best-crop keeper's weight: face size times its quality score (enhancement.frames.Candidate.weight).
    weights = np.array([crop_quality(f[y:y + h, x:x + w]).score * np.sqrt(w * h) for f in frames])
    return embed_face(clean, ASTRONAUT_FACE), vectors, weights


def test_it_pools_a_degraded_track_closer_to_the_clean_face_than_its_worst_frame(track_vectors) -> None:
    clean, vectors, weights = track_vectors
    per_frame = np.linalg.norm(vectors - clean, axis=1)
    pooled = pooled_descriptor(vectors, weights, keep=None, power=1.0)
    assert pooled.shape == (128,) and pooled.dtype == np.float32
    assert np.linalg.norm(pooled - clean) < per_frame.max()
    assert np.linalg.norm(pooled - clean) < per_frame.mean()  # the frames' errors partly cancel
    # The track distance under each rule, against a one-row gallery holding the clean descriptor.
    gallery = clean[None, :]
    assert track_distances(gallery, vectors, weights, FusionRule("pooled"))[0] == pytest.approx(
        np.linalg.norm(pooled - clean), abs=1e-5)
    assert track_distances(gallery, vectors, weights, FusionRule("any_frame"))[0] == pytest.approx(per_frame.min())
    best3 = select_best(weights, 3)
    expected = float(per_frame[best3] @ (weights[best3] / weights[best3].sum()))
    assert track_distances(gallery, vectors, weights, FusionRule("best_k_distance", keep=3))[0] == pytest.approx(
        expected)


def test_it_pools_deterministically_and_independently_of_frame_order(track_vectors) -> None:
    _, vectors, weights = track_vectors
    first = pooled_descriptor(vectors, weights, keep=5, power=2.0)
    assert pooled_descriptor(vectors, weights, keep=5, power=2.0).tobytes() == first.tobytes()
    order = np.random.default_rng(0).permutation(len(vectors))
    np.testing.assert_allclose(pooled_descriptor(vectors[order], weights[order], keep=5, power=2.0), first, atol=1e-6)
    # keep=5 uses the five best-weighted frames only: changing a frame outside them changes nothing.
    worst = int(np.argmin(weights))
    changed = vectors.copy()
    changed[worst] += 1.0
    assert pooled_descriptor(changed, weights, keep=5, power=2.0).tobytes() == first.tobytes()
    assert pooled_descriptor(changed, weights, keep=None, power=2.0).tobytes() != first.tobytes()


def test_it_refuses_empty_or_mismatched_tracks_with_a_reason() -> None:
    v = np.zeros((3, 128), np.float32)
    with pytest.raises(ValueError, match="non-empty"):
        pooled_descriptor(np.zeros((0, 128)), np.zeros(0))
    with pytest.raises(ValueError, match="3 vectors but 2 weights"):
        track_distances(np.zeros((1, 128)), v, np.ones(2))
    with pytest.raises(ValueError, match=">= 0"):
        pooled_descriptor(v, np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="gallery must be"):
        track_distances(np.zeros((2, 64)), v, np.ones(3))
    with pytest.raises(ValueError, match="unknown fusion rule"):
        FusionRule("vote")
    with pytest.raises(ValueError, match="no chips"):
        average_chips([], np.zeros(0))
    # All-zero weights: every frame counts the same; more frames asked for than exist: all of them.
    v2 = np.arange(3 * 128, dtype=np.float32).reshape(3, 128)
    np.testing.assert_allclose(pooled_descriptor(v2, np.zeros(3), keep=10), v2.mean(axis=0), rtol=1e-6)
    assert track_distances(np.zeros((4, 128)), v2, np.ones(3)).shape == (4,)
    assert list(select_best(np.array([0.5, 0.9, 0.5, 0.1]), 3)) == [1, 0, 2]  # ties: the earlier frame first


def test_it_measures_an_identity_with_several_photos_by_its_nearest_photo() -> None:
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(3, 128))
    vectors = rows[1] + 0.05 * rng.normal(size=(4, 128))
    weights = np.array([4.0, 3.0, 2.0, 1.0])
    pooled = pooled_descriptor(vectors, weights)
    assert identity_distance(rows, vectors, weights) == pytest.approx(np.linalg.norm(rows[1] - pooled), rel=1e-6)
    nearest = np.linalg.norm(rows[:, None] - vectors[None], axis=2).min(axis=0)
    rule = FusionRule("best_k_distance", keep=2)
    assert identity_distance(rows, vectors, weights, rule) == pytest.approx((4 * nearest[0] + 3 * nearest[1]) / 7)


def test_it_registers_a_shifted_chip_before_averaging() -> None:
    clean = astronaut_bgr()
    chip = aligned_chips(clean, [ASTRONAUT_FACE])[0][0]
    moved = cv2.warpAffine(chip, np.float32([[1, 0, 3], [0, 1, -2]]), (150, 150), borderMode=cv2.BORDER_REFLECT)
    warp = register_translation(chip, moved)
    assert warp[0, 2] == pytest.approx(3, abs=0.3) and warp[1, 2] == pytest.approx(-2, abs=0.3)
    averaged = average_chips([chip, moved], np.array([2.0, 1.0]))
    naive = (chip.astype(np.float64) * 2 + moved) / 3
    inner = (slice(10, 140), slice(10, 140))  # away from the reflected border
    err = np.abs(averaged[inner].astype(np.float64) - chip[inner]).mean()
    assert err < 0.5 * np.abs(naive[inner] - chip[inner]).mean()
    # Its record: the heavier chip is the reference, the shares are the normalised weights, the shift is the one
    # registration found (the reference's own is zero), and the image is the same average.
    made = average_chips_recorded([moved, chip], np.array([1.0, 2.0]))
    assert made.order == (1, 0) and made.shares == pytest.approx((2 / 3, 1 / 3), abs=1e-4)
    assert made.shifts[0] == (0.0, 0.0) and made.shifts[1] == pytest.approx((3, -2), abs=0.3)
    np.testing.assert_array_equal(made.image, average_chips([moved, chip], np.array([1.0, 2.0])))


def test_it_averages_the_aligned_chips_of_a_degraded_track_into_one_closer_than_its_worst_frame(
        track_frames, track_vectors) -> None:
    clean, frames = track_frames
    clean_vec, vectors, weights = track_vectors
    chips = [aligned_chips(f, [ASTRONAUT_FACE])[0][0] for f in frames]
    averaged = describe_chips([average_chips(chips, weights)], "dlib")[0]
    per_frame = np.linalg.norm(vectors - clean_vec, axis=1)
    assert np.linalg.norm(averaged - clean_vec) < per_frame.max()


def kept_track(frames: list[np.ndarray], config: AnalysisConfig) -> tuple[Track, list]:
    """The frames as one track (the astronaut's box in each) and the crops its store keeps, best first."""
    store = BestCrops(keep=config.crops_kept)
    points = []
    for i, frame in enumerate(frames):
        store.offer(frame, i, i / 10, ASTRONAUT_FACE)
        points.append(TrackPoint(i, i / 10, ASTRONAUT_FACE, 1.0))
    return Track(1, points), store.best()


def astronaut_and_other(clean: np.ndarray) -> Gallery:
    """The clean astronaut, and an upside-down "face" as another identity."""
    other = embed_face(cv2.flip(astronaut_bgr(), 0), ASTRONAUT_FACE)
    return Gallery(np.stack([embed_face(clean, ASTRONAUT_FACE), other]), ["astronaut", "other"])


def test_it_matches_a_track_on_its_fused_crops_and_keeps_only_the_best_few_as_evidence(track_frames) -> None:
    clean, frames = track_frames
    config = AnalysisConfig(enhance=False, embed_backend="dlib", keep_best=2, fusion="pooled", fusion_keep=6,
                            fusion_power=1.0, chip_average_keep=0)
    assert not config.fusion_rule.chip_average
    track, best = kept_track(frames, config)
    assert len(best) == 6
    gallery = astronaut_and_other(clean)
    result = TrackMatcher(gallery, config, StageClock()).track_result(track, best)
    assert [c.frame_index for c in result.crops] == [c.frame_index for c in best[:2]]  # evidence: the best two
    fused = np.stack([embed_face(c.crop, c.box_in_crop) for c in best])
    pooled = pooled_descriptor(fused, np.array([c.weight for c in best]))
    expected = float(np.linalg.norm(pooled - gallery.vectors[0]))
    row = next(r for r in result.raw.candidates if r["label"] == "astronaut")
    assert row["distance"] == pytest.approx(expected, abs=2e-4)
    assert result.raw.candidates[0]["label"] == "astronaut"


def test_it_adds_the_averaged_chip_as_one_more_view_and_says_which_view_matched(track_frames) -> None:
    clean, frames = track_frames
    config = AnalysisConfig(enhance=False, embed_backend="dlib", keep_best=2, fusion_keep=3, chip_average_keep=8)
    assert config.fusion_rule.chip_average and config.crops_kept == 8
    track, best = kept_track(frames, config)
    assert len(best) == 8
    gallery = astronaut_and_other(clean)
    result = TrackMatcher(gallery, config, StageClock()).track_result(track, best)
    # Computed here on its own: the fused distance of the 3 best crops, and the averaged chip of all 8.
    weights = np.array([c.weight for c in best])
    fused = np.stack([embed_face(c.crop, c.box_in_crop) for c in best[:3]])
    frames_d = identity_distance(gallery.vectors[:1], fused, weights[:3], FusionRule("best_k_distance", 3, 4.0))
    views = [embedding_view(c.crop, c.box_in_crop, config.embed_face_px) for c in best]
    chips = [aligned_chips(image, [box])[0][0] for image, box in views]
    chip_d = float(np.linalg.norm(describe_chips([average_chips(chips, weights)], "dlib")[0] - gallery.vectors[0]))
    assert chip_d < frames_d  # on this track the averaged frames are nearer to the clean face than the best 3
    row = next(r for r in result.raw.candidates if r["label"] == "astronaut")
    # The chip's gain is bounded (AnalysisConfig.chip_max_gain): the nearer of the chip and the crops less the bound.
    expected = max(chip_d, frames_d - config.chip_max_gain)
    assert row["distance"] == pytest.approx(expected, abs=2e-4) and row["view"] == "averaged chip"
    assert result.raw.candidates[0]["label"] == "astronaut"
    # The result carries that chip (BGR, as the crops) and how it was made: the 8 frames, best first.
    averaged = result.averaged
    assert averaged is not None and averaged.record["frames"] == [c.frame_index for c in best]
    np.testing.assert_array_equal(averaged.image[..., ::-1], average_chips(chips, weights))
    assert averaged.record["reference_frame"] == best[0].frame_index and len(averaged.record["shifts_px"]) == 8
    # Off: the same crops give the fused crops' distance, and say so.
    off = TrackMatcher(gallery, replace(config, chip_average_keep=0), StageClock()).track_result(track, best)
    row = next(r for r in off.raw.candidates if r["label"] == "astronaut")
    assert row["distance"] == pytest.approx(frames_d, abs=2e-4) and row["view"] == "crops"
    assert off.averaged is None
    # One crop: nothing to average, the crop's own distance.
    single = TrackMatcher(gallery, config, StageClock()).track_result(Track(1, track.points[:1]), best[:1])
    alone = float(np.linalg.norm(embed_face(best[0].crop, best[0].box_in_crop) - gallery.vectors[0]))
    row = next(r for r in single.raw.candidates if r["label"] == "astronaut")
    assert row["distance"] == pytest.approx(alone, abs=2e-4) and row["view"] == "crops"
    assert single.averaged is None


def test_the_averaged_chip_view_is_the_nearer_distance_and_refuses_a_wrong_descriptor(track_vectors) -> None:
    clean, vectors, weights = track_vectors
    gallery = np.stack([clean, -clean])
    rule = FusionRule("best_k_distance", 3, 4.0, chip_average=True)
    frames_only = track_distances(gallery, vectors, weights, replace(rule, chip_average=False))
    np.testing.assert_allclose(track_distances(gallery, vectors, weights, rule), frames_only)  # no chip given
    chip = clean + 0.01
    expected = np.minimum(frames_only, np.linalg.norm(gallery - chip, axis=1))
    np.testing.assert_allclose(track_distances(gallery, vectors, weights, rule, chip), expected)
    assert identity_distance(gallery[:1], vectors, weights, rule, chip) == pytest.approx(expected[0])
    with pytest.raises(ValueError, match="chip_vector must be"):
        track_distances(gallery, vectors, weights, rule, np.zeros(64))


def test_the_averaged_chip_sharpens_only_the_crops_own_answer_and_by_a_bounded_amount() -> None:
    # The Hamilton failure in small: the crops are nearest to identity 0 but far from it (0.60); the averaged chip
    # lands on identity 0 at 0.38 and also near identity 1.
    crops, chip = np.array([0.60, 0.65, 0.80]), np.array([0.38, 0.40, 0.90])
    ungated = FusionRule("best_k_distance", 3, 4.0, chip_average=True)
    np.testing.assert_allclose(combine_views(crops, chip, ungated), [0.38, 0.40, 0.80])
    gated = replace(ungated, chip_max_gain=0.08)
    np.testing.assert_allclose(combine_views(crops, chip, gated), [0.52, 0.65, 0.80])  # only the crops' nearest
    np.testing.assert_allclose(combine_views(np.array([0.50, 0.70]), np.array([0.47, 0.45]), gated), [0.47, 0.70])
    np.testing.assert_allclose(combine_views(crops, None, gated), crops)
    with pytest.raises(ValueError, match="chip_max_gain"):
        FusionRule(chip_max_gain=-0.1)


def test_it_refuses_to_resume_a_checkpoint_written_with_another_fusion_setting() -> None:
    state = LoopState.fresh(10)
    blob = dump(state, AnalysisConfig(), 5, 0.5, 0, None)
    assert load(blob, AnalysisConfig())[1] == 5
    with pytest.raises(CheckpointError):
        load(blob, AnalysisConfig(fusion_keep=AnalysisConfig().fusion_keep + 1))


def test_the_live_matcher_embeds_each_fused_crop_once_and_forgets_crops_that_left_the_track(track_frames) -> None:
    from enhancement.analysis.stream import CachingMatcher

    clean, frames = track_frames
    config = AnalysisConfig(enhance=False, embed_backend="dlib", keep_best=2, fusion="pooled", fusion_keep=5)
    track, best = kept_track(frames, config)
    gallery = Gallery(embed_face(clean, ASTRONAUT_FACE)[None, :], ["astronaut"])
    matcher = CachingMatcher(gallery, config, StageClock())
    first = matcher.track_result(track, best)
    assert len(matcher.cache) == 2 and len(matcher.vectors) == 3  # evidence crops, and the other fused ones
    assert len(best) == config.chip_average_keep == len(matcher.chips) and len(matcher.averaged) == 1
    cached = {k: v[0] for k, v in matcher.vectors.items() if v is not None}
    again = matcher.track_result(track, best)
    assert again.raw.candidates == first.raw.candidates
    assert first.averaged is not None and again.averaged is first.averaged  # averaged and described once
    assert all(matcher.vectors[k][0] is v for k, v in cached.items())  # the same arrays: not embedded again
    assert all(matcher.chips[k] is v for k, v in dict(matcher.chips).items())
    matcher.forget(best[:2])
    assert len(matcher.cache) == 2 and not matcher.vectors and len(matcher.chips) == 2 and not matcher.averaged
