"""Orchestration: tenants -> identities -> snapshots -> findings, with per-unit failures.

A unit is one (tenant, identity). Units run concurrently under one limit (adaptive unless pinned,
engine/concurrency.py), share one HTTP connection pool and one role-definition cache, and each has
its own time budget: a unit that fails becomes an `audit_error` for that unit only, and the rest of
the audit goes on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Protocol

from pal_audit.checks import audit_error, decide
from pal_audit.checks.suppressions import apply_suppressions
from pal_audit.engine import heap
from pal_audit.engine.budget import BudgetedRetryPolicy, Deadline
from pal_audit.engine.collect import ArmSession, ClientOptions, Step, collect_identity
from pal_audit.engine.concurrency import (
    DEFAULT_CEILING,
    DEFAULT_FLOOR,
    DEFAULT_MEMORY_BUDGET_MIB,
    DEFAULT_START,
    CallObserver,
    PrincipalSlots,
    Tuning,
    UnitLimit,
)
from pal_audit.engine.credentials import ManagedIdentityAssertion, make_credential
from pal_audit.engine.failures import classify
from pal_audit.engine.http_pool import open_pool
from pal_audit.engine.role_definitions import RoleDefinitionCache
from pal_audit.model import AuditError, ErrorReason, Finding, IdentitySnapshot, TenantSnapshot
from pal_audit.registry import Registry, TenantConfig
from pal_audit.registry.clouds import Cloud

if TYPE_CHECKING:
    import aiohttp
    from azure.core.credentials_async import AsyncTokenCredential
    from azure.core.pipeline.transport import AioHttpTransport

    from pal_audit.engine.credentials import Transport
    from pal_audit.registry.schema import IdentityConfig


class CredentialFactory(Protocol):
    """Builds the credential of one (tenant, identity): `make_credential`, or a cache in front of it."""

    def __call__(self, *, tenant_id: str, identity_name: str, identity: IdentityConfig, cloud: Cloud,
                 env: Mapping[str, str], transport: Transport | None = None,
                 assertion: ManagedIdentityAssertion | None = None) -> AsyncTokenCredential: ...

log = logging.getLogger(__name__)

# Where the adaptive limit starts (and what a pinned audit used to default to): at 50 ms latency
# this is where wall time meets CPU time (bench/).
DEFAULT_MAX_CONCURRENCY = DEFAULT_CEILING


@dataclass(frozen=True)
class TenantResult:
    """One tenant's audit: what was seen, what it proves, and what it could not decide.

    `findings` are the findings the evidence proves (suppressions applied: open or suppressed).
    `undecided` holds the (check_id, principal_id) pairs whose inputs could not be read (a PIM 403,
    an unreadable role definition): for those the store must neither create nor resolve anything,
    i.e. a stored finding with such a key stays exactly as it is. `may_resolve(finding)` says it
    per finding; both come from `snapshot.undecided`, so a store that only sees the snapshot
    applies the same rule. A failed unit (`snapshot.identities[i].ok` False) resolves nothing,
    as before; tenant-level findings (principal "-") only when `snapshot.fully_audited`.
    """

    snapshot: TenantSnapshot
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return self.snapshot.fully_audited

    @property
    def undecided(self) -> frozenset[tuple[str, str]]:
        return self.snapshot.undecided

    def may_resolve(self, finding: Finding) -> bool:
        return self.snapshot.may_resolve(finding.check_id, finding.principal_id)


def assess(snapshot: TenantSnapshot, registry: Registry, today: date) -> TenantResult:
    """The pure part: checks, then suppressions; the undecided keys travel on the snapshot.

    `today` reaches the checks on the policy (credit_expires_soon compares end dates with it).
    """
    decision = decide(snapshot, replace(registry.partner_policy(), today=today))
    findings = tuple(apply_suppressions(list(decision.findings), registry.suppression_rules(), today))
    return TenantResult(replace(snapshot, undecided=snapshot.undecided | decision.undecided), findings)


def evaluate(snapshot: TenantSnapshot, registry: Registry, today: date) -> tuple[Finding, ...]:
    """The findings of `assess` alone."""
    return assess(snapshot, registry, today).findings


def failed_tenant_result(registry: Registry, tenant_id: str, reason: ErrorReason, message: str,
                         today: date | None = None) -> TenantResult:
    """A whole tenant that could not be audited (e.g. a poison message): one tenant-level audit_error."""
    tenant = registry.tenant(tenant_id)
    snapshot = TenantSnapshot(
        tenant_id=tenant.tenant_id, name=tenant.name, expect_link=tenant.expect_link,
        has_customer_approval=tenant.customer_approval is not None, identities=(),
        error=AuditError(reason, message),
    )
    # Only audit_error can say anything about a tenant with no evidence; calling it alone also keeps
    # this path working when another check is what failed.
    findings = audit_error.evaluate(snapshot, registry.partner_policy())
    today = today or datetime.now(UTC).date()
    return TenantResult(snapshot, tuple(apply_suppressions(findings, registry.suppression_rules(), today)))


class _Window:
    """The units audit_tenants has started and not yet seen end, per tenant and in all."""

    def __init__(self, refill: Callable[[], None]) -> None:
        self._refill = refill
        self._left: dict[str, int] = {}
        self.open_units = 0         # the sum of `_left`, kept as it changes (read as each unit ends)

    def started(self, tenant_id: str, units: int) -> None:
        self._left[tenant_id] = self._left.get(tenant_id, 0) + units
        self.open_units += units

    def unit_ended(self, tenant_id: str) -> None:
        if self._left.get(tenant_id):
            self._left[tenant_id] -= 1
            self.open_units -= 1
        self._refill()

    def tenant_ended(self, tenant_id: str) -> None:
        self.open_units -= self._left.pop(tenant_id, 0)     # units that never ran (a failed tenant)


class Auditor:
    """Audits tenants of one registry. Use as `async with Auditor(registry, ...) as auditor:`."""

    def __init__(self, registry: Registry, *, cloud: Cloud | None = None,
                 concurrency: int | None = None, max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
                 memory_budget_mib: int = DEFAULT_MEMORY_BUDGET_MIB, unit_budget_seconds: float = 120,
                 managed_identity_client_id: str | None = None,
                 env: Mapping[str, str] | None = None, today: date | None = None,
                 roles: RoleDefinitionCache | None = None,
                 transport: AioHttpTransport | None = None,
                 credential_factory: CredentialFactory | None = None,
                 assertion: ManagedIdentityAssertion | None = None) -> None:
        """`concurrency` pins the units in flight (`--concurrency N`); None adapts it between a
        floor and `max_concurrency` (`--max-concurrency`). A long-lived `transport`, credential
        factory and assertion (the Functions worker's) are used and left open."""
        self.registry = registry
        self.cloud = cloud or registry.cloud_config()
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, not {max_concurrency}")
        self.limit = UnitLimit(pinned=concurrency, tuning=Tuning(
            start=min(DEFAULT_START, max_concurrency), floor=min(DEFAULT_FLOOR, max_concurrency),
            ceiling=max_concurrency, memory_budget_bytes=memory_budget_mib * 1024 * 1024))
        self.concurrency = concurrency
        self._ceiling = concurrency if concurrency is not None else max_concurrency
        self._principals = PrincipalSlots()
        self._window: _Window | None = None     # audit_tenants' window, told of each unit that ends
        self.unit_budget_seconds = unit_budget_seconds
        self._env = os.environ if env is None else env
        self._today = today
        self._mi_client_id = managed_identity_client_id
        # Pass a long-lived cache (the Functions app does) so built-ins are fetched once per process.
        self.roles = roles if roles is not None else RoleDefinitionCache()
        # Opened by __aenter__: one aiohttp session (connection pool) for every client and credential.
        # A long-lived caller (the Functions worker) passes its own transport, credential factory and
        # managed-identity assertion instead, to reuse them across audits; those it keeps open.
        self._session: aiohttp.ClientSession | None = None
        self._transport: AioHttpTransport | None = transport
        self._owns_transport = transport is None
        self._make_credential: CredentialFactory = (make_credential if credential_factory is None
                                                    else credential_factory)
        self._assertion: ManagedIdentityAssertion | None = assertion
        self._owns_assertion = assertion is None

    async def __aenter__(self) -> Auditor:
        heap.hold()
        try:
            return self._open()
        except BaseException:
            heap.release()
            raise

    def _open(self) -> Auditor:
        if not self._owns_transport:
            if self._uses_federated() and self._assertion is None:
                self._assertion = ManagedIdentityAssertion(self._mi_client_id, transport=self._transport)
            return self
        # One pool for every client and credential (engine/http_pool.py).
        self._session, self._transport = open_pool(self.cloud, limit=max(20, self._ceiling * 4),
                                                   env=self._env)
        if self._uses_federated() and self._owns_assertion:
            self._assertion = ManagedIdentityAssertion(self._mi_client_id, transport=self._transport)
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._assertion is not None and self._owns_assertion:
                await self._assertion.close()
            if self._session is not None:
                await self._session.close()
        finally:
            heap.release()

    def _uses_federated(self) -> bool:
        return any(i.auth.method == "federated" for i in self.registry.identities.values())

    @property
    def today(self) -> date:
        return self._today or datetime.now(UTC).date()

    async def audit_tenant(self, tenant_id: str) -> TenantResult:
        """Audit one tenant; Azure-side failures become audit_error findings, never exceptions."""
        tenant = self.registry.tenant(tenant_id)
        try:
            units = await asyncio.gather(*(self._audit_unit(tenant, name) for name in tenant.identities))
        finally:
            self.roles.forget(tenant.tenant_id)
        snapshot = TenantSnapshot(
            tenant_id=tenant.tenant_id, name=tenant.name, expect_link=tenant.expect_link,
            has_customer_approval=tenant.customer_approval is not None, identities=tuple(units),
        )
        return assess(snapshot, self.registry, self.today)

    async def audit_tenants(self, tenant_ids: Iterable[str] | None = None,
                            progress: Callable[[TenantResult], None] | None = None
                            ) -> AsyncIterator[TenantResult]:
        """Audit many tenants, yielding each result as it completes.

        Only as many tenants as the unit limit are in flight at once, so memory stays flat however
        many tenants the registry holds.
        """
        pending_ids = iter(list(tenant_ids) if tenant_ids is not None else self.registry.tenant_ids())
        running: dict[asyncio.Future[TenantResult], str] = {}
        finished: asyncio.Queue[asyncio.Future[TenantResult]] = asyncio.Queue()

        def refill() -> None:
            # Units not yet finished just cover the limit, and one tenant more: a unit is always
            # waiting at the gate when the limit is what holds the audit back (so the limit may
            # grow), while tenants do not pile up in memory ahead of it. Counted per unit, and
            # called as each unit ends: a tenant whose first units are done while one still runs
            # frees their places at once (counted per tenant, the gate ran half empty in waves).
            while window.open_units <= self.limit.limit:
                nxt = next(pending_ids, None)
                if nxt is None:
                    return
                task = asyncio.ensure_future(self.audit_tenant(nxt))
                task.add_done_callback(finished.put_nowait)
                running[task] = nxt
                window.started(nxt, self._unit_count(nxt))

        window = self._window = _Window(refill)
        refill()
        try:
            while running:
                task = await finished.get()     # in the order tenants finish
                tenant_id = running.pop(task)
                window.tenant_ended(tenant_id)
                try:
                    result = task.result()
                except Exception as exc:  # a bug of ours: this tenant fails loudly, the run goes on
                    log.exception("auditing tenant %s failed", tenant_id)
                    result = failed_tenant_result(self.registry, tenant_id, "unexpected",
                                                  f"the audit itself failed: {type(exc).__name__}",
                                                  self.today)
                if progress is not None:
                    progress(result)
                yield result
                refill()
        finally:
            self._window = None
            for task in running:        # the caller stopped early: nothing keeps running unseen
                task.cancel()

    def _unit_count(self, tenant_id: str) -> int:
        try:
            return max(1, len(self.registry.tenant(tenant_id).identities))
        except KeyError:    # its task fails and reports it; the window only needs a count
            return 1

    async def _audit_unit(self, tenant: TenantConfig, identity_name: str) -> IdentitySnapshot:
        async with self.limit.gate:
            started = time.monotonic()
            step, deadline = Step(), Deadline(self.unit_budget_seconds)
            try:
                async with asyncio.timeout(self.unit_budget_seconds):
                    return await self._collect(tenant, identity_name, step, deadline)
            except Exception as exc:  # every failure is this unit's audit_error, never the run's
                error = classify(exc, step=step.name, throttled=deadline.throttled)
                return IdentitySnapshot(tenant_id=tenant.tenant_id, identity=identity_name,
                                        principal_id=step.principal_id, error=error)
            finally:
                self.limit.unit_done(time.monotonic() - started)
                if self._window is not None:    # its place is free now, not when its tenant is done
                    self._window.unit_ended(tenant.tenant_id)

    async def _collect(self, tenant: TenantConfig, identity_name: str, step: Step, deadline: Deadline
                       ) -> IdentitySnapshot:
        if self._assertion is not None:
            step.name = "managed identity assertion"
            await self._assertion.refresh()
            step.name = "sign-in"
        via = tenant.assignments_via if tenant.assignments_via != identity_name else None
        names = [identity_name] + ([via] if via else [])
        sessions: list[tuple[str, ArmSession]] = []
        try:
            for name in names:
                sessions.append((name, self._session_for(tenant.tenant_id, name, deadline)))
            own, reader = sessions[0][1], (sessions[1][1] if via else None)
            return await collect_identity(tenant.tenant_id, identity_name, own, self.roles,
                                          reader=reader, step=step, parallel=self.concurrency != 1)
        finally:
            for name, session in sessions:
                self._principals.close(tenant.tenant_id, name)
                await session.close()

    def _session_for(self, tenant_id: str, identity_name: str, deadline: Deadline) -> ArmSession:
        identity = self.registry.identities[identity_name]
        credential = self._make_credential(
            tenant_id=tenant_id, identity_name=identity_name, identity=identity, cloud=self.cloud,
            env=self._env, transport=self._transport, assertion=self._assertion)
        # Per retry: the principal's slot is held for each HTTP attempt, and each answer (429s
        # included, before the retry policy handles them) reaches the unit limit.
        observer = CallObserver(self._principals.open(tenant_id, identity_name), self.limit)
        options: ClientOptions = {"retry_policy": BudgetedRetryPolicy(deadline),
                                  "per_retry_policies": [observer]}
        if self._transport is not None:   # outside `async with`, each client builds its own
            options["transport"] = self._transport
        return ArmSession(credential, self.cloud, options)
