"""customer_approval_missing: we are linked in the tenant but the registry records no customer approval."""

from __future__ import annotations

from pal_audit.checks.base import CheckMeta, TenantCheck, TenantEvidence, is_ours, tenant_finding
from pal_audit.model import Finding, PartnerPolicy, Severity

META = CheckMeta(
    check_id="customer_approval_missing",
    title="Partner link without recorded customer approval",
    severity=Severity.LOW,
    scope="tenant",
    description="At least one identity is linked to one of the partner's IDs in the tenant and the "
                "registry records no customer_approval for it (one finding per tenant).",
    remediation="Record who approved the attribution, when, and the change reference in the registry.",
    needs=frozenset({"link"}),
)


def _judge(tenant: TenantEvidence, policy: PartnerPolicy) -> list[Finding]:
    # On an excluded tenant the link itself is the finding (link_on_excluded_tenant): it must be
    # deleted, not approved.
    if tenant.has_customer_approval or not tenant.expect_link:
        return []
    linked = [f"{w.identity} ({w.link.partner_id})" for w in tenant.audited()
              if w.link is not None and is_ours(w, policy)]
    if not linked:
        tenant.require_every_identity()  # "nobody is linked" needs every identity's link
        return []
    return [tenant_finding(
        META, tenant,
        # No tenant name in the text: alerts may mask tenant identity, and the report shows the tenant.
        detail=f"Linked to our partner ID in this tenant: {', '.join(linked)}; the registry has no "
               "customer_approval for it.",
        remediation=f"Confirm the attribution with the customer, then add to tenant {tenant.tenant_id} in "
                    "the registry: `customer_approval: {by: <approver email>, on: <YYYY-MM-DD>, "
                    "ref: <change reference>}`.",
    )]


evaluate = TenantCheck(META, _judge)
