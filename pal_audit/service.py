"""The imperative shell the Functions triggers and `pal-audit scan --store tables` call.

    start_run            timer / POST /api/scans / CLI: claim tenants, record the run, enqueue
    handle_tenant_message   queue trigger: audit one tenant, store it, finish it in the run
    handle_poison_message   poison queue: the tenant becomes an `audit_error`, the run still finishes
    audit_and_store / store_tenant_result   the per-tenant write the CLI reuses
    scan_into_tables     the CLI's whole `--store tables` scan, without a queue
    health               GET /api/health
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pal_audit.model import FindingChange, TenantSnapshot
from pal_audit.settings import Settings, load_settings
from pal_audit.store import BadMessage, RunRecord, StorageConfig, Store, TenantMessage, UnknownRun, new_run_id
from pal_audit.store.findings import OnChanges, maybe_await
from pal_audit.store.tables import is_transport_failure, unavailable

if TYPE_CHECKING:
    from pal_audit.audit import Auditor, TenantResult
    from pal_audit.registry import Registry

log = logging.getLogger("pal_audit.service")
# A claim whose run has not written its progress rows yet (start_run in flight) counts as live this long.
CLAIM_GRACE = timedelta(minutes=5)
_SEND_CONCURRENCY = 16


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Hooks:
    """Where alerts plug in; every hook is optional and may be sync or async."""

    on_changes: OnChanges | None = None                 # before the findings are committed (outbox)
    on_tenant_written: Callable[[str, str, list[FindingChange]], Awaitable[None] | None] | None = None
    on_run_completed: Callable[[str], Awaitable[None] | None] | None = None   # once per run
    check_stale: Callable[[datetime | None], Awaitable[Any] | Any] | None = None  # on every timer tick

    @classmethod
    def from_alerts(cls, alerts: Any | None) -> Hooks:
        """Adapt an alerts object: `record`, `on_tenant_written`, `on_run_completed`, `check_stale`."""
        if alerts is None:
            return cls()
        return cls(on_changes=getattr(alerts, "record", None),
                   on_tenant_written=getattr(alerts, "on_tenant_written", None),
                   on_run_completed=getattr(alerts, "on_run_completed", None),
                   check_stale=getattr(alerts, "check_stale", None))


NO_HOOKS = Hooks()


@dataclass(frozen=True)
class StartResult:
    run_id: str | None                  # None when every tenant was already queued elsewhere
    queued: tuple[str, ...]
    skipped: dict[str, str] = field(default_factory=dict)   # tenant id -> run that already has it


@dataclass(frozen=True)
class TenantOutcome:
    run_id: str
    tenant_id: str
    result: TenantResult | None         # None when nothing was audited (a replay)
    changes: tuple[FindingChange, ...] = ()
    replay: bool = False                # already finished in this run: nothing written
    run_completed: bool = False         # this call completed the run


# ---------------------------------------------------------------- runs


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


# ---------------------------------------------------------------- one tenant


async def store_tenant_result(store: Store, run_id: str, result: TenantResult, *, hooks: Hooks = NO_HOOKS,
                              now: datetime | None = None) -> TenantOutcome:
    """Write one tenant's audit: findings (transitions first to `on_changes`), status, then the run."""
    now = now or utcnow()
    snap = result.snapshot
    try:
        changes = await store.findings.write_tenant(snap, result.findings, run_id, at=now,
                                                    on_changes=hooks.on_changes)
        await store.status.record(snap, run_id, at=now)
        if hooks.on_tenant_written is not None:
            await maybe_await(hooks.on_tenant_written(run_id, snap.tenant_id, changes))
        fin = await store.runs.finish_tenant(run_id, snap.tenant_id, ok=snap.fully_audited, changes=changes,
                                             error=_error_summary(snap), at=now)
        if fin.completed_now:
            await _notify_completed(store, run_id, hooks)
    except Exception as exc:
        if is_transport_failure(exc):
            raise unavailable(exc, store.config.describe()) from exc
        raise
    return TenantOutcome(run_id, snap.tenant_id, result, tuple(changes), replay=not fin.counted,
                         run_completed=fin.completed_now)


async def audit_and_store(registry: Registry, auditor: Auditor, store: Store, run_id: str, tenant_id: str,
                          *, hooks: Hooks = NO_HOOKS, now: datetime | None = None) -> TenantOutcome:
    """Audit one tenant of a run and store it; a tenant already finished in that run is skipped."""
    try:
        run, state = await store.runs.tenant_state(run_id, tenant_id)
    except Exception as exc:
        if is_transport_failure(exc):
            raise unavailable(exc, store.config.describe()) from exc
        raise
    if run is None or state is None:
        raise UnknownRun(f"tenant {tenant_id} is not part of run {run_id}")
    if state != "queued":
        log.info("run %s, tenant %s: already %s (replayed message)", run_id, tenant_id, state)
        await _retry_notification(store, run, hooks)
        return TenantOutcome(run_id, tenant_id, None, replay=True)
    result = await auditor.audit_tenant(tenant_id)
    return await store_tenant_result(store, run_id, result, hooks=hooks, now=now)


def _error_summary(snap: TenantSnapshot) -> str | None:
    if snap.error is not None:
        return f"{snap.error.reason}: {snap.error.message}"
    failed = [f"{i.identity}: {i.error.reason}" for i in snap.identities if i.error is not None]
    return "; ".join(failed) or None


# ---------------------------------------------------------------- queue triggers


async def handle_tenant_message(body: bytes | str, *, registry: Registry, store: Store,
                                auditor_factory: Callable[[], Auditor], hooks: Hooks = NO_HOOKS
                                ) -> TenantOutcome | None:
    """Queue trigger. Raises only when a retry can help (storage down): the host then redelivers."""
    try:
        msg = TenantMessage.parse(body)
    except BadMessage as exc:
        log.error("dropping a malformed tenant message: %s", exc)   # a retry would fail the same way
        return None
    if msg.tenant_id not in registry.tenant_ids():
        log.error("run %s: tenant %s is no longer in the registry; recorded as failed",
                  msg.run_id, msg.tenant_id)
        return await _finish_unknown_tenant(store, msg, hooks)
    try:
        async with auditor_factory() as auditor:
            return await audit_and_store(registry, auditor, store, msg.run_id, msg.tenant_id, hooks=hooks)
    except UnknownRun as exc:
        log.error("dropping a message for an unknown run: %s", exc)
        return None


async def handle_poison_message(body: bytes | str, *, registry: Registry, store: Store,
                                hooks: Hooks = NO_HOOKS) -> TenantOutcome | None:
    """Poison-queue trigger: the tenant's audit kept crashing. Record a tenant-level audit_error
    (which resolves nothing) and finish the tenant in its run, so the crash is never silent."""
    from pal_audit.audit import failed_tenant_result

    try:
        msg = TenantMessage.parse(body)
    except BadMessage as exc:
        log.error("poison queue: dropping a malformed message: %s", exc)
        return None
    log.error("run %s: the audit of tenant %s failed repeatedly (poison queue)", msg.run_id, msg.tenant_id)
    if msg.tenant_id not in registry.tenant_ids():
        return await _finish_unknown_tenant(store, msg, hooks)
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
        await _retry_notification(store, run, hooks)
        return TenantOutcome(msg.run_id, msg.tenant_id, None, replay=True)
    result = failed_tenant_result(registry, msg.tenant_id, "unexpected",
                                  "the audit of this tenant failed on every attempt (its queue message went "
                                  "to the poison queue); see the function logs of this run")
    return await store_tenant_result(store, msg.run_id, result, hooks=hooks)


async def _finish_unknown_tenant(store: Store, msg: TenantMessage, hooks: Hooks) -> TenantOutcome | None:
    try:
        fin = await store.runs.finish_tenant(msg.run_id, msg.tenant_id, ok=False, changes=(),
                                             error="not_found: tenant no longer in the registry", at=utcnow())
    except UnknownRun:
        return None
    if fin.completed_now:
        await _notify_completed(store, msg.run_id, hooks)
    return TenantOutcome(msg.run_id, msg.tenant_id, None, replay=not fin.counted,
                         run_completed=fin.completed_now)


# ---------------------------------------------------------------- CLI


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
                self._hooks = Hooks.from_alerts(_alerts_for(self.settings, store))
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


# ---------------------------------------------------------------- timer, health


async def run_nightly(ctx: AppContext, *, now: datetime | None = None) -> StartResult:
    """The timer: start the run, then let the alerts check that the auditor has not gone quiet."""
    hooks = ctx.hooks()
    started = await start_run(ctx.store, ctx.registry(), "timer", now=now)
    if hooks.check_stale is not None:
        try:
            _, success = await _last_runs(ctx.store, ctx.settings.stale_after_hours, now or utcnow())
            await maybe_await(hooks.check_stale(success.finished if success else None))
        except Exception:
            log.exception("the stale-run check failed; the run itself was started")
    return started


async def _last_runs(store: Store, stale_after_hours: int, now: datetime
                     ) -> tuple[RunRecord | None, RunRecord | None]:
    """(the latest run, the latest completed run) within a look-back of twice the stale limit."""
    runs = await store.runs.recent(now - timedelta(hours=max(2 * stale_after_hours, 48)))
    done = [r for r in runs if r.completed and r.finished]
    return (runs[-1] if runs else None), (max(done, key=lambda r: r.finished) if done else None)  # type: ignore


async def health(store: Store, stale_after_hours: int, *,
                 now: datetime | None = None) -> tuple[bool, dict[str, Any]]:
    """Did the last run finish, and how old is the last finished run (design.md §8)."""
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


# ---------------------------------------------------------------- wiring for the Functions app


@dataclass
class AppContext:
    settings: Settings
    store: Store
    _registry: Registry | None = None

    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = load_registry_cached(self.settings.registry_path)
        return self._registry

    def auditor(self) -> Auditor:
        from pal_audit.audit import Auditor
        from pal_audit.clouds import cloud_from_setting

        registry = self.registry()
        s = self.settings
        cloud = cloud_from_setting(s.cloud, base_dir=registry.base_dir) if s.cloud else None
        return Auditor(registry, cloud=cloud, concurrency=s.concurrency,
                       unit_budget_seconds=s.unit_budget_seconds,
                       managed_identity_client_id=s.managed_identity_client_id)

    def hooks(self) -> Hooks:
        return Hooks.from_alerts(_alerts_for(self.settings, self.store))


_registry_cache: dict[str, tuple[float, Registry]] = {}


def load_registry_cached(path: str) -> Registry:
    """The registry, re-read only when the file changes (every invocation needs it)."""
    from pal_audit.registry import load_registry

    p = Path(path)
    key, mtime = str(p.resolve()), p.stat().st_mtime if p.exists() else -1.0
    hit = _registry_cache.get(key)
    if hit and hit[0] == mtime:
        return hit[1]
    # Secrets are checked per identity by the audit (a missing one is that unit's audit_error),
    # so one missing secret does not take down every tenant and the HTTP API.
    registry = load_registry(p, check_secrets=False)
    _registry_cache[key] = (mtime, registry)
    return registry


def _alerts_for(settings: Settings, store: Store) -> Any | None:
    """The alerts object when the alerts package provides a factory; None = no alerts."""
    try:
        from pal_audit import alerts
    except ImportError:
        return None
    factory = getattr(alerts, "build_alerts", None)
    return factory(settings, store) if factory is not None else None


@asynccontextmanager
async def open_context(settings: Settings | None = None, **client_options: Any) -> AsyncIterator[AppContext]:
    """Settings validated, storage clients open and tables created; the registry loads on first use."""
    settings = settings or load_settings()
    config = StorageConfig.from_settings(settings)
    async with Store(config, **client_options) as store:
        try:
            await store.ensure_tables()
        except Exception as exc:
            if is_transport_failure(exc):
                raise unavailable(exc, config.describe()) from exc
            raise
        yield AppContext(settings, store)


def tenants_unknown(registry: Registry, tenant_ids: Iterable[str]) -> list[str]:
    known = set(registry.tenant_ids())
    return [t for t in tenant_ids if t.lower() not in known]
