"""The fix texts several checks share: the link commands, the least-privileged eligible role, portal paths.

A partner link belongs to one principal in one tenant, so a link fix is a command to run signed in
as that identity there. The `az managementpartner` commands are the Azure CLI extension documented
at https://learn.microsoft.com/cli/azure/managementpartner.
"""

from __future__ import annotations

from typing import Literal

from pal_audit.checks.base import Evidence

LinkVerb = Literal["create", "update", "delete"]

# The least-privileged built-in role that earns PAL credit (docs/roles.md).
ELIGIBLE_ROLE = "Support Request Contributor"
# Where the identity works is not known from its evidence: the customer fills it in.
ANY_SUBSCRIPTION = "/subscriptions/<subscription id>"

PAL_PORTAL = ("Azure portal > Cost Management + Billing > Partner Admin Link ('Link to a partner ID', "
              "https://portal.azure.com/#blade/Microsoft_Azure_Billing/managementpartnerblade)")
IAM_PORTAL = "Azure portal > Access control (IAM) > Add role assignment"
PIM_EXTEND_PORTAL = ("Azure portal > Microsoft Entra Privileged Identity Management > Azure resources > "
                     "(the scope) > Assignments > Active assignments > Extend (or Update, with "
                     "'Permanently assigned')")


def link_command(verb: LinkVerb, partner_id: str) -> str:
    """The CLI command that creates, updates or deletes the signed-in principal's own link."""
    return f"az managementpartner {verb} --partner-id {partner_id}"


def run_as(who: Evidence, command: str) -> str:
    """A CLI command to run signed in as the identity itself (links are per principal, per tenant)."""
    return (f"Signed in as {who.identity} in tenant {who.tenant_id} "
            f"(az login --tenant {who.tenant_id}, with --service-principal for an app), run "
            f"`{command}`")


def link_fix(who: Evidence, verb: LinkVerb, partner_id: str) -> str:
    """Create, update or delete the identity's link, signed in as that identity."""
    return run_as(who, link_command(verb, partner_id))


def grant_eligible_role(assignee: str | None, scope: str) -> str:
    """The command (in backticks) granting the least-privileged eligible role at `scope`."""
    return f'`az role assignment create --assignee {assignee} --role "{ELIGIBLE_ROLE}" --scope {scope}`'
