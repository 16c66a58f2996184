"""audit_error: an identity (or the whole tenant) could not be audited; a failure is never silent."""

from __future__ import annotations

from pal_audit.checks.base import CheckMeta, TenantCheck, TenantEvidence, identity_finding, tenant_finding
from pal_audit.model import ErrorReason, Finding, IdentitySnapshot, PartnerPolicy, Severity

META = CheckMeta(
    check_id="audit_error",
    title="Could not be audited",
    severity=Severity.HIGH,
    scope="identity",
    description="The identity (or the whole tenant) could not be audited. The detail starts with a reason "
                "code: auth_failed, forbidden, throttled, timeout, not_found, unexpected. Findings of a "
                "unit that failed are left as they were. Also raised for a partially audited identity "
                "when part of its evidence (e.g. a role definition) could not be read: the checks that "
                "need it were left undecided.",
    remediation="Fix the cause named by the reason code; the next run audits the unit again.",
    needs=frozenset(),
)

_FIX = {
    "auth_failed": "Check the identity's credential (secret or certificate expired or rotated, environment "
                   "variable set, federated credential subject), and that its service principal exists and "
                   "is enabled in the tenant (Microsoft Entra admin center > Enterprise applications).",
    "forbidden": "Grant the identity read access to its own role assignments (e.g. Reader on the "
                 "subscription), or name an identity that can read them with assignments_via in the "
                 "registry.",
    "throttled": "ARM or the sign-in service throttled the calls; the next run retries. Lower --concurrency "
                 "if it persists.",
    "timeout": "ARM did not answer in time; the next run retries. Check network egress from the app.",
    "not_found": "Check the tenant_id in the registry and that the tenant (or subscription) still exists.",
    "unexpected": "See the application logs for this run; report it if it persists.",
}


def _remediation(reason: ErrorReason) -> str:
    return _FIX.get(reason, _FIX["unexpected"])


def _partial(who: IdentitySnapshot) -> Finding | None:
    """A partially audited identity: the first gap reported as an error, with the rest counted."""
    gaps = [u for u in who.unknowns if u.reported_as_error]
    if not gaps:
        return None
    first = gaps[0]
    more = f" (and {len(gaps) - 1} more)" if len(gaps) > 1 else ""
    return identity_finding(
        META, who,
        detail=f"{first.reason}: {first.message}{more}. Partially audited: checks that need it were "
               "left undecided (their findings neither raised nor resolved).",
        remediation=_remediation(first.reason))


def _judge(tenant: TenantEvidence, policy: PartnerPolicy) -> list[Finding]:
    # The one check that reads failures rather than evidence: it declares no input.
    snapshot = tenant.snapshot
    findings = []
    if snapshot.error is not None:
        findings.append(tenant_finding(
            META, tenant, detail=f"{snapshot.error.reason}: {snapshot.error.message}",
            remediation=_remediation(snapshot.error.reason)))
    for who in snapshot.identities:
        if who.error is not None:
            findings.append(identity_finding(
                META, who, detail=f"{who.error.reason}: {who.error.message}",
                remediation=_remediation(who.error.reason)))
        elif (partial := _partial(who)) is not None:
            findings.append(partial)
    return findings


evaluate = TenantCheck(META, _judge)
