from builders import FOREIGN, OURS, POLICY, PREVIOUS, SRC, assign, ident, link, tenant

from pal_audit.checks import link_previous_partner_id


def test_raises_for_link_to_previous_id():
    [finding] = link_previous_partner_id.evaluate(
        tenant(ident("legacy-app", link=link(PREVIOUS), active=[assign(SRC)])), POLICY)
    assert finding.severity == "medium" and finding.identity == "legacy-app"
    assert "1234560" in finding.detail
    assert "az managementpartner update --partner-id 1234567" in finding.remediation


def test_not_raised_for_current_foreign_or_no_link():
    for who in (ident(link=link(OURS)), ident(link=link(FOREIGN)), ident()):
        assert link_previous_partner_id.evaluate(tenant(who), POLICY) == []


def test_excluded_tenant_is_left_to_link_on_excluded_tenant():
    excluded = tenant(ident(link=link(PREVIOUS)), expect_link=False)
    assert link_previous_partner_id.evaluate(excluded, POLICY) == []
