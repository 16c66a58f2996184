"""lighthouse_credit_only_via_jit: linked principals hold a PAL-eligible role in a delegation only
just in time, which earns credit only while activated."""

from __future__ import annotations

from pal_audit.checks.base import CheckMeta
from pal_audit.checks.lighthouse_rules import (
    DelegationCheck,
    DelegationEvidence,
    authorization_fix,
    delegation_finding,
    describe_delegation,
    holders,
    linked_principal_hint,
)
from pal_audit.model import Delegation, Finding, PartnerPolicy, Severity

META = CheckMeta(
    check_id="lighthouse_credit_only_via_jit",
    title="Lighthouse delegation credited only through just-in-time access",
    severity=Severity.MEDIUM,
    scope="tenant",
    description="Principals linked to the partner ID hold a PAL-eligible role in the delegation only in "
                "its eligible (just-in-time) authorizations, directly or through a group: credit accrues "
                "only while such a role is activated. Raised instead of "
                "lighthouse_delegation_not_credited.",
    remediation="Add a permanent authorization with Support Request Contributor (least privilege) for the "
                "linked provider-automation service principal, keeping just-in-time access for elevated "
                "work, and redeploy with `az deployment sub create`.",
    needs=frozenset({"delegations", "link", "group_members"}),
)


def _judge(who: DelegationEvidence, d: Delegation, policy: PartnerPolicy) -> list[Finding]:
    if holders(who, d.authorizations, policy).credited:
        return []
    jit = holders(who, d.eligible_authorizations, policy).credited
    if not jit:
        return []
    return [delegation_finding(
        META, who, d.scope,
        detail=f"{describe_delegation(d)} PAL-eligible roles of linked principals only just in time: "
               f"{'; '.join(jit)}. Credit accrues only while one is activated.",
        remediation=authorization_fix(who.view, d.scope, linked_principal_hint(who.view, policy),
                                     policy.partner_id)
        + " Keep the just-in-time authorizations for elevated work.",
    )]


evaluate = DelegationCheck(META, _judge)
