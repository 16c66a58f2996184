"""audit_error: an identity (or the whole tenant) could not be audited; a failure is never silent."""

from __future__ import annotations

from pal_audit.checks.base import CheckMeta, identity_finding, tenant_finding
from pal_audit.model import AuditError, Finding, PartnerPolicy, Severity, TenantSnapshot

META = CheckMeta(
    check_id="audit_error",
    title="Could not be audited",
    severity=Severity.HIGH,
    description="The identity (or the whole tenant) could not be audited. The detail starts with a reason "
                "code: auth_failed, forbidden, throttled, timeout, not_found, unexpected. Findings of a "
                "unit that failed are left as they were.",
    remediation="Fix the cause named by the reason code; the next run audits the unit again.",
)

_FIX = {
    "auth_failed": "Check the identity's credential (secret or certificate expired or rotated, environment "
                   "variable set, federated credential subject), and that its service principal exists and "
                   "is enabled in the tenant (Microsoft Entra admin center > Enterprise applications).",
    "forbidden": "Grant the identity read access to its own role assignments (e.g. Reader on the "
                 "subscription), or name an identity that can read them with assignments_via in the "
                 "registry.",
    "throttled": "ARM throttled the calls; the next run retries. Lower --concurrency if it persists.",
    "timeout": "ARM did not answer in time; the next run retries. Check network egress from the app.",
    "not_found": "Check the tenant_id in the registry and that the tenant (or subscription) still exists.",
    "unexpected": "See the application logs for this run; report it if it persists.",
}


def _remediation(error: AuditError) -> str:
    return _FIX.get(error.reason, _FIX["unexpected"])


def evaluate(tenant: TenantSnapshot, policy: PartnerPolicy) -> list[Finding]:
    findings = []
    if tenant.error is not None:
        findings.append(tenant_finding(
            META, tenant, detail=f"{tenant.error.reason}: {tenant.error.message}",
            remediation=_remediation(tenant.error)))
    for who in tenant.identities:
        if who.error is not None:
            findings.append(identity_finding(
                META, who, detail=f"{who.error.reason}: {who.error.message}",
                remediation=_remediation(who.error)))
    return findings
