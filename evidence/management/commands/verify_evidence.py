"""``manage.py verify_evidence``: re-hash every original and derived file against the database; exit code 1 when
any file is missing or altered (for cron and monitoring), 0 when all match. The run is audited."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from evidence.integrity import MISSING, evidence_verify
from facecase.services import audit_record


class Command(BaseCommand):
    help = "Re-hash every original and derived evidence file; report missing or altered files (exit code 1)."

    def handle(self, *args: Any, **options: Any) -> None:
        report = evidence_verify()
        for problem, item, actual in report.problems:
            if problem == MISSING:
                self.stdout.write(f"MISSING   {item.owner}: {item.path}")
            else:
                self.stdout.write(f"MISMATCH  {item.owner}: {item.path} has sha256 {actual}, recorded {item.sha256}")
        missing = sum(1 for problem, _, _ in report.problems if problem == MISSING)
        altered = len(report.problems) - missing
        audit_record(actor=None, verb="evidence_verify", object_type="evidence",
                     details={"checked": report.checked, "missing": missing, "altered": altered})
        summary = f"{report.checked} file(s) checked, {missing} missing, {altered} altered"
        if not report.ok:
            raise CommandError(summary, returncode=1)
        self.stdout.write(self.style.SUCCESS(summary))
