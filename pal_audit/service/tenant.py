"""One tenant: the per-tenant write (`store_tenant_result`, `audit_and_store`, which the CLI reuses)
and the queue triggers (`handle_tenant_message`, `handle_poison_message`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from pal_audit.checks.credit import credited_access, tenant_credited
from pal_audit.model import PartnerPolicy
from pal_audit.service.completion import _notify_completed, _retry_notification, already_finished, utcnow
from pal_audit.service.observer import NO_OBSERVER, RunObserver
from pal_audit.service.outcome import TenantOutcome as TenantOutcome  # re-exported: callers import it here
from pal_audit.service.outcome import _error_summary
from pal_audit.store import BadMessage, Store, TenantMessage, UnknownRun
from pal_audit.store.tables import is_transport_failure, unavailable

if TYPE_CHECKING:
    from pal_audit.engine.auditor import Auditor, TenantResult
    from pal_audit.registry import Registry

log = logging.getLogger("pal_audit.service")


# ---------------------------------------------------------------- one tenant


async def store_tenant_result(store: Store, run_id: str, result: TenantResult, *,
                              observer: RunObserver = NO_OBSERVER, now: datetime | None = None,
                              policy: PartnerPolicy | None = None) -> TenantOutcome:
    """Write one tenant's audit: findings (transitions first to `observer.record`), status, then the run."""
    now = now or utcnow()
    snap = result.snapshot
    try:
        written = await store.findings.apply_tenant(snap, result.findings, run_id, at=now,
                                                    on_changes=observer.record)
        changes = written.committed
        credit = credited_access(snap, policy) if policy is not None else None  # evidence of credit
        await store.status.record(snap, run_id, at=now, credit=credit)
        await observer.on_tenant_written(run_id, snap.tenant_id, changes)
        fin = await store.runs.finish_tenant(run_id, snap.tenant_id, ok=snap.fully_audited, changes=changes,
                                             error=_error_summary(snap), at=now,
                                             transitions=written.transitions,
                                             credited=tenant_credited(snap, credit or ()))
        if fin.completed_now:
            await _notify_completed(store, run_id, observer)
    except Exception as exc:
        if is_transport_failure(exc):
            raise unavailable(exc, store.config.describe()) from exc
        raise
    return TenantOutcome(run_id, snap.tenant_id, result, tuple(changes), replay=not fin.counted,
                         run_completed=fin.completed_now)


async def audit_and_store(registry: Registry, auditor: Auditor, store: Store, run_id: str, tenant_id: str,
                          *, observer: RunObserver = NO_OBSERVER, now: datetime | None = None
                          ) -> TenantOutcome:
    """Audit one tenant of a run and store it; a tenant already finished in that run is skipped."""
    if await already_finished(store, run_id, tenant_id, observer):
        return TenantOutcome(run_id, tenant_id, None, replay=True)
    result = await auditor.audit_tenant(tenant_id)
    return await store_tenant_result(store, run_id, result, observer=observer, now=now,
                                     policy=registry.partner_policy())


# ---------------------------------------------------------------- queue triggers


async def handle_tenant_message(body: bytes | str, *, registry: Registry, store: Store,
                                auditor_factory: Callable[[str], Auditor], observer: RunObserver = NO_OBSERVER
                                ) -> TenantOutcome | None:
    """Queue trigger. Raises only when a retry can help (storage down): the host then redelivers.

    `auditor_factory(run_id)` gives the Auditor (AppContext.auditor shares one role cache per run).
    """
    try:
        msg = TenantMessage.parse(body)
    except BadMessage as exc:
        log.error("dropping a malformed tenant message: %s", exc)   # a retry would fail the same way
        return None
    if msg.lighthouse:
        return await _handle_lighthouse_message(msg, registry=registry, store=store,
                                                auditor_factory=auditor_factory, observer=observer)
    if msg.tenant_id not in registry.tenant_ids():
        log.error("run %s: tenant %s is no longer in the registry; recorded as failed",
                  msg.run_id, msg.tenant_id)
        return await _finish_unknown_tenant(store, msg, observer)
    try:
        async with auditor_factory(msg.run_id) as auditor:
            return await audit_and_store(registry, auditor, store, msg.run_id, msg.tenant_id,
                                         observer=observer)
    except UnknownRun as exc:
        log.error("dropping a message for an unknown run: %s", exc)
        return None


async def _handle_lighthouse_message(msg: TenantMessage, *, registry: Registry, store: Store,
                                     auditor_factory: Callable[[str], Auditor], observer: RunObserver
                                     ) -> TenantOutcome | None:
    from pal_audit.engine.lighthouse import LighthouseAuditor
    from pal_audit.service.lighthouse import audit_and_store_lighthouse, managing_ids

    if msg.tenant_id not in managing_ids(registry):
        log.error("run %s: managing tenant %s is no longer in the registry; recorded as failed",
                  msg.run_id, msg.tenant_id)
        return await _finish_unknown_tenant(store, msg, observer)
    try:
        async with auditor_factory(msg.run_id) as auditor:
            if not isinstance(auditor, LighthouseAuditor):
                raise TypeError("the auditor factory must give a LighthouseAuditor for a Lighthouse unit")
            return await audit_and_store_lighthouse(registry, auditor, store, msg.run_id, msg.tenant_id,
                                                    observer=observer)
    except UnknownRun as exc:
        log.error("dropping a message for an unknown run: %s", exc)
        return None


async def handle_poison_message(body: bytes | str, *, registry: Registry, store: Store,
                                observer: RunObserver = NO_OBSERVER) -> TenantOutcome | None:
    """Poison-queue trigger: the tenant's audit kept crashing. Record a tenant-level audit_error
    (which resolves nothing) and finish the tenant in its run, so the crash is never silent."""
    from pal_audit.engine.auditor import failed_tenant_result

    try:
        msg = TenantMessage.parse(body)
    except BadMessage as exc:
        log.error("poison queue: dropping a malformed message: %s", exc)
        return None
    log.error("run %s: the audit of tenant %s failed repeatedly (poison queue)", msg.run_id, msg.tenant_id)
    from pal_audit.service.lighthouse import managing_ids

    known = managing_ids(registry) if msg.lighthouse else registry.tenant_ids()
    if msg.tenant_id not in known:
        return await _finish_unknown_tenant(store, msg, observer)
    try:
        run, state = await store.runs.tenant_state(msg.run_id, msg.tenant_id)
    except Exception as exc:
        if is_transport_failure(exc):
            raise unavailable(exc, store.config.describe()) from exc
        raise
    if run is None or state is None:
        log.error("poison queue: run %s or its tenant %s is unknown", msg.run_id, msg.tenant_id)
        return None
    if state != "queued":
        await _retry_notification(store, run, observer)
        return TenantOutcome(msg.run_id, msg.tenant_id, None, replay=True)
    why = ("the audit of this tenant failed on every attempt (its queue message went to the poison "
           "queue); see the function logs of this run")
    if msg.lighthouse:      # the managing tenant's audit_error; its customers' findings stay as stored
        from pal_audit.service.lighthouse import failed_managing_result, store_lighthouse_results

        failed = failed_managing_result(registry, msg.tenant_id, "unexpected", why)
        return await store_lighthouse_results(store, msg.run_id, msg.tenant_id, [failed], observer=observer)
    result = failed_tenant_result(registry, msg.tenant_id, "unexpected", why)
    return await store_tenant_result(store, msg.run_id, result, observer=observer)


async def _finish_unknown_tenant(store: Store, msg: TenantMessage, observer: RunObserver
                                 ) -> TenantOutcome | None:
    try:
        fin = await store.runs.finish_tenant(msg.run_id, msg.tenant_id, ok=False, changes=(),
                                             error="not_found: tenant no longer in the registry", at=utcnow())
    except UnknownRun:
        return None
    if fin.completed_now:
        await _notify_completed(store, msg.run_id, observer)
    return TenantOutcome(msg.run_id, msg.tenant_id, None, replay=not fin.counted,
                         run_completed=fin.completed_now)
