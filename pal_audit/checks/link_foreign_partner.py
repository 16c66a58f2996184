"""link_foreign_partner: a partner-controlled identity credits someone else's partner ID."""

from __future__ import annotations

from pal_audit.checks.base import CheckMeta, Evidence, IdentityCheck, identity_finding, link_text
from pal_audit.checks.remediation import link_fix
from pal_audit.model import Finding, PartnerPolicy, Severity, TenantSnapshot

META = CheckMeta(
    check_id="link_foreign_partner",
    title="Identity is linked to another partner's ID (misattribution)",
    severity=Severity.HIGH,
    scope="identity",
    description="The identity is linked to a partner ID that is neither the partner's current nor a "
                "previous ID, e.g. a contractor linked to their own firm: the credit goes elsewhere.",
    remediation="Update the link to the partner ID (or delete it where no link is expected).",
    needs=frozenset({"link"}),
)


def _judge(who: Evidence, tenant: TenantSnapshot, policy: PartnerPolicy) -> list[Finding]:
    if who.link is None or policy.is_ours(who.link.partner_id):
        return []
    foreign = who.link.partner_id
    if tenant.expect_link:
        fix = link_fix(who, "update", policy.partner_id)
    else:  # short project: no link at all is wanted here
        fix = link_fix(who, "delete", foreign) + \
              " (the tenant has expect_link: false, so no link is wanted)"
    return [identity_finding(
        META, who,
        detail=f"Linked to {link_text(who)}; expected {policy.partner_id}. This ID is neither our "
               "current nor a previous partner ID, so the usage this identity manages is credited "
               "to another partner.",
        remediation=fix + ".",
    )]


evaluate = IdentityCheck(META, _judge)
