"""Azure Lighthouse as an auditor in the managing tenant sees it through the real SDKs: delegated
subscriptions with `managedByTenants`, projected tenants, ARM on a delegated scope authorized by
the permanent authorizations only, and ManagedServices 2022-10-01 (expand, filter, paging)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.managedservices.aio import ManagedServicesClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient
from lighthouse_support import (
    ADATUM_APP,
    ADATUM_PROD,
    API,
    AUTOMATION,
    AUTOMATION_APP,
    CONTOSO,
    CONTRIBUTOR,
    FAB_DEV,
    FAB_NOROLE_APP,
    FAB_PROD,
    FAB_READER_APP,
    FABRIKAM,
    GROUPED_APP,
    LH_ADMINS,
    LIT_PROD,
    LITWARE,
    NOGRAPH_APP,
    OPS_USER,
    OTHER_APP,
    OTHER_MSP,
    PROSE_APP,
    PROSE_DEV,
    PROSE_PROD,
    PROSEWARE,
    READER,
    READER_APP,
    READER_ROLE,
    SRC_ROLE,
    TAIL_PROD,
    WOOD_PROD,
    WOODGROVE,
    bearer,
    cred,
    lh_data,
    lh_server,
    mgmt,
)

from armsim import Cloud, EstateError, parse_estate

MS = "providers/Microsoft.ManagedServices"


@pytest.fixture(scope="module")
def lh_cloud() -> Iterator[Cloud]:
    with lh_server() as cloud:
        yield cloud


@pytest.fixture
def lh_http(lh_cloud: Cloud) -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.trust_env = False
        s.verify = lh_cloud.ca_bundle
        yield s


def subs_seen(cloud: Cloud, app: str) -> dict[str, tuple[str, list[str]]]:
    client = SubscriptionClient(cred(cloud, app), **mgmt(cloud, api_version="2022-12-01"))
    return {
        s.subscription_id: (s.tenant_id, sorted(t.tenant_id for t in s.managed_by_tenants))
        for s in client.subscriptions.list()
    }


@asynccontextmanager
async def ms_client(cloud: Cloud, app: str) -> AsyncIterator[ManagedServicesClient]:
    async with (
        cred(cloud, app, aio=True) as credential,
        ManagedServicesClient(credential, **mgmt(cloud, api_version=API)) as client,
    ):
        yield client


def stats(http, cloud: Cloud) -> dict:
    return http.get(f"{cloud.arm}/_armsim/stats").json()


# -- delegated subscriptions and tenants ----------------------------------------------------------


def test_managing_token_lists_delegated_subscriptions_with_the_customer_tenant(
    lh_cloud: Cloud, lh_http
) -> None:
    before = lh_http.get(f"{lh_cloud.arm}/_armsim/requests", params={"operation": "subscriptions.list"})
    seen = subs_seen(lh_cloud, AUTOMATION_APP)
    # credited (2), Reader-only, and a resource-group delegation; not: JIT-only (not in it), group
    # (not a member), not delegated, Failed, a definition never assigned
    assert seen == {
        FAB_PROD: (FABRIKAM, sorted([CONTOSO, OTHER_MSP])),
        FAB_DEV: (FABRIKAM, [CONTOSO]),
        WOOD_PROD: (WOODGROVE, [CONTOSO]),
        PROSE_PROD: (PROSEWARE, [CONTOSO]),
    }
    after = lh_http.get(f"{lh_cloud.arm}/_armsim/requests", params={"operation": "subscriptions.list"})
    assert len(after.json()["value"]) - len(before.json()["value"]) == 2  # 4 subscriptions, pages of 2


def test_reader_sees_every_delegation_it_is_in_and_nothing_not_succeeded(lh_cloud: Cloud) -> None:
    seen = subs_seen(lh_cloud, READER_APP)
    assert set(seen) == {FAB_PROD, FAB_DEV, TAIL_PROD, WOOD_PROD, LIT_PROD, PROSE_PROD}
    assert ADATUM_PROD not in seen and PROSE_DEV not in seen


def test_a_member_of_a_group_inside_the_authorized_group_sees_the_delegation(lh_cloud: Cloud) -> None:
    assert subs_seen(lh_cloud, GROUPED_APP) == {LIT_PROD: (LITWARE, [CONTOSO])}


def test_a_managing_principal_without_authorization_sees_no_customer(lh_cloud: Cloud, lh_http) -> None:
    assert subs_seen(lh_cloud, NOGRAPH_APP) == {}
    tenants = lh_http.get(
        f"{lh_cloud.arm}/tenants?api-version=2022-12-01", headers=bearer(lh_cloud, NOGRAPH_APP)
    ).json()["value"]
    assert [(t["tenantId"], t["tenantCategory"]) for t in tenants] == [(CONTOSO, "Home")]


def test_customers_see_their_managing_tenants_on_their_own_subscription(lh_cloud: Cloud) -> None:
    assert subs_seen(lh_cloud, FAB_READER_APP) == {FAB_PROD: (FABRIKAM, sorted([CONTOSO, OTHER_MSP]))}


def test_tenants_lists_projected_customers(lh_cloud: Cloud) -> None:
    client = SubscriptionClient(cred(lh_cloud, AUTOMATION_APP), **mgmt(lh_cloud, api_version="2022-12-01"))
    got = {t.tenant_id: t.tenant_category for t in client.tenants.list()}
    assert got == {
        CONTOSO: "Home",
        FABRIKAM: "ProjectedBy",
        WOODGROVE: "ProjectedBy",
        PROSEWARE: "ProjectedBy",
    }


# -- ARM on a delegated scope ------------------------------------------------------------------


def test_delegated_reader_reads_the_customer_scope_and_role_assignments_hide_lighthouse(
    lh_cloud: Cloud,
) -> None:
    sub = SubscriptionClient(cred(lh_cloud, READER_APP), **mgmt(lh_cloud)).subscriptions.get(FAB_PROD)
    assert sub.tenant_id == FABRIKAM
    groups = ResourceManagementClient(cred(lh_cloud, READER_APP), FAB_PROD, **mgmt(lh_cloud)).resource_groups
    assert [g.name for g in groups.list()] == ["rg-web"]
    authz = AuthorizationManagementClient(cred(lh_cloud, READER_APP), FAB_PROD, **mgmt(lh_cloud))
    listed = list(authz.role_assignments.list_for_subscription())
    # only the customer's own assignment: Lighthouse grants are not role assignments
    assert [(a.principal_id, a.role_definition_id.rsplit("/", 1)[1]) for a in listed] == [
        ("3f000000-0000-0000-0000-000000000001", READER_ROLE)
    ]


def test_resource_group_delegation_reaches_that_group_only(lh_cloud: Cloud) -> None:
    groups = ResourceManagementClient(cred(lh_cloud, AUTOMATION_APP), PROSE_PROD, **mgmt(lh_cloud))
    assert [g.name for g in groups.resource_groups.list()] == ["rg-app"]


def test_foreign_and_unauthorized_tokens_on_a_customer_subscription(lh_cloud: Cloud, lh_http) -> None:
    url = f"{lh_cloud.arm}/subscriptions/{TAIL_PROD}/resourcegroups?api-version=2022-12-01"
    # Other MSP has no delegation on Tailspin: its token is from the wrong issuer
    wrong = lh_http.get(url, headers=bearer(lh_cloud, OTHER_APP))
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "InvalidAuthenticationTokenTenant"
    # Contoso does: a Contoso principal outside the authorizations is refused by RBAC
    denied = lh_http.get(url, headers=bearer(lh_cloud, NOGRAPH_APP))
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "AuthorizationFailed"
    # a Failed assignment grants nothing, though the token's tenant is its managing tenant
    failed = lh_http.get(
        f"{lh_cloud.arm}/subscriptions/{ADATUM_PROD}/resourcegroups?api-version=2022-12-01",
        headers=bearer(lh_cloud, READER_APP),
    )
    assert failed.status_code == 401


def test_graph_tokens_are_refused_by_arm(lh_cloud: Cloud, lh_http) -> None:
    r = lh_http.get(
        f"{lh_cloud.arm}/subscriptions?api-version=2022-12-01",
        headers=bearer(lh_cloud, READER_APP, "https://graph.microsoft.com/.default"),
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationToken"


# -- Microsoft.ManagedServices ------------------------------------------------------------------


async def test_assignments_list_expanded_filtered_and_paged(lh_cloud: Cloud, lh_http) -> None:
    async with ms_client(lh_cloud, READER_APP) as client:
        everything = [a async for a in client.registration_assignments.list(f"subscriptions/{FAB_PROD}")]
        ours = [
            a
            async for a in client.registration_assignments.list(
                f"subscriptions/{FAB_PROD}",
                expand_registration_definition=True,
                params={"$filter": f"managedByTenantId eq '{CONTOSO}'"},
            )
        ]
    assert len(everything) == 3  # Contoso's, Contoso's in rg-web, Other MSP's: two pages of 2
    assert all(a.properties.registration_definition is None for a in everything)
    assert {a.id.rsplit(f"/{MS}/", 1)[0] for a in ours} == {
        f"/subscriptions/{FAB_PROD}",
        f"/subscriptions/{FAB_PROD}/resourceGroups/rg-web",
    }
    main = next(a for a in ours if a.id.startswith(f"/subscriptions/{FAB_PROD}/{MS}"))
    assert main.type == "Microsoft.ManagedServices/registrationAssignments"
    assert main.properties.provisioning_state == "Succeeded"
    d = main.properties.registration_definition.properties
    assert main.properties.registration_definition_id.endswith(main.properties.registration_definition.name)
    assert (d.managed_by_tenant_id, d.managed_by_tenant_name) == (CONTOSO, "Contoso Managed")
    assert (d.managee_tenant_id, d.registration_definition_name) == (FABRIKAM, "Contoso managed services")
    assert [
        (a.principal_id, a.principal_id_display_name, a.role_definition_id) for a in d.authorizations
    ] == [
        (AUTOMATION, "Provider Automation", CONTRIBUTOR),
        (READER, "LH Reader", READER_ROLE),
    ]
    assert d.eligible_authorizations == []
    calls = lh_http.get(
        f"{lh_cloud.arm}/_armsim/requests", params={"operation": "registration_assignments.list"}
    ).json()["value"]
    first, second = calls[-3], calls[-2]  # the unfiltered listing: two pages, 2022-10-01 on both
    assert first["query"]["api-version"] == second["query"]["api-version"] == API
    assert calls[-1]["query"]["$filter"] == f"managedByTenantId eq '{CONTOSO}'"


async def test_just_in_time_authorizations_carry_their_policy(lh_cloud: Cloud) -> None:
    async with ms_client(lh_cloud, READER_APP) as client:
        [a] = [
            a
            async for a in client.registration_assignments.list(
                f"subscriptions/{TAIL_PROD}", expand_registration_definition=True
            )
        ]
    d = a.properties.registration_definition.properties
    assert [x.role_definition_id for x in d.authorizations] == [READER_ROLE]
    jit = {
        (e.principal_id, e.role_definition_id): e.just_in_time_access_policy
        for e in d.eligible_authorizations
    }
    assert set(jit) == {(OPS_USER, CONTRIBUTOR), (LH_ADMINS, CONTRIBUTOR)}
    durations = {p.maximum_activation_duration for p in jit.values()}
    assert durations == {dt.timedelta(hours=8), dt.timedelta(hours=4)}


async def test_get_assignment_and_definitions_with_a_definition_never_assigned(lh_cloud: Cloud) -> None:
    async with ms_client(lh_cloud, PROSE_APP) as client:  # the customer's own reader of proseware-dev
        assert [a async for a in client.registration_assignments.list(f"subscriptions/{PROSE_DEV}")] == []
        [definition] = [d async for d in client.registration_definitions.list(f"subscriptions/{PROSE_DEV}")]
        assert definition.properties.registration_definition_name == "Contoso never assigned"
        assert definition.type == "Microsoft.ManagedServices/registrationDefinitions"
        got = await client.registration_definitions.get(f"subscriptions/{PROSE_DEV}", definition.name)
        assert (
            got.id == definition.id == f"/subscriptions/{PROSE_DEV}/{MS}/registrationDefinitions/{got.name}"
        )
    async with ms_client(lh_cloud, AUTOMATION_APP) as client:
        rg = f"subscriptions/{PROSE_PROD}/resourceGroups/rg-app"
        [listed] = [a async for a in client.registration_assignments.list(rg)]
        one = await client.registration_assignments.get(rg, listed.name, expand_registration_definition=True)
        assert one.id == listed.id
        assert one.id.startswith(f"/{rg}/{MS}/registrationAssignments/")
        # its definition lives at subscription level
        assert one.properties.registration_definition_id.startswith(f"/subscriptions/{PROSE_PROD}/{MS}/")
        with pytest.raises(ResourceNotFoundError):
            await client.registration_assignments.get(rg, "00000000-0000-0000-0000-000000000000")
        # a resource-group delegation gives nothing at the subscription
        with pytest.raises(HttpResponseError) as e:
            [a async for a in client.registration_assignments.list(f"subscriptions/{PROSE_PROD}")]
        assert e.value.status_code == 403


async def test_non_succeeded_assignment_is_listed_with_its_state(lh_cloud: Cloud) -> None:
    async with ms_client(lh_cloud, ADATUM_APP) as client:
        [a] = [a async for a in client.registration_assignments.list(f"subscriptions/{ADATUM_PROD}")]
    assert a.properties.provisioning_state == "Failed"


async def test_who_may_read_registration_assignments(lh_cloud: Cloud) -> None:
    async with ms_client(lh_cloud, FAB_NOROLE_APP) as client:  # a customer principal without a role
        with pytest.raises(HttpResponseError) as e:
            [a async for a in client.registration_assignments.list(f"subscriptions/{FAB_PROD}")]
        assert e.value.status_code == 403
    async with ms_client(lh_cloud, AUTOMATION_APP) as client:
        # Support Request Contributor alone (rg-web) does not read Microsoft.ManagedServices;
        # Contributor at the subscription above does
        found = [
            a
            async for a in client.registration_assignments.list(
                f"subscriptions/{FAB_PROD}/resourceGroups/rg-web"
            )
        ]
        assert len(found) == 1
        d = (
            await client.registration_assignments.get(
                f"subscriptions/{FAB_PROD}/resourceGroups/rg-web",
                found[0].name,
                expand_registration_definition=True,
            )
        ).properties.registration_definition.properties
        assert [a.role_definition_id for a in d.authorizations] == [SRC_ROLE]


def test_api_version_and_filter_are_checked(lh_cloud: Cloud, lh_http) -> None:
    base = f"{lh_cloud.arm}/subscriptions/{FAB_PROD}/{MS}/registrationAssignments"
    headers = bearer(lh_cloud, READER_APP)
    old = lh_http.get(base, params={"api-version": "2015-01-01"}, headers=headers)
    assert old.status_code == 400 and old.json()["error"]["code"] == "NoRegisteredProviderFound"
    assert "2022-10-01" in old.json()["error"]["message"]
    bad = lh_http.get(base, params={"api-version": API, "$filter": "name eq 'x'"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "InvalidFilterInQueryString"
    several = lh_http.get(
        base,
        params={"api-version": API, "$filter": f"managedByTenantId in ({OTHER_MSP}, {FABRIKAM})"},
        headers=headers,
    )
    assert [a["name"] for a in several.json()["value"]] and len(several.json()["value"]) == 1
    # the SDK's default preview version is served too; before 2020-02-01-preview there is no JIT
    legacy = lh_http.get(
        f"{lh_cloud.arm}/subscriptions/{TAIL_PROD}/{MS}/registrationAssignments",
        params={"api-version": "2019-06-01", "$expandRegistrationDefinition": "true"},
        headers=headers,
    ).json()["value"][0]["properties"]["registrationDefinition"]["properties"]
    assert "eligibleAuthorizations" not in legacy


def test_operations_are_named_in_stats_and_faults(lh_http) -> None:
    data = lh_data()
    data["faults"] = {"fail": [{"match": "registration_assignments.list", "status": 503, "times": 1}]}
    with lh_server(data) as cloud:
        url = f"{cloud.arm}/subscriptions/{FAB_PROD}/{MS}/registrationAssignments"
        headers = bearer(cloud, READER_APP)
        first = lh_http.get(url, params={"api-version": API}, headers=headers, verify=cloud.ca_bundle)
        again = lh_http.get(url, params={"api-version": API}, headers=headers, verify=cloud.ca_bundle)
        lh_http.get(
            f"{cloud.arm}/subscriptions/{FAB_PROD}/{MS}/registrationDefinitions",
            params={"api-version": API},
            headers=headers,
            verify=cloud.ca_bundle,
        )
        ops = lh_http.get(f"{cloud.arm}/_armsim/stats", verify=cloud.ca_bundle).json()
    assert first.status_code == 503 and again.status_code == 200
    text = str(ops)
    assert "registration_assignments.list" in text and "registration_definitions.list" in text


# -- the estate ---------------------------------------------------------------------------------


def _delegation(**changes) -> dict:
    data = lh_data()
    fabrikam = data["tenants"][2]
    fabrikam["delegations"][0] |= changes
    return data


@pytest.mark.parametrize(
    ("changes", "where", "problem"),
    [
        ({"authorizations": [{"principal": AUTOMATION, "role": "Owner"}]}, "authorizations[0].role", "Owner"),
        (
            {"authorizations": [{"principal": AUTOMATION, "role": "My Custom Role"}]},
            "authorizations[0].role",
            "built-in roles only",
        ),
        ({"managed_by": "1d000000-0000-0000-0000-00000000ffff"}, "managed_by", "not a tenant of the estate"),
        (
            {"authorizations": [{"principal": "3f000000-0000-0000-0000-000000000001", "role": "Reader"}]},
            "authorizations[0].principal",
            "not a principal of the managing tenant",
        ),
        (
            {"eligible_authorizations": [{"principal": AUTOMATION, "role": "Contributor"}]},
            "eligible_authorizations[0].principal",
            "service principal",
        ),
        (
            {
                "eligible_authorizations": [
                    {"principal": OPS_USER, "role": "Contributor", "max_activation": "PT9H"}
                ]
            },
            "eligible_authorizations[0].max_activation",
            "PT30M to PT8H",
        ),
        ({"scope": "/providers/Microsoft.Management/managementGroups/x"}, "scope", "not a delegable scope"),
        (
            {"scope": "/subscriptions/1e000000-0000-0000-0000-000000000021"},
            "scope",
            "not a subscription of this",
        ),
        ({"state": "Done"}, "state", "Succeeded"),
        ({"assigned": "yes"}, "assigned", "true or false"),
        ({"owner": "x"}, "owner", "unknown key"),
        ({"authorizations": []}, "authorizations", "at least one"),
    ],
)
def test_estate_delegation_errors_name_the_key(changes: dict, where: str, problem: str) -> None:
    with pytest.raises(EstateError) as e:
        parse_estate(_delegation(**changes), source="lh.yaml")
    assert f"lh.yaml: tenants[2].delegations[0].{where}: " in str(e.value) or (
        where == "owner" and "tenants[2].delegations[0].owner: unknown key" in str(e.value)
    )
    assert problem in str(e.value)


def test_estate_graph_permissions_are_checked() -> None:
    data = lh_data()
    data["tenants"][0]["graph_permissions"] = [{"principal": READER, "permissions": ["User.Read.All"]}]
    with pytest.raises(
        EstateError, match=r"tenants\[0\]\.graph_permissions\[0\]\.permissions\[0\]: expected one of"
    ):
        parse_estate(data, source="lh.yaml")
