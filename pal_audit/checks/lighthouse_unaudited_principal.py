"""lighthouse_unaudited_principal: a permanent PAL-eligible authorization names a user or service
principal that is not in the registry, so pal-audit cannot read its link."""

from __future__ import annotations

from pal_audit.checks.base import CheckMeta, Undecided
from pal_audit.checks.lighthouse_rules import (
    DelegationCheck,
    DelegationEvidence,
    delegation_finding,
    describe_delegation,
    role_eligible,
    role_name,
)
from pal_audit.model import Delegation, Finding, PartnerPolicy, Severity

META = CheckMeta(
    check_id="lighthouse_unaudited_principal",
    title="Lighthouse authorization names a principal pal-audit cannot audit",
    severity=Severity.LOW,
    scope="tenant",
    description="A permanent authorization with a PAL-eligible role in a delegation names a user or service "
                "principal (not a group) that is not a registry identity of the managing tenant: its link "
                "cannot be read unattended. One finding per delegation.",
    remediation="Add the service principal to the registry's lighthouse identities, or have the person "
                "run `pal-audit me` to check and fix their own link.",
    needs=frozenset({"delegations", "link", "group_members"}),
)


def _judge(who: DelegationEvidence, d: Delegation, policy: PartnerPolicy) -> list[Finding]:
    outside = []
    for auth in d.authorizations:
        if not role_eligible(auth.role_id, policy) or auth.principal_id in who.view.links:
            continue
        if who.view.unsigned_identities:
            raise Undecided("link", "a registry identity could not sign in: it may be this principal")
        kind = who.kind(auth.principal_id)
        if kind != "group":
            label = "user" if kind == "user" else "service principal"
            outside.append(f"{label} {who.name_of(auth.principal_id, auth)} ({role_name(auth.role_id)})")
    if not outside:
        return []
    return [delegation_finding(
        META, who, d.scope,
        detail=f"{describe_delegation(d)} Not in the registry, links unreadable: {'; '.join(outside)}.",
        remediation="For a service principal: add it to the registry (identities, and this lighthouse "
                    "entry's identities) so its link is read. For a user: the person runs `pal-audit me` "
                    "(or `az managementpartner show` signed in to the managing tenant) and links with "
                    f"`az managementpartner create --partner-id {policy.partner_id}` if needed.",
    )]


evaluate = DelegationCheck(META, _judge)
