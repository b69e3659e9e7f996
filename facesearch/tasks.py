"""django-q2 tasks for profiles. Thin: call the service."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def profiles_consolidate_task() -> dict[str, int]:
    """Hourly (schedule created by migration 0002): see ``facesearch.services.profiles_consolidate``."""
    from facesearch.services import profiles_consolidate

    summary = profiles_consolidate()
    log.info("profile consolidation: %s", summary)
    return summary
