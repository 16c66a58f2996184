from builders import FOREIGN, POLICY, PREVIOUS, SRC, assign, ident, link, tenant

from pal_audit.checks import customer_approval_missing


def test_one_tenant_level_finding_when_linked_without_approval():
    t = tenant(ident("ops-app", link=link(), active=[assign(SRC)]), ident("legacy-app", link=link(PREVIOUS)),
               approval=False)
    [finding] = customer_approval_missing.evaluate(t, POLICY)
    assert (finding.principal_id, finding.identity, finding.severity) == ("-", "-", "low")
    assert "ops-app (1234567)" in finding.detail and "legacy-app (1234560)" in finding.detail
    assert "customer_approval:" in finding.remediation


def test_not_raised_with_approval_or_without_our_link():
    assert customer_approval_missing.evaluate(tenant(ident(link=link())), POLICY) == []
    assert customer_approval_missing.evaluate(tenant(ident(link=link(FOREIGN)), approval=False), POLICY) == []
    assert customer_approval_missing.evaluate(tenant(ident(), approval=False), POLICY) == []


def test_excluded_tenant_link_is_to_be_deleted_not_approved():
    t = tenant(ident(link=link()), approval=False, expect_link=False)
    assert customer_approval_missing.evaluate(t, POLICY) == []
