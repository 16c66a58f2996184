"""What the Lighthouse checks share: the evidence of one delegated customer, who holds which role in
a delegation (directly or through groups), the remediation texts, and the check kind that judges
each delegation of a customer on its own.

Credit reaches a delegated scope only through a permanent authorization with a PAL-eligible
built-in role held by a principal linked to the partner ID (directly, or as a member of a group
named in the authorization). Just-in-time authorizations earn nothing until activated.

Unknown versus outside: a group whose members could not be read, or a registry identity that
could not sign in, is *unknown* (a transient failure): the checks that depend on it are left
undecided. A principal outside the registry is not unknown in that sense: its link can never be
read unattended, so the checks say so in the detail and `lighthouse_unaudited_principal` asks to
add it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pal_audit.checks.base import (
    Check,
    CheckMeta,
    Decision,
    TenantCheck,
    TenantEvidence,
    Undecided,
    UndeclaredInput,
    make_finding,
)
from pal_audit.checks.remediation import ELIGIBLE_ROLE
from pal_audit.checks.role_rules import PEC_TABLE, classify_by_id
from pal_audit.model import (
    Authorization,
    DelegatedCustomer,
    Delegation,
    Finding,
    Input,
    Link,
    PartnerPolicy,
    TenantSnapshot,
)

DELEGATION_PRINCIPAL = "-"     # delegation findings name no identity: principal and identity "-"
SRC_ROLE_ID = "cfd33db0-3dd1-45e3-aa9d-cdbdf3b6f24e"   # Support Request Contributor
CONTRIBUTOR_ROLE_ID = "b24988ac-6180-42a0-ab88-20f7382dd24c"


class DelegationEvidence:
    """One delegated customer as a Lighthouse check may see it: declared inputs only."""

    def __init__(self, tenant: TenantEvidence, needs: frozenset[Input]) -> None:
        view = tenant.snapshot.lighthouse
        if view is None:
            raise ValueError("not a delegated customer's snapshot")
        self.view: DelegatedCustomer = view
        self.tenant_id = tenant.tenant_id
        self._needs = needs

    def _read(self, name: Input) -> None:
        if name not in self._needs:
            raise UndeclaredInput(f"the check reads {name!r} but does not declare it in META.needs")

    @property
    def delegations(self) -> tuple[Delegation, ...]:
        self._read("delegations")
        if self.view.error is not None:
            raise Undecided("delegations", f"{self.view.error.reason}: {self.view.error.message}")
        return self.view.delegations

    def link_of(self, principal_id: str) -> Link | Outside | None:
        """The link of a registry identity; OUTSIDE for a principal outside the registry.

        Undecided when a registry identity could not sign in: the principal might be that one.
        """
        self._read("link")
        if principal_id in self.view.links:
            return self.view.links[principal_id]
        if self.view.unsigned_identities:
            raise Undecided("link", "not signed in: " + ", ".join(self.view.unsigned_identities))
        return OUTSIDE

    def members(self, group_id: str) -> frozenset[str]:
        self._read("group_members")
        found = self.view.groups.get(group_id)
        if found is None:
            raise Undecided("group_members", f"members of group {group_id} were not read")
        if found.unknown is not None:
            unknown = found.unknown
            raise Undecided("group_members", f"group {group_id}: {unknown.reason}: {unknown.message}")
        return found.members

    def kind(self, principal_id: str) -> str:
        """'user', 'servicePrincipal', 'group'; Undecided when Graph could not say."""
        self._read("group_members")
        found = self.view.kinds.get(principal_id)
        if found is None:
            raise Undecided("group_members", f"the type of principal {principal_id} could not be read")
        return found

    def name_of(self, principal_id: str, auth: Authorization | None = None) -> str:
        registry_name = self.view.identity_names.get(principal_id)
        if registry_name:
            return registry_name
        if auth is not None and auth.display_name:
            return f"{auth.display_name} ({principal_id})"
        return principal_id


class Outside:
    """The link of a principal outside the registry: pal-audit cannot read it."""


OUTSIDE = Outside()


def role_name(role_id: str) -> str:
    entry = PEC_TABLE.get(role_id.lower())
    return entry.name if entry else f"role {role_id}"


def role_eligible(role_id: str, policy: PartnerPolicy) -> bool:
    """Lighthouse allows built-in roles only: the PEC table decides; a role outside it is unknown."""
    verdict = classify_by_id(role_id, None, policy.custom_roles)
    if verdict is None:
        raise Undecided("role_definitions", f"role {role_id} is not in the PEC role table")
    return verdict.eligible


@dataclass
class Holders:
    """Who holds the PAL-eligible roles of one kind of authorization (permanent or just in time)."""

    credited: list[str] = field(default_factory=list)      # linked to the current partner ID
    other_linked: list[str] = field(default_factory=list)  # unlinked, foreign or previous ID
    outside: list[str] = field(default_factory=list)       # outside the registry: link unreadable
    outside_named: list[tuple[Authorization, str]] = field(default_factory=list)  # named directly
    eligible_roles: int = 0


def holders(who: DelegationEvidence, auths: tuple[Authorization, ...], policy: PartnerPolicy) -> Holders:
    """Expand each PAL-eligible authorization to the principals it reaches and judge their links."""
    found = Holders()
    for auth in auths:
        if not role_eligible(auth.role_id, policy):
            continue
        found.eligible_roles += 1
        role = role_name(auth.role_id)
        kind = who.kind(auth.principal_id)
        if kind == "group":
            reached = sorted(who.members(auth.principal_id))
            via = f" via group {who.name_of(auth.principal_id, auth)}"
        else:
            reached, via = [auth.principal_id], ""
            if auth.principal_id not in who.view.links:
                found.outside_named.append((auth, kind))
        for principal in reached:
            link = who.link_of(principal)
            text = f"{who.name_of(principal, auth if not via else None)} ({role}{via})"
            if isinstance(link, Outside):
                if who.view.kinds.get(principal, "servicePrincipal") != "group":
                    found.outside.append(text)
            elif link is not None and link.partner_id == policy.partner_id:
                found.credited.append(text)
            else:
                state = "not linked" if link is None else f"linked to partner ID {link.partner_id}"
                found.other_linked.append(f"{text}: {state}")
    return found


def describe_delegation(d: Delegation) -> str:
    permanent = ", ".join(f"{role_name(a.role_id)} for {a.display_name or a.principal_id}"
                          for a in d.authorizations) or "none"
    jit = ", ".join(f"{role_name(a.role_id)} for {a.display_name or a.principal_id}"
                    for a in d.eligible_authorizations)
    return (f"Delegation '{d.definition_name}' at {d.scope}: permanent authorizations: {permanent}"
            + (f"; just-in-time: {jit}" if jit else "") + ".")


def authorization_fix(view: DelegatedCustomer, scope: str, principal: str, partner_id: str) -> str:
    """The exact change to the delegation's ARM template, and the command that redeploys it."""
    return (
        f"Add a permanent authorization to the delegation's template (managedByTenantId "
        f"{view.managing_tenant_id}, the scope {scope}): "
        f'{{"principalId": "{principal}", "principalIdDisplayName": "PAL provider automation", '
        f'"roleDefinitionId": "{SRC_ROLE_ID}"}} ({ELIGIBLE_ROLE}, the least-privileged PAL-eligible '
        f"role; Contributor is {CONTRIBUTOR_ROLE_ID}). The customer redeploys it, signed in to their "
        f"tenant: `az deployment sub create --location <region> --template-file "
        f"lighthouse-delegation.json --parameters @lighthouse-delegation.parameters.json` (a "
        f"resource-group delegation names the group in the parameters). The principal must be "
        f"linked once in the managing tenant: `az managementpartner create --partner-id {partner_id}` "
        f"signed in as it there."
    )


def linked_principal_hint(view: DelegatedCustomer, policy: PartnerPolicy) -> str:
    """A registry identity linked to the current partner ID (the one to authorize), if any."""
    for principal, link in sorted(view.links.items()):
        if link is not None and link.partner_id == policy.partner_id:
            return principal
    return "<object id of your linked provider-automation service principal>"


DelegationJudge = Callable[[DelegationEvidence, Delegation, PartnerPolicy], list[Finding]]
CustomerJudge = Callable[[DelegationEvidence, PartnerPolicy], list[Finding]]


def delegation_finding(meta: CheckMeta, who: DelegationEvidence, scope: str, *, detail: str,
                       remediation: str) -> Finding:
    return make_finding(meta, who.tenant_id, DELEGATION_PRINCIPAL, DELEGATION_PRINCIPAL,
                        detail=f"Via Lighthouse from {who.view.managing_name}: {detail}",
                        remediation=remediation, qualifier=scope)


class DelegationCheck(TenantCheck):
    """A Lighthouse check judged once per delegation of a customer (qualifier = delegated scope).

    A delegation it cannot decide makes the check undecided for the customer (the key is
    (check_id, "-")), so none of its stored findings there is resolved; the others still raise.
    """

    def __init__(self, meta: CheckMeta, judge: DelegationJudge | None = None,
                 customer_judge: CustomerJudge | None = None) -> None:
        super().__init__(meta, lambda tenant, policy: [])
        self._delegation_judge, self._customer_judge = judge, customer_judge

    def decide(self, tenant: TenantSnapshot, policy: PartnerPolicy) -> Decision:
        if tenant.kind != "delegated" or tenant.lighthouse is None:
            return Decision()
        who = DelegationEvidence(TenantEvidence(tenant, self.meta.needs), self.meta.needs)
        undecided = frozenset({(self.meta.check_id, DELEGATION_PRINCIPAL)})
        findings: list[Finding] = []
        try:
            if self._customer_judge is not None:
                return Decision(tuple(self._customer_judge(who, policy)))
            delegations = who.delegations
        except Undecided:
            return Decision(undecided=undecided)
        stuck = False
        for d in delegations:
            try:
                assert self._delegation_judge is not None
                findings += self._delegation_judge(who, d, policy)
            except Undecided:
                stuck = True
        return Decision(tuple(findings), undecided if stuck else frozenset())


# The checks that apply to a managing tenant's identities: only their own links (credit there is
# judged per delegation; customer approval and tenant-level credit belong to customer tenants).
MANAGING_TENANT_CHECKS = frozenset({"link_missing", "link_foreign_partner", "link_previous_partner_id",
                                    "audit_error"})


def applies(check: Check, tenant: TenantSnapshot) -> bool:
    """Whether `check` judges this kind of snapshot (a delegated customer's audit_error is built by
    the Lighthouse audit itself, with the managing tenant in its qualifier)."""
    if tenant.kind == "managing":
        return check.meta.check_id in MANAGING_TENANT_CHECKS
    return isinstance(check, DelegationCheck) == (tenant.kind == "delegated")
