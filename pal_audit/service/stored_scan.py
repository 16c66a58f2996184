"""`pal-audit scan --store tables`: the same run/lifecycle as the Functions app, without the queue,
as one call (`scan_into_tables`) or as a sink of the CLI's scan (`table_result_sink`).

A scan that stops part-way (a storage failure, Ctrl-C) gives back the tenants its run claimed but
did not store (`abandon_tenants`: failed in the run as `unexpected`, claims released), so its run
completes and does not hold them from the next timer run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pal_audit.service.abandon import abandon_tenants
from pal_audit.service.context import load_registry_cached
from pal_audit.service.lighthouse import (
    audit_lighthouse_unit,
    managing_ids,
    store_lighthouse_results,
    unit_ids,
)
from pal_audit.service.observer import NO_OBSERVER, ObserverFactory, RunObserver, no_observer
from pal_audit.service.runs import start_run
from pal_audit.service.tenant import TenantOutcome, store_tenant_result
from pal_audit.settings import Settings
from pal_audit.store import StorageConfig, Store

if TYPE_CHECKING:
    from pal_audit.engine.auditor import Auditor, TenantResult
    from pal_audit.model import PartnerPolicy
    from pal_audit.registry import Registry

log = logging.getLogger("pal_audit.service")


def not_stored_reason(holder: str) -> str:
    """Why a tenant of a `--store tables` scan was audited but not stored (stderr and report)."""
    return (f"not stored: unfinished run {holder} holds this tenant (it writes it, or a later run takes "
            "it over once that run is known dead)")


def warn_not_stored(not_stored: dict[str, str]) -> None:
    """One stderr line: a rescan is never silently short."""
    if not_stored:
        runs = sorted(set(not_stored.values()))
        log.warning("--store tables: %d tenant(s) audited but not stored, held by unfinished run(s) %s: %s",
                    len(not_stored), ", ".join(runs), ", ".join(sorted(not_stored)))


@dataclass(frozen=True)
class TablesScan:
    run_id: str | None
    results: list[TenantResult]             # every requested tenant, stored or not
    outcomes: list[TenantOutcome]           # the stored ones
    not_stored: dict[str, str]              # tenant id -> run that already had it queued


async def scan_into_tables(registry: Registry, auditor: Auditor, store: Store,
                           tenant_ids: Sequence[str] | None = None, *, trigger: str = "cli",
                           observer: RunObserver = NO_OBSERVER,
                           progress: Callable[[TenantResult], None] | None = None) -> TablesScan:
    """`pal-audit scan --store tables`: the same run/lifecycle as the Functions app, without the queue.

    A tenant an unfinished Functions run has queued is still audited (for the report) but not
    stored, so the two never write the same tenant for different runs.
    """
    from pal_audit.engine.lighthouse import LighthouseAuditor

    await store.ensure_tables()
    lighthouse = isinstance(auditor, LighthouseAuditor)
    units = list(tenant_ids or (unit_ids(registry) if lighthouse else registry.tenant_ids()))
    start = await start_run(store, registry, trigger, units, enqueue=False, observer=observer)
    warn_not_stored(dict(start.skipped))
    queued = set(start.queued)
    managing = set(managing_ids(registry))
    results: list[TenantResult] = []
    outcomes: list[TenantOutcome] = []
    try:
        wanted = [t for t in units if t not in managing]
        async for result in auditor.audit_tenants(wanted, progress=progress):
            results.append(result)
            if start.run_id and result.snapshot.tenant_id in queued:
                outcomes.append(await store_tenant_result(store, start.run_id, result, observer=observer,
                                                          policy=registry.partner_policy()))
        for mid in (t for t in units if t in managing):
            if not isinstance(auditor, LighthouseAuditor):
                raise TypeError(f"managing tenant {mid}: a `lighthouse:` entry needs a LighthouseAuditor")
            unit = await audit_lighthouse_unit(registry, auditor, mid)
            results += unit
            if start.run_id and mid in queued:
                outcomes.append(await store_lighthouse_results(store, start.run_id, mid, unit,
                                                               observer=observer))
    except BaseException as exc:
        if start.run_id:
            left = queued - {o.tenant_id for o in outcomes}
            await abandon_tenants(store, registry, start.run_id, sorted(left), _stopped(exc),
                                  observer=observer)
        raise
    return TablesScan(start.run_id, results, outcomes, dict(start.skipped))


def _stopped(exc: BaseException | None) -> str:
    cause = f" ({type(exc).__name__})" if exc is not None else ""
    return f"the --store tables scan stopped before this tenant was stored{cause}; the next run audits it"


class TableResultSink:
    """`pal-audit scan --store tables` as a sink of the CLI's scan: `await sink(scan_run_id, result)`
    for each tenant, `await sink.store_lighthouse(scan_run_id, managing_id, results)` for each
    `lighthouse:` entry. On the first result it opens the store and starts a run (trigger "cli") for
    the registry's tenants and managing tenants; each is then stored like the queue function stores
    it. Tenants an unfinished Functions run has queued are not stored (see `not_stored`). The store
    closes itself after the last unit of the registry. A failed write gives back the run's unstored tenants
    (module docstring) and re-raises. `aclose()` (or leaving `async with sink:`) before the last
    tenant gives them back too: a caller that is interrupted calls it to finish the run.
    """

    def __init__(self, settings: Settings, registry: Registry | None = None, *,
                 observer: ObserverFactory = no_observer, **client_options: Any) -> None:
        self.settings, self._registry, self._observer_factory = settings, registry, observer
        self._observer: RunObserver = NO_OBSERVER
        self._options = client_options
        self._store: Store | None = None
        self._expected: set[str] = set()
        self._seen: set[str] = set()
        self._stored: set[str] = set()
        self._registry_used: Registry | None = None
        self.run_id: str | None = None
        self.queued: frozenset[str] = frozenset()
        self.not_stored: dict[str, str] = {}
        self.outcomes: list[TenantOutcome] = []

    async def _open(self) -> Store:
        registry = self._registry or load_registry_cached(self.settings.registry_path)
        store = Store(StorageConfig.from_settings(self.settings), **self._options)
        try:
            await store.ensure_tables()
            self._observer = self._observer_factory(self.settings, store)
            start = await start_run(store, registry, "cli", enqueue=False, observer=self._observer)
        except BaseException:
            await store.close()
            raise
        self._store, self.run_id, self._registry_used = store, start.run_id, registry
        self._expected = set(unit_ids(registry))
        self.queued, self.not_stored = frozenset(start.queued), dict(start.skipped)
        warn_not_stored(self.not_stored)
        return store

    def _policy(self) -> PartnerPolicy | None:
        return self._registry_used.partner_policy() if self._registry_used is not None else None

    async def __call__(self, scan_run_id: str, result: TenantResult) -> None:
        store = self._store or await self._open()
        tid = result.snapshot.tenant_id
        if self.run_id and tid in self.queued and tid not in self._seen:
            try:
                self.outcomes.append(await store_tenant_result(store, self.run_id, result,
                                                               observer=self._observer,
                                                               policy=self._policy()))
            except BaseException as exc:
                await self.aclose(exc)
                raise
            self._stored.add(tid)
        self._seen.add(tid)
        if self._expected <= self._seen:
            await self.aclose()

    async def store_lighthouse(self, scan_run_id: str, managing_id: str, results: list[TenantResult]) -> None:
        """One `lighthouse:` entry's results (managing tenant first), stored as one unit of the run."""
        store = self._store or await self._open()
        if self.run_id and managing_id in self.queued and managing_id not in self._seen:
            try:
                self.outcomes.append(await store_lighthouse_results(store, self.run_id, managing_id, results,
                                                                    observer=self._observer))
            except BaseException as exc:
                await self.aclose(exc)
                raise
            self._stored.add(managing_id)
        self._seen.add(managing_id)
        if self._expected <= self._seen:
            await self.aclose()

    async def aclose(self, exc: BaseException | None = None) -> None:
        """Close the store, first giving back the tenants this run claimed but did not store."""
        store, self._store = self._store, None
        if store is None:
            return
        try:
            left = sorted(self.queued - self._stored)
            if self.run_id and left and self._registry_used is not None:
                await abandon_tenants(store, self._registry_used, self.run_id, left, _stopped(exc),
                                      observer=self._observer)
        finally:
            await store.close()

    async def __aenter__(self) -> TableResultSink:
        return self

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        await self.aclose(exc)


def table_result_sink(settings: Settings, registry: Registry | None = None, *,
                      observer: ObserverFactory = no_observer, **client_options: Any) -> TableResultSink:
    """The CLI's `--store tables` sink (pass the registry being scanned; default: PAL_AUDIT_REGISTRY)
    and what observes its run (the CLI passes the alerts)."""
    return TableResultSink(settings, registry, observer=observer, **client_options)
