from builders import CONTRIBUTOR, GROUP, MG, OWNER, POLICY, RG, ROOT, SUB, UAA, assign, ident, tenant

from pal_audit.checks import excessive_privilege


def test_one_finding_per_privileged_broad_assignment():
    owner_sub, uaa_mg = assign(OWNER, SUB), assign(UAA, MG)
    findings = excessive_privilege.evaluate(tenant(ident(active=[owner_sub, uaa_mg])), POLICY)
    assert sorted(f.qualifier for f in findings) == sorted([owner_sub.assignment_id, uaa_mg.assignment_id])
    assert len({f.finding_id for f in findings}) == 2
    owner = next(f for f in findings if f.qualifier == owner_sub.assignment_id)
    assert owner.severity == "low" and "Owner at /subscriptions/" in owner.detail
    assert f"az role assignment delete --ids {owner_sub.assignment_id}" in owner.remediation


def test_root_scope_counts_and_group_assignment_is_explained():
    [finding] = excessive_privilege.evaluate(tenant(ident(active=[assign(OWNER, ROOT, GROUP)])), POLICY)
    assert f"via group {GROUP}" in finding.detail and "remove ops-app from the group" in finding.remediation


def test_same_assignment_listed_twice_is_one_finding():
    a = assign(OWNER, MG)
    assert len(excessive_privilege.evaluate(tenant(ident(active=[a, a])), POLICY)) == 1


def test_not_raised_for_narrow_scope_non_privileged_or_pim():
    for who in (
        ident(active=[assign(OWNER, RG)]),
        ident(active=[assign(CONTRIBUTOR, SUB)]),
        ident(eligible=[assign(OWNER, SUB)]),
    ):
        assert excessive_privilege.evaluate(tenant(who), POLICY) == []
