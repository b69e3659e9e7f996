"""``manage.py export_case CASE [--alerts confirmed|all] [--user NAME] [--output PATH]``: a signed evidence package."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.build import ALERT_SCOPES, ExportRefused, evidence_export_case
from evidence.commands import copy_out, exporting_user, report_result
from facecase.models import Case


class Command(BaseCommand):
    help = ("Export a case (reference or id) as a signed evidence package in private storage: originals, the "
            "confirmed (or all) alerts with frames, crops, step records, scores, reviews, audit trail and report.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("case", help="case reference or id")
        parser.add_argument("--alerts", choices=ALERT_SCOPES, default="confirmed")
        parser.add_argument("--user", help="the exporting user (recorded in the package and the audit log)")
        parser.add_argument("--output", help="also copy the package to this path (a file or a folder)")

    def handle(self, *args: Any, case: str, alerts: str, user: str | None, output: str | None, **options: Any) -> None:
        found = Case.objects.filter(reference=case).first()
        if found is None and case.isdigit():
            found = Case.objects.filter(pk=int(case)).first()
        if found is None:
            raise CommandError(f"no case with reference or id {case!r}")
        try:
            actor = exporting_user(user)
            result = evidence_export_case(actor=actor, case=found, alerts=alerts,
                                          via="manage.py export_case")
        except ExportRefused as exc:
            raise CommandError(f"export refused: {exc}") from exc
        report_result(self.stdout, result)
        copy_out(self.stdout, result, output, actor=actor, obj=found)
