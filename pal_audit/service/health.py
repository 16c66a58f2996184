"""The timer (`run_nightly`: start the run, then the stale check) and GET /api/health (`health`)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pal_audit.service.runs import StartResult, start_run, utcnow
from pal_audit.store import RunRecord, Store, StoreError
from pal_audit.store.tables import is_transport_failure

if TYPE_CHECKING:
    from pal_audit.service.context import AppContext

log = logging.getLogger("pal_audit.service")


async def run_nightly(ctx: AppContext, *, now: datetime | None = None) -> StartResult:
    """The timer: start the run, then let the alerts check that the auditor has not gone quiet.

    The check runs even when starting the run fails (a broken registry, storage trouble): it needs
    only the store, and a timer that keeps failing is exactly what it must report. The failure
    itself still propagates, so the host records a failed invocation.
    """
    try:
        return await start_run(ctx.store, ctx.registry(), "timer", now=now, observer=ctx.observer)
    finally:
        try:
            _, success = await _last_runs(ctx.store, ctx.settings.stale_after_hours, now or utcnow())
            await ctx.observer.check_stale(success.finished if success else None)
        except Exception as exc:
            if isinstance(exc, StoreError) or is_transport_failure(exc):     # the outage, once
                log.error("the stale-run check failed: storage unavailable (%s)", type(exc).__name__)
            else:
                log.exception("the stale-run check failed")


async def _last_runs(store: Store, stale_after_hours: int, now: datetime
                     ) -> tuple[RunRecord | None, RunRecord | None]:
    """(the latest run, the latest successful run) within a look-back of twice the stale limit.

    A run is successful when it completed with at least one tenant audited (`done > 0`): a run in
    which every tenant failed (every secret expired, ARM unreachable) is the auditor going quiet,
    not a success, so it neither makes /api/health "ok" nor holds off the stale alert.
    """
    runs = await store.runs.recent(now - timedelta(hours=max(2 * stale_after_hours, 48)))
    ok = [r for r in runs if r.completed and r.finished and r.done > 0]
    return (runs[-1] if runs else None), (max(ok, key=lambda r: r.finished) if ok else None)  # type: ignore


async def health(store: Store, stale_after_hours: int, *,
                 now: datetime | None = None) -> tuple[bool, dict[str, Any]]:
    """Did the last run finish, and how old is the last successful run (docs/http-api.md; the rule
    is in `_last_runs`)."""
    now = now or utcnow()
    last, success = await _last_runs(store, stale_after_hours, now)
    age = (now - success.finished).total_seconds() / 3600 if success and success.finished else None
    healthy = age is not None and age <= stale_after_hours
    return healthy, {
        "status": "ok" if healthy else "stale",
        "last_run": None if last is None else {
            "run_id": last.run_id, "trigger": last.trigger, "status": last.status,
            "started": last.started.isoformat(),
            "finished": last.finished.isoformat() if last.finished else None,
            "tenants_failed": last.failed},
        "last_success": None if success is None else {
            "run_id": success.run_id, "finished": success.finished.isoformat() if success.finished else None,
            "age_hours": round(age or 0, 2)},
        "stale_after_hours": stale_after_hours,
    }
