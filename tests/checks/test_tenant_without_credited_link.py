from builders import CONTRIBUTOR, GROUP, POLICY, PREVIOUS, READER, SRC, assign, failed, ident, link, tenant

from pal_audit.checks import tenant_without_credited_link


def test_raised_when_no_identity_is_linked_with_an_active_eligible_role():
    t = tenant(ident("ops-app", active=[assign(SRC)]),
               ident("legacy-app", link=link(PREVIOUS), active=[assign(SRC)]),
               ident("oncall-app", link=link(), active=[assign(READER)], eligible=[assign(CONTRIBUTOR)]))
    [finding] = tenant_without_credited_link.evaluate(t, POLICY)
    assert (finding.principal_id, finding.identity, finding.severity) == ("-", "-", "high")
    assert "legacy-app: partner ID 1234560" in finding.detail


def test_one_credited_identity_is_enough_even_through_a_group():
    t = tenant(ident("ops-app", link=link(), active=[assign(SRC, principal=GROUP)]),
               ident("monitor-app", link=link(), active=[assign(READER)]))
    assert tenant_without_credited_link.evaluate(t, POLICY) == []


def test_not_raised_unless_fully_audited_and_expected():
    assert tenant_without_credited_link.evaluate(tenant(ident(), failed("monitor-app")), POLICY) == []
    assert tenant_without_credited_link.evaluate(tenant(ident(), expect_link=False), POLICY) == []


def test_remediation_names_the_identity_to_link():
    t = tenant(ident("monitor-app", link=link(), active=[assign(READER)]),
               ident("ops-app", active=[assign(SRC)]))
    [finding] = tenant_without_credited_link.evaluate(t, POLICY)
    assert "Signed in as ops-app" in finding.remediation
    assert "az managementpartner create --partner-id 1234567" in finding.remediation
