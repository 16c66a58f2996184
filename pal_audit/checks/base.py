"""What every check shares: its metadata, the Finding it builds, and a view of what an identity holds."""

from __future__ import annotations

from dataclasses import dataclass

from pal_audit.model import (
    Finding,
    IdentitySnapshot,
    PartnerPolicy,
    RoleAssignment,
    Severity,
    TenantSnapshot,
)
from pal_audit.roles import RoleVerdict, classify

TENANT_LEVEL = "-"  # principal_id and identity of tenant-level findings (design.md §6)


@dataclass(frozen=True)
class CheckMeta:
    check_id: str
    title: str
    severity: Severity
    description: str    # when the check raises, in one or two sentences (user docs)
    remediation: str    # the fix in general terms; findings carry the concrete command


def make_finding(meta: CheckMeta, tenant_id: str, principal_id: str, identity: str, *,
                 detail: str, remediation: str, qualifier: str = "") -> Finding:
    return Finding(check_id=meta.check_id, severity=meta.severity, tenant_id=tenant_id,
                   principal_id=principal_id, identity=identity, title=meta.title, detail=detail,
                   remediation=remediation, qualifier=qualifier)


def identity_finding(meta: CheckMeta, who: IdentitySnapshot, *, detail: str, remediation: str,
                     qualifier: str = "") -> Finding:
    """A finding about one audited identity (principal = its object id)."""
    return make_finding(meta, who.tenant_id, principal_of(who), who.identity,
                        detail=detail, remediation=remediation, qualifier=qualifier)


def tenant_finding(meta: CheckMeta, tenant: TenantSnapshot, *, detail: str, remediation: str) -> Finding:
    return make_finding(meta, tenant.tenant_id, TENANT_LEVEL, TENANT_LEVEL,
                        detail=detail, remediation=remediation)


def principal_of(who: IdentitySnapshot) -> str:
    # design.md §6: an identity that could not sign in is named by its registry name.
    return who.principal_id or who.identity


def audited(tenant: TenantSnapshot) -> list[IdentitySnapshot]:
    """Identities whose snapshot is evidence; failed ones are left to `audit_error`."""
    return [i for i in tenant.identities if i.ok]


def linked_to_us(tenant: TenantSnapshot, policy: PartnerPolicy) -> list[IdentitySnapshot]:
    """Audited identities linked to the partner's current or a previous ID."""
    return [i for i in audited(tenant) if i.link is not None and policy.is_ours(i.link.partner_id)]


@dataclass(frozen=True)
class Held:
    """One assignment the identity holds, with the verdict on its role."""

    assignment: RoleAssignment
    role_name: str
    verdict: RoleVerdict
    via_group: bool

    def describe(self) -> str:
        via = f" via group {self.assignment.principal_id}" if self.via_group else ""
        return f"{self.role_name} at {self.assignment.scope or '/'}{via}"


@dataclass(frozen=True)
class Access:
    """What an identity holds: active assignments, and PIM-eligible ones (None = could not be read)."""

    active: tuple[Held, ...]
    pim: tuple[Held, ...] | None

    @property
    def active_eligible(self) -> tuple[Held, ...]:
        return tuple(h for h in self.active if h.verdict.eligible)

    @property
    def pim_eligible(self) -> tuple[Held, ...]:
        return tuple(h for h in self.pim or () if h.verdict.eligible)

    @property
    def pim_unknown(self) -> bool:
        return self.pim is None


def access_of(who: IdentitySnapshot, policy: PartnerPolicy) -> Access:
    def held(assignments: tuple[RoleAssignment, ...]) -> tuple[Held, ...]:
        seen: dict[str, Held] = {}
        for a in assignments:  # an MG assignment is listed once per subscription below it
            role = who.roles.get(a.role_id.lower())
            name = role.name if role else f"role {a.role_id}"
            via_group = who.principal_id is not None and a.principal_id.lower() != who.principal_id.lower()
            seen.setdefault(a.assignment_id.lower(),
                            Held(a, name, classify(role, policy.custom_roles), via_group))
        return tuple(seen.values())

    return Access(held(who.active), None if who.eligible is None else held(who.eligible))


def describe(held: tuple[Held, ...], limit: int = 5) -> str:
    """'Reader at /subscriptions/x (Reader is not PAL-eligible per the PEC role table); …'"""
    parts = [f"{h.describe()} ({h.verdict.explanation})" for h in held[:limit]]
    if len(held) > limit:
        parts.append(f"and {len(held) - limit} more")
    return "; ".join(parts) if parts else "none"


def link_text(who: IdentitySnapshot) -> str:
    link = who.link
    if link is None:
        return "no link"
    name = f" ({link.partner_name})" if link.partner_name else ""
    return f"partner ID {link.partner_id}{name}"


PIM_UNKNOWN_NOTE = ("PIM eligibility could not be read (403 on roleEligibilityScheduleInstances), "
                    "so PIM-eligible roles are unknown")


def run_as(who: IdentitySnapshot, command: str) -> str:
    """A CLI command to run signed in as the identity itself (links are per principal, per tenant)."""
    return (f"Signed in as {who.identity} in tenant {who.tenant_id} "
            f"(az login --tenant {who.tenant_id}, with --service-principal for an app), run "
            f"`{command}`")
