"""credit_expires_soon: linked to us, and every active PAL-eligible assignment ends within the warning window.

Credit stops the day the last eligible active assignment ends; the date is known in advance (a
PIM active assignment or a time-bound role assignment), so the partner can act before it happens.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pal_audit.checks.base import (
    CheckMeta,
    Evidence,
    Held,
    IdentityCheck,
    Undecided,
    access_of,
    identity_finding,
    is_ours,
    link_text,
    utc_day,
)
from pal_audit.checks.remediation import PIM_EXTEND_PORTAL, grant_eligible_role
from pal_audit.model import Finding, PartnerPolicy, Severity, TenantSnapshot

META = CheckMeta(
    check_id="credit_expires_soon",
    title="PAL credit ends soon: every eligible active assignment is time-bound",
    severity=Severity.MEDIUM,
    scope="identity",
    description="The identity is linked to one of the partner's IDs and every active PAL-eligible "
                "assignment it holds ends within the registry's `policy.expiry_warning_days` "
                "(default 14): when the last one ends, the credit stops.",
    remediation="Extend the assignment in PIM or make it permanent, or add a permanent PAL-eligible role.",
    needs=frozenset({"link", "active", "role_definitions", "assignment_schedules"}),
)

def _judge(who: Evidence, tenant: TenantSnapshot, policy: PartnerPolicy) -> list[Finding]:
    if not tenant.expect_link or not is_ours(who, policy):
        return []  # on excluded tenants the only link advice is link_on_excluded_tenant
    access = access_of(who, policy)
    known = [h for h in access.active if h.known]
    eligible = [h for h in known if h.verdict.eligible]
    if not eligible and len(known) == len(access.active):
        return []  # no active credit to lose: link_without_eligible_role and others say so
    ends: list[tuple[Held, datetime]] = []
    for h in eligible:
        end = who.active_end(h.assignment)     # Undecided when the schedules could not be read
        if end is None:
            return []                          # one permanent eligible role keeps the credit
        ends.append((h, end))
    if len(known) < len(access.active):
        # An unreadable role might be eligible and permanent: "every one ends" is not proven.
        unknown = next(h for h in access.active if not h.known)
        raise Undecided("role_definitions", f"role definition {unknown.assignment.role_id} could not be read")
    if policy.today is None:
        raise Undecided("assignment_schedules", "no audit date to compare the end dates with")
    last = max(utc_day(end) for _, end in ends)
    if last > policy.today + timedelta(days=policy.expiry_warning_days):
        return []
    ends.sort(key=lambda pair: pair[1])
    roles = "; ".join(f"{h.describe()} until {utc_day(end).isoformat()}" for h, end in ends)
    scope = ends[-1][0].assignment.scope or "/"
    return [identity_finding(
        META, who,
        detail=f"Linked to {link_text(who)}. Every PAL-eligible active assignment ends by "
               f"{last.isoformat()} (warning window {policy.expiry_warning_days} days): {roles}. "
               f"PAL credit stops when the last one ends.",
        remediation="Ask the customer to extend the assignment or make it permanent "
                    f"({PIM_EXTEND_PORTAL}), or to grant a permanent PAL-eligible role, e.g. "
                    f"{grant_eligible_role(who.principal_id, scope)}.",
    )]


evaluate = IdentityCheck(META, _judge)
