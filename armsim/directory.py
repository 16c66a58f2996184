"""The simulated directory and RBAC model: scopes, group membership, permissions, filters, links.

Pure logic over a validated Estate (no HTTP here), so the semantics that the ARM routes expose
(inheritance, transitive groups, `$filter`) can be read and tested in one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from armsim.builtin_roles import BUILTIN_BY_ID, Role
from armsim.estate import Assignment, Estate, Principal, Subscription, Tenant

ROOT = "/"
MG_PREFIX = "/providers/microsoft.management/managementgroups/"
READ_ASSIGNMENTS = "Microsoft.Authorization/roleAssignments/read"
READ_ELIGIBILITY = "Microsoft.Authorization/roleEligibilityScheduleInstances/read"
READ_ASSIGNMENT_INSTANCES = "Microsoft.Authorization/roleAssignmentScheduleInstances/read"
READ_RESOURCE_GROUPS = "Microsoft.Resources/subscriptions/resourceGroups/read"


class FilterError(ValueError):
    """A `$filter` value this API does not support."""


@dataclass(frozen=True)
class Scope:
    """A scope as named in a request path. `key` is the lower-case form used for comparisons."""

    kind: str  # root | management_group | subscription | resource_group | resource
    display: str  # as the caller wrote it, canonical prefixes
    key: str
    subscription_id: str | None = None
    management_group: str | None = None
    resource_group: str | None = None


def parse_scope(prefix: str) -> Scope | None:
    """The scope in front of `/providers/Microsoft.Authorization/...` in a request path, or None."""
    s = prefix.rstrip("/")
    if s == "":
        return Scope("root", ROOT, ROOT)
    parts = s.split("/")
    low = [p.lower() for p in parts]
    if len(parts) == 5 and "/".join(low[:4]) + "/" == MG_PREFIX and parts[4]:
        display = f"/providers/Microsoft.Management/managementGroups/{parts[4]}"
        return Scope("management_group", display, display.lower(), management_group=parts[4])
    if len(parts) < 3 or low[1] != "subscriptions" or not parts[2]:
        return None
    sid = low[2]
    display = f"/subscriptions/{sid}"
    if len(parts) == 3:
        return Scope("subscription", display, display, sid)
    if len(parts) < 5 or low[3] != "resourcegroups" or not parts[4]:
        return None
    display += f"/resourceGroups/{parts[4]}"
    if len(parts) == 5:
        return Scope("resource_group", display, display.lower(), sid, resource_group=parts[4])
    if len(parts) < 9 or low[5] != "providers" or not all(parts[5:]):
        return None
    display += "/" + "/".join(parts[5:])
    return Scope("resource", display, display.lower(), sid, resource_group=parts[4])


@dataclass(frozen=True)
class AssignmentFilter:
    at_scope: bool = False  # atScope(): at or above the scope only
    assigned_to: str | None = None  # assignedTo('oid'): transitive through groups
    principal_id: str | None = None  # principalId eq 'oid': direct only
    as_target: bool = False  # asTarget(): the caller's own (PIM)


_TERM = re.compile(
    r"^(?:(?P<at>atscope\(\))|(?P<target>astarget\(\))"
    r"|assignedto\(\s*'?(?P<to>[0-9a-f-]{36})'?\s*\)"
    r"|principalid\s+eq\s+'?(?P<pid>[0-9a-f-]{36})'?)$"
)


def parse_assignment_filter(text: str | None) -> AssignmentFilter:
    if not text or not text.strip():
        return AssignmentFilter()
    terms = re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE)
    found: dict[str, object] = {}
    for term in terms:
        m = _TERM.match(term.strip().lower())
        if m is None:
            raise FilterError(
                f"The filter '{text}' is not supported. Supported filters: atScope(), "
                "assignedTo('{objectId}'), principalId eq '{objectId}', asTarget()."
            )
        if m["at"]:
            found["at_scope"] = True
        elif m["target"]:
            found["as_target"] = True
        elif m["to"]:
            found["assigned_to"] = m["to"]
        else:
            found["principal_id"] = m["pid"]
    if "assigned_to" in found and "principal_id" in found:
        raise FilterError(f"The filter '{text}' combines assignedTo() and principalId: not supported.")
    return AssignmentFilter(**found)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RoleDefinitionFilter:
    role_type: str | None = None  # BuiltInRole | CustomRole
    role_name: str | None = None


def parse_role_definition_filter(text: str | None) -> RoleDefinitionFilter:
    if not text or not text.strip():
        return RoleDefinitionFilter()
    found: dict[str, str] = {}
    for term in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        m = re.match(r"^\s*(type|rolename)\s+eq\s+'(.*)'\s*$", term, re.IGNORECASE)
        if m and m[1].lower() == "type" and m[2] in ("BuiltInRole", "CustomRole"):
            found["role_type"] = m[2]
        elif m and m[1].lower() == "rolename":
            found["role_name"] = m[2]
        elif term.strip().lower() != "atscopeandbelow()":
            raise FilterError(
                f"The filter '{text}' is not supported. Supported filters: "
                "type eq 'BuiltInRole'|'CustomRole', roleName eq '{name}', atScopeAndBelow()."
            )
    return RoleDefinitionFilter(**found)


@dataclass
class LinkRecord:
    """A Partner Admin Link: owned by one principal in one tenant."""

    partner_id: str
    tenant_id: str
    object_id: str
    created: datetime
    updated: datetime
    version: int = 1


_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _Placed:
    """An assignment with its scope's ancestry, precomputed for fast at/above/below tests."""

    assignment: Assignment
    key: str
    ancestors: tuple[str, ...]  # shared with the view's ancestry cache: a handful of scopes, no copy


class TenantView:
    """Indexes over one tenant of the estate."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.principals: dict[str, Principal] = {p.object_id: p for p in tenant.principals}
        self.by_app_id: dict[str, Principal] = {p.app_id: p for p in tenant.principals if p.app_id}
        self.custom_roles: dict[str, Role] = {r.role_id: r for r in tenant.custom_roles}
        self.subscriptions: dict[str, Subscription] = {s.subscription_id: s for s in tenant.subscriptions}
        self.resource_groups: dict[str, dict[str, str]] = {
            s.subscription_id: {rg.lower(): rg for rg in s.resource_groups} for s in tenant.subscriptions
        }
        self.management_groups = {mg.lower(): mg for mg in tenant.management_groups}
        self.management_groups[tenant.tenant_id] = tenant.tenant_id
        self._ancestors: dict[str, tuple[str, ...]] = {}
        self._all = {
            "active": [self._place(a) for a in tenant.role_assignments],
            "eligible": [self._place(a) for a in tenant.eligible_assignments],
        }
        # When time-bound access starts or ends the sets in effect change; between two such
        # moments they are computed once (with the permission cache that depends on them).
        timed = (*tenant.role_assignments, *tenant.eligible_assignments)
        self._bounds = sorted({t for a in timed for t in (a.start, a.end) if t})
        self._window: dict[str, tuple[datetime, datetime, list[_Placed]]] = {}
        self._can: dict[tuple[str, str, str], bool] = {}
        # Lighthouse: the permanent authorizations of this tenant's effective delegations act like
        # role assignments of the managing tenant's principals (never listed as role assignments),
        # and `foreign` (set by Directory) resolves those principals' groups in their own tenant.
        self.grants = [
            self._place(Assignment(d.assignment_id, a.principal_id, a.role_id, d.scope))
            for d in tenant.delegations
            if d.effective
            for a in d.authorizations
        ]
        self.foreign: dict[str, TenantView] = {}

    @property
    def active(self) -> list[_Placed]:
        """Role assignments in effect now (an ended time-bound assignment is gone, as in Azure)."""
        return self._in_effect("active")

    @property
    def eligible(self) -> list[_Placed]:
        """PIM eligibilities in effect now."""
        return self._in_effect("eligible")

    def _in_effect(self, kind: str) -> list[_Placed]:
        now = datetime.now(UTC)
        hit = self._window.get(kind)
        if hit is not None and hit[0] <= now < hit[1]:
            return hit[2]
        lo = max((b for b in self._bounds if b <= now), default=_EARLIEST)
        hi = min((b for b in self._bounds if b > now), default=_LATEST)
        items = [p for p in self._all[kind] if p.assignment.in_effect(now)]
        self._window[kind] = (lo, hi, items)
        if kind == "active":
            self._can.clear()
        return items

    def _place(self, a: Assignment) -> _Placed:
        key = a.scope.lower()
        return _Placed(a, key, self.ancestors(key))

    def role(self, role_id: str) -> Role | None:
        return BUILTIN_BY_ID.get(role_id) or self.custom_roles.get(role_id)

    # -- scopes --------------------------------------------------------------------------------
    def has_scope(self, scope: Scope) -> bool:
        if scope.kind == "root":
            return True
        if scope.kind == "management_group":
            return (scope.management_group or "").lower() in self.management_groups
        if scope.subscription_id not in self.subscriptions:
            return False
        if scope.kind == "subscription":
            return True
        return (scope.resource_group or "").lower() in self.resource_groups[scope.subscription_id]

    def ancestors(self, key: str) -> tuple[str, ...]:
        """The scope itself, then every scope above it up to the root `/` (lower-case keys)."""
        cached = self._ancestors.get(key)
        if cached is None:
            cached = self._ancestors[key] = tuple(self._walk_up(key))
        return cached

    def _walk_up(self, key: str) -> list[str]:
        chain = [key]
        if key == ROOT:
            return chain
        parts = key.split("/")
        if key.startswith(MG_PREFIX):
            mg = parts[4]
        else:
            if len(parts) > 5:
                chain.append("/".join(parts[:5]))  # resource -> its resource group
            if len(parts) > 3:
                chain.append("/".join(parts[:3]))  # resource group -> its subscription
            sub = self.subscriptions.get(parts[2])
            mg = (sub.management_group if sub else self.tenant.tenant_id).lower()
            chain.append(MG_PREFIX + mg)
        tid = self.tenant.tenant_id
        parents = {k.lower(): v.lower() for k, v in self.tenant.management_groups.items()}
        while mg != tid:
            mg = parents.get(mg, tid)
            chain.append(MG_PREFIX + mg)
        chain.append(ROOT)
        return chain

    # -- principals ----------------------------------------------------------------------------
    @cached_property
    def _memberships(self) -> dict[str, frozenset[str]]:
        """object id -> itself plus every group it belongs to, directly or through nested groups."""
        out: dict[str, frozenset[str]] = {}
        for oid in self.principals:
            seen, todo = {oid}, [oid]
            while todo:
                for g in self.principals[todo.pop()].member_of:
                    if g not in seen:
                        seen.add(g)
                        todo.append(g)
            out[oid] = frozenset(seen)
        return out

    def identities_of(self, oid: str) -> frozenset[str]:
        mine = self._memberships.get(oid)
        if mine is not None:
            return mine
        home = next((tv for tv in self.foreign.values() if oid in tv.principals), None)
        return home.identities_of(oid) if home else frozenset({oid})

    def managed_by_tenants(self, sid: str) -> list[str]:
        """Managing tenants of the effective delegations of a subscription or of its resource groups."""
        return sorted(
            {d.managed_by for d in self.tenant.delegations if d.effective and d.subscription_id == sid}
        )

    # -- RBAC ----------------------------------------------------------------------------------
    def can(self, oid: str, action: str, key: str) -> bool:
        """Whether `oid` (or a group it is in) holds an active role allowing `action` at or above `key`."""
        active = self.active  # first: a new time window clears the cache
        ck = (oid, action, key)
        hit = self._can.get(ck)
        if hit is None:
            above = set(self.ancestors(key))
            mine = self.identities_of(oid)
            hit = self._can[ck] = any(
                p.assignment.principal_id in mine
                and p.key in above
                and (role := self.role(p.assignment.role_id)) is not None
                and role.allows(action)
                for p in (*active, *self.grants)
            )
        return hit

    def sees_subscription(self, oid: str, sid: str) -> bool:
        """ARM lists a subscription to anyone holding a role at, above or below it."""
        key = f"/subscriptions/{sid}"
        above = set(self.ancestors(key))
        mine = self.identities_of(oid)
        return any(
            p.assignment.principal_id in mine and (p.key in above or key in p.ancestors)
            for p in (*self.active, *self.grants)
        )

    def visible_resource_groups(self, oid: str, sid: str) -> list[str]:
        """Groups the caller can read: a role that reads groups at or above, or any role inside it."""
        mine = self.identities_of(oid)
        inside = {
            p.key.split("/")[4]
            for p in (*self.active, *self.grants)
            if p.assignment.principal_id in mine and len(p.key.split("/")) > 4 and p.key.split("/")[2] == sid
        }
        out = []
        for low, name in self.resource_groups.get(sid, {}).items():
            key = f"/subscriptions/{sid}/resourcegroups/{low}"
            if low in inside or self.can(oid, READ_RESOURCE_GROUPS, key):
                out.append(name)
        return out

    def list_assignments(
        self, placed: list[_Placed], scope_key: str, f: AssignmentFilter, caller: str
    ) -> list[tuple[Assignment, str]]:
        """Assignments at, above and (unless atScope()) below the scope that pass the filter.

        Each comes with its member type as PIM reports it: "Inherited" when held at a scope above
        the listed one, else "Group" when held through a group of the principal named in the
        filter (or of the caller, for asTarget()), else "Direct".
        """
        above = set(self.ancestors(scope_key))
        who = f.assigned_to or (caller if f.as_target else None)
        holders = self.identities_of(who) if who else None
        out = []
        for p in placed:
            at_or_above = p.key in above
            if not at_or_above and (f.at_scope or scope_key not in p.ancestors):
                continue
            pid = p.assignment.principal_id
            if f.principal_id and pid != f.principal_id:
                continue
            if holders is not None and pid not in holders:
                continue
            if p.key != scope_key and at_or_above:
                member = "Inherited"
            else:
                member = "Direct" if who is None or pid == who else "Group"
            out.append((p.assignment, member))
        return out


class TenantViews(Mapping[str, TenantView]):
    """Tenant id -> its `TenantView`, each built on first use.

    A view's indexes cost about as much memory as the tenant itself and most of a large estate's
    load time; a benchmark or test touches its tenants one by one, so none is built up front."""

    def __init__(self, tenants: tuple[Tenant, ...]) -> None:
        self._tenants = {t.tenant_id: t for t in tenants}
        self._views: dict[str, TenantView] = {}

    def __getitem__(self, tenant_id: str) -> TenantView:
        view = self._views.get(tenant_id)
        if view is None:
            view = self._views[tenant_id] = TenantView(self._tenants[tenant_id])
            # Stored first: a managing tenant may in turn delegate to this one.
            for d in view.tenant.delegations:
                view.foreign[d.managed_by] = self[d.managed_by]
        return view

    def __contains__(self, tenant_id: object) -> bool:
        return tenant_id in self._tenants

    def __iter__(self) -> Iterator[str]:
        return iter(self._tenants)  # estate order

    def __len__(self) -> int:
        return len(self._tenants)


@dataclass
class Directory:
    """The whole simulated cloud: tenants, where each subscription lives, and the mutable links."""

    estate: Estate
    tenants: TenantViews = field(init=False)
    subscription_tenant: dict[str, str] = field(init=False)
    links: dict[tuple[str, str], LinkRecord] = field(init=False)
    # a person (home tenant, object id) -> {tenant where it is a guest: its object id there}
    _guests: dict[tuple[str, str], dict[str, str]] = field(init=False)
    # managing tenant id -> customer tenant ids with an effective delegation to it, in estate order
    _customers: dict[str, list[str]] = field(init=False)
    _by_domain: dict[str, str] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.tenants = TenantViews(self.estate.tenants)
        self._customers = {}
        for t in self.estate.tenants:
            for managing in dict.fromkeys(d.managed_by for d in t.delegations if d.effective):
                self._customers.setdefault(managing, []).append(t.tenant_id)
        self.subscription_tenant = {
            s.subscription_id: t.tenant_id for t in self.estate.tenants for s in t.subscriptions
        }
        self._guests = {}
        for t in self.estate.tenants:
            for p in t.principals:
                if p.guest_of is not None:
                    home = (p.guest_of.tenant_id, p.guest_of.object_id)
                    self._guests.setdefault(home, {})[t.tenant_id] = p.object_id
        now = datetime(2026, 1, 1, tzinfo=UTC)  # links of the estate date from a fixed, documented day
        self.links = {
            (t.tenant_id, p.object_id): LinkRecord(p.link_partner_id, t.tenant_id, p.object_id, now, now)
            for t in self.estate.tenants
            for p in t.principals
            if p.link_partner_id
        }

    def customers_of(self, managing_tid: str) -> list[TenantView]:
        """Customer tenants with an effective Lighthouse delegation to `managing_tid`."""
        return [self.tenants[tid] for tid in self._customers.get(managing_tid, ())]

    def user_in_tenant(self, home_tenant_id: str, home_object_id: str, tenant_id: str) -> str | None:
        """The object id a person (a home user) has in `tenant_id`: itself at home, its guest
        elsewhere, None where the person is not a member."""
        if tenant_id == home_tenant_id:
            return home_object_id
        return self._guests.get((home_tenant_id, home_object_id), {}).get(tenant_id)

    def tenants_of_user(self, tenant_id: str, object_id: str) -> list[TenantView]:
        """The tenants a user principal (or guest) can sign in to: the person's home, then the
        tenants where the person is a guest, in estate order."""
        p = self.tenants[tenant_id].principals.get(object_id)
        if p is None or p.type != "User":
            return []
        home = (p.guest_of.tenant_id, p.guest_of.object_id) if p.guest_of else (tenant_id, object_id)
        guest_in = self._guests.get(home, {})
        return [self.tenants[tid] for tid in self.tenants if tid == home[0] or tid in guest_in]

    def tenant_by_name(self, segment: str) -> TenantView | None:
        """A tenant named in a URL: its id or its default domain (fabrikam.onmicrosoft.com)."""
        low = segment.lower()
        if low in self.tenants:
            return self.tenants[low]
        if self._by_domain is None:  # the first name that is no id: index every domain once
            self._by_domain = {}
            for t in self.estate.tenants:
                self._by_domain.setdefault(t.default_domain, t.tenant_id)  # the first tenant wins
        tid = self._by_domain.get(low)
        return None if tid is None else self.tenants[tid]

    def managed_identities(self) -> list[tuple[TenantView, Principal]]:
        return [
            (self.tenants[t.tenant_id], p)
            for t in self.estate.tenants
            for p in t.principals
            if p.managed_identity
        ]

    def partner_name(self, partner_id: str) -> str | None:
        partner = self.estate.partners.get(partner_id)
        return partner.name if partner else None
