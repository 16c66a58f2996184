"""A run's completion notification (`RunObserver.on_run_completed`): sent once, and retried by a
replayed message when the completing call's notification failed."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from pal_audit.service.observer import RunObserver
from pal_audit.store import RunRecord, Store

log = logging.getLogger("pal_audit.service")


def utcnow() -> datetime:
    return datetime.now(UTC)


async def _notify_completed(store: Store, run_id: str, observer: RunObserver) -> None:
    try:
        await observer.on_run_completed(run_id)
    except Exception:
        await store.runs.set_notification(run_id, notified=False, retry=True)
        raise
    await store.runs.set_notification(run_id, notified=True, retry=False)
    log.info("run %s completed", run_id)


async def _retry_notification(store: Store, run: RunRecord, observer: RunObserver) -> None:
    if run.completed and run.completion_retry and not run.completion_notified \
            and await store.runs.claim_notification_retry(run):
        await _notify_completed(store, run.run_id, observer)
