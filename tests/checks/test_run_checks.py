import re
from pathlib import Path

from builders import OWNER, POLICY, SRC, assign, failed, ident, link, tenant

from pal_audit.checks import CHECK_IDS, CHECKS, CHECKS_BY_ID, TENANT_LEVEL_CHECKS, run_checks

CHECKS_MD = Path(__file__).resolve().parents[2] / "docs" / "checks.md"
# A row of the summary table: | [`link_missing`](#link_missing) | high | identity | ... |
_ROW = re.compile(r"^\| \[`(?P<id>[a-z_]+)`\]\(#[a-z_]+\) \| (?P<severity>\w+) \| (?P<scope>[^|]+) \|", re.M)


def test_check_ids_severities_and_scopes_are_the_documented_contract():
    documented = [m.groupdict() for m in _ROW.finditer(CHECKS_MD.read_text())]
    assert tuple(row["id"] for row in documented) == CHECK_IDS   # the contract order
    for row in documented:
        meta = CHECKS_BY_ID[row["id"]].meta
        assert row["severity"] == meta.severity.value, row["id"]
        assert row["scope"].startswith(meta.scope), row["id"]


def test_everything_about_the_checks_derives_from_their_modules():
    assert tuple(c.meta.check_id for c in CHECKS) == CHECK_IDS
    assert list(CHECKS_BY_ID) == list(CHECK_IDS)
    assert {c.meta.check_id for c in CHECKS if c.meta.scope == "tenant"} == TENANT_LEVEL_CHECKS
    assert {"customer_approval_missing", "tenant_without_credited_link", "lighthouse_delegation_not_credited",
            "lighthouse_credit_only_via_jit", "lighthouse_customer_not_delegated",
            "lighthouse_unaudited_principal"} == TENANT_LEVEL_CHECKS


def test_healthy_tenant_has_no_findings():
    assert run_checks(tenant(ident(link=link(), active=[assign(SRC)])), POLICY) == []


def test_findings_come_in_check_order_and_are_deterministic():
    t = tenant(ident(active=[assign(OWNER)]), failed("monitor-app"), approval=False)
    findings = run_checks(t, POLICY)
    assert [f.check_id for f in findings] == ["link_missing", "excessive_privilege", "audit_error"]
    assert [f.finding_id for f in run_checks(t, POLICY)] == [f.finding_id for f in findings]
