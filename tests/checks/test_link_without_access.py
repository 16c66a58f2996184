from builders import OURS, POLICY, PREVIOUS, READER, RG, assign, failed, ident, link, tenant

from pal_audit.checks import link_without_access


def test_raises_when_linked_identity_holds_nothing():
    [finding] = link_without_access.evaluate(tenant(ident(link=link(OURS))), POLICY)
    assert finding.severity == "medium"
    assert "no active and no PIM-eligible" in finding.detail
    assert "az managementpartner delete --partner-id 1234567" in finding.remediation


def test_previous_id_counts_as_ours():
    assert len(link_without_access.evaluate(tenant(ident(link=link(PREVIOUS))), POLICY)) == 1


def test_not_raised_with_any_assignment_active_or_pim():
    assert link_without_access.evaluate(tenant(ident(link=link(), active=[assign(READER, RG)])), POLICY) == []
    assert link_without_access.evaluate(tenant(ident(link=link(), eligible=[assign(READER)])), POLICY) == []


def test_unknown_pim_never_claims_no_access():
    assert link_without_access.evaluate(tenant(ident(link=link(), eligible=None)), POLICY) == []


def test_not_raised_unlinked_failed_or_excluded():
    assert link_without_access.evaluate(tenant(ident()), POLICY) == []
    assert link_without_access.evaluate(tenant(failed()), POLICY) == []
    assert link_without_access.evaluate(tenant(ident(link=link()), expect_link=False), POLICY) == []
