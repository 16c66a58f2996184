from builders import FOREIGN, POLICY, PREVIOUS, RG, SRC, assign, ident, link, tenant

from pal_audit.checks import link_on_excluded_tenant


def test_raises_for_our_link_on_short_project():
    [finding] = link_on_excluded_tenant.evaluate(
        tenant(ident(link=link(), active=[assign(SRC, RG)]), expect_link=False), POLICY)
    assert finding.severity == "medium"
    assert "expect_link: false" in finding.detail
    assert "az managementpartner delete --partner-id 1234567" in finding.remediation


def test_previous_id_counts():
    assert len(link_on_excluded_tenant.evaluate(tenant(ident(link=link(PREVIOUS)), expect_link=False),
                                                POLICY)) == 1


def test_not_raised_when_expected_unlinked_or_foreign():
    assert link_on_excluded_tenant.evaluate(tenant(ident(link=link())), POLICY) == []
    assert link_on_excluded_tenant.evaluate(tenant(ident(), expect_link=False), POLICY) == []
    foreign = tenant(ident(link=link(FOREIGN)), expect_link=False)
    assert link_on_excluded_tenant.evaluate(foreign, POLICY) == []
