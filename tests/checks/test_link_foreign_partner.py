from builders import FOREIGN, OURS, POLICY, PREVIOUS, SRC, assign, failed, ident, link, raised, tenant

from pal_audit.checks import link_foreign_partner


def test_raises_for_contractor_linked_to_own_firm():
    contractor = ident("contractor-app", link=link(FOREIGN, "Northwind Cloud Contractors"),
                       active=[assign(SRC)])
    [finding] = link_foreign_partner.evaluate(tenant(contractor), POLICY)
    assert finding.severity == "high" and finding.identity == "contractor-app"
    assert "7654321 (Northwind Cloud Contractors)" in finding.detail
    assert "az managementpartner update --partner-id 1234567" in finding.remediation


def test_raised_even_without_roles_and_on_excluded_tenants_with_delete_advice():
    [finding] = link_foreign_partner.evaluate(tenant(ident(link=link(FOREIGN)), expect_link=False), POLICY)
    assert "az managementpartner delete --partner-id 7654321" in finding.remediation


def test_not_raised_for_our_ids_or_no_link():
    for who in (ident(link=link(OURS)), ident(link=link(PREVIOUS)), ident(), failed()):
        assert raised(link_foreign_partner.evaluate(tenant(who), POLICY)) == []
