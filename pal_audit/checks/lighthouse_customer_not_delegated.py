"""lighthouse_customer_not_delegated: a customer (or one of its subscriptions) the registry expects
has no succeeded delegation to the managing tenant."""

from __future__ import annotations

from pal_audit.checks.base import CheckMeta
from pal_audit.checks.lighthouse_rules import (
    DelegationCheck,
    DelegationEvidence,
    delegation_finding,
    linked_principal_hint,
)
from pal_audit.checks.remediation import ELIGIBLE_ROLE
from pal_audit.model import Finding, PartnerPolicy, Severity

META = CheckMeta(
    check_id="lighthouse_customer_not_delegated",
    title="Expected Lighthouse delegation is missing",
    severity=Severity.HIGH,
    scope="tenant",
    description="A customers entry of a lighthouse registry entry (or one of its listed subscriptions) has "
                "no succeeded delegation to the managing tenant: one finding per listed subscription, or "
                "one per customer when none is listed and nothing of it is delegated. A delegation that "
                "is not Succeeded, or a definition without an assignment, does not count.",
    remediation="Have the customer deploy the Lighthouse delegation template (with a permanent "
                "authorization for the linked provider-automation service principal) with "
                "`az deployment sub create`, or fix the failed deployment.",
    needs=frozenset({"delegations"}),
)


def _judge(who: DelegationEvidence, policy: PartnerPolicy) -> list[Finding]:
    view = who.view
    if view.expected_subscriptions is None:
        return []   # not a customers entry: whatever is delegated is audited, nothing is expected
    delegations = who.delegations
    delegated = {d.subscription_id for d in delegations}
    principal = linked_principal_hint(view, policy)
    fix = (f"Signed in to the customer's tenant {who.tenant_id} (az login --tenant {who.tenant_id}), deploy "
           f"the delegation to managing tenant {view.managing_tenant_id} with a permanent authorization "
           f"{{principalId: {principal}, roleDefinitionId: cfd33db0-3dd1-45e3-aa9d-cdbdf3b6f24e}} "
           f"({ELIGIBLE_ROLE}, least privilege) plus Reader for the auditing reader: "
           "`az deployment sub create --location <region> --template-file lighthouse-delegation.json "
           "--parameters @lighthouse-delegation.parameters.json`. If a deployment exists, check its "
           "provisioning state (Azure portal > Service providers > Service provider offers) and redeploy.")
    missing = [s for s in view.listed_subscriptions if s not in delegated]
    if view.listed_subscriptions:
        return [delegation_finding(
            META, who, f"/subscriptions/{s}",
            detail=f"Subscription {s} has no succeeded delegation to {view.managing_name} "
                   f"({view.managing_tenant_id}); a failed or never-assigned one does not count.",
            remediation=fix.replace("<region>", "<region> --subscription " + s, 1))
            for s in missing]
    if delegations:
        return []
    return [delegation_finding(
        META, who, "",
        detail=f"Nothing of this customer is delegated to {view.managing_name} ({view.managing_tenant_id}) "
               "with a succeeded assignment visible to the registry's identities.",
        remediation=fix)]


evaluate = DelegationCheck(META, customer_judge=_judge)
