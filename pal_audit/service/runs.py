"""Runs: `start_run` claims the tenants, records the run and queues one message per tenant; the
run's completion notification (`on_run_completed`), sent once and retried on a replayed message."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pal_audit.service.hooks import Hooks
from pal_audit.store import RunRecord, Store, TenantMessage, new_run_id
from pal_audit.store.findings import maybe_await
from pal_audit.store.tables import is_transport_failure, unavailable

if TYPE_CHECKING:
    from pal_audit.registry import Registry

log = logging.getLogger("pal_audit.service")
# A claim whose run has not written its progress rows yet (start_run in flight) counts as live this long.
CLAIM_GRACE = timedelta(minutes=5)
_SEND_CONCURRENCY = 16


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class StartResult:
    run_id: str | None                  # None when every tenant was already queued elsewhere
    queued: tuple[str, ...]
    skipped: dict[str, str] = field(default_factory=dict)   # tenant id -> run that already has it


async def start_run(store: Store, registry: Registry, trigger: str, tenant_ids: Sequence[str] | None = None,
                    *, now: datetime | None = None, enqueue: bool = True) -> StartResult:
    """Create a run for the tenants no unfinished run holds yet, and queue one message per tenant.

    Tenant ids must already be validated against the registry (the HTTP layer does it).
    """
    now = now or utcnow()
    wanted = list(dict.fromkeys(t.lower() for t in (tenant_ids or registry.tenant_ids())))
    run_id = new_run_id(now)

    async def holder_active(holder: str, tenant_id: str, since: datetime) -> bool:
        header, state = await store.runs.tenant_state(holder, tenant_id)
        if state is None:   # its run is not written yet (being started right now) or never was
            return header is None and since > now - CLAIM_GRACE
        return state == "queued"

    limit = asyncio.Semaphore(_SEND_CONCURRENCY)

    async def claim(tid: str) -> tuple[str, str | None]:
        async with limit:
            c = await store.status.claim(tid, run_id, at=now, holder_active=holder_active)
            return tid, (None if c.claimed else c.holder)

    try:
        claims = await asyncio.gather(*(claim(t) for t in wanted))
        queued = [tid for tid, holder in claims if holder is None]
        skipped = {tid: holder for tid, holder in claims if holder is not None}
        if not queued:
            log.info("run not started: every tenant is already queued (%s)", sorted(set(skipped.values())))
            return StartResult(None, (), skipped)
        await store.runs.create(run_id, trigger, queued, skipped=len(skipped), at=now)
        if enqueue:
            await store.queue.ensure()

            async def send(tid: str) -> None:
                async with limit:
                    await store.queue.send(TenantMessage(run_id, tid, trigger))

            await asyncio.gather(*(send(t) for t in queued))
    except Exception as exc:
        if is_transport_failure(exc):
            raise unavailable(exc, store.config.describe()) from exc
        raise
    log.info("run %s (%s): %d tenants queued, %d already queued elsewhere",
             run_id, trigger, len(queued), len(skipped))
    return StartResult(run_id, tuple(queued), skipped)


async def _notify_completed(store: Store, run_id: str, hooks: Hooks) -> None:
    try:
        if hooks.on_run_completed is not None:
            await maybe_await(hooks.on_run_completed(run_id))
    except Exception:
        await store.runs.set_notification(run_id, notified=False, retry=True)
        raise
    await store.runs.set_notification(run_id, notified=True, retry=False)
    log.info("run %s completed", run_id)


async def _retry_notification(store: Store, run: RunRecord, hooks: Hooks) -> None:
    if run.completed and run.completion_retry and not run.completion_notified \
            and await store.runs.claim_notification_retry(run):
        await _notify_completed(store, run.run_id, hooks)
