"""link_previous_partner_id: linked to an ID the partner used before (stale, not foreign)."""

from __future__ import annotations

from pal_audit.checks.base import CheckMeta, Evidence, IdentityCheck, identity_finding, link_text
from pal_audit.checks.remediation import link_fix
from pal_audit.model import Finding, PartnerPolicy, Severity, TenantSnapshot

META = CheckMeta(
    check_id="link_previous_partner_id",
    title="Identity is linked to a previous partner ID",
    severity=Severity.MEDIUM,
    scope="identity",
    description="The identity is linked to one of the partner's previous_partner_ids (e.g. an old "
                "location ID) instead of the current Associated Partner ID.",
    remediation="Update the link to the current partner ID.",
    needs=frozenset({"link"}),
)


def _judge(who: Evidence, tenant: TenantSnapshot, policy: PartnerPolicy) -> list[Finding]:
    if not tenant.expect_link:  # any link of ours there is link_on_excluded_tenant: delete, not update
        return []
    if who.link is None or who.link.partner_id == policy.partner_id \
            or who.link.partner_id not in policy.previous_partner_ids:
        return []
    return [identity_finding(
        META, who,
        detail=f"Linked to {link_text(who)}, a previous partner ID; the current one is "
               f"{policy.partner_id}.",
        remediation=link_fix(who, "update", policy.partner_id) + ".",
    )]


evaluate = IdentityCheck(META, _judge)
