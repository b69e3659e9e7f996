"""The alert threshold: LFW-calibrated by default, recalibrated from operators' verdicts by ``manage.py calibrate``.

Distances are Euclidean between dlib descriptors; a track matches a suspect when its aggregated distance is under
the threshold. ``weights/matcher_calibration.json`` (the enhancement library, chosen on LFW pairsDevTrain) is the
default; ``manage.py calibrate`` writes ``<VAR_DIR>/matcher_threshold.json`` which then overrides it.

Operators' "confirm" and "not this person" decisions are stored as ``ReviewLabel`` rows (same / different, with the
distance behind the alert; one per alert, its latest decision). Recalibration pools the LFW pairsDevTrain distances
shipped in ``weights/calibration_pairs.json`` with these labels, each label counting ``label_weight`` times because
it comes from our own cameras, and picks the threshold with the best weighted accuracy, capped so that the expected
false-alert rate stays under ``max_far``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.utils import timezone

log = logging.getLogger(__name__)


def threshold_file() -> Path:
    return Path(settings.VAR_DIR) / "matcher_threshold.json"


def alert_threshold(enrolled: int | None = None, embedder: str = "teacher") -> float:
    """The distance under which a track alerts: the operators' recalibration when there is one, else the LFW
    operating point at a 1 % false-accept rate from ``weights/matcher_calibration.json``, else the library default;
    with ``enrolled`` (the number of suspects in the registry's gallery) it is tightened so that a stranger
    alerts against the whole gallery with about ``FACECASE_FALSE_ALERT_RATE`` probability
    (``enhancement.match.open_set_threshold``): a per-pair threshold let 70 % of never-enrolled faces alert against
    a 100-person registry in the evaluation.

    Why not the library's default (best LFW accuracy, 0.626 at 2 % FAR)? An alert interrupts an operator, and CCTV
    shows many strangers: on the looped Hamilton clip an audience member matched an enrolled LFW person at 0.624.
    The 1 % point is read on pairsDevTrain (the open-set table of ``weights/matcher_calibration.json``); the
    pairsDevTest figure in that file is reported only. ``manage.py calibrate`` recomputes it (``--max-far``) from
    pairsDevTrain plus operators' verdicts.
    """
    return _threshold_and_basis(enrolled, embedder)[0]


def threshold_basis(enrolled: int | None = None, embedder: str = "teacher") -> str:
    """How ``alert_threshold(enrolled)`` was set, in words for the reviewer's "why" panel."""
    return _threshold_and_basis(enrolled, embedder)[1]


def _student_threshold_and_basis(enrolled: int | None) -> tuple[float, str]:
    """Student probes against the teacher's gallery: the student's own LFW pairsDevTrain operating point (the
    strictest 1 %-false-accept threshold over clean and degraded probes), tightened for the registry's size with the
    student's open-set table. Operators' recalibration is made of teacher distances and does not apply here."""
    from enhancement.match import open_set_table_for, open_set_threshold, student_operating_point

    base = student_operating_point()
    if base is None:
        raise CalibrationFileError("weights/matcher_calibration_student.json is missing or unreadable")
    if not enrolled:
        return base, "the student embedder's LFW operating point with 1 % false accepts per comparison"
    rate = float(settings.FACECASE_FALSE_ALERT_RATE)
    threshold = open_set_threshold(enrolled, rate, ceiling=base, table=open_set_table_for("student"))
    return threshold, (f"student embedder; set for a registry of {enrolled} suspect{'s' if enrolled != 1 else ''} "
                       f"so that about {rate * 100:g} % of people who are not in it would alert")


class CalibrationFileError(RuntimeError):
    """The operators' recalibration file exists but cannot be used (unreadable, corrupt, out of range)."""


def _threshold_and_basis(enrolled: int | None, embedder: str = "teacher") -> tuple[float, str]:
    """The one place that decides the alert threshold, and says which rule decided it.

    Order: the LFW operating point shipped in ``weights/`` is the base; with a registry it is tightened to the
    registry-sized open-set ceiling. Operators' recalibration replaces the base, but never loosens the threshold
    above that ceiling unless an admin allowed it explicitly (``manage.py calibrate --allow-above-open-set``,
    audited). An unreadable recalibration file is logged as an error and named in the basis, never ignored silently.
    """
    if embedder == "student":
        return _student_threshold_and_basis(enrolled)
    # The base is read on LFW pairsDevTrain (the open-set table's 1 %-per-comparison row, 264,293 impostor pairs),
    # never on pairsDevTest, which the evaluation reports on (it used to be: 0.6159 there, 0.6098 here).
    from enhancement.match import OPEN_SET_TABLE, threshold_for_far

    base = threshold_for_far(0.01) if OPEN_SET_TABLE else lfw_default()
    ceiling, basis = base, "the LFW operating point with 1 % false accepts per comparison"
    if enrolled:
        from enhancement.match import open_set_threshold

        rate = float(settings.FACECASE_FALSE_ALERT_RATE)
        ceiling = open_set_threshold(enrolled, rate, ceiling=base)
        basis = (f"set for a registry of {enrolled} suspect{'s' if enrolled != 1 else ''} so that about "
                 f"{rate * 100:g} % of people who are not in it would alert")
    try:
        recalibrated = recalibration()
    except CalibrationFileError as exc:
        log.error("%s; alerting on the shipped calibration instead", exc)
        return ceiling, f"{basis} (the operators' recalibration file is unusable: {exc})"
    if recalibrated is None:
        return ceiling, basis
    threshold = float(recalibrated["threshold"])
    if threshold > ceiling and not recalibrated.get("allow_above_open_set"):
        return ceiling, (f"operators' recalibration ({threshold:.4f}) capped at the registry-sized ceiling: {basis}")
    return threshold, "recalibrated from operators' verdicts (manage.py calibrate)"


def recalibration() -> dict[str, Any] | None:
    """The operators' recalibration file as written by ``manage.py calibrate``; None when there is none.

    Raises :class:`CalibrationFileError` when the file exists but cannot be trusted."""
    path = threshold_file()
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        threshold = float(data["threshold"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CalibrationFileError(f"recalibration file {path} is unreadable: {type(exc).__name__}: {exc}") from exc
    if not 0.0 < threshold < 2.0:  # unit-length descriptors: every distance lies in [0, 2]
        raise CalibrationFileError(f"recalibration file {path} holds threshold {threshold}, outside (0, 2)")
    return data


def active_threshold() -> float | None:
    """The recalibrated threshold, or None when operators never recalibrated (raises when the file is corrupt)."""
    data = recalibration()
    return float(data["threshold"]) if data is not None else None


def lfw_default() -> float:
    from enhancement.match import DEFAULT_THRESHOLD

    return float(DEFAULT_THRESHOLD)


PAIRS_FILE = "calibration_pairs.json"


def lfw_pair_distances() -> tuple[np.ndarray, np.ndarray]:
    """The LFW pairsDevTrain distances shipped in ``weights/calibration_pairs.json`` (sha256 in the manifest;
    written by ``python -m research.calibrate_matcher --pairs-out``). A missing or altered file is an error:
    recalibrating without it would silently weigh operators' few verdicts alone."""
    from enhancement.weights import verified_path

    data = json.loads(verified_path(PAIRS_FILE).read_text())
    return np.asarray(data["distances"], float), np.asarray(data["same"], bool)


def review_label_rows() -> list[tuple[float, bool]]:
    """(distance, same person) of each reviewed alert's current label: one per alert, the latest decision, and only
    while the alert still stands at that decision, so contradictory verdicts on one alert never both count."""
    from footage.models import Alert, ReviewLabel

    wanted = {ReviewLabel.Label.SAME: Alert.Status.CONFIRMED, ReviewLabel.Label.DIFFERENT: Alert.Status.NOT_THIS_PERSON}
    labels = (ReviewLabel.objects.exclude(distance=None).select_related("alert")
              .order_by("alert_id", "-created_at", "-id"))
    seen: set[int] = set()
    rows = []
    for label in labels:
        if label.alert_id in seen:
            continue  # an older verdict on the same alert
        seen.add(label.alert_id)
        if label.alert.status == wanted.get(label.label):
            rows.append((float(label.distance), label.label == ReviewLabel.Label.SAME))
    return rows


@dataclass
class Calibration:
    threshold: float
    previous: float
    lfw_pairs: int
    labels_same: int
    labels_different: int
    label_weight: float
    weighted_accuracy: float
    expected_false_alert_rate: float  # weighted share of different-person pairs under the threshold
    label_false_alert_rate: float | None  # among operators' "not this person" verdicts only
    label_miss_rate: float | None  # confirmed matches that the new threshold would no longer alert on
    computed_at: str
    allow_above_open_set: bool = False  # set only by an admin, audited: may loosen past the registry ceiling

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def calibrate(label_rows: list[tuple[float, bool]], *, label_weight: float = 5.0, max_far: float = 0.01,
              lfw: tuple[np.ndarray, np.ndarray] | None = None) -> Calibration:
    """``label_rows`` are (distance, same_person). Without labels the current threshold is kept."""
    previous = alert_threshold()
    d_lfw, s_lfw = lfw if lfw is not None else lfw_pair_distances()
    d_lab = np.array([d for d, _ in label_rows], float)
    s_lab = np.array([s for _, s in label_rows], bool)
    d = np.concatenate([d_lfw, d_lab])
    same = np.concatenate([s_lfw, s_lab])
    w = np.concatenate([np.ones(len(d_lfw)), np.full(len(d_lab), label_weight)])
    if len(d) == 0 or same.all() or not same.any():
        threshold = previous  # nothing to separate: keep what we have
    else:
        values = np.sort(np.unique(d))
        candidates = np.concatenate([[values[0] - 1e-6], (values[1:] + values[:-1]) / 2, [values[-1] + 1e-6]])
        impostor_w = w[~same].sum()
        best, best_acc = previous, -1.0
        for t in candidates:
            far = float(w[~same][d[~same] < t].sum() / impostor_w)
            if far > max_far:
                continue
            acc = float((w * ((d < t) == same)).sum() / w.sum())
            if acc > best_acc:
                best, best_acc = float(t), acc
        threshold = best
    far_all = float(w[~same][d[~same] < threshold].sum() / w[~same].sum()) if (~same).any() else 0.0
    acc_all = float((w * ((d < threshold) == same)).sum() / w.sum()) if len(d) else 0.0
    different = d_lab[~s_lab]
    confirmed = d_lab[s_lab]
    return Calibration(
        threshold=round(threshold, 4), previous=round(previous, 4), lfw_pairs=len(d_lfw),
        labels_same=int(s_lab.sum()), labels_different=int((~s_lab).sum()), label_weight=label_weight,
        weighted_accuracy=round(acc_all, 4), expected_false_alert_rate=round(far_all, 4),
        label_false_alert_rate=round(float((different < threshold).mean()), 4) if len(different) else None,
        label_miss_rate=round(float((confirmed >= threshold).mean()), 4) if len(confirmed) else None,
        computed_at=timezone.now().isoformat(),
    )


def save(calibration: Calibration) -> Path:
    path = threshold_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(calibration.to_dict(), indent=2) + "\n")
    return path


def calibration_status(enrolled: int | None) -> dict[str, Any]:
    """Everything the calibration page shows: the threshold footage is matched with now and why, the shipped LFW
    calibration, the operators' recalibration (or why it cannot be used) and the verdicts available."""
    from enhancement.match import CALIBRATION_FILE
    from footage.models import ReviewLabel

    threshold, basis = _threshold_and_basis(enrolled)
    try:
        shipped: dict[str, Any] | None = json.loads(CALIBRATION_FILE.read_text())
        shipped_error = ""
    except (OSError, ValueError) as exc:
        shipped, shipped_error = None, f"{CALIBRATION_FILE.name} is unreadable: {exc}"
    try:
        recalibrated, recalibration_error = recalibration(), ""
    except CalibrationFileError as exc:
        recalibrated, recalibration_error = None, str(exc)
    from enhancement.match import OPEN_SET_TABLE, threshold_for_far

    return {
        "enrolled": enrolled, "threshold": threshold, "basis": basis, "shipped": shipped,
        "base_threshold": round(threshold_for_far(0.01), 4) if OPEN_SET_TABLE else None,
        "shipped_error": shipped_error, "recalibrated": recalibrated, "recalibration_error": recalibration_error,
        "recalibration_file": str(threshold_file()),
        "labels": {"same": ReviewLabel.objects.filter(label=ReviewLabel.Label.SAME).count(),
                   "different": ReviewLabel.objects.filter(label=ReviewLabel.Label.DIFFERENT).count(),
                   "usable": len(review_label_rows())},
    }
