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


async def already_finished(store: Store, run_id: str, unit_id: str, observer: RunObserver,
                           what: str = "tenant") -> bool:
    """Whether this unit of the run was finished before (a redelivered message): then the run's
    completion notice is retried and nothing is audited again. A unit outside the run is
    `UnknownRun`; storage that cannot be reached is `unavailable`."""
    from pal_audit.store import UnknownRun
    from pal_audit.store.tables import is_transport_failure, unavailable

    try:
        run, state = await store.runs.tenant_state(run_id, unit_id)
    except Exception as exc:
        if is_transport_failure(exc):
            raise unavailable(exc, store.config.describe()) from exc
        raise
    if run is None or state is None:
        raise UnknownRun(f"{what} {unit_id} is not part of run {run_id}")
    if state == "queued":
        return False
    log.info("run %s, %s %s: already %s (replayed message)", run_id, what, unit_id, state)
    await _retry_notification(store, run, observer)
    return True
