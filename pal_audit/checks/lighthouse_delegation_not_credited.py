"""lighthouse_delegation_not_credited: no linked principal holds a permanent PAL-eligible role in a
Lighthouse delegation, so the usage under it earns the partner nothing."""

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
    check_id="lighthouse_delegation_not_credited",
    title="Lighthouse delegation earns no PAL credit",
    severity=Severity.HIGH,
    scope="tenant",
    description="A succeeded Lighthouse delegation (subscription or resource group) has no permanent "
                "authorization with a PAL-eligible role held by a principal linked to the partner ID, "
                "directly or through a group. One finding per delegation; the detail says what was "
                "found (Reader only, an eligible role only on an unlinked or foreign-linked principal, "
                "principals whose link cannot be read).",
    remediation="Add a permanent authorization for the linked provider-automation service principal with "
                "Support Request Contributor (least privilege) or Contributor to the delegation's "
                "template and redeploy it with `az deployment sub create`.",
    needs=frozenset({"delegations", "link", "group_members"}),
)


def _judge(who: DelegationEvidence, d: Delegation, policy: PartnerPolicy) -> list[Finding]:
    permanent = holders(who, d.authorizations, policy)
    if permanent.credited:
        return []
    if holders(who, d.eligible_authorizations, policy).credited:
        return []   # lighthouse_credit_only_via_jit says it, instead of this check
    seen = []
    if not permanent.eligible_roles:
        seen.append("no permanent authorization holds a PAL-eligible role (Reader or other "
                    "non-eligible roles only)")
    if permanent.other_linked:
        seen.append("PAL-eligible roles held only by principals not linked to partner ID "
                    f"{policy.partner_id}: " + "; ".join(permanent.other_linked))
    if permanent.outside:
        seen.append("PAL-eligible roles held by principals outside the registry, whose links pal-audit "
                    "cannot read: " + "; ".join(permanent.outside) + f" (if one is linked to "
                    f"{policy.partner_id}, this delegation is credited: add it to the registry, or its "
                    "owner runs `pal-audit me`)")
    return [delegation_finding(
        META, who, d.scope,
        detail=f"{describe_delegation(d)} Not credited: {'. '.join(seen)}.",
        remediation=authorization_fix(who.view, d.scope, linked_principal_hint(who.view, policy),
                                     policy.partner_id),
    )]


evaluate = DelegationCheck(META, _judge)
