"""The imperative shell the Functions triggers and `pal-audit scan --store tables` call.

    start_run            timer / POST /api/scans / CLI: claim tenants, record the run, enqueue
    handle_tenant_message   queue trigger: audit one tenant, store it, finish it in the run
    handle_poison_message   poison queue: the tenant becomes an `audit_error`, the run still finishes
    audit_and_store / store_tenant_result   the per-tenant write the CLI reuses
    scan_into_tables     the CLI's whole `--store tables` scan, without a queue
    health               GET /api/health

One concern per module: `observer` (the `RunObserver` protocol through which the alerts are told
about runs), `runs` (starting a run), `completion` (a run's completion notification), `abandon`
(giving back the tenants of a run that failed part-way), `tenant` (one tenant's write, the queue
triggers), `stored_scan` (`--store tables`), `health` (the timer, GET /api/health), `context` (an
invocation's context, given its observer), `worker` (what a worker process keeps between queue
messages: the connection pool, credentials, built-in role definitions), `composition` (the
composition root: `APP`, the Functions app's context with the alerts observing, and
`alerts_observer` for the CLI). Import from here.
"""

from pal_audit.service.composition import APP, AppRoot, alerts_observer
from pal_audit.service.context import (
    AppContext,
    _registry_cache,  # noqa: F401  (tests clear it)
    load_registry_cached,
    open_context,
    tenants_unknown,
)
from pal_audit.service.health import health, run_nightly
from pal_audit.service.observer import NO_OBSERVER, NoObserver, ObserverFactory, RunObserver, no_observer
from pal_audit.service.runs import CLAIM_GRACE, StartResult, start_run, utcnow
from pal_audit.service.stored_scan import TableResultSink, TablesScan, scan_into_tables, table_result_sink
from pal_audit.service.tenant import (
    TenantOutcome,
    audit_and_store,
    handle_poison_message,
    handle_tenant_message,
    store_tenant_result,
)

__all__ = [
    "APP",
    "CLAIM_GRACE",
    "NO_OBSERVER",
    "AppContext",
    "AppRoot",
    "NoObserver",
    "ObserverFactory",
    "RunObserver",
    "StartResult",
    "TableResultSink",
    "TablesScan",
    "TenantOutcome",
    "alerts_observer",
    "audit_and_store",
    "handle_poison_message",
    "handle_tenant_message",
    "health",
    "load_registry_cached",
    "no_observer",
    "open_context",
    "run_nightly",
    "scan_into_tables",
    "start_run",
    "store_tenant_result",
    "table_result_sink",
    "tenants_unknown",
    "utcnow",
]
