"""link_without_eligible_role: linked to us, has access, but no role that earns credit (e.g. Reader)."""

from __future__ import annotations

from pal_audit.checks.base import (
    CheckMeta,
    Evidence,
    IdentityCheck,
    access_of,
    describe,
    identity_finding,
    is_ours,
    link_text,
)
from pal_audit.checks.remediation import ANY_SUBSCRIPTION, IAM_PORTAL, grant_eligible_role
from pal_audit.model import Finding, PartnerPolicy, Severity, TenantSnapshot

META = CheckMeta(
    check_id="link_without_eligible_role",
    title="Linked identity holds no PAL-eligible role",
    severity=Severity.MEDIUM,
    scope="identity",
    description="The identity is linked to one of the partner's IDs and has active role assignments, "
                "but none is PAL-eligible (e.g. Reader only, or a custom role) and no eligible role is "
                "PIM-eligible either: the link earns no credit.",
    remediation="Grant a PAL-eligible role; Support Request Contributor is the least-privileged one.",
    needs=frozenset({"link", "active", "pim", "role_definitions"}),
)


def _judge(who: Evidence, tenant: TenantSnapshot, policy: PartnerPolicy) -> list[Finding]:
    if not tenant.expect_link or not is_ours(who, policy):
        return []
    access = access_of(who, policy)
    # With PIM unreadable this is undecided: a PIM-eligible role would make it
    # eligible_role_only_via_pim instead, so neither may be raised or resolved.
    if not access.active or access.active_eligible or access.pim_eligible:
        return []
    scope = access.active[0].assignment.scope
    if access.active[0].assignment.scope_kind in ("root", "resource"):
        scope = ANY_SUBSCRIPTION
    return [identity_finding(
        META, who,
        detail=f"Linked to {link_text(who)}, but no active role is PAL-eligible: "
               f"{describe(access.active)}.",
        remediation="Ask the customer to grant a PAL-eligible role where this identity works, "
                    f"e.g. {grant_eligible_role(who.principal_id, scope)} (or {IAM_PORTAL}).",
    )]


evaluate = IdentityCheck(META, _judge)
