from builders import CONTRIBUTOR, POLICY, READER, SRC, assign, ident, link, tenant

from pal_audit.checks import eligible_role_only_via_pim


def test_raises_for_pim_only_contributor():
    who = ident("oncall-app", link=link(), active=[assign(READER)], eligible=[assign(CONTRIBUTOR)])
    [finding] = eligible_role_only_via_pim.evaluate(tenant(who), POLICY)
    assert finding.severity == "low"
    assert "Contributor at /subscriptions/" in finding.detail
    assert "Support Request Contributor" in finding.remediation


def test_not_raised_with_active_eligible_role_or_unknown_pim():
    for who in (
        ident(link=link(), active=[assign(SRC)], eligible=[assign(CONTRIBUTOR)]),
        ident(link=link(), active=[assign(READER)], eligible=None),
        ident(link=link(), active=[assign(READER)], eligible=[assign(READER)]),
        ident(active=[assign(READER)], eligible=[assign(CONTRIBUTOR)]),  # not linked: link_missing
    ):
        assert eligible_role_only_via_pim.evaluate(tenant(who), POLICY) == []
