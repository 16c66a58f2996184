"""link_on_excluded_tenant: a short-project tenant (expect_link: false) carries one of our links."""

from __future__ import annotations

from pal_audit.checks.base import (
    CheckMeta,
    Evidence,
    IdentityCheck,
    identity_finding,
    is_ours,
    link_text,
)
from pal_audit.checks.remediation import link_fix
from pal_audit.model import Finding, PartnerPolicy, Severity, TenantSnapshot

META = CheckMeta(
    check_id="link_on_excluded_tenant",
    title="Link on a tenant that must not be linked",
    severity=Severity.MEDIUM,
    scope="identity",
    description="The tenant has expect_link: false (e.g. a short project that would spoil year-on-year "
                "growth) and the identity is linked to one of the partner's IDs.",
    remediation="Delete the link, signed in as that identity in that tenant.",
    needs=frozenset({"link"}),
)


def _judge(who: Evidence, tenant: TenantSnapshot, policy: PartnerPolicy) -> list[Finding]:
    if tenant.expect_link or who.link is None or not is_ours(who, policy):
        return []
    return [identity_finding(
        META, who,
        detail=f"Linked to {link_text(who)}, but the registry marks this tenant with "
               "expect_link: false.",
        remediation=link_fix(who, "delete", who.link.partner_id)
        + " (or set expect_link: true in the registry if the tenant should now be credited).",
    )]


evaluate = IdentityCheck(META, _judge)
