from builders import CONTRIBUTOR, FOREIGN, OID, OPERATOR, POLICY, READER, SRC, assign, ident, link, tenant

from pal_audit.checks import link_without_eligible_role
from pal_audit.model import PartnerPolicy


def test_raises_for_reader_only_linked_identity():
    [finding] = link_without_eligible_role.evaluate(
        tenant(ident("monitor-app", link=link(), active=[assign(READER)])), POLICY)
    assert finding.severity == "medium"
    assert "Reader at /subscriptions/" in finding.detail and "not PAL-eligible" in finding.detail
    assert '--role "Support Request Contributor"' in finding.remediation


def test_custom_role_says_default_policy():
    [finding] = link_without_eligible_role.evaluate(
        tenant(ident("runbook-app", link=link(), active=[assign(OPERATOR)])), POLICY)
    assert "custom role: not PAL-eligible by default policy" in finding.detail


def test_custom_role_by_permissions_policy_is_eligible():
    policy = PartnerPolicy(POLICY.partner_id, POLICY.previous_partner_ids, "by_permissions")
    who = ident(link=link(), active=[assign(OPERATOR)])
    assert link_without_eligible_role.evaluate(tenant(who), policy) == []


def test_undecided_with_unknown_pim():
    # Was raised ("PIM could not be read"): a PIM-eligible role would make it eligible_role_only_via_pim
    # instead, so with PIM unreadable the finding was created and resolved on missing evidence.
    decision = link_without_eligible_role.evaluate.decide(
        tenant(ident(link=link(), active=[assign(READER)], eligible=None)), POLICY)
    assert decision.findings == () and decision.undecided == {("link_without_eligible_role", OID)}


def test_not_raised_when_eligible_active_or_pim_or_no_access():
    for who in (
        ident(link=link(), active=[assign(READER), assign(SRC)]),
        ident(link=link(), active=[assign(READER)], eligible=[assign(CONTRIBUTOR)]),
        ident(link=link()),                                    # link_without_access instead
        ident(active=[assign(READER)]),                        # not linked
        ident(link=link(FOREIGN), active=[assign(READER)]),    # foreign: another check
    ):
        assert link_without_eligible_role.evaluate(tenant(who), POLICY) == []
