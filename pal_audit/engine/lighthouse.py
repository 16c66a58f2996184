"""Azure Lighthouse: audit a managing tenant's delegations (docs/lighthouse.md).

One `lighthouse:` registry entry is audited from the managing tenant, never by signing in to the
customers:

1. each registry identity signs in there once and reads its own link (one `partners.get()` per
   identity, not per customer), and lists the subscriptions it sees;
2. the reader (or the first identity) lists the delegated subscriptions (the customer's `tenantId`,
   the managing tenant in `managedByTenants`) and, per subscription, the registration assignments
   to the managing tenant with their definitions (ManagedServices 2022-10-01). A subscription
   delegated only at a resource group refuses the listing at subscription scope: then each of its
   resource groups is listed. Only `Succeeded` assignments count;
3. the principals named in the authorizations are typed, and the groups expanded to their
   transitive members, in Microsoft Graph as the reader.

A customer whose delegations cannot be read is an `audit_error` for that customer; a group whose
members cannot be read is said so, and the checks that depend on it are left undecided.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import AzureError, HttpResponseError

from pal_audit.checks import audit_error
from pal_audit.checks.suppressions import apply_suppressions
from pal_audit.engine.auditor import Auditor, TenantResult, assess
from pal_audit.engine.budget import BudgetedRetryPolicy, Deadline
from pal_audit.engine.collect import ArmSession, Step, read_link, sign_in
from pal_audit.engine.failures import classify
from pal_audit.model import (
    LIGHTHOUSE_QUALIFIER,
    AuditError,
    Authorization,
    DelegatedCustomer,
    Delegation,
    ErrorReason,
    Finding,
    IdentitySnapshot,
    Link,
    Members,
    RoleAssignment,
    TenantSnapshot,
    Unknown,
)
from pal_audit.registry.schema import LighthouseConfig

if TYPE_CHECKING:
    from azure.core import AsyncPipelineClient
    from azure.core.rest import AsyncHttpResponse, HttpRequest
    from azure.mgmt.managedservices.aio import ManagedServicesClient

log = logging.getLogger(__name__)

MANAGED_SERVICES_API = "2022-10-01"   # the SDK's default is an old preview without eligibleAuthorizations
UNRESOLVED_ROLE = "unknown-through-lighthouse"   # role id of a holding that could not be read (never in
# the PEC table, so a check reading it is undecided unless another holding already settles the question)
_KINDS = {"#microsoft.graph.user": "user", "#microsoft.graph.servicePrincipal": "servicePrincipal",
          "#microsoft.graph.group": "group"}


class DelegationsUnreadable(AzureError):
    """A delegated subscription answered no readable registration assignment to the managing tenant."""


@dataclass
class _Signed:
    """A managing-tenant identity after sign-in: its session, object id, link and visible subscriptions."""

    name: str
    session: ArmSession | None = None
    oid: str | None = None
    link: Link | None = None
    error: AuditError | None = None
    subscriptions: dict[str, str] = field(default_factory=dict)   # subscription id -> customer tenant id


@dataclass
class _Customer:
    tenant_id: str
    name: str
    subscriptions: set[str] = field(default_factory=set)
    delegations: list[Delegation] = field(default_factory=list)
    error: AuditError | None = None


def _authorizations(items: Iterable[Any] | None) -> tuple[Authorization, ...]:
    return tuple(Authorization(principal_id=str(a.principal_id).lower(),
                               role_id=str(a.role_definition_id).rstrip("/").rsplit("/", 1)[-1].lower(),
                               display_name=str(getattr(a, "principal_id_display_name", "") or ""))
                 for a in items or ())


def _delegation(item: Any, managing_tenant_id: str) -> Delegation | None:
    """A registration assignment that counts: Succeeded, to this managing tenant, with its definition."""
    props = item.properties
    if props is None or str(props.provisioning_state or "") != "Succeeded":
        return None
    definition = props.registration_definition
    dprops = definition.properties if definition is not None else None
    if dprops is None or str(dprops.managed_by_tenant_id or "").lower() != managing_tenant_id:
        return None
    scope = str(item.id).split("/providers/Microsoft.ManagedServices/", 1)[0]
    return Delegation(scope=scope, definition_name=str(dprops.registration_definition_name or ""),
                      authorizations=_authorizations(dprops.authorizations),
                      eligible_authorizations=_authorizations(dprops.eligible_authorizations))


LIGHTHOUSE_CALLS = 32


class LighthouseAuditor(Auditor):
    """Audits the registry's `lighthouse:` entries, sharing the Auditor's connection pool and settings.

    `lighthouse_budget_seconds` bounds the reader's whole walk of one managing tenant (retries
    included); each customer's reads also get `unit_budget_seconds`.
    """

    def __init__(self, *args: Any, lighthouse_budget_seconds: float = 1800, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lighthouse_budget_seconds = lighthouse_budget_seconds
        # Lighthouse requests in flight: the pinned limit, or 32 (they are the requests of a few
        # principals of one managing tenant, so they stay well under ARM's per-principal bucket)
        self._calls = asyncio.Semaphore(self.concurrency or LIGHTHOUSE_CALLS)

    async def __aenter__(self) -> LighthouseAuditor:
        await super().__aenter__()
        return self

    async def audit_lighthouse(self) -> list[TenantResult]:
        """Every lighthouse entry of the registry: its managing tenant, then each customer."""
        results: list[TenantResult] = []
        for entry in self.registry.lighthouse:
            results += await self.audit_managing_tenant(entry)
        return results

    async def audit_managing_tenant(self, entry: LighthouseConfig) -> list[TenantResult]:
        managing = entry.managing_tenant_id
        if self._assertion is not None:
            await self._assertion.refresh()
        names = list(dict.fromkeys([*entry.identities, entry.reader_identity]))
        signed = await asyncio.gather(*(self._sign_in(managing, name, with_link=name in entry.identities)
                                        for name in names))
        by_name = {s.name: s for s in signed}
        try:
            reader = by_name[entry.reader_identity]
            customers, graph = await self._read_delegations(entry, signed, reader)
        finally:
            for s in signed:
                if s.session is not None:
                    await s.session.close()
        return self._results(entry, [by_name[n] for n in entry.identities], customers, graph)

    # -- sign-in, links, subscriptions ---------------------------------------------------------------

    async def _sign_in(self, managing: str, name: str, *, with_link: bool) -> _Signed:
        out = _Signed(name)
        step, deadline = Step(), Deadline(self.lighthouse_budget_seconds)
        try:
            async with self._calls, asyncio.timeout(self.unit_budget_seconds):
                out.session = self._session_for(managing, name, deadline)
                out.oid = step.principal_id = await sign_in(out.session, managing)
                if with_link:   # a reader that is not one of the entry's identities is not judged
                    step.name = "reading its partner link"
                    out.link = await read_link(out.session)
                step.name = "listing subscriptions"
                out.subscriptions = await _delegated_subscriptions(out.session, managing)
        except Exception as exc:  # this identity's audit_error; the others go on
            out.error = classify(exc, step=step.name, throttled=deadline.throttled)
        return out

    # -- delegations and Graph ------------------------------------------------------------------------

    async def _read_delegations(self, entry: LighthouseConfig, signed: list[_Signed], reader: _Signed
                                ) -> tuple[dict[str, _Customer], _Graph]:
        managing = entry.managing_tenant_id
        customers = {c.tenant_id: _Customer(c.tenant_id, c.name) for c in entry.customers}
        for s in signed:
            for sub, tenant in s.subscriptions.items():
                customers.setdefault(tenant, _Customer(tenant, tenant)).subscriptions.add(sub)
        graph = _Graph({}, {})
        if reader.error is not None or reader.session is None:
            error = AuditError(reader.error.reason if reader.error else "unexpected",
                               f"the Lighthouse reader {reader.name} could not sign in to the managing tenant"
                               f" ({reader.error.message if reader.error else 'no session'})")
            for c in customers.values():
                c.error = error
            return customers, graph
        session = reader.session
        client = self._managed_services(session)
        try:   # names (display only) are listed while the delegations are read
            await asyncio.gather(self._name_customers(session, customers),
                                 *(self._read_customer(client, session, c, managing, reader.name)
                                   for c in customers.values()))
        finally:
            await client.close()
        named = {a.principal_id for c in customers.values() for d in c.delegations
                 for a in (*d.authorizations, *d.eligible_authorizations)}
        known = {s.oid: ("user" if self.registry.identities[s.name].kind == "user" else "servicePrincipal")
                 for s in signed if s.oid}
        graph = await self._resolve_principals(session, named, known)
        return customers, graph

    async def _name_customers(self, session: ArmSession, customers: dict[str, _Customer]) -> None:
        """Display names of customers the registry does not name, from `GET /tenants` (best effort:
        a name is only shown, never evidence)."""
        if all(c.name != c.tenant_id for c in customers.values()):
            return
        try:
            async for t in session.subscriptions().tenants.list():
                c = customers.get(str(t.tenant_id or "").lower())
                if c is not None and c.name == c.tenant_id and t.display_name:
                    c.name = str(t.display_name)
        except AzureError:
            log.info("listing tenants for customer names failed; showing tenant ids")

    def _managed_services(self, session: ArmSession) -> ManagedServicesClient:
        from azure.mgmt.managedservices.aio import ManagedServicesClient

        kwargs: dict[str, Any] = {"transport": self._transport} if self._transport is not None else {}
        return ManagedServicesClient(
            session.credential, base_url=session.cloud.arm, credential_scopes=[session.cloud.scope],
            api_version=MANAGED_SERVICES_API,
            retry_policy=BudgetedRetryPolicy(Deadline(self.lighthouse_budget_seconds)), **kwargs)

    async def _read_customer(self, client: ManagedServicesClient, session: ArmSession, customer: _Customer,
                             managing: str, reader: str) -> None:
        step = f"reading the Lighthouse delegations of customer {customer.tenant_id} as {reader}"
        try:
            for sub in sorted(customer.subscriptions):
                # The budget starts once a slot is free: waiting in line is not this customer's fault.
                async with self._calls, asyncio.timeout(self.unit_budget_seconds):
                    customer.delegations += await _subscription_delegations(client, session, sub, managing)
        except Exception as exc:  # this customer's audit_error, never "not credited"
            customer.error = (AuditError("forbidden", f"{step}: {exc.message}")
                              if isinstance(exc, DelegationsUnreadable) else classify(exc, step=step))
            customer.delegations = []

    async def _resolve_principals(self, session: ArmSession, named: set[str], known: dict[str, str]
                                  ) -> _Graph:
        kinds = dict(known)
        groups: dict[str, Members] = {}
        failures: dict[str, AuditError] = {}
        unknown = sorted(named - set(known))
        if not unknown:
            return _Graph(kinds, groups)
        graph = _graph_client(session, self._transport, Deadline(self.lighthouse_budget_seconds))
        try:
            async def one(principal: str) -> None:
                async with self._calls:
                    kind = await _object_kind(graph, principal)
                    if isinstance(kind, AuditError):
                        failures[principal] = kind   # its type unknown: the checks needing it stay undecided
                        return
                    kinds[principal] = kind
                    if kind == "group":
                        found = await _transitive_members(graph, principal)
                        if isinstance(found, AuditError):
                            groups[principal] = Members(unknown=found)
                        else:
                            groups[principal] = Members(frozenset(found))
                            for member, member_kind in found.items():
                                kinds.setdefault(member, member_kind)
            await asyncio.gather(*(one(p) for p in unknown))
        finally:
            await graph.close()
        return _Graph(kinds, groups, failures)

    # -- snapshots and findings -----------------------------------------------------------------------

    def _results(self, entry: LighthouseConfig, identities: list[_Signed], customers: dict[str, _Customer],
                 graph: _Graph) -> list[TenantResult]:
        managing = entry.managing_tenant_id
        links = {s.oid: s.link for s in identities if s.oid and s.error is None}
        names = {s.oid: s.name for s in identities if s.oid}
        unsigned = tuple(s.name for s in identities if s.error is not None or not s.oid)
        expected = {c.tenant_id: c for c in entry.customers}
        results = [assess(TenantSnapshot(
            tenant_id=managing, name=entry.name, expect_link=True, has_customer_approval=True,
            identities=tuple(_managing_identity(managing, s, customers.values(), graph) for s in identities),
            kind="managing"), self.registry, self.today)]
        for c in sorted(customers.values(), key=lambda c: c.name.lower()):
            config = expected.get(c.tenant_id)
            view = DelegatedCustomer(
                managing_tenant_id=managing, managing_name=entry.name, delegations=tuple(c.delegations),
                expected_subscriptions=tuple(config.subscriptions) if config else None,
                listed_subscriptions=tuple(config.subscriptions) if config else (),
                links=dict(links), identity_names=dict(names), unsigned_identities=unsigned,
                kinds=dict(graph.kinds), groups=dict(graph.groups), error=c.error)
            snapshot = TenantSnapshot(
                tenant_id=c.tenant_id, name=f"{c.name} via Lighthouse", expect_link=True,
                has_customer_approval=True, identities=(), kind="delegated", lighthouse=view)
            result = assess(snapshot, self.registry, self.today)
            gaps = graph.gaps(c.delegations)
            if c.error is not None or gaps:
                error = (_customer_error(snapshot, c.error) if c.error is not None
                         else _customer_gaps(snapshot, gaps))
                result = TenantResult(result.snapshot, (*result.findings, *apply_suppressions(
                    [error], self.registry.suppression_rules(), self.today)))
            results.append(result)
        return results


@dataclass(frozen=True)
class _Graph:
    kinds: dict[str, str]
    groups: dict[str, Members]
    failures: dict[str, AuditError] = field(default_factory=dict)   # principal -> why its type is unknown

    def gaps(self, delegations: Iterable[Delegation]) -> list[AuditError]:
        """What could not be read about the principals these delegations name."""
        found: dict[str, AuditError] = {}
        for d in delegations:
            for a in (*d.authorizations, *d.eligible_authorizations):
                if (gap := self.gap(a.principal_id)) is not None:
                    found[a.principal_id] = gap
        return [found[p] for p in sorted(found)]

    def gap(self, principal: str) -> AuditError | None:
        """Why a named principal could not be resolved (its type, or a group's members), or None."""
        members = self.groups.get(principal)
        return self.failures.get(principal) or (members.unknown if members is not None else None)


def _customer_error(snapshot: TenantSnapshot, error: AuditError) -> Finding:
    view = snapshot.lighthouse
    assert view is not None
    fix = ("Give the Lighthouse reader Reader in every delegation of this customer (a permanent "
           "authorization {principalId: <reader>, roleDefinitionId: acdd72a7-3385-48ef-bd42-f606fba81ae7}), "
           "or name a reader that has it in the lighthouse entry. The next run reads it again."
           if error.reason == "forbidden" else audit_error._remediation(error.reason))
    finding = audit_error.META
    return Finding(check_id=finding.check_id, severity=finding.severity, tenant_id=snapshot.tenant_id,
                   principal_id="-", identity="-", title=finding.title,
                   detail=f"{error.reason}: {error.message}. Its delegations were not judged (findings "
                          "neither raised nor resolved).",
                   remediation=fix, qualifier=f"{LIGHTHOUSE_QUALIFIER}{view.managing_tenant_id}")


def _customer_gaps(snapshot: TenantSnapshot, gaps: list[AuditError]) -> Finding:
    """A customer partially audited: principals of its delegations Graph could not resolve."""
    first = gaps[0]
    more = f" (and {len(gaps) - 1} more)" if len(gaps) > 1 else ""
    finding = _customer_error(snapshot, first)
    return replace(finding, detail=f"{first.reason}: {first.message}{more}. Partially audited: a group in "
                   "its delegations could not be resolved, so the checks that need its members were left "
                   "undecided (their findings neither raised nor resolved), never read as 'no member'.",
                   remediation=("Grant the Lighthouse reader GroupMember.Read.All (Microsoft Graph "
                                "application permission, admin consent) in the managing tenant."
                                if first.reason == "forbidden" else finding.remediation))


def _managing_identity(managing: str, s: _Signed, customers: Iterable[_Customer], graph: _Graph
                       ) -> IdentitySnapshot:
    """The identity as the link checks see it: its link, and as "active" assignments the permanent
    authorizations it holds in the delegations (directly or through a group)."""
    if s.error is not None or s.oid is None:
        error = s.error or AuditError("unexpected", "sign-in gave no object id")
        return IdentitySnapshot(tenant_id=managing, identity=s.name, principal_id=s.oid, error=error)
    held: list[RoleAssignment] = []
    unknowns: list[Unknown] = []
    # What could not be read matters only to link_missing, i.e. to an unlinked identity: only then
    # is it an unknown (a linked identity would otherwise report a gap that decides nothing).
    moot = s.link is not None
    for c in customers:
        if c.error is not None and not moot and s.subscriptions.keys() & c.subscriptions:
            held.append(_unresolved(c.tenant_id))
            unknowns.append(Unknown("role_definitions", c.error.reason,
                                    f"the delegations of customer {c.tenant_id} could not be read",
                                    UNRESOLVED_ROLE))
        for d in c.delegations:
            for a in d.authorizations:
                members = graph.groups.get(a.principal_id)
                if a.principal_id == s.oid or (members is not None and s.oid in members.members):
                    held.append(RoleAssignment(
                        assignment_id=f"{d.scope}/lighthouse/{d.definition_name}/{a.principal_id}/{a.role_id}",
                        scope=d.scope, role_id=a.role_id, principal_id=a.principal_id,
                        principal_type="Group" if a.principal_id != s.oid else "ServicePrincipal"))
                elif (gap := graph.gap(a.principal_id)) is not None and not moot:
                    held.append(_unresolved(d.scope))
                    unknowns.append(Unknown("role_definitions", gap.reason,
                                            f"members of group {a.principal_id} could not be read "
                                            f"({gap.message})", UNRESOLVED_ROLE))
    return IdentitySnapshot(tenant_id=managing, identity=s.name, principal_id=s.oid, link=s.link,
                            subscriptions=tuple(sorted(s.subscriptions)), active=tuple(held), eligible=(),
                            unknowns=tuple(dict.fromkeys(unknowns)))


def _unresolved(scope: str) -> RoleAssignment:
    return RoleAssignment(assignment_id=f"{scope}/lighthouse/unresolved", scope=scope,
                          role_id=UNRESOLVED_ROLE, principal_id="-", principal_type="Unknown")


# -- ARM ------------------------------------------------------------------------------------------------

async def _delegated_subscriptions(session: ArmSession, managing: str) -> dict[str, str]:
    """Subscriptions of other tenants that the managing tenant manages: id -> customer tenant id."""
    found: dict[str, str] = {}
    async for s in session.subscriptions().subscriptions.list():
        tenant = str(s.tenant_id or "").lower()
        managers = {str(m.tenant_id or "").lower() for m in (s.managed_by_tenants or [])}
        if s.subscription_id and tenant and tenant != managing and managing in managers:
            found[str(s.subscription_id).lower()] = tenant
    return found


async def _subscription_delegations(client: ManagedServicesClient, session: ArmSession, sub: str,
                                    managing: str) -> list[Delegation]:
    """The succeeded delegations to `managing` at the subscription and in its resource groups."""
    flt = {"$filter": f"managedByTenantId eq '{managing}'"}
    scope = f"subscriptions/{sub}"
    try:
        items = [a async for a in client.registration_assignments.list(
            scope, expand_registration_definition=True, params=flt)]
    except HttpResponseError as exc:
        if exc.status_code != 403:
            raise
        # Delegated only at resource groups: the reader has nothing at subscription scope.
        items = []
        async for group in session.resources(sub).resource_groups.list():
            items += [a async for a in client.registration_assignments.list(
                f"{scope}/resourceGroups/{group.name}", expand_registration_definition=True, params=flt)]
    found = [d for d in (_delegation(a, managing) for a in items) if d is not None]
    if not found:
        # The subscription is visible to the managing tenant, so some delegation exists: one the
        # reader cannot read. "Not delegated" would be a false finding.
        raise DelegationsUnreadable(f"subscription {sub} is delegated, but the reader sees no delegation "
                                    "in it (it needs Reader in every delegation)")
    return found


# -- Microsoft Graph -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _GraphClient:
    """Microsoft Graph through azure-core's pipeline: the reader's token for Graph, the unit's retries."""

    pipeline: AsyncPipelineClient[HttpRequest, AsyncHttpResponse]
    base: str

    async def close(self) -> None:
        await self.pipeline.close()


def _graph_client(session: ArmSession, transport: Any, deadline: Deadline) -> _GraphClient:
    from azure.core import AsyncPipelineClient
    from azure.core.pipeline.policies import AsyncBearerTokenCredentialPolicy, HeadersPolicy, UserAgentPolicy

    policies = [HeadersPolicy(), UserAgentPolicy(sdk_moniker="pal-audit"), BudgetedRetryPolicy(deadline),
                AsyncBearerTokenCredentialPolicy(session.credential, session.cloud.graph_scope)]
    kwargs: dict[str, Any] = {"transport": transport} if transport is not None else {}
    pipeline: AsyncPipelineClient[HttpRequest, AsyncHttpResponse] = AsyncPipelineClient(
        base_url=session.cloud.graph, policies=policies, **kwargs)
    return _GraphClient(pipeline, session.cloud.graph.rstrip("/"))


def _graph_failure(step: str, status: int, body: Any) -> AuditError:
    code = ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = f" {body['error'].get('code', '')}".rstrip()
    reasons: dict[int, ErrorReason] = {401: "auth_failed", 403: "forbidden", 404: "not_found",
                                       429: "throttled"}
    reason = reasons.get(status, "unexpected")
    return AuditError(reason, f"{step}: HTTP {status}{code}")


async def _graph_get(client: _GraphClient, url: str, step: str
                     ) -> dict[str, Any] | AuditError:
    from azure.core.rest import HttpRequest

    try:
        response = await client.pipeline.send_request(HttpRequest("GET", url))
        await response.read()
    except AzureError as exc:
        return classify(exc, step=step)
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        return _graph_failure(step, response.status_code, body)
    return body


async def _object_kind(client: _GraphClient, principal: str
                       ) -> str | AuditError:
    step = f"reading directory object {principal} in Microsoft Graph"
    body = await _graph_get(client, f"{client.base}/v1.0/directoryObjects/{principal}", step)
    if isinstance(body, AuditError):
        return body
    return _KINDS.get(str(body.get("@odata.type", "")), "other")


async def _transitive_members(client: _GraphClient, group: str
                              ) -> dict[str, str] | AuditError:
    """Members (object id -> kind) of a group, nested groups included, following every page."""
    step = f"reading the members of group {group} in Microsoft Graph"
    url: str | None = f"{client.base}/v1.0/groups/{group}/transitiveMembers"
    found: dict[str, str] = {}
    while url:
        body = await _graph_get(client, url, step)
        if isinstance(body, AuditError):
            return body
        for member in body.get("value", []):
            found[str(member.get("id", "")).lower()] = _KINDS.get(str(member.get("@odata.type", "")), "other")
        url = body.get("@odata.nextLink")
    return found


async def audit_everything(auditor: LighthouseAuditor, progress: Callable[[TenantResult], None] | None = None
                           ) -> AsyncIterator[TenantResult]:
    """The registry's tenants as they complete, then its Lighthouse managing tenants and customers."""
    async for result in auditor.audit_tenants(progress=progress):
        yield result
    for entry in auditor.registry.lighthouse:
        for result in await audit_entry(auditor, entry):
            if progress is not None:
                progress(result)
            yield result


async def audit_entry(auditor: LighthouseAuditor, entry: LighthouseConfig) -> list[TenantResult]:
    """One managing tenant and its customers (the managing tenant's result first)."""
    try:
        return await auditor.audit_managing_tenant(entry)
    except Exception as exc:  # a bug of ours: this managing tenant fails loudly, the scan goes on
        log.exception("auditing managing tenant %s failed", entry.managing_tenant_id)
        return [_failed_managing(auditor, entry, exc)]


def _failed_managing(auditor: LighthouseAuditor, entry: LighthouseConfig, exc: Exception) -> TenantResult:
    error = AuditError("unexpected", f"the Lighthouse audit itself failed: {type(exc).__name__}")
    snapshot = TenantSnapshot(tenant_id=entry.managing_tenant_id, name=entry.name, expect_link=True,
                              has_customer_approval=True, identities=(), kind="managing", error=error)
    findings = audit_error.evaluate(snapshot, auditor.registry.partner_policy())
    return TenantResult(snapshot, tuple(findings))
