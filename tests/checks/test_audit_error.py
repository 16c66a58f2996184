from builders import OID, POLICY, SRC, TENANT, assign, failed, ident, tenant

from pal_audit.checks import audit_error
from pal_audit.model import AuditError


def test_one_finding_per_failed_identity_named_by_registry_name_when_sign_in_failed():
    t = tenant(ident(active=[assign(SRC)]), failed("monitor-app"), failed("vm-ops-app", "forbidden", oid=OID))
    findings = audit_error.evaluate(t, POLICY)
    assert [(f.identity, f.principal_id) for f in findings] == [("monitor-app", "monitor-app"),
                                                                 ("vm-ops-app", OID)]
    assert findings[0].detail.startswith("auth_failed: ") and findings[1].detail.startswith("forbidden: ")
    assert all(f.severity == "high" for f in findings)
    assert "secret" in findings[0].remediation


def test_tenant_level_failure():
    t = tenant(error=AuditError("unexpected", "poison message after 5 attempts"))
    [finding] = audit_error.evaluate(t, POLICY)
    assert (finding.tenant_id, finding.principal_id, finding.identity) == (TENANT, "-", "-")
    assert finding.detail == "unexpected: poison message after 5 attempts"


def test_nothing_when_everything_was_audited():
    assert audit_error.evaluate(tenant(ident(active=[assign(SRC)])), POLICY) == []
