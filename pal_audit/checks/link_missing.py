"""link_missing: the identity holds a PAL-eligible role where a link is expected, and is not linked."""

from __future__ import annotations

from pal_audit.checks.base import (
    CheckMeta,
    Evidence,
    IdentityCheck,
    access_of,
    describe,
    identity_finding,
)
from pal_audit.checks.remediation import PAL_PORTAL, link_fix
from pal_audit.model import Finding, PartnerPolicy, Severity, TenantSnapshot

META = CheckMeta(
    check_id="link_missing",
    title="Identity with a PAL-eligible role is not linked to the partner ID",
    severity=Severity.HIGH,
    scope="identity",
    description="The tenant expects a link, the identity holds a PAL-eligible role (active or "
                "PIM-eligible), and it has no Partner Admin Link: its work earns the partner no credit.",
    remediation="Link the identity to the partner ID, signed in as that identity in that tenant.",
    needs=frozenset({"link", "active", "pim", "role_definitions"}),
)


def _judge(who: Evidence, tenant: TenantSnapshot, policy: PartnerPolicy) -> list[Finding]:
    if not tenant.expect_link or who.link is not None:
        return []
    access = access_of(who, policy)
    # An active eligible role settles it without PIM; only then is PIM eligibility read (and an
    # unreadable PIM leaves the identity undecided rather than "no eligible role").
    eligible, kind = access.active_eligible, "active"
    if not eligible:
        eligible, kind = access.pim_eligible, "PIM-eligible only"
    if not eligible:
        return []
    return [identity_finding(
        META, who,
        detail=f"No Partner Admin Link. PAL-eligible roles ({kind}): {describe(eligible)}.",
        remediation=link_fix(who, "create", policy.partner_id)
        + f". A user can instead use {PAL_PORTAL}; service principals cannot link in the portal.",
    )]


evaluate = IdentityCheck(META, _judge)
