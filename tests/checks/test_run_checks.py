from snapshots import OWNER, POLICY, SRC, assign, failed, ident, link, tenant

from pal_audit.checks import ALL_CHECKS, CHECKS_BY_ID, run_checks
from pal_audit.model import CHECK_IDS


def test_every_check_id_has_one_module_with_metadata():
    assert tuple(m.META.check_id for m in ALL_CHECKS) == CHECK_IDS
    assert set(CHECKS_BY_ID) == set(CHECK_IDS)
    for module in ALL_CHECKS:
        assert module.__name__.endswith(module.META.check_id)
        assert module.META.title and module.META.description and module.META.remediation


def test_healthy_tenant_has_no_findings():
    assert run_checks(tenant(ident(link=link(), active=[assign(SRC)])), POLICY) == []


def test_findings_come_in_check_order_and_are_deterministic():
    t = tenant(ident(active=[assign(OWNER)]), failed("monitor-app"), approval=False)
    findings = run_checks(t, POLICY)
    assert [f.check_id for f in findings] == ["link_missing", "excessive_privilege", "audit_error"]
    assert [f.finding_id for f in run_checks(t, POLICY)] == [f.finding_id for f in findings]
