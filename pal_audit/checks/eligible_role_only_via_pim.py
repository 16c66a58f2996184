"""eligible_role_only_via_pim: the only eligible role is PIM-eligible, so credit flows only while active."""

from __future__ import annotations

from pal_audit.checks.base import (
    CheckMeta,
    Evidence,
    Held,
    IdentityCheck,
    access_of,
    describe,
    identity_finding,
    is_ours,
    link_text,
    utc_day,
)
from pal_audit.checks.remediation import grant_eligible_role
from pal_audit.model import Finding, PartnerPolicy, Severity, TenantSnapshot

META = CheckMeta(
    check_id="eligible_role_only_via_pim",
    title="PAL-eligible role only through PIM (credit only while activated)",
    severity=Severity.LOW,
    scope="identity",
    description="The identity is linked to one of the partner's IDs, holds no active PAL-eligible role, "
                "but a PAL-eligible role is PIM-eligible: credit accrues only while it is activated.",
    remediation="Grant a permanent (active) Support Request Contributor assignment alongside the PIM role.",
    needs=frozenset({"link", "active", "pim", "role_definitions"}),
)


def _judge(who: Evidence, tenant: TenantSnapshot, policy: PartnerPolicy) -> list[Finding]:
    if not tenant.expect_link or not is_ours(who, policy):
        return []
    access = access_of(who, policy)
    if access.active_eligible or not access.pim_eligible:
        return []
    scope = access.pim_eligible[0].assignment.scope
    return [identity_finding(
        META, who,
        detail=f"Linked to {link_text(who)}. PIM-eligible (inactive) PAL-eligible roles: "
               f"{_with_ends(access.pim_eligible)}. Active roles: {describe(access.active)}. "
               "PAL credit follows active assignments only.",
        remediation="Ask the customer for a permanent low-privilege eligible role, e.g. "
                    f"{grant_eligible_role(who.principal_id, scope)}, and keep the PIM role for "
                    "elevated work.",
    )]


def _with_ends(held: tuple[Held, ...], limit: int = 5) -> str:
    """Like `describe`, saying when a time-bound eligibility ends: it cannot be activated after."""
    parts = [f"{h.describe()}"
             + (f", eligible until {utc_day(h.assignment.end).isoformat()}" if h.assignment.end else "")
             + f" ({h.verdict.explanation})" for h in held[:limit]]
    if len(held) > limit:
        parts.append(f"and {len(held) - limit} more")
    return "; ".join(parts)


evaluate = IdentityCheck(META, _judge)
