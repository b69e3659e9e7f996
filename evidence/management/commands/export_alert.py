"""``manage.py export_alert ALERT [--user NAME] [--output PATH]``: one alert as a signed evidence package."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.build import ExportRefused, evidence_export_alert
from evidence.commands import copy_out, exporting_user, report_result
from footage.models import Alert


class Command(BaseCommand):
    help = "Export one alert (id) with its original footage, sighting, match, review and audit trail, signed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("alert", type=int, help="alert id")
        parser.add_argument("--user", help="the exporting user (recorded in the package and the audit log)")
        parser.add_argument("--output", help="also copy the package to this path (a file or a folder)")

    def handle(self, *args: Any, alert: int, user: str | None, output: str | None, **options: Any) -> None:
        found = Alert.objects.filter(pk=alert).select_related("footage__case").first()
        if found is None:
            raise CommandError(f"no alert with id {alert}")
        try:
            actor = exporting_user(user)
            result = evidence_export_alert(actor=actor, alert=found, via="manage.py export_alert")
        except ExportRefused as exc:
            raise CommandError(f"export refused: {exc}") from exc
        report_result(self.stdout, result)
        copy_out(self.stdout, result, output, actor=actor, obj=found)
