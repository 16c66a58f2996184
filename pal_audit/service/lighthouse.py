"""Lighthouse units in a run: one unit per `lighthouse:` entry, keyed by its managing tenant id.

A unit's results (the managing tenant, then each delegated customer) are written with the same
findings lifecycle as a registry tenant: each result into its own partition (the customer's tenant
id for a delegation), where `TenantSnapshot.owns` keeps a direct audit and the Lighthouse audit of
the same customer from resolving each other's findings. The run sees the unit as one entry (the
managing tenant id): claimed, queued, counted and finished once.

Why the managing tenant id is the claim key: the registry refuses a managing tenant that is also
under `tenants:`, so the claim never blocks a direct audit of any tenant; customers are not
claimed, because their direct and Lighthouse rows are disjoint.

The tenant status table gets the managing tenant's row (which releases the claim); a delegated
customer's status row is left to its direct audit, whose last attempted/succeeded it would
otherwise overwrite. A delegation's failure is an `audit_error` finding of the customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from pal_audit.checks import audit_error
from pal_audit.model import AuditError, ErrorReason, FindingChange, TenantSnapshot
from pal_audit.service.completion import _notify_completed, already_finished, utcnow
from pal_audit.service.observer import NO_OBSERVER, RunObserver
from pal_audit.service.outcome import TenantOutcome, _error_summary
from pal_audit.store import Store
from pal_audit.store.tables import is_transport_failure, unavailable

if TYPE_CHECKING:
    from pal_audit.engine.auditor import TenantResult
    from pal_audit.engine.lighthouse import LighthouseAuditor
    from pal_audit.registry import Registry


def managing_ids(registry: Registry) -> list[str]:
    return [entry.managing_tenant_id for entry in registry.lighthouse]


def unit_ids(registry: Registry) -> list[str]:
    """What a full run queues: every registry tenant, then every managing tenant."""
    return [*registry.tenant_ids(), *managing_ids(registry)]


def failed_managing_result(registry: Registry, managing_id: str, reason: ErrorReason, message: str
                           ) -> TenantResult:
    """A managing tenant that could not be audited at all: one audit_error, nothing resolved."""
    from pal_audit.engine.auditor import TenantResult

    entry = next(e for e in registry.lighthouse if e.managing_tenant_id == managing_id)
    snapshot = TenantSnapshot(tenant_id=managing_id, name=entry.name, expect_link=True,
                              has_customer_approval=True, identities=(), kind="managing",
                              error=AuditError(reason, message))
    return TenantResult(snapshot, tuple(audit_error.evaluate(snapshot, registry.partner_policy())))


async def store_lighthouse_results(store: Store, run_id: str, managing_id: str,
                                   results: Sequence[TenantResult], *, observer: RunObserver = NO_OBSERVER,
                                   now: datetime | None = None) -> TenantOutcome:
    """Write every result of one managing tenant, then finish the unit in the run once."""
    now = now or utcnow()
    changes: list[FindingChange] = []
    counts: dict[str, int] = {}
    errors: list[str] = []
    ok = True
    try:
        for result in results:
            snap = result.snapshot
            written = await store.findings.apply_tenant(snap, result.findings, run_id, at=now,
                                                        on_changes=observer.record)
            if snap.kind == "managing":
                await store.status.record(snap, run_id, at=now)     # releases the unit's claim
            await observer.on_tenant_written(run_id, snap.tenant_id, written.committed)
            changes += written.committed
            for k, v in written.transitions.items():
                counts[k] = counts.get(k, 0) + v
            ok = ok and snap.fully_audited
            summary = _customer_error(snap) if snap.kind == "delegated" else _error_summary(snap)
            if summary:
                errors.append(f"{snap.name}: {summary}")
        fin = await store.runs.finish_tenant(run_id, managing_id, ok=ok, changes=changes,
                                             error="; ".join(errors) or None, at=now, transitions=counts)
        if fin.completed_now:
            await _notify_completed(store, run_id, observer)
    except Exception as exc:
        if is_transport_failure(exc):
            raise unavailable(exc, store.config.describe()) from exc
        raise
    return TenantOutcome(run_id, managing_id, results[0] if results else None, tuple(changes),
                         replay=not fin.counted, run_completed=fin.completed_now)


def _customer_error(snap: TenantSnapshot) -> str | None:
    error = snap.lighthouse.error if snap.lighthouse is not None else None
    return f"{error.reason}: {error.message}" if error is not None else _error_summary(snap)


async def audit_lighthouse_unit(registry: Registry, auditor: LighthouseAuditor, managing_id: str
                                ) -> list[TenantResult]:
    """Audit one `lighthouse:` entry; a bug of ours is the managing tenant's audit_error, not a crash."""
    from pal_audit.engine.lighthouse import audit_entry

    entry = next(e for e in registry.lighthouse if e.managing_tenant_id == managing_id)
    return await audit_entry(auditor, entry)


async def audit_and_store_lighthouse(registry: Registry, auditor: LighthouseAuditor, store: Store,
                                     run_id: str, managing_id: str, *, observer: RunObserver = NO_OBSERVER
                                     ) -> TenantOutcome:
    """The queue trigger's Lighthouse unit: audit it unless already finished in the run, and store it."""
    if await already_finished(store, run_id, managing_id, observer, "managing tenant"):
        return TenantOutcome(run_id, managing_id, None, replay=True)
    results = await audit_lighthouse_unit(registry, auditor, managing_id)
    return await store_lighthouse_results(store, run_id, managing_id, results, observer=observer)


__all__ = ["audit_and_store_lighthouse", "failed_managing_result", "managing_ids",
           "store_lighthouse_results", "unit_ids"]
