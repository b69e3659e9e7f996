"""Recompute the alert threshold from the LFW calibration plus operators' confirm / "not this person" verdicts.

Prints the old and new threshold and the expected false-alert rate, writes ``<VAR_DIR>/matcher_threshold.json``
(used by every later analysis) and records the change in the audit log. ``--dry-run`` only reports.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from facecase.services import audit_record
from footage import calibration
from footage.models import ReviewLabel


class Command(BaseCommand):
    help = "Recalibrate the match threshold from LFW defaults plus operators' review labels (audited)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--label-weight", type=float, default=5.0,
                            help="how many LFW pairs one operator verdict counts for (default 5)")
        parser.add_argument("--max-far", type=float, default=0.01,
                            help="highest acceptable expected false-alert rate (default 0.01)")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, label_weight: float, max_far: float, dry_run: bool, **options: Any) -> None:
        rows = [(float(d), label == ReviewLabel.Label.SAME)
                for d, label in ReviewLabel.objects.exclude(distance=None).values_list("distance", "label")]
        result = calibration.calibrate(rows, label_weight=label_weight, max_far=max_far)
        self.stdout.write(
            f"threshold {result.previous:.4f} -> {result.threshold:.4f} from {result.lfw_pairs} LFW pairs and "
            f"{result.labels_same} confirmed + {result.labels_different} 'not this person' verdicts "
            f"(x{label_weight:g}); expected false-alert rate {result.expected_false_alert_rate:.2%}, "
            f"weighted accuracy {result.weighted_accuracy:.2%}")
        if result.label_false_alert_rate is not None:
            self.stdout.write(f"  verdicts 'not this person' still under the new threshold: "
                              f"{result.label_false_alert_rate:.1%}")
        if result.label_miss_rate is not None:
            self.stdout.write(f"  confirmed matches the new threshold would miss: {result.label_miss_rate:.1%}")
        if dry_run:
            self.stdout.write("dry run: nothing written")
            return
        path = calibration.save(result)
        audit_record(actor=None, verb="calibrate", object_type="footage.threshold", object_id="matcher",
                     details=result.to_dict())
        self.stdout.write(self.style.SUCCESS(f"written to {path}; recorded in the audit log"))
