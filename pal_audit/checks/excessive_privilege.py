"""excessive_privilege: an active role that can grant access, held broadly (least privilege)."""

from __future__ import annotations

from pal_audit.checks.base import CheckMeta, Evidence, IdentityCheck, access_of, identity_finding
from pal_audit.checks.remediation import grant_eligible_role
from pal_audit.model import Finding, PartnerPolicy, Severity, TenantSnapshot

META = CheckMeta(
    check_id="excessive_privilege",
    title="Privileged role assignment at a broad scope",
    severity=Severity.LOW,
    scope="identity",
    description="An active assignment whose role can grant access (allows "
                "Microsoft.Authorization/roleAssignments/write, e.g. Owner, User Access Administrator) at "
                "subscription, management-group or root scope. One finding per assignment. PAL credit "
                "needs no such right: Support Request Contributor is eligible.",
    remediation="Replace the assignment with a least-privilege eligible role.",
    needs=frozenset({"active", "role_definitions"}),
)

_BROAD = ("subscription", "management_group", "root")


def _judge(who: Evidence, tenant: TenantSnapshot, policy: PartnerPolicy) -> list[Finding]:
    findings = []
    for held in access_of(who, policy).active:
        a = held.assignment
        # Scope first: a narrow assignment whose role is unknown cannot make this undecided.
        if a.scope_kind not in _BROAD or not held.verdict.privileged:
            continue
        via = (f" The assignment belongs to group {a.principal_id}: remove {who.identity} from the group "
               "or change the group's assignment.") if held.via_group else ""
        findings.append(identity_finding(
            META, who, qualifier=a.assignment_id,
            detail=f"{held.describe()} ({a.scope_kind.replace('_', ' ')} scope) can grant access: it "
                   "allows Microsoft.Authorization/roleAssignments/write.",
            remediation="Grant a least-privilege role, e.g. "
                        f"{grant_eligible_role(who.principal_id, a.scope)}, "
                        f"then `az role assignment delete --ids {a.assignment_id}`.{via} If the "
                        "privilege is needed for a while, add a suppression with an expiry.",
        ))
    return findings


evaluate = IdentityCheck(META, _judge)
