"""`pal-audit scan --store tables`: the same run/lifecycle as the Functions app, without the queue,
as one call (`scan_into_tables`) or as a sink of the CLI's scan (`table_result_sink`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pal_audit.service.context import alerts_for, load_registry_cached
from pal_audit.service.hooks import NO_HOOKS, Hooks
from pal_audit.service.runs import start_run
from pal_audit.service.tenant import TenantOutcome, store_tenant_result
from pal_audit.settings import Settings
from pal_audit.store import StorageConfig, Store

if TYPE_CHECKING:
    from pal_audit.audit import Auditor, TenantResult
    from pal_audit.registry import Registry


@dataclass(frozen=True)
class TablesScan:
    run_id: str | None
    results: list[TenantResult]             # every requested tenant, stored or not
    outcomes: list[TenantOutcome]           # the stored ones
    not_stored: dict[str, str]              # tenant id -> run that already had it queued


async def scan_into_tables(registry: Registry, auditor: Auditor, store: Store,
                           tenant_ids: Sequence[str] | None = None, *, trigger: str = "cli",
                           hooks: Hooks = NO_HOOKS,
                           progress: Callable[[TenantResult], None] | None = None) -> TablesScan:
    """`pal-audit scan --store tables`: the same run/lifecycle as the Functions app, without the queue.

    A tenant an unfinished Functions run has queued is still audited (for the report) but not
    stored, so the two never write the same tenant for different runs.
    """
    await store.ensure_tables()
    start = await start_run(store, registry, trigger, tenant_ids, enqueue=False)
    queued = set(start.queued)
    results: list[TenantResult] = []
    outcomes: list[TenantOutcome] = []
    async for result in auditor.audit_tenants(list(tenant_ids or registry.tenant_ids()), progress=progress):
        results.append(result)
        if start.run_id and result.snapshot.tenant_id in queued:
            outcomes.append(await store_tenant_result(store, start.run_id, result, hooks=hooks))
    return TablesScan(start.run_id, results, outcomes, dict(start.skipped))


class TableResultSink:
    """`pal-audit scan --store tables` as a sink of the CLI's scan: `await sink(scan_run_id, result)`
    for each tenant. On the first result it opens the store and starts a run (trigger "cli") for the
    registry's tenants; each result is then stored like the queue function stores it. Tenants an
    unfinished Functions run has queued are not stored (see `not_stored`). The store closes itself
    after the last tenant of the registry; `aclose()` closes it early.
    """

    def __init__(self, settings: Settings, registry: Registry | None = None, *, hooks: Hooks | None = None,
                 **client_options: Any) -> None:
        self.settings, self._registry, self._hooks = settings, registry, hooks
        self._options = client_options
        self._store: Store | None = None
        self._expected: set[str] = set()
        self._seen: set[str] = set()
        self.run_id: str | None = None
        self.queued: frozenset[str] = frozenset()
        self.not_stored: dict[str, str] = {}
        self.outcomes: list[TenantOutcome] = []

    async def _open(self) -> Store:
        registry = self._registry or load_registry_cached(self.settings.registry_path)
        store = Store(StorageConfig.from_settings(self.settings), **self._options)
        try:
            await store.ensure_tables()
            if self._hooks is None:
                self._hooks = Hooks.from_alerts(alerts_for(self.settings, store))
            start = await start_run(store, registry, "cli", enqueue=False)
        except BaseException:
            await store.close()
            raise
        self._store, self.run_id = store, start.run_id
        self._expected = set(registry.tenant_ids())
        self.queued, self.not_stored = frozenset(start.queued), dict(start.skipped)
        return store

    async def __call__(self, scan_run_id: str, result: TenantResult) -> None:
        store = self._store or await self._open()
        tid = result.snapshot.tenant_id
        if self.run_id and tid in self.queued and tid not in self._seen:
            self.outcomes.append(await store_tenant_result(store, self.run_id, result,
                                                           hooks=self._hooks or NO_HOOKS))
        self._seen.add(tid)
        if self._expected <= self._seen:
            await self.aclose()

    async def aclose(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            await store.close()


def table_result_sink(settings: Settings, registry: Registry | None = None, **kwargs: Any) -> TableResultSink:
    """The CLI's `--store tables` sink (pass the registry being scanned; default: PAL_AUDIT_REGISTRY)."""
    return TableResultSink(settings, registry, **kwargs)
