from builders import (
    CONTRIBUTOR,
    FOREIGN,
    OID,
    OPERATOR,
    POLICY,
    READER,
    RG,
    SRC,
    assign,
    failed,
    ident,
    link,
    raised,
    tenant,
)

from pal_audit.checks import link_missing


def test_raises_for_unlinked_identity_with_active_eligible_role():
    [finding] = link_missing.evaluate(tenant(ident(active=[assign(CONTRIBUTOR)])), POLICY)
    assert finding.check_id == "link_missing" and finding.severity == "high"
    assert "Contributor at /subscriptions/" in finding.detail
    assert "az managementpartner create --partner-id 1234567" in finding.remediation


def test_raises_for_pim_eligible_only_role():
    [finding] = link_missing.evaluate(
        tenant(ident(active=[assign(READER)], eligible=[assign(CONTRIBUTOR)])), POLICY)
    assert "PIM-eligible only" in finding.detail


def test_resource_group_only_role_counts():
    assert raised(link_missing.evaluate(tenant(ident(active=[assign(SRC, RG)])), POLICY))


def test_not_raised_when_linked_not_eligible_or_not_expected():
    assert link_missing.evaluate(tenant(ident(link=link(), active=[assign(SRC)])), POLICY) == []
    assert link_missing.evaluate(tenant(ident(link=link(FOREIGN), active=[assign(SRC)])), POLICY) == []
    assert link_missing.evaluate(tenant(ident(active=[assign(READER)])), POLICY) == []
    assert link_missing.evaluate(tenant(ident(active=[assign(SRC)]), expect_link=False), POLICY) == []


def test_unknown_pim_is_not_evidence_either_way():
    t = tenant(ident(active=[assign(READER)], eligible=None))
    decision = link_missing.evaluate.decide(t, POLICY)
    assert decision.findings == () and decision.undecided == {("link_missing", OID)}


def test_active_eligible_role_decides_even_with_unknown_pim():
    [finding] = link_missing.evaluate(tenant(ident(active=[assign(SRC)], eligible=None)), POLICY)
    assert "(active)" in finding.detail


def test_failed_identity_is_left_to_audit_error():
    assert link_missing.evaluate(tenant(failed()), POLICY) == []


def test_unreadable_table_role_is_classified_from_the_table():
    # Was "does not count" (no finding): a transient failure reading Contributor then dropped it.
    [finding] = link_missing.evaluate(tenant(ident(active=[assign(CONTRIBUTOR)], roles={})), POLICY)
    assert "Contributor is PAL-eligible per the PEC role table" in finding.detail


def test_unreadable_custom_role_leaves_the_identity_undecided():
    t = tenant(ident(active=[assign(OPERATOR)], roles={}))
    decision = link_missing.evaluate.decide(t, POLICY)
    assert decision.findings == () and decision.undecided == {("link_missing", OID)}
