"""tenant_without_credited_link: nothing in the tenant earns the partner credit today."""

from __future__ import annotations

from pal_audit.checks.base import CheckMeta, access_of, link_text, run_as, tenant_finding
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
        remediation=_remediation(tenant, policy),
    )]


def _remediation(tenant: TenantSnapshot, policy: PartnerPolicy) -> str:
    # Prefer the cheapest fix: link an identity that already holds an active eligible role.
    for who in tenant.identities:
        if access_of(who, policy).active_eligible:
            verb = "create" if who.link is None else "update"
            return run_as(who, f"az managementpartner {verb} --partner-id {policy.partner_id}") + \
                f": {who.identity} already holds an active PAL-eligible role."
    linked = next((w for w in tenant.identities if w.link is not None and policy.is_ours(w.link.partner_id)),
                  None)
    if linked is not None:
        return (f"Ask the customer to grant {linked.identity} an active PAL-eligible role, e.g. "
                f"`az role assignment create --assignee {linked.principal_id} --role "
                '"Support Request Contributor" --scope /subscriptions/<subscription id>`, and link it to '
                f"{policy.partner_id} if it is linked to a previous ID.")
    return ("Ask the customer to grant one of the partner's identities an active PAL-eligible role (e.g. "
            '"Support Request Contributor" on the managed subscriptions), then run '
            f"`az managementpartner create --partner-id {policy.partner_id}` signed in as that identity.")
