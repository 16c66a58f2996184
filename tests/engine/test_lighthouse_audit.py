"""The Lighthouse audit through armsim and the real SDKs (azure-identity, azure-mgmt-resource,
azure-mgmt-managedservices 2022-10-01, azure-core for Graph): each check raising and staying silent,
failures as audit_error for one customer, groups that cannot be resolved left undecided, paging."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from lighthouse_engine_support import (
    ADATUM,
    ADATUM_PROD,
    AUTOMATION,
    CONTOSO,
    FABRIKAM,
    GROUPED,
    LH_ADMINS,
    LITWARE,
    NORTHWIND,
    OPS_USER,
    PROSE_DEV,
    PROSEWARE,
    READER,
    TAIL_PROD,
    TAILSPIN,
    WOOD_PROD,
    WOODGROVE,
    audit,
    estate_data,
    found,
    principal_of,
    registry_data,
    served,
    tenant_of,
)

NOT_CREDITED, JIT = "lighthouse_delegation_not_credited", "lighthouse_credit_only_via_jit"
NOT_DELEGATED, UNAUDITED = "lighthouse_customer_not_delegated", "lighthouse_unaudited_principal"
EXPECTED = {
    CONTOSO: [],
    FABRIKAM: [],                                   # credited at both subscriptions and in rg-web
    LITWARE: [],                                    # credited through a group inside a group
    TAILSPIN: [(JIT, f"/subscriptions/{TAIL_PROD}")],   # the linked app only in eligibleAuthorizations
    WOODGROVE: [(NOT_CREDITED, f"/subscriptions/{WOOD_PROD}")],   # Reader only
    NORTHWIND: [(NOT_DELEGATED, "")],               # nothing delegated at all
    ADATUM: [(NOT_DELEGATED, f"/subscriptions/{ADATUM_PROD}")],   # its assignment Failed
    PROSEWARE: [(NOT_DELEGATED, f"/subscriptions/{PROSE_DEV}")],  # definition never assigned; rg-app credited
}


def woodgrove_delegation(data: dict) -> dict:
    return tenant_of(data, WOODGROVE)["delegations"][0]


def test_every_case_of_the_estate(tmp_path: Path) -> None:
    with served(tmp_path) as (registry, _):
        results = audit(registry)
    assert {t: found(r) for t, r in results.items()} == EXPECTED
    assert results[TAILSPIN].snapshot.name == "Tailspin via Lighthouse"
    assert results[CONTOSO].snapshot.kind == "managing"
    [jit] = results[TAILSPIN].findings
    assert (jit.tenant_id, jit.principal_id, jit.identity) == (TAILSPIN, "-", "-")
    assert "grouped-app (Contributor via group LH Admins" in jit.detail
    [reader_only] = results[WOODGROVE].findings
    assert "Reader or other non-eligible roles only" in reader_only.detail
    assert "az deployment sub create" in reader_only.remediation
    assert "Support Request Contributor" in reader_only.remediation
    assert f'"principalId": "{AUTOMATION}"' in reader_only.remediation   # the linked SP, by object id
    proseware = results[PROSEWARE].snapshot.lighthouse
    assert proseware is not None
    assert [d.scope for d in proseware.delegations] == [
        "/subscriptions/1e000000-0000-0000-0000-000000000071/resourceGroups/rg-app"]
    assert all(r.ok and not r.undecided for r in results.values())


def test_unlinked_and_foreign_linked_managing_identities(tmp_path: Path) -> None:
    data = estate_data()
    data["partners"].append({"partner_id": "7654321", "name": "Another Partner"})
    principal_of(data, AUTOMATION)["pal"] = {"partner_id": "7654321"}   # foreign link
    del principal_of(data, GROUPED)["pal"]                              # no link
    with served(tmp_path, data) as (registry, _):
        results = audit(registry)
    managing = results[CONTOSO]
    assert sorted((f.check_id, f.identity, f.tenant_id) for f in managing.findings) == [
        ("link_foreign_partner", "automation-sp", CONTOSO),
        ("link_missing", "grouped-app", CONTOSO),    # holds Contributor through LH Admins in Litware
    ]
    # no linked principal anywhere: every delegation is uncredited, just in time included
    assert found(results[FABRIKAM]) == sorted(
        (NOT_CREDITED, s) for s in ("/subscriptions/1e000000-0000-0000-0000-000000000011",
                                    "/subscriptions/1e000000-0000-0000-0000-000000000011/resourceGroups/rg-web",
                                    "/subscriptions/1e000000-0000-0000-0000-000000000012"))
    assert found(results[TAILSPIN]) == [(NOT_CREDITED, f"/subscriptions/{TAIL_PROD}")]
    [litware] = results[LITWARE].findings
    assert "grouped-app (Contributor via group LH Admins" in litware.detail and "not linked" in litware.detail
    assert "linked to partner ID 7654321" in results[FABRIKAM].findings[0].detail


def test_a_previous_partner_id_on_a_managing_identity(tmp_path: Path) -> None:
    data = estate_data()
    data["partners"].append({"partner_id": "1111111", "name": "Contoso (old)"})
    principal_of(data, AUTOMATION)["pal"] = {"partner_id": "1111111"}
    reg = registry_data({})
    reg["partner"]["previous_partner_ids"] = ["1111111"]
    with served(tmp_path, data, registry=reg) as (registry, _):
        results = audit(registry)
    assert [(f.check_id, f.identity) for f in results[CONTOSO].findings] == [
        ("link_previous_partner_id", "automation-sp")]


def test_a_user_outside_the_registry_with_a_permanent_eligible_role(tmp_path: Path) -> None:
    data = estate_data()
    woodgrove_delegation(data)["authorizations"].append({"principal": OPS_USER, "role": "Contributor"})
    with served(tmp_path, data) as (registry, _):
        results = audit(registry)
    assert found(results[WOODGROVE]) == [(NOT_CREDITED, f"/subscriptions/{WOOD_PROD}"),
                                         (UNAUDITED, f"/subscriptions/{WOOD_PROD}")]
    by_check = {f.check_id: f for f in results[WOODGROVE].findings}
    assert f"user Ops Engineer ({OPS_USER})" in by_check[UNAUDITED].detail
    assert "pal-audit me" in by_check[UNAUDITED].remediation
    assert "outside the registry" in by_check[NOT_CREDITED].detail
    # groups and registry identities are never "unaudited"; nor is a Reader
    assert not any(f.check_id == UNAUDITED for t, r in results.items() if t != WOODGROVE for f in r.findings)


def test_a_reader_that_cannot_read_one_delegation(tmp_path: Path) -> None:
    data = estate_data()
    delegation = woodgrove_delegation(data)
    delegation["authorizations"] = [a for a in delegation["authorizations"] if a["principal"] != READER]
    with served(tmp_path, data) as (registry, _):
        results = audit(registry)
    woodgrove = results[WOODGROVE]
    [error] = woodgrove.findings
    assert (error.check_id, error.tenant_id) == ("audit_error", WOODGROVE)
    assert error.qualifier == f"lighthouse:{CONTOSO}"
    assert error.detail.startswith("forbidden: reading the Lighthouse delegations of customer")
    assert "Reader in every delegation" in error.remediation
    assert not woodgrove.ok and (NOT_CREDITED, "-") in woodgrove.undecided
    # the rest is audited as before
    assert {t: found(r) for t, r in results.items() if t != WOODGROVE} == {
        t: f for t, f in EXPECTED.items() if t != WOODGROVE}


def test_a_group_that_cannot_be_resolved_is_undecided_not_empty(tmp_path: Path) -> None:
    data = estate_data()
    tenant_of(data, CONTOSO)["graph_permissions"] = []   # the reader may not read group members
    with served(tmp_path, data) as (registry, _):
        results = audit(registry)
    litware, tailspin = results[LITWARE], results[TAILSPIN]
    partial = ("audit_error", f"lighthouse:{CONTOSO}")
    assert found(litware) == [partial] and (NOT_CREDITED, "-") in litware.undecided
    assert found(tailspin) == [partial] and {(NOT_CREDITED, "-"), (JIT, "-")} <= tailspin.undecided
    [said] = litware.findings
    assert said.detail.startswith("forbidden: reading directory object")
    assert f"{LH_ADMINS} in Microsoft Graph: HTTP 403 Authorization_RequestDenied" in said.detail
    assert "never read as 'no member'" in said.detail and "GroupMember.Read.All" in said.remediation
    assert found(results[WOODGROVE]) == EXPECTED[WOODGROVE]     # no group there: still decided
    assert found(results[CONTOSO]) == []    # linked identities: what they hold through the group is moot


def test_an_unlinked_identity_whose_group_cannot_be_resolved_is_undecided(tmp_path: Path) -> None:
    data = estate_data()
    tenant_of(data, CONTOSO)["graph_permissions"] = []
    del principal_of(data, GROUPED)["pal"]
    with served(tmp_path, data) as (registry, _):
        managing = audit(registry)[CONTOSO]
    assert ("link_missing", GROUPED) in managing.undecided
    [said] = managing.findings
    assert (said.check_id, said.identity) == ("audit_error", "grouped-app")
    assert f"members of group {LH_ADMINS} could not be read" in said.detail


def test_two_pages_of_subscriptions_and_registration_assignments(tmp_path: Path) -> None:
    with served(tmp_path, page_size=1) as (registry, cloud):
        results = audit(registry)
        with requests.Session() as http:
            http.trust_env = False
            calls = {op: http.get(f"{cloud.arm}/_armsim/requests", params={"operation": op},
                                  verify=cloud.ca_bundle).json()["value"]
                     for op in ("subscriptions.list", "registration_assignments.list")}
    assert {t: found(r) for t, r in results.items()} == EXPECTED
    assert any("$skiptoken" in {k.lower() for k in c["query"]} for c in calls["subscriptions.list"])
    listed = calls["registration_assignments.list"]
    assert any("$skiptoken" in {k.lower() for k in c["query"]} for c in listed)
    assert all(c["query"]["api-version"] == "2022-10-01" for c in listed)
    assert all(c["query"].get("$filter") == f"managedByTenantId eq '{CONTOSO}'"
               for c in calls["registration_assignments.list"])


@pytest.mark.parametrize("fault", [403, 500])
def test_graph_failure_on_one_lookup_is_never_read_as_no_member(tmp_path: Path, fault: int) -> None:
    data = estate_data()
    data["faults"] = {"fail": [{"match": "graph.transitive_members", "status": fault}]}
    with served(tmp_path, data) as (registry, _):
        results = audit(registry)
    assert found(results[LITWARE]) == [("audit_error", f"lighthouse:{CONTOSO}")]
    assert (NOT_CREDITED, "-") in results[LITWARE].undecided
