"""tenant_without_credited_link: nothing in the tenant earns the partner credit today."""

from __future__ import annotations

from pal_audit.checks.base import CheckMeta, access_of, link_text, tenant_finding
from pal_audit.model import Finding, PartnerPolicy, Severity, TenantSnapshot

META = CheckMeta(
    check_id="tenant_without_credited_link",
    title="No identity earns PAL credit in the tenant",
    severity=Severity.HIGH,
    description="The tenant expects a link, every identity was audited, and none is linked to the current "
                "partner ID while holding an active PAL-eligible role (one finding per tenant).",
    remediation="Make at least one identity linked to the current partner ID hold an active eligible role.",
)


def evaluate(tenant: TenantSnapshot, policy: PartnerPolicy) -> list[Finding]:
    # Only on full evidence: an identity we could not audit might be the credited one.
    if not tenant.expect_link or not tenant.fully_audited:
        return []
    seen = []
    for who in tenant.identities:
        access = access_of(who, policy)
        if who.link is not None and who.link.partner_id == policy.partner_id and access.active_eligible:
            return []
        eligible = "an active PAL-eligible role" if access.active_eligible else "no active PAL-eligible role"
        seen.append(f"{who.identity}: {link_text(who)}, {eligible}")
    return [tenant_finding(
        META, tenant,
        detail=f"No identity is linked to {policy.partner_id} with an active PAL-eligible role. Seen: "
               + ("; ".join(seen) if seen else "no identities registered") + ".",
        remediation="Fix the identity findings for this tenant (link_missing, link_previous_partner_id, "
                    "link_without_eligible_role, eligible_role_only_via_pim…): the usual fix is to run "
                    f"`az managementpartner create --partner-id {policy.partner_id}` as an identity that "
                    'holds an active role such as "Support Request Contributor".',
    )]
