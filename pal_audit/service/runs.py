"""Runs: `start_run` claims the tenants, records the run and queues one message per tenant.

When anything fails after the claims (recording the run, creating the queue, a message part-way
through), the tenants not yet queued are given back (`abandon_tenants`: failed in the run with an
`unexpected` audit_error, claims released) before the error propagates, so the run still completes
and the next timer or rescan queues them. When storage is down for that too, the run stays
`enqueued: false` (a CLI run: its owner process ends), and a later run takes its tenants over
(`liveness`), finishing them as failed in the dead run so it completes. The completion
notification lives in `completion`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from pal_audit.service.abandon import abandon_tenants
from pal_audit.service.completion import _notify_completed, utcnow
from pal_audit.service.liveness import dead_reason, this_process
from pal_audit.service.observer import NO_OBSERVER, RunObserver
from pal_audit.store import Store, TenantMessage, new_run_id
from pal_audit.store.tables import is_transport_failure, unavailable

if TYPE_CHECKING:
    from pal_audit.registry import Registry

__all__ = ["CLAIM_GRACE", "StartResult", "start_run", "utcnow"]

log = logging.getLogger("pal_audit.service")
# A claim whose run is not recorded yet (start_run in flight) counts as live this long.
CLAIM_GRACE = timedelta(minutes=5)
_SEND_CONCURRENCY = 16
T = TypeVar("T")


@dataclass(frozen=True)
class StartResult:
    run_id: str | None                  # None when every tenant was already queued elsewhere
    queued: tuple[str, ...]
    skipped: dict[str, str] = field(default_factory=dict)   # tenant id -> run that already has it


async def start_run(store: Store, registry: Registry, trigger: str, tenant_ids: Sequence[str] | None = None,
                    *, now: datetime | None = None, enqueue: bool = True, observer: RunObserver = NO_OBSERVER
                    ) -> StartResult:
    """Create a run for the tenants no unfinished run holds yet, and queue one message per tenant.

    Tenant ids must already be validated against the registry (the HTTP layer does it). `observer`
    receives the audit_error of tenants given back after a failure (and the run's completion).
    """
    now = now or utcnow()
    from pal_audit.service.lighthouse import managing_ids, unit_ids

    # a unit is a registry tenant or a Lighthouse managing tenant (with all its customers)
    wanted = list(dict.fromkeys(t.lower() for t in (tenant_ids or unit_ids(registry))))
    managing = set(managing_ids(registry))
    run_id = new_run_id(now)

    taken_over: dict[str, tuple[str, str]] = {}     # tenant id -> (dead holder run, why it is dead)

    async def holder_active(holder: str, tenant_id: str, since: datetime) -> bool:
        header, state = await store.runs.tenant_state(holder, tenant_id)
        if header is None:      # not recorded yet (being started right now), or its start failed
            return since > now - CLAIM_GRACE
        if state != "queued":
            return False
        dead = dead_reason(header, now=now)
        if dead is not None:
            taken_over[tenant_id] = (holder, dead)
            return False
        return True

    limit = asyncio.Semaphore(_SEND_CONCURRENCY)
    claimed: list[str] = []             # ours: given back if anything fails before they are queued
    recorded = False                    # the run's header may exist from here on
    sent: set[str] = set()

    async def claim(tid: str) -> tuple[str, str | None]:
        async with limit:
            c = await store.status.claim(tid, run_id, at=now, holder_active=holder_active)
        if c.claimed:
            claimed.append(tid)
        return tid, (None if c.claimed else c.holder)

    async def send(tid: str) -> None:
        async with limit:
            await store.queue.send(TenantMessage(run_id, tid, trigger, lighthouse=tid in managing))
        sent.add(tid)

    try:
        claims = _raise_first(await asyncio.gather(*(claim(t) for t in wanted), return_exceptions=True))
        queued = [tid for tid, holder in claims if holder is None]
        skipped = {tid: holder for tid, holder in claims if holder is not None}
        if not queued:
            log.info("run not started: every tenant is already queued (%s)", sorted(set(skipped.values())))
            return StartResult(None, (), skipped)
        await _finish_in_dead_runs(store, run_id, {t: taken_over[t] for t in queued if t in taken_over},
                                   now, observer)
        recorded = True
        await store.runs.create(run_id, trigger, queued, skipped=len(skipped), at=now,
                                owner=None if enqueue else this_process(),
                                enqueued=False if enqueue else None)
        if enqueue:
            await store.queue.ensure()
            _raise_first(await asyncio.gather(*(send(t) for t in queued), return_exceptions=True))
            await store.runs.mark_enqueued(run_id)
    except BaseException as exc:        # cancellation too: the tenants must not stay held
        unsent = [t for t in claimed if t not in sent]
        log.error("run %s (%s) failed to start (%s); giving back %d of its %d tenants", run_id, trigger,
                  type(exc).__name__, len(unsent), len(claimed))
        held = await abandon_tenants(store, registry, run_id, unsent, observer=observer,
                                     why=f"the run could not queue this tenant ({type(exc).__name__}); it "
                                         "was not audited in this run and the next run audits it")
        if enqueue and not held and recorded:
            # every tenant is on the queue or given back: the run is live, not dead
            with contextlib.suppress(Exception):
                await store.runs.mark_enqueued(run_id)
        if isinstance(exc, Exception) and is_transport_failure(exc):
            raise unavailable(exc, store.config.describe()) from exc
        raise
    log.info("run %s (%s): %d tenants queued, %d already queued elsewhere",
             run_id, trigger, len(queued), len(skipped))
    return StartResult(run_id, tuple(queued), skipped)


async def _finish_in_dead_runs(store: Store, run_id: str, taken: dict[str, tuple[str, str]], now: datetime,
                               observer: RunObserver) -> None:
    """Record each taken-over tenant as failed in the dead run that held it, so that run completes
    instead of showing it pending forever. Best effort: the new run audits the tenant either way."""
    limit = asyncio.Semaphore(4)        # they all update the dead run's header (If-Match)

    async def finish(tid: str, holder: str, why: str) -> None:
        try:
            async with limit:
                # what the dead run committed before it died still counts, in that run
                counts = await store.findings.run_transitions(tid, holder)
                fin = await store.runs.finish_tenant(
                    holder, tid, ok=False, changes=(), at=now, transitions=counts,
                    error=f"unexpected: not audited in this run: {why}; run {run_id} took the tenant over")
            if fin.completed_now:
                await _notify_completed(store, holder, observer)
        except Exception as exc:
            log.warning("run %s: could not record tenant %s as failed in dead run %s (%s)",
                        run_id, tid, holder, type(exc).__name__)

    for holder, why in sorted(set(taken.values())):
        log.warning("run %s takes over %d tenant(s) from run %s: %s", run_id,
                    sum(1 for h, _ in taken.values() if h == holder), holder, why)
    await asyncio.gather(*(finish(tid, holder, why) for tid, (holder, why) in taken.items()))


def _raise_first(results: Sequence[T | BaseException]) -> list[T]:
    """gather(return_exceptions=True) lets every claim or send finish (so we know what is ours)."""
    ok: list[T] = []
    for r in results:
        if isinstance(r, BaseException):
            raise r
        ok.append(r)
    return ok
