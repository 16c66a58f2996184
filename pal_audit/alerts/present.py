"""What an alert shows about one finding change: a flat view model, tenant masking, portal links.

Pure. Cards and mails render only `AlertItem`s, so masking is applied in exactly one place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pal_audit.model import FindingChange, Severity, Transition
from pal_audit.textsafe import multi_line, one_line

PORTAL = "https://portal.azure.com/"

WHAT_HAPPENED: dict[Transition, str] = {
    Transition.NEW: "New finding: detected for the first time",
    Transition.REOPENED: "Reopened: detected again after it had been resolved",
    Transition.RESOLVED: "Resolved: no longer detected (fixed)",
    Transition.UNSUPPRESSED: "Suppression expired: the finding is open again",
}

# Portal blade per check (the fix happens there); the PAL blade is the default.
_PAL_BLADE = "blade/Microsoft_Azure_Billing/managementpartnerblade"
_BLADES: dict[str, str] = {
    "eligible_role_only_via_pim": "view/Microsoft_Azure_PIMCommon/CommonMenuBlade/~/quickStart",
    "link_without_access": "blade/Microsoft_Azure_Billing/SubscriptionsBlade",
    "link_without_eligible_role": "blade/Microsoft_Azure_Billing/SubscriptionsBlade",
    "excessive_privilege": "blade/Microsoft_Azure_Billing/SubscriptionsBlade",
    "audit_error": "view/Microsoft_AAD_IAM/ActiveDirectoryMenuBlade/~/SignIns",
}
_ASSIGNMENT = re.compile(r"^(/subscriptions/[0-9a-fA-F-]{36}(?:/resourceGroups/[^/]+)?)"
                         r"/providers/Microsoft\.Authorization/roleAssignments/", re.IGNORECASE)


@dataclass(frozen=True)
class AlertItem:
    transition: Transition
    severity: Severity
    check_id: str
    title: str
    tenant: str             # the tenant id, or its masked form
    identity: str
    principal_id: str
    detail: str
    remediation: str
    portal_url: str
    run_id: str
    at: datetime
    finding_id: str

    @property
    def what_happened(self) -> str:
        return WHAT_HAPPENED[self.transition]

    @property
    def opening(self) -> bool:
        return self.transition is not Transition.RESOLVED


def mask_tenant_id(tenant_id: str) -> str:
    """Enough to tell tenants apart in a channel, not enough to identify the customer."""
    return "****" + tenant_id[-4:] if len(tenant_id) > 8 else "****"


def portal_url(check_id: str, tenant_id: str, qualifier: str = "", *, masked: bool = False) -> str:
    """Deep link into the customer's directory (`#@tenant`), unless tenant ids are masked."""
    at = "" if masked else f"@{tenant_id}/"
    scope = _ASSIGNMENT.match(qualifier or "")
    if check_id == "excessive_privilege" and scope:   # the IAM blade of the assignment's scope
        return f"{PORTAL}#{at}resource{scope.group(1)}/users"
    return f"{PORTAL}#{at}{_BLADES.get(check_id, _PAL_BLADE)}"


def _scrub(text: str, tenant_id: str, masked: bool) -> str:
    if not masked or not tenant_id:
        return text
    return re.sub(re.escape(tenant_id), mask_tenant_id(tenant_id), text, flags=re.IGNORECASE)


def item_from_fields(f: Mapping[str, Any], *, mask: bool) -> AlertItem:
    """Build from the stored outbox fields (see `outbox.change_fields`)."""
    tid = str(f["TenantId"])
    return AlertItem(
        transition=Transition(f["Transition"]),
        severity=Severity(f["Severity"]),
        check_id=str(f["CheckId"]),
        # Names in these texts come from Azure and the registry: no control characters reach a
        # mail's text part or a terminal showing a preview.
        title=one_line(str(f["Title"])),
        tenant=mask_tenant_id(tid) if mask else one_line(tid),
        identity=one_line(str(f["Identity"])),
        principal_id=one_line(_scrub(str(f["PrincipalId"]), tid, mask)),
        detail=multi_line(_scrub(str(f["Detail"]), tid, mask)),
        remediation=multi_line(_scrub(str(f["Remediation"]), tid, mask)),
        portal_url=portal_url(str(f["CheckId"]), tid, str(f.get("Qualifier") or ""), masked=mask),
        run_id=str(f["RunId"]),
        at=f["At"],
        finding_id=str(f["FindingId"]),
    )


def fields_of(change: FindingChange) -> dict[str, Any]:
    """The plain fields an alert needs, under the names the outbox stores them."""
    fi = change.finding
    return {
        "RunId": change.run_id, "Transition": change.transition.value, "Severity": fi.severity.value,
        "CheckId": fi.check_id, "Title": fi.title, "TenantId": fi.tenant_id, "Identity": fi.identity,
        "PrincipalId": fi.principal_id, "Detail": fi.detail, "Remediation": fi.remediation,
        "Qualifier": fi.qualifier, "FindingId": fi.finding_id, "At": change.at,
    }


def item_from_change(change: FindingChange, *, mask: bool) -> AlertItem:
    return item_from_fields(fields_of(change), mask=mask)
