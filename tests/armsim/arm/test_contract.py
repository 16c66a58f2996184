"""Each armsim ARM route held to the documented contract: status codes, required fields, casing and
api-version behaviour. Every fact names its source: a path in the Azure/azure-rest-api-specs
repository (`specs:`), or a documentation page.

The estate is tests/armsim/estate.yaml plus time-bound access relative to the server's start.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from armsim_support import (
    FABRIKAM,
    GROUP,
    NOROLES_APP,
    OPS_APP,
    OPS_OID,
    READER_APP,
    SUB_DEV,
    SUB_PROD,
    credential,
    estate_data,
    mgmt_kwargs,
    token_for,
)
from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization.aio import AuthorizationManagementClient as AioAuthorizationClient
from azure.mgmt.resource.subscriptions.aio import SubscriptionClient as AioSubscriptionClient

from armsim import ArmSimServer, Cloud, parse_estate
from armsim.builtin_roles import BUILTIN_BY_ID
from pal_audit.checks.role_rules import PEC_TABLE

AUTHZ_SPECS = "specification/authorization/resource-manager/Microsoft.Authorization"
PIM_EXAMPLES = f"{AUTHZ_SPECS}/stable/2020-10-01/examples"
SUPPORT_REQUEST_CONTRIBUTOR = "cfd33db0-3dd1-45e3-aa9d-cdbdf3b6f24e"
VM_CONTRIBUTOR = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"
MONITORING_READER = "43d0d8ad-25c7-4714-9337-8ba259a9fe05"
KEY_VAULT_CONTRIBUTOR = "f25e0fa2-a7c8-4377-a976-54943a77a395"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def timed_estate() -> dict[str, Any]:
    """The test estate plus ops-app's time-bound access: current, ended and not yet started."""
    data = estate_data()
    fabrikam = data["tenants"][0]
    dev, prod = f"/subscriptions/{SUB_DEV}", f"/subscriptions/{SUB_PROD}"
    fabrikam["role_assignments"] += [
        {"principal": OPS_OID, "role": "Support Request Contributor", "scope": dev, "end": "+3d"},
        {"principal": OPS_OID, "role": "Virtual Machine Contributor", "scope": dev, "end": "-1d"},
        {"principal": OPS_OID, "role": "Monitoring Reader", "scope": dev, "start": "+2d"},
    ]
    fabrikam["eligible_assignments"] += [
        {"principal": OPS_OID, "role": "Key Vault Contributor", "scope": prod, "start": "-1d", "end": "+10d"},
        {"principal": OPS_OID, "role": "AcrPull", "scope": prod, "end": "-1h"},
    ]
    return data


@pytest.fixture(scope="module")
def cloud() -> Iterator[Cloud]:
    srv = ArmSimServer(parse_estate(timed_estate(), source="timed-estate"))  # the default page size
    srv.start()
    assert srv.cloud is not None
    yield srv.cloud
    srv.stop()


@pytest.fixture(scope="module")
def http(cloud: Cloud) -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.trust_env = False
        s.verify = cloud.ca_bundle
        s.headers["Authorization"] = f"Bearer {token_for(s, cloud, OPS_APP)}"
        yield s


DEV_AUTHZ = f"/subscriptions/{SUB_DEV}/providers/Microsoft.Authorization"
ROUTES = {  # path -> (an api-version the SDKs send, the type a provider route names in its 400)
    "/tenants": ("2022-12-01", None),
    "/subscriptions": ("2022-12-01", None),
    f"/subscriptions/{SUB_DEV}": ("2022-12-01", None),
    f"/subscriptions/{SUB_DEV}/resourcegroups": ("2025-04-01", None),
    f"{DEV_AUTHZ}/roleAssignments": ("2022-04-01", "roleAssignments"),
    f"{DEV_AUTHZ}/roleDefinitions": ("2022-04-01", "roleDefinitions"),
    f"/subscriptions/{SUB_DEV}/providers/Microsoft.Authorization/roleDefinitions/{OWNER}": (
        "2022-04-01",
        "roleDefinitions",
    ),
    f"/subscriptions/{SUB_DEV}/providers/Microsoft.Authorization/roleEligibilityScheduleInstances": (
        "2020-10-01",
        "roleEligibilityScheduleInstances",
    ),
    f"/subscriptions/{SUB_DEV}/providers/Microsoft.Authorization/roleAssignmentScheduleInstances": (
        "2020-10-01",
        "roleAssignmentScheduleInstances",
    ),
    "/providers/Microsoft.ManagementPartner/partners": ("2018-02-01", "partners"),
    "/providers/Microsoft.ManagementPartner/operations": ("2018-02-01", "operations"),
}  # fmt: skip


# -- api-version ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(ROUTES))
def test_every_route_accepts_the_sdk_version_and_refuses_an_unknown_one(
    http, cloud: Cloud, path: str
) -> None:
    good, resource_type = ROUTES[path]
    assert http.get(f"{cloud.arm}{path}", params={"api-version": good}).status_code == 200
    r = http.get(f"{cloud.arm}{path}", params={"api-version": "1999-01-01"})
    assert r.status_code == 400
    error = r.json()["error"]
    if resource_type is None:
        # Resource Manager's own types: `InvalidApiVersionParameter`, versions newest first, comma
        # separated (the message azure-sdk-for-python#975 and azure-cli#28038 quote from ARM).
        assert error["code"] == "InvalidApiVersionParameter"
        assert error["message"].startswith(
            "The api-version '1999-01-01' is invalid. The supported versions are '"
        )
        assert good in error["message"].split("'")[3].split(",")
    else:
        # A provider's types: `NoRegisteredProviderFound` naming the type, versions ", "-separated,
        # then the supported locations (azure-quickstart-templates#8013, azure-cli#13504 quote it).
        assert error["code"] == "NoRegisteredProviderFound"
        assert error["message"].startswith(
            f"No registered resource provider found for location 'global' and API version '1999-01-01' "
            f"for type '{resource_type}'. The supported api-versions are '"
        )
        assert good in error["message"] and error["message"].endswith("The supported locations are ''.")


def test_missing_api_version_is_its_own_400(http, cloud: Cloud) -> None:
    # specs: every operation declares api-version `required: true` (common-types ApiVersionParameter).
    r = http.get(f"{cloud.arm}/subscriptions")
    assert r.status_code == 400 and r.json()["error"]["code"] == "MissingApiVersionParameter"


@pytest.mark.parametrize("version", ["2022-12-01", "2020-01-01", "2019-11-01", "2016-06-01"])
def test_versions_the_azure_cli_sends_for_accounts_are_accepted(http, cloud: Cloud, version: str) -> None:
    # The Azure CLI's `az account list` / `az login` send the subscriptions client's profile
    # version (2022-12-01 today, 2019-11-01 and 2016-06-01 in older profiles).
    for path in ("/subscriptions", "/tenants"):
        assert http.get(f"{cloud.arm}{path}", params={"api-version": version}).status_code == 200


def test_role_assignments_accept_the_pim_version_the_sdk_pages_with(http, cloud: Cloud) -> None:
    # azure-mgmt-authorization's multi-API client sends the api-version of the operation group used
    # last on every nextLink, so a role-assignment page can arrive with 2020-10-01; role assignments
    # have that version (specs: {AUTHZ_SPECS}/stable/2020-10-01/examples/RoleAssignments_ListForScope.json).
    url = f"{cloud.arm}{DEV_AUTHZ}/roleAssignments"
    assert http.get(url, params={"api-version": "2020-10-01"}).status_code == 200
    r = http.get(f"{cloud.arm}{DEV_AUTHZ}/roleDefinitions", params={"api-version": "2020-10-01"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "NoRegisteredProviderFound"


# -- lists and nextLink --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/subscriptions", "/tenants"])
def test_tenant_and_subscription_lists_carry_next_link(http, cloud: Cloud, path: str) -> None:
    # specs: specification/resources/resource-manager/Microsoft.Resources/stable/2022-12-01/
    # subscriptions.json, SubscriptionListResult and TenantListResult mark `nextLink` required.
    body = http.get(f"{cloud.arm}{path}", params={"api-version": "2022-12-01"}).json()
    assert "nextLink" in body and body["nextLink"] is None and body["value"]


def test_role_definitions_page_and_cover_the_pec_table(http, cloud: Cloud) -> None:
    # Azure has hundreds of built-ins: listing them pages at the server's page size.
    url = f"{cloud.arm}/subscriptions/{SUB_DEV}/providers/Microsoft.Authorization/roleDefinitions"
    body = http.get(url, params={"api-version": "2022-04-01", "$filter": "type eq 'BuiltInRole'"}).json()
    names: list[str] = []
    pages = 0
    while True:
        pages += 1
        names += [d["properties"]["roleName"] for d in body["value"]]
        if not body.get("nextLink"):
            break
        body = http.get(body["nextLink"]).json()
    assert pages >= 2 and len(names) == len(set(names)) >= 45
    # Every role of the PEC table answers with its real GUID and name (built-in roles reference,
    # learn.microsoft.com/azure/role-based-access-control/built-in-roles).
    for guid, entry in PEC_TABLE.items():
        r = http.get(f"{url}/{guid}", params={"api-version": "2022-04-01"})
        assert r.status_code == 200, entry.name
        assert (r.json()["name"], r.json()["properties"]["roleName"]) == (guid, entry.name)
    r = http.get(f"{url}/00000000-1111-2222-3333-444444444444", params={"api-version": "2022-04-01"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "RoleDefinitionDoesNotExist"


def test_privileged_roles_carry_their_real_permissions() -> None:
    # Built-in roles reference: Owner `*`; User Access Administrator `Microsoft.Authorization/*`;
    # RBAC Administrator `roleAssignments/write`; Key Vault Contributor is not privileged.
    write = "Microsoft.Authorization/roleAssignments/write"
    privileged = {r.name for r in BUILTIN_BY_ID.values() if r.allows(write)}
    assert {
        "Owner",
        "User Access Administrator",
        "Role Based Access Control Administrator",
        "Reservations Administrator",
    } <= privileged
    assert "Contributor" not in privileged and "Key Vault Contributor" not in privileged
    assert BUILTIN_BY_ID[ACR_PULL].actions == ("Microsoft.ContainerRegistry/registries/pull/read",)


# -- role assignments ----------------------------------------------------------------------------


def test_role_assignments_carry_no_null_optional_strings(http, cloud: Cloud) -> None:
    # specs: {AUTHZ_SPECS}/stable/2022-04-01/authorization-RoleAssignmentsCalls.json types
    # condition, conditionVersion, description, createdBy, updatedBy and
    # delegatedManagedIdentityResourceId as strings; armsim leaves out those it has no value for.
    url = f"{cloud.arm}/subscriptions/{SUB_DEV}/providers/Microsoft.Authorization/roleAssignments"
    body = http.get(url, params={"api-version": "2022-04-01"}).json()
    assert body["value"]
    for a in body["value"]:
        assert {"id", "name", "type", "properties"} <= a.keys()
        assert a["type"] == "Microsoft.Authorization/roleAssignments"
        assert None not in a["properties"].values()
        assert {"roleDefinitionId", "principalId", "principalType", "scope"} <= a["properties"].keys()


def test_ended_and_future_assignments_are_nowhere(http, cloud: Cloud) -> None:
    # An ended PIM assignment leaves no role assignment behind; a future one has none yet.
    url = f"{cloud.arm}/subscriptions/{SUB_DEV}/providers/Microsoft.Authorization/roleAssignments"
    body = http.get(url, params={"api-version": "2022-04-01", "$filter": f"assignedTo('{OPS_OID}')"}).json()
    roles = {a["properties"]["roleDefinitionId"].rsplit("/", 1)[1] for a in body["value"]}
    assert SUPPORT_REQUEST_CONTRIBUTOR in roles
    assert VM_CONTRIBUTOR not in roles and MONITORING_READER not in roles


# -- PIM -----------------------------------------------------------------------------------------


def _pim(http: requests.Session, cloud: Cloud, collection: str, scope: str) -> list[dict[str, Any]]:
    r = http.get(
        f"{cloud.arm}{scope}/providers/Microsoft.Authorization/{collection}",
        params={"api-version": "2020-10-01", "$filter": "asTarget()"},
    )
    assert r.status_code == 200, r.text
    return r.json()["value"]


def test_eligibility_instances_as_the_service_example_shows_them(http, cloud: Cloud) -> None:
    # specs: {PIM_EXAMPLES}/GetRoleEligibilityScheduleInstancesByScope.json
    items = _pim(http, cloud, "roleEligibilityScheduleInstances", f"/subscriptions/{SUB_PROD}")
    by_role = {e["properties"]["roleDefinitionId"].rsplit("/", 1)[1]: e for e in items}
    assert ACR_PULL not in by_role  # ended: no instance
    kv = by_role[KEY_VAULT_CONTRIBUTOR]
    assert kv["type"] == "Microsoft.Authorization/RoleEligibilityScheduleInstances"
    assert f"/providers/Microsoft.Authorization/RoleEligibilityScheduleInstances/{kv['name']}" in kv["id"]
    p = kv["properties"]
    assert "/providers/Microsoft.Authorization/RoleEligibilitySchedules/" in p["roleEligibilityScheduleId"]
    assert p["status"] == "Provisioned" and p["memberType"] == "Direct"
    assert ISO_Z.match(p["startDateTime"]) and ISO_Z.match(p["endDateTime"])
    assert p["startDateTime"] < p["endDateTime"]
    assert p["expandedProperties"]["scope"] == {
        "id": f"/subscriptions/{SUB_PROD}",
        "displayName": "prod",
        "type": "subscription",
    }
    assert None not in p.values()


def test_eligibility_member_type_direct_group_and_inherited(http, cloud: Cloud) -> None:
    # specs: {AUTHZ_SPECS}/stable/2020-10-01/RoleEligibilityScheduleInstance.json, memberType enum
    # Inherited | Direct | Group.
    prod = _pim(http, cloud, "roleEligibilityScheduleInstances", f"/subscriptions/{SUB_PROD}")
    assert {(e["properties"]["principalId"], e["properties"]["memberType"]) for e in prod} >= {
        (GROUP, "Group"),
        (OPS_OID, "Direct"),
    }
    below = _pim(
        http, cloud, "roleEligibilityScheduleInstances", f"/subscriptions/{SUB_DEV}/resourceGroups/rg-pim"
    )
    owner = [e for e in below if e["properties"]["roleDefinitionId"].endswith(OWNER)]
    assert [e["properties"]["memberType"] for e in owner] == ["Inherited"]
    assert owner[0]["properties"]["scope"] == f"/subscriptions/{SUB_DEV}"
    assert owner[0]["properties"]["expandedProperties"]["scope"]["displayName"] == "dev"


def test_assignment_instances_as_the_service_example_shows_them(http, cloud: Cloud) -> None:
    # specs: {PIM_EXAMPLES}/GetRoleAssignmentScheduleInstancesByScope.json
    items = _pim(http, cloud, "roleAssignmentScheduleInstances", f"/subscriptions/{SUB_DEV}")
    by_role = {e["properties"]["roleDefinitionId"].rsplit("/", 1)[1]: e for e in items}
    assert VM_CONTRIBUTOR not in by_role and MONITORING_READER not in by_role
    src = by_role[SUPPORT_REQUEST_CONTRIBUTOR]
    assert src["type"] == "Microsoft.Authorization/RoleAssignmentScheduleInstances"
    p = src["properties"]
    assert p["assignmentType"] == "Assigned" and p["status"] == "Provisioned"
    assert p["originRoleAssignmentId"].endswith(
        f"/providers/Microsoft.Authorization/roleAssignments/{src['name']}"
    )
    assert "/providers/Microsoft.Authorization/RoleAssignmentSchedules/" in p["roleAssignmentScheduleId"]
    assert ISO_Z.match(p["endDateTime"]) and p["memberType"] == "Direct"
    assert p["principalId"] == OPS_OID and p["principalType"] == "ServicePrincipal"
    permanent = [e for e in items if "endDateTime" not in e["properties"]]
    assert permanent, "permanent assignments are instances too, without an end"


async def test_the_async_sdk_reads_time_bound_access_as_target(cloud: Cloud) -> None:
    cred = credential(cloud, OPS_APP, aio=True)
    async with cred, AioAuthorizationClient(cred, SUB_DEV, **mgmt_kwargs(cloud)) as client:
        active = [
            i
            async for i in client.role_assignment_schedule_instances.list_for_scope(
                f"/subscriptions/{SUB_DEV}", filter="asTarget()"
            )
        ]
        eligible = [
            i
            async for i in client.role_eligibility_schedule_instances.list_for_scope(
                f"/subscriptions/{SUB_PROD}", filter="asTarget()"
            )
        ]
    ends = {i.role_definition_id.rsplit("/", 1)[1]: i.end_date_time for i in active}
    assert ends[SUPPORT_REQUEST_CONTRIBUTOR] is not None and VM_CONTRIBUTOR not in ends
    assert {i.assignment_type for i in active} == {"Assigned"}
    kv = [i for i in eligible if i.role_definition_id.endswith(KEY_VAULT_CONTRIBUTOR)]
    assert kv and kv[0].end_date_time is not None and kv[0].end_date_time > kv[0].start_date_time


async def test_the_sdk_surfaces_a_wrong_api_version(cloud: Cloud) -> None:
    cred = credential(cloud, OPS_APP, aio=True)
    kwargs = mgmt_kwargs(cloud, api_version="1999-01-01")
    async with cred, AioSubscriptionClient(cred, **kwargs) as client:
        with pytest.raises(HttpResponseError) as e:
            [s async for s in client.subscriptions.list()]
    assert e.value.status_code == 400 and e.value.error.code == "InvalidApiVersionParameter"
    assert "2022-12-01" in e.value.error.message


def test_reading_others_assignment_instances_needs_read_permission(cloud: Cloud) -> None:
    with requests.Session() as s:
        s.trust_env, s.verify = False, cloud.ca_bundle
        auth = {"Authorization": f"Bearer {token_for(s, cloud, READER_APP, FABRIKAM)}"}
        url = f"{cloud.arm}{DEV_AUTHZ}/roleAssignmentScheduleInstances"
        r = s.get(url, params={"api-version": "2020-10-01"}, headers=auth)
        assert r.status_code == 200  # Reader's */read covers roleAssignmentScheduleInstances/read
        assert {e["properties"]["principalId"] for e in r.json()["value"]} > {OPS_OID}


# -- Partner Admin Link --------------------------------------------------------------------------


def test_partner_link_as_the_provider_examples_show_it(http, cloud: Cloud) -> None:
    # specs: specification/managementpartner/resource-manager/Microsoft.ManagementPartner/preview/
    # 2018-02-01/examples/GetPartnerDetails.json and PutPartnerDetails.json
    r = http.get(
        f"{cloud.arm}/providers/Microsoft.ManagementPartner/partners", params={"api-version": "2018-02-01"}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == "/providers/microsoft.managementpartner/partners/1234567"
    assert (body["type"], body["name"], body["etag"]) == ("Microsoft.ManagementPartner/partner", "1234567", 1)
    p = body["properties"]
    assert p["version"] == "1" and p["state"] == "Active" and p["partnerName"] == "Contoso Managed Services"
    assert (p["tenantId"], p["objectId"]) == (FABRIKAM, OPS_OID)
    assert ISO_Z.match(p["createdTime"]) and ISO_Z.match(p["updatedTime"])


def test_access_ends_while_the_server_runs() -> None:
    # A time-bound assignment that ends while armsim runs is gone from then on: the caller loses
    # the subscription and the access it granted (no stale permission cache).
    from datetime import UTC, datetime, timedelta

    noroles_oid = "0b000000-0000-0000-0000-0000000000a8"
    data = estate_data()
    end = (datetime.now(UTC) + timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    data["tenants"][0]["role_assignments"].append(
        {"principal": noroles_oid, "role": "Reader", "scope": f"/subscriptions/{SUB_DEV}", "end": end}
    )
    srv = ArmSimServer(parse_estate(data, source="ending-estate"))
    srv.start()
    try:
        assert srv.cloud is not None
        with requests.Session() as s:
            s.trust_env, s.verify = False, srv.cloud.ca_bundle
            s.headers["Authorization"] = f"Bearer {token_for(s, srv.cloud, NOROLES_APP)}"
            url = f"{srv.cloud.arm}{DEV_AUTHZ}/roleAssignments"
            subs = f"{srv.cloud.arm}/subscriptions"
            assert s.get(url, params={"api-version": "2022-04-01"}).status_code == 200
            assert len(s.get(subs, params={"api-version": "2022-12-01"}).json()["value"]) == 1
            time.sleep((datetime.fromisoformat(end) - datetime.now(UTC)).total_seconds() + 0.2)
            r = s.get(url, params={"api-version": "2022-04-01"})
            assert r.status_code == 403 and r.json()["error"]["code"] == "AuthorizationFailed"
            assert s.get(subs, params={"api-version": "2022-12-01"}).json()["value"] == []
    finally:
        srv.stop()
