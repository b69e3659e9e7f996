"""Queue tasks of the evidence app: thin, idempotent (the service claims the row)."""

from __future__ import annotations

from evidence.services import evidence_export_run


def evidence_export_task(export_id: int) -> str:
    return evidence_export_run(int(export_id))
