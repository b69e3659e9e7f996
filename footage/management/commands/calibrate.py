"""Recompute the alert threshold from the LFW calibration plus operators' confirm / "not this person" verdicts.

Prints the old and new threshold and the expected false-alert rate, writes ``<VAR_DIR>/matcher_threshold.json``
(used by every later analysis) and records the change in the audit log. ``--dry-run`` only reports.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from enhancement.weights import WeightsError
from facecase.roles import is_admin
from facecase.services import audit_record
from footage import calibration


class Command(BaseCommand):
    help = "Recalibrate the match threshold from LFW defaults plus operators' review labels (audited)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--label-weight", type=float, default=5.0,
                            help="how many LFW pairs one operator verdict counts for (default 5)")
        parser.add_argument("--max-far", type=float, default=0.01,
                            help="highest acceptable expected false-alert rate (default 0.01)")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--allow-above-open-set", metavar="ADMIN_USERNAME",
                            help="let the new threshold loosen past the registry-sized open-set ceiling; names the "
                                 "admin who decides it (recorded in the audit log)")

    def handle(self, *args: Any, label_weight: float, max_far: float, dry_run: bool,
               allow_above_open_set: str | None, **options: Any) -> None:
        actor = None
        if allow_above_open_set:
            actor = get_user_model().objects.filter(username=allow_above_open_set, is_active=True).first()
            if actor is None or not is_admin(actor):
                raise CommandError(f"--allow-above-open-set needs an active admin's username, not "
                                   f"{allow_above_open_set!r}")
        try:
            result = calibration.calibrate(calibration.review_label_rows(), label_weight=label_weight,
                                           max_far=max_far)
        except WeightsError as exc:
            raise CommandError(f"cannot recalibrate: {exc}") from exc
        result.allow_above_open_set = actor is not None
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
        audit_record(actor=actor, verb="calibrate", object_type="footage.threshold", object_id="matcher",
                     details=result.to_dict())
        self.stdout.write(self.style.SUCCESS(f"written to {path}; recorded in the audit log"))
