from datetime import date

from pal_audit.checks.suppressions import apply_suppressions
from pal_audit.model import Finding, Severity, Status, Suppression

TENANT = "5c1f8e2a-7b3d-4e9f-a0c6-2d8b4f1e7a93"
OTHER_TENANT = "8d2e4f6a-1c3b-4a5d-9e7f-0b2c4d6e8f1a"
TODAY = date(2026, 11, 27)


def finding(check: str = "excessive_privilege", identity: str = "ops-app",
            tenant_id: str = TENANT) -> Finding:
    return Finding(check, Severity.LOW, tenant_id, "9e4b2c71-3f8a-4d05-b6e1-7a2c9d0f4b38", identity,
                   "title", "detail", "fix", qualifier="/subscriptions/x/providers/a")


def rule(check: str = "excessive_privilege", identity: str | None = "ops-app",
         expires: date = date(2027, 3, 31), reason: str = "Owner needed for landing-zone rollout",
         tenant_id: str = TENANT) -> Suppression:
    return Suppression(check, tenant_id, identity, reason, "ops-lead@contoso.example", expires)


def test_live_rule_suppresses_and_explains():
    [out] = apply_suppressions([finding()], [rule()], TODAY)
    assert out.status == Status.SUPPRESSED
    assert out.suppression == ("Owner needed for landing-zone rollout "
                               "(ops-lead@contoso.example, until 2027-03-31)")
    assert out.finding_id == finding().finding_id  # the same finding, only its status changes


def test_rule_holds_through_its_expiry_day_and_not_after():
    assert apply_suppressions([finding()], [rule(expires=TODAY)], TODAY)[0].status == Status.SUPPRESSED
    expired = apply_suppressions([finding()], [rule(expires=date(2026, 11, 26))], TODAY)[0]
    assert (expired.status, expired.suppression) == (Status.OPEN, None)


def test_rule_matches_check_tenant_and_identity_only():
    rules = [rule()]
    assert apply_suppressions([finding("link_missing")], rules, TODAY)[0].status == Status.OPEN
    assert apply_suppressions([finding(identity="vm-ops-app")], rules, TODAY)[0].status == Status.OPEN
    assert apply_suppressions([finding(tenant_id=OTHER_TENANT)], rules, TODAY)[0].status == Status.OPEN


def test_rule_without_identity_covers_every_identity_and_tenant_level_findings():
    tenant_level = finding("customer_approval_missing", identity="-")
    out = apply_suppressions([finding("customer_approval_missing"), tenant_level],
                             [rule("customer_approval_missing", identity=None)], TODAY)
    assert [f.status for f in out] == [Status.SUPPRESSED, Status.SUPPRESSED]


def test_audit_error_is_suppressed_only_by_a_rule_naming_audit_error():
    error = finding("audit_error")
    other_rules = [rule(check) for check in ("excessive_privilege", "link_missing")]
    assert apply_suppressions([error], other_rules, TODAY)[0].status == Status.OPEN
    decommissioned = rule("audit_error", reason="tenant being decommissioned")
    assert apply_suppressions([error], [decommissioned], TODAY)[0].status == Status.SUPPRESSED


def test_longest_lasting_live_rule_is_reported_and_order_is_kept():
    short = rule(expires=date(2027, 1, 31), reason="short")
    long_ = rule(expires=date(2027, 6, 30), reason="long")
    out = apply_suppressions([finding("link_missing"), finding()], [short, long_], TODAY)
    assert [f.check_id for f in out] == ["link_missing", "excessive_privilege"]
    assert out[1].suppression.startswith("long ")
