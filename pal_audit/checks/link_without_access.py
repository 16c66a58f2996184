"""link_without_access: linked to us, but holds no role at all (the relationship has ended)."""

from __future__ import annotations

from pal_audit.checks.base import (
    CheckMeta,
    Evidence,
    IdentityCheck,
    access_of,
    identity_finding,
    is_ours,
    link_text,
)
from pal_audit.checks.remediation import ANY_SUBSCRIPTION, grant_eligible_role, link_fix
from pal_audit.model import Finding, PartnerPolicy, Severity, TenantSnapshot

META = CheckMeta(
    check_id="link_without_access",
    title="Linked identity has no access in the tenant",
    severity=Severity.MEDIUM,
    scope="identity",
    description="The identity is linked to one of the partner's IDs but holds no active and no "
                "PIM-eligible role assignment: the customer relationship has likely ended.",
    remediation="Remove the link (or restore the access if the relationship continues).",
    needs=frozenset({"link", "subscriptions", "active", "pim"}),
)


def _judge(who: Evidence, tenant: TenantSnapshot, policy: PartnerPolicy) -> list[Finding]:
    if not tenant.expect_link or who.link is None or not is_ours(who, policy):
        return []  # on an excluded tenant every link of ours is link_on_excluded_tenant
    access = access_of(who, policy)
    # Never "no access" on missing evidence: unreadable PIM eligibility leaves it undecided.
    if access.active or access.pim:
        return []
    subs = f"{len(who.subscriptions)} subscription(s) visible" if who.subscriptions else \
        "no subscription visible"
    return [identity_finding(
        META, who,
        detail=f"Linked to {link_text(who)}, but holds no active and no PIM-eligible role assignment "
               f"({subs}). The link earns nothing.",
        remediation=link_fix(who, "delete", who.link.partner_id)
        + " if the customer relationship has ended; otherwise ask the customer to restore an eligible "
          f"role, e.g. {grant_eligible_role(who.principal_id, ANY_SUBSCRIPTION)}.",
    )]


evaluate = IdentityCheck(META, _judge)
