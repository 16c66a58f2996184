"""`pal-audit me`: what one engineer's own links earn, in every tenant the engineer can reach.

The engineer is a user signed in with the Azure CLI, a browser or a device code: one sync
azure-identity credential that can get a token for any tenant (`tenant_id=` per request). Per
tenant the same collection as the nightly audit runs as the user (own link, subscriptions,
active and PIM-eligible roles) and the same checks judge it; `advise` (pure) turns that into
"earns credit or not, and what to do". A tenant that wants MFA or blocks by conditional access
is a row with the command that resolves it, never an exception.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pal_audit.checks import decide
from pal_audit.checks.base import Evidence, Held, Undecided, access_of
from pal_audit.engine.collect import ArmSession, ClientOptions, collect_identity
from pal_audit.engine.failures import classify
from pal_audit.engine.http_pool import open_pool
from pal_audit.engine.role_definitions import RoleDefinitionCache
from pal_audit.model import INPUTS, Finding, IdentitySnapshot, PartnerPolicy, TenantSnapshot
from pal_audit.registry.clouds import Cloud

if TYPE_CHECKING:
    import aiohttp
    from azure.core.credentials import AccessToken, TokenCredential
    from azure.core.pipeline.transport import AioHttpTransport

Status = Literal["ok", "sign_in_required", "error"]
ME = "me"       # the identity name of the engineer in snapshots and findings
# Entra ID answers these when a tenant wants more than the sign-in the engineer has: MFA (50076,
# 50079) or a conditional access policy that blocks (53003). An interactive sign-in to that tenant
# resolves the first two; the third needs the tenant's admins or a compliant device.
_SIGN_IN_CODES = {"AADSTS50076": "requires multi-factor authentication",
                  "AADSTS50079": "requires enrolling in multi-factor authentication",
                  "AADSTS53003": "blocked by a conditional access policy"}
_AADSTS = re.compile(r"AADSTS\d+")


class TenantCredential:
    """An async credential for one tenant over the engineer's sync credential, tokens cached.

    azure-identity's browser and device code credentials are sync only, and the Azure CLI one
    starts `az` per token: one cache per tenant keeps that to one sign-in per tenant and scope.
    """

    def __init__(self, user: TokenCredential, tenant_id: str | None, lock: asyncio.Lock) -> None:
        self._user, self.tenant_id = user, tenant_id
        self._tokens: dict[tuple[str, ...], AccessToken] = {}
        # One sign-in at a time across tenants: concurrent `az` processes race on the CLI's token
        # cache (one of them then reports "run az login"), and two device code prompts at once
        # would confuse the person answering them.
        self._lock = lock

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        async with self._lock:
            cached = self._tokens.get(scopes)
            if cached is not None and cached.expires_on - 120 > time.time():
                return cached
            if self.tenant_id:
                kwargs["tenant_id"] = self.tenant_id
            token = await asyncio.to_thread(self._user.get_token, *scopes, **kwargs)
            self._tokens[scopes] = token
            return token

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> TenantCredential:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


@dataclass(frozen=True)
class TenantView:
    """One tenant as the engineer sees it."""

    tenant_id: str
    name: str
    status: Status
    home: bool = False
    snapshot: IdentitySnapshot | None = None
    findings: tuple[Finding, ...] = ()
    credit_active: tuple[str, ...] = ()      # "Contributor at /subscriptions/…"
    credit_pim: tuple[str, ...] = ()         # PIM-eligible roles that earn credit once activated
    problem: str = ""                        # why the tenant could not be read
    resolve: str = ""                        # the command that resolves `problem`
    # Reached through Azure Lighthouse from the home tenant: the roles the delegations authorize the
    # user for (permanent ones; just-in-time ones earn nothing), and the home tenant's link.
    managed_from: str | None = None
    home_link: str | None = None
    lighthouse_credit: int = 0      # home tenant: customers whose Lighthouse work its link credits

    @property
    def link(self) -> str | None:
        if self.managed_from is not None:
            return self.home_link       # through Lighthouse the link that counts is the home tenant's
        s = self.snapshot
        return s.link.partner_id if s is not None and s.link is not None else None


@dataclass(frozen=True)
class Advice:
    earns: Literal["yes", "when PIM-activated", "no", "unknown"]
    todo: str
    can_link: bool = False          # `--link` would create the link here
    foreign: bool = False           # linked to another partner (`--overwrite-foreign` to replace)


def advise(view: TenantView, policy: PartnerPolicy, home_tenant_id: str | None = None) -> Advice:
    """Pure: whether the engineer's work in this tenant earns the partner credit, and what to do."""
    tid = view.tenant_id
    if view.managed_from is not None and view.status == "ok":
        return _advise_lighthouse(view, policy)
    if view.status != "ok" or view.snapshot is None:
        return Advice("unknown", f"{view.problem}: {view.resolve}" if view.resolve else view.problem)
    checks = {f.check_id for f in view.findings}
    link = view.link
    roles = bool(view.credit_active or view.credit_pim or view.lighthouse_credit)
    via = f" (credits your Lighthouse work in {view.lighthouse_credit} tenant(s))" if view.lighthouse_credit \
        else ""
    if view.lighthouse_credit and link is not None and link == policy.partner_id:
        return Advice("yes", "nothing to do" + via)
    if link is not None and not policy.is_ours(link):
        return Advice("no", f"linked to another partner ({link}); if the work is for us: "
                            "pal-audit me --link --overwrite-foreign", can_link=roles, foreign=True)
    if link is None:
        if not roles:
            if not view.snapshot.subscriptions and tid == home_tenant_id:
                return Advice("no", "your home tenant: nothing to link")
            return Advice("no", "no PAL-eligible role here, nothing to link; if you work here, ask the "
                                "customer for one")
        return Advice("no", "link: pal-audit me --link" + via, can_link=True)
    if "link_previous_partner_id" in checks or link != policy.partner_id:
        return Advice("yes" if view.credit_active else "no",
                      f"linked to our previous id {link}: pal-audit me --link moves it to "
                      f"{policy.partner_id}", can_link=roles)
    if view.credit_active:
        return Advice("yes", "nothing to do")
    if view.credit_pim:
        return Advice("when PIM-activated", "earns while you activate your eligible role in PIM")
    return Advice("no", "linked, but no PAL-eligible role here: ask the customer for one, or remove "
                        "the link if the work has ended (az managementpartner delete)")


def _advise_lighthouse(view: TenantView, policy: PartnerPolicy) -> Advice:
    where = "your link in your home tenant"
    if not view.credit_active:
        jit = " (just-in-time authorizations earn nothing)" if view.credit_pim else ""
        return Advice("no", f"through Lighthouse: no permanent PAL-eligible authorization for you{jit}; "
                            "ask for one in the delegation")
    if view.home_link is None:
        return Advice("no", f"through Lighthouse: {where} is missing: pal-audit me --link")
    if not policy.is_ours(view.home_link):
        return Advice("no", f"through Lighthouse: {where} credits another partner ({view.home_link})")
    if view.home_link != policy.partner_id:
        return Advice("yes", f"through Lighthouse: {where} is a previous id: pal-audit me --link moves it")
    return Advice("yes", f"through Lighthouse: {where} counts; nothing to do")


def _roles(snapshot: IdentitySnapshot, policy: PartnerPolicy) -> tuple[tuple[str, ...], tuple[str, ...]]:
    who = Evidence(snapshot, frozenset(INPUTS))
    access = access_of(who, policy)

    def names(held: Sequence[Held]) -> tuple[str, ...]:
        return tuple(sorted({h.describe() for h in held}))

    try:
        active = names(access.active_eligible)
    except Undecided:
        active = ()
    try:
        pim = names(access.pim_eligible) if snapshot.eligible is not None else ()
    except Undecided:
        pim = ()
    return active, pim


def sign_in_problem(exc: BaseException, tenant_id: str) -> tuple[str, str] | None:
    """(problem, command) when Entra ID wants another sign-in for this tenant; None otherwise."""
    text = str(getattr(exc, "message", None) or exc)
    for code, what in _SIGN_IN_CODES.items():
        if code in text:
            command = (f"az login --tenant {tenant_id} --use-device-code" if code != "AADSTS53003"
                       else f"sign in from a device the tenant's conditional access allows, then "
                            f"az login --tenant {tenant_id}")
            return f"{code} ({what})", command
    return None


@dataclass
class Survey:
    """Every reachable tenant, read as the engineer."""

    home_tenant_id: str | None
    user: str
    tenants: list[TenantView] = field(default_factory=list)


def _category(tenant: object) -> str:
    """A tenant's tenantCategory (Home, ProjectedBy, ManagedBy), lower case; the SDK gives an enum."""
    category = getattr(tenant, "tenant_category", None)
    return str(getattr(category, "value", category) or "").lower()


def _role_name(role_definition_id: str | None) -> str:
    from pal_audit.checks.role_rules import PEC_TABLE

    guid = str(role_definition_id or "").rstrip("/").rsplit("/", 1)[-1].lower()
    entry = PEC_TABLE.get(guid)
    return entry.name if entry is not None else guid


def _eligible_name(described: str) -> bool:
    """Lighthouse delegates built-in roles only, so the PEC table decides (by name here)."""
    from pal_audit.checks.role_rules import PEC_TABLE

    name = described.split(" at ", 1)[0]
    return any(e.name == name and e.eligible for e in PEC_TABLE.values())


class EngineerSession:
    """The engineer's sign-in and one HTTP pool. `async with EngineerSession(user, cloud) as s:`."""

    def __init__(self, user: TokenCredential, cloud: Cloud, *, concurrency: int = 4) -> None:
        self.user, self.cloud = user, cloud
        self._credentials: dict[str | None, TenantCredential] = {}
        self._sign_in = asyncio.Lock()
        self.projected: set[str] = set()       # tenants reached through Lighthouse (ProjectedBy)
        self.home_oid = ""
        self._slots = asyncio.Semaphore(concurrency)
        self._http: aiohttp.ClientSession | None = None
        self._transport: AioHttpTransport | None = None

    async def __aenter__(self) -> EngineerSession:
        self._http, self._transport = open_pool(self.cloud)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()

    def credential(self, tenant_id: str | None) -> TenantCredential:
        if tenant_id not in self._credentials:
            self._credentials[tenant_id] = TenantCredential(self.user, tenant_id, self._sign_in)
        return self._credentials[tenant_id]

    def session(self, tenant_id: str | None) -> ArmSession:
        options: ClientOptions = {}
        if self._transport is not None:
            options["transport"] = self._transport
        return ArmSession(self.credential(tenant_id), self.cloud, options)

    async def tenants(self) -> tuple[str | None, list[tuple[str, str]]]:
        """The home tenant (from the default token) and every tenant the user reaches: (id, name)."""
        from pal_audit.engine.credentials import token_claims

        token = await self.credential(None).get_token(self.cloud.scope)
        claims = token_claims(token.token)
        session = self.session(None)
        try:
            items = [t async for t in session.subscriptions().tenants.list()]
        finally:
            await session.close()
        found = [(str(t.tenant_id).lower(), str(getattr(t, "display_name", None) or t.tenant_id))
                 for t in items if t.tenant_id]
        self.projected = {str(t.tenant_id).lower() for t in items
                          if t.tenant_id and _category(t) == "projectedby"}
        self.home_oid = str(claims.get("oid", "")).lower()
        user = str(claims.get("upn") or claims.get("unique_name") or claims.get("oid") or "")
        self.user_name = user
        return (str(claims["tid"]).lower() if claims.get("tid") else None), found

    async def read_tenant(self, tenant_id: str, name: str, policy: PartnerPolicy, *, home: bool,
                          cache: RoleDefinitionCache) -> TenantView:
        async with self._slots:
            session = self.session(tenant_id)
            try:
                snapshot = await collect_identity(tenant_id, ME, session, cache)
            except Exception as exc:   # this tenant's problem, reported in its row
                problem = sign_in_problem(exc, tenant_id)
                if problem is not None:
                    return TenantView(tenant_id, name, "sign_in_required", home, problem=problem[0],
                                      resolve=problem[1])
                error = classify(exc, step="reading the tenant")
                return TenantView(tenant_id, name, "error", home, problem=f"{error.reason}: {error.message}",
                                  resolve=f"az login --tenant {tenant_id}" if error.reason == "auth_failed"
                                  else "")
            finally:
                await session.close()
        tenant = TenantSnapshot(tenant_id, name, expect_link=True, has_customer_approval=True,
                                identities=(snapshot,))
        findings = tuple(f for f in decide(tenant, policy).findings if f.identity == ME)
        active, pim = _roles(snapshot, policy)
        return TenantView(tenant_id, name, "ok", home, snapshot, findings, active, pim)

    async def survey(self, policy: PartnerPolicy) -> Survey:
        home, tenants = await self.tenants()
        cache = RoleDefinitionCache()
        direct = [(tid, name) for tid, name in tenants if tid not in self.projected]
        views = list(await asyncio.gather(*(self.read_tenant(tid, name, policy, home=tid == home, cache=cache)
                                            for tid, name in direct)))
        home_view = next((v for v in views if v.home), None)
        home_link = home_view.link if home_view is not None else None
        for tid, name in tenants:
            if tid in self.projected:
                views.append(await self.read_delegated(tid, name, home or "", home_link))
        order = [tid for tid, _ in tenants]
        views.sort(key=lambda v: order.index(v.tenant_id))
        credited = sum(1 for v in views if v.managed_from is not None and v.credit_active)
        if credited:
            from dataclasses import replace

            views = [replace(v, lighthouse_credit=credited) if v.home else v for v in views]
        return Survey(home, getattr(self, "user_name", ""), views)

    async def read_delegated(self, tenant_id: str, name: str, home: str, home_link: str | None) -> TenantView:
        """A customer tenant reached through Lighthouse: the user never signs in there; the
        delegations on its subscriptions say which roles authorize the user (from the home tenant)."""
        from azure.mgmt.managedservices.aio import ManagedServicesClient

        session = self.session(None)
        options: dict[str, Any] = {"base_url": self.cloud.arm, "credential_scopes": [self.cloud.scope],
                                   "api_version": "2022-10-01"}
        if self._transport is not None:
            options["transport"] = self._transport
        client = ManagedServicesClient(self.credential(None), **options)
        permanent: set[str] = set()
        just_in_time: set[str] = set()
        try:
            subs = [s async for s in session.subscriptions().subscriptions.list()
                    if str(getattr(s, "tenant_id", "") or "").lower() == tenant_id]
            for sub in subs:
                scope = f"/subscriptions/{sub.subscription_id}"
                async for assignment in client.registration_assignments.list(
                        scope, expand_registration_definition=True):
                    definition = getattr(assignment.properties, "registration_definition", None)
                    props = getattr(definition, "properties", None)
                    for auth in getattr(props, "authorizations", None) or []:
                        if str(auth.principal_id).lower() == self.home_oid:
                            permanent.add(f"{_role_name(auth.role_definition_id)} at {scope}")
                    for auth in getattr(props, "eligible_authorizations", None) or []:
                        if str(auth.principal_id).lower() == self.home_oid:
                            just_in_time.add(f"{_role_name(auth.role_definition_id)} at {scope}")
        except Exception as exc:    # this tenant's row says why; the others stand
            error = classify(exc, step="reading the Lighthouse delegations")
            return TenantView(tenant_id, name, "error", managed_from=home,
                              problem=f"{error.reason}: {error.message}")
        finally:
            await client.close()
            await session.close()
        eligible = tuple(sorted(r for r in permanent if _eligible_name(r)))
        return TenantView(tenant_id, name, "ok", managed_from=home, home_link=home_link,
                          credit_active=eligible, credit_pim=tuple(sorted(just_in_time)))
