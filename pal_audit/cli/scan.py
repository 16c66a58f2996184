"""`pal-audit scan`: audit a registry's tenants into a report (the CLI's shell)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from pal_audit.cli.report import ScanReport
from pal_audit.cli.report_stream import StreamingReport
from pal_audit.engine.auditor import DEFAULT_MAX_CONCURRENCY, TenantResult
from pal_audit.engine.lighthouse import LighthouseAuditor, audit_entry
from pal_audit.registry import Registry
from pal_audit.registry.clouds import Cloud

ResultSink = Callable[[str, TenantResult], Awaitable[None]]


def tenant_row(result: TenantResult) -> dict[str, object]:
    snap = result.snapshot
    return {
        "tenant_id": snap.tenant_id,
        "name": snap.name,
        "status": "ok" if snap.fully_audited else "error",
        "identities": [
            {"identity": i.identity, "principal_id": i.principal_id,
             "status": "ok" if i.ok else "error",
             "error": f"{i.error.reason}: {i.error.message}" if i.error else None,
             "link": i.link.partner_id if i.link else None}
            for i in snap.identities
        ],
        **({"error": f"{snap.error.reason}: {snap.error.message}"} if snap.error else {}),
    }


TenantHandler = Callable[[dict[str, object], TenantResult], None]


async def scan_tenants(registry: Registry, on_tenant: TenantHandler, *, cloud: Cloud | None = None,
                       concurrency: int | None = None, max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
                       unit_budget_seconds: float = 120, run_id: str, sink: ResultSink | None = None,
                       progress: Callable[[TenantResult], None] | None = None) -> None:
    """Audit every tenant of the registry (then its Lighthouse entries), handing each result and its
    report row to `on_tenant` as it completes; `sink` receives each result first (e.g. the table
    store). `concurrency` pins the units in flight; None adapts it up to `max_concurrency`."""
    try:
        async with LighthouseAuditor(registry, cloud=cloud, concurrency=concurrency,
                                     max_concurrency=max_concurrency,
                                     unit_budget_seconds=unit_budget_seconds) as auditor:
            async for result in auditor.audit_tenants(progress=progress):
                row = tenant_row(result)
                if sink is not None:
                    await sink(run_id, result)
                    _mark_not_stored(row, sink, result.snapshot.tenant_id)
                on_tenant(row, result)
            for entry in registry.lighthouse:   # each managing tenant with its customers: one unit
                results = await audit_entry(auditor, entry)
                store_lighthouse = getattr(sink, "store_lighthouse", None)
                if store_lighthouse is not None:
                    await store_lighthouse(run_id, entry.managing_tenant_id, results)
                for result in results:
                    if progress is not None:
                        progress(result)
                    row = tenant_row(result)
                    row["kind"] = result.snapshot.kind
                    if sink is not None:
                        _mark_not_stored(row, sink, entry.managing_tenant_id)
                    on_tenant(row, result)
    finally:
        # An interrupted scan (Ctrl-C, a crash) must hand back the tenants its run claimed.
        close = getattr(sink, "aclose", None)
        if close is not None:
            await close()


def _mark_not_stored(row: dict[str, object], sink: ResultSink, unit: str) -> None:
    """The report says so too: a stored scan is never silently short."""
    holder = getattr(sink, "not_stored", {}).get(unit)
    if holder:
        from pal_audit.service.stored_scan import not_stored_reason

        row["stored"], row["not_stored"] = False, not_stored_reason(holder)


async def stream_scan(registry: Registry, report: StreamingReport, *, cloud: Cloud | None = None,
                      concurrency: int | None = None, max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
                      unit_budget_seconds: float = 120,
                      sink: ResultSink | None = None,
                      progress: Callable[[TenantResult], None] | None = None) -> StreamingReport:
    """Audit every tenant into `report`, which keeps counters and spools the rest to disk."""
    await scan_tenants(registry, lambda row, result: report.add(row, result.findings), cloud=cloud,
                       concurrency=concurrency, max_concurrency=max_concurrency,
                       unit_budget_seconds=unit_budget_seconds, run_id=report.run_id, sink=sink,
                       progress=progress)
    report.finished = datetime.now(UTC)
    return report


async def run_scan(registry: Registry, *, cloud: Cloud | None = None, concurrency: int | None = None,
                   max_concurrency: int = DEFAULT_MAX_CONCURRENCY, unit_budget_seconds: float = 120,
                   run_id: str | None = None, sink: ResultSink | None = None,
                   progress: Callable[[TenantResult], None] | None = None) -> ScanReport:
    """The whole report in memory (for callers that keep it, e.g. the demo); the CLI streams."""
    report = ScanReport(run_id=run_id or uuid.uuid4().hex, started=datetime.now(UTC))

    def keep(row: dict[str, object], result: TenantResult) -> None:
        report.tenants.append(row)
        report.findings.extend(result.findings)

    await scan_tenants(registry, keep, cloud=cloud, concurrency=concurrency,
                       max_concurrency=max_concurrency, unit_budget_seconds=unit_budget_seconds,
                       run_id=report.run_id, sink=sink, progress=progress)
    report.tenants.sort(key=lambda t: str(t["name"]))
    report.finished = datetime.now(UTC)
    return report
