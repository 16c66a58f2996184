"""ARM reads as the real mgmt clients see them: subscriptions, resource groups, role assignments
with `$filter` semantics (transitive groups, management-group inheritance, below-subscription),
role definitions, PIM eligibility, nextLink paging, and the 401/403/400/404 answers."""

from __future__ import annotations

import pytest
from armsim_support import (
    BLOB_APP,
    FABRIKAM,
    GROUP,
    GROUP_PARENT,
    MI_APP,
    NOROLES_APP,
    NORTHWIND,
    OPS_APP,
    OPS_OID,
    READER_APP,
    RG_APP,
    RG_OID,
    SUB_DEV,
    SUB_PROD,
    SUB_SHARED,
    USER_OID,
    credential,
    mgmt_kwargs,
    requests_log,
    token_for,
)
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.aio import AuthorizationManagementClient as AioAuthorizationClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.resources.aio import ResourceManagementClient as AioResourceClient
from azure.mgmt.resource.subscriptions import SubscriptionClient
from azure.mgmt.resource.subscriptions.aio import SubscriptionClient as AioSubscriptionClient

from armsim import ArmSimServer, Cloud

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
UAA = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
MG_PROD = "/providers/Microsoft.Management/managementGroups/mg-prod"
STORAGE = f"/subscriptions/{SUB_PROD}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/st1"


def authz(cloud: Cloud, app: str, sub: str = SUB_PROD) -> AuthorizationManagementClient:
    return AuthorizationManagementClient(credential(cloud, app), sub, **mgmt_kwargs(cloud))


def seen(assignments) -> set[tuple[str, str, str]]:
    """(scope, role GUID, principal) of each listed assignment."""
    return {(a.scope, a.role_definition_id.rsplit("/", 1)[1], a.principal_id) for a in assignments}


def assigned_to(oid: str) -> str:
    return f"assignedTo('{oid}')"


# -- subscriptions, tenants, resource groups ------------------------------------------------------


def test_subscriptions_listed_are_those_the_caller_holds_a_role_at_above_or_below(cloud: Cloud) -> None:
    def subs(app: str) -> set[str]:
        return {
            s.subscription_id
            for s in SubscriptionClient(credential(cloud, app), **mgmt_kwargs(cloud)).subscriptions.list()
        }

    assert subs(OPS_APP) == {SUB_PROD, SUB_DEV, SUB_SHARED}  # direct, nested group, management group
    assert subs(RG_APP) == {SUB_PROD}  # a role on one resource group only
    assert subs(NOROLES_APP) == set()


def test_subscription_and_tenant_details(cloud: Cloud) -> None:
    client = SubscriptionClient(credential(cloud, OPS_APP), **mgmt_kwargs(cloud))
    sub = client.subscriptions.get(SUB_PROD)
    assert (sub.display_name, sub.tenant_id, sub.state) == ("prod", FABRIKAM, "Enabled")
    assert [(t.tenant_id, t.display_name) for t in client.tenants.list()] == [(FABRIKAM, "Fabrikam")]
    hidden = SubscriptionClient(credential(cloud, NOROLES_APP), **mgmt_kwargs(cloud))
    with pytest.raises(ResourceNotFoundError):
        hidden.subscriptions.get(SUB_PROD)


def test_resource_groups_listed_are_only_those_the_caller_can_see(cloud: Cloud) -> None:
    def groups(app: str, sub: str) -> list[str]:
        client = ResourceManagementClient(credential(cloud, app), sub, **mgmt_kwargs(cloud))
        return sorted(g.name for g in client.resource_groups.list())

    assert groups(OPS_APP, SUB_PROD) == ["rg-data", "rg-empty", "rg-web"]  # Contributor on the subscription
    assert groups(RG_APP, SUB_PROD) == ["rg-web"]
    assert groups(READER_APP, SUB_DEV) == ["rg-pim"]
    with pytest.raises(HttpResponseError) as e:
        groups(RG_APP, SUB_DEV)
    assert e.value.status_code == 403


# -- role assignments ---------------------------------------------------------------------------


def test_assigned_to_is_transitive_through_groups_and_includes_above_and_below(cloud: Cloud) -> None:
    listed = authz(cloud, OPS_APP).role_assignments.list_for_subscription(filter=assigned_to(OPS_OID))
    assert seen(listed) == {
        (f"/subscriptions/{SUB_PROD}", CONTRIBUTOR, OPS_OID),  # direct
        (STORAGE, READER, OPS_OID),  # below the subscription
        (MG_PROD, OWNER, GROUP),  # inherited from a management group, via a group
    }


def test_nested_group_membership_counts(cloud: Cloud) -> None:
    listed = authz(cloud, OPS_APP, SUB_DEV).role_assignments.list_for_subscription(
        filter=assigned_to(OPS_OID)
    )
    assert {(a.principal_id, a.principal_type) for a in listed} == {(GROUP_PARENT, "Group")}


def test_a_users_assignments_through_groups(cloud: Cloud) -> None:
    listed = authz(cloud, OPS_APP, SUB_SHARED).role_assignments.list_for_subscription(
        filter=assigned_to(USER_OID)
    )
    assert seen(listed) == {(MG_PROD, OWNER, GROUP), (f"/subscriptions/{SUB_SHARED}", READER, USER_OID)}


def test_at_scope_excludes_assignments_below(cloud: Cloud) -> None:
    listed = authz(cloud, OPS_APP).role_assignments.list_for_subscription(
        filter=f"atScope() and assignedTo('{OPS_OID}')"
    )
    assert seen(listed) == {(f"/subscriptions/{SUB_PROD}", CONTRIBUTOR, OPS_OID), (MG_PROD, OWNER, GROUP)}


def test_principal_id_eq_is_direct_only(cloud: Cloud) -> None:
    listed = authz(cloud, OPS_APP).role_assignments.list_for_subscription(
        filter=f"principalId eq '{OPS_OID}'"
    )
    assert seen(listed) == {(f"/subscriptions/{SUB_PROD}", CONTRIBUTOR, OPS_OID), (STORAGE, READER, OPS_OID)}


def test_no_filter_lists_everyone_at_above_and_below(cloud: Cloud) -> None:
    listed = seen(authz(cloud, OPS_APP).role_assignments.list_for_subscription())
    assert {p for _s, _r, p in listed} == {OPS_OID, GROUP, RG_OID}
    assert len(listed) == 4


def test_role_definition_ids_carry_the_subscription_prefix(cloud: Cloud) -> None:
    listed = list(authz(cloud, OPS_APP).role_assignments.list_for_subscription(filter=assigned_to(OPS_OID)))
    assert {a.role_definition_id.rsplit("/", 1)[0] for a in listed} == {
        f"/subscriptions/{SUB_PROD}/providers/Microsoft.Authorization/roleDefinitions"
    }
    assert all(a.id.endswith(f"/providers/Microsoft.Authorization/roleAssignments/{a.name}") for a in listed)


def test_listing_at_management_group_and_resource_group_scopes(cloud: Cloud) -> None:
    client = authz(cloud, OPS_APP)
    at_mg = seen(client.role_assignments.list_for_scope(MG_PROD, filter=assigned_to(OPS_OID)))
    assert {s for s, _r, _p in at_mg} == {
        MG_PROD,
        f"/subscriptions/{SUB_PROD}",
        STORAGE,
        f"/subscriptions/{SUB_SHARED}",
    }
    at_rg = seen(client.role_assignments.list_for_resource_group("rg-web"))
    assert at_rg == {
        (f"/subscriptions/{SUB_PROD}", CONTRIBUTOR, OPS_OID),
        (MG_PROD, OWNER, GROUP),
        (f"/subscriptions/{SUB_PROD}/resourceGroups/rg-web", "9980e02c-c2be-4d73-94e8-173b1dc7cf3c", RG_OID),
    }


def test_resource_group_only_identity_is_refused_at_subscription_scope_but_listed_per_group(
    cloud: Cloud,
) -> None:
    client = authz(cloud, RG_APP)
    with pytest.raises(HttpResponseError) as e:
        list(client.role_assignments.list_for_subscription(filter=assigned_to(RG_OID)))
    assert (e.value.status_code, e.value.error.code) == (403, "AuthorizationFailed")
    assert "Microsoft.Authorization/roleAssignments/read" in e.value.error.message
    listed = seen(client.role_assignments.list_for_resource_group("rg-web", filter=assigned_to(RG_OID)))
    assert {r for _s, r, _p in listed} == {"9980e02c-c2be-4d73-94e8-173b1dc7cf3c"}


def test_roles_without_authorization_read_are_refused(cloud: Cloud) -> None:
    with pytest.raises(HttpResponseError) as e:
        list(authz(cloud, BLOB_APP, SUB_DEV).role_assignments.list_for_subscription())
    assert e.value.status_code == 403
    with pytest.raises(HttpResponseError) as e:
        list(authz(cloud, OPS_APP).role_assignments.list_for_scope("/", filter=assigned_to(OPS_OID)))
    assert e.value.status_code == 403  # no role at the root scope


def test_unsupported_filter_is_a_400(cloud: Cloud) -> None:
    with pytest.raises(HttpResponseError) as e:
        list(authz(cloud, OPS_APP).role_assignments.list_for_subscription(filter="roleName eq 'Owner'"))
    assert e.value.status_code == 400


def test_lists_follow_next_link_over_pages(cloud: Cloud, http) -> None:
    before = len(
        [r for r in requests_log(http, cloud, "role_assignments.list") if "$skiptoken" in r["query"]]
    )
    listed = list(authz(cloud, OPS_APP).role_assignments.list_for_subscription())
    after = [r for r in requests_log(http, cloud, "role_assignments.list") if "$skiptoken" in r["query"]]
    assert len(listed) == 4 and len(after) == before + 1  # page size 2: one nextLink followed
    assert after[-1]["query"]["api-version"] == "2022-04-01"


def test_raw_paging_and_filter_encodings(cloud: Cloud, http) -> None:
    auth = {"Authorization": f"Bearer {token_for(http, cloud, OPS_APP)}"}
    base = f"{cloud.arm}/subscriptions/{SUB_PROD}/providers/Microsoft.Authorization/roleAssignments"
    first = http.get(f"{base}?api-version=2022-04-01&$filter=assignedTo('{OPS_OID}')", headers=auth)
    body = first.json()
    assert first.status_code == 200 and len(body["value"]) == 2 and first.headers["x-ms-request-id"]
    assert body["nextLink"].startswith(f"{base}?") and "$skiptoken" in body["nextLink"]
    second = http.get(body["nextLink"], headers=auth).json()
    assert len(second["value"]) == 1 and "nextLink" not in second
    # the docs' `+` for spaces and fully quoted values mean the same filter
    plus = http.get(f"{base}?api-version=2022-04-01&$filter=principalId+eq+'{OPS_OID}'", headers=auth).json()
    quoted = http.get(
        f"{base}?api-version=2022-04-01&$filter=principalId%20eq%20%27{OPS_OID}%27", headers=auth
    )
    assert len(plus["value"]) == 2 and quoted.json()["value"] == plus["value"]


# -- role definitions ---------------------------------------------------------------------------


def test_role_definitions_builtin_and_custom(cloud: Cloud) -> None:
    client = authz(cloud, OPS_APP)
    contributor = client.role_definitions.get_by_id(
        f"/subscriptions/{SUB_PROD}/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}"
    )
    assert (contributor.role_name, contributor.role_type) == ("Contributor", "BuiltInRole")
    assert "Microsoft.Authorization/*/Write" in contributor.permissions[0].not_actions
    tenant_level = client.role_definitions.get_by_id(
        f"/providers/Microsoft.Authorization/roleDefinitions/{OWNER}"
    )
    assert tenant_level.permissions[0].actions == ["*"]
    custom = client.role_definitions.get(
        f"/subscriptions/{SUB_SHARED}", "6c000000-0000-0000-0000-000000000001"
    )
    assert (custom.role_name, custom.role_type) == ("Ops Operator", "CustomRole")
    by_name = list(
        client.role_definitions.list(
            f"/subscriptions/{SUB_PROD}", filter="roleName eq 'Virtual Machine Contributor'"
        )
    )
    assert [r.name for r in by_name] == ["9980e02c-c2be-4d73-94e8-173b1dc7cf3c"]
    assert [r.role_name for r in client.role_definitions.list("/", filter="type eq 'CustomRole'")] == [
        "Ops Operator"
    ]
    with pytest.raises(ResourceNotFoundError):
        client.role_definitions.get(f"/subscriptions/{SUB_PROD}", "00000000-0000-0000-0000-00000000dead")


# -- PIM eligibility ----------------------------------------------------------------------------


def test_eligibility_as_target_direct_and_through_groups(cloud: Cloud) -> None:
    client = authz(cloud, OPS_APP)
    dev = list(
        client.role_eligibility_schedule_instances.list_for_scope(
            f"/subscriptions/{SUB_DEV}", filter="asTarget()"
        )
    )
    assert [(e.role_definition_id.rsplit("/", 1)[1], e.member_type) for e in dev] == [(OWNER, "Direct")]
    assert dev[0].expanded_properties.role_definition.display_name == "Owner"
    prod = list(
        client.role_eligibility_schedule_instances.list_for_scope(
            f"/subscriptions/{SUB_PROD}", filter="asTarget()"
        )
    )
    assert [(e.role_definition_id.rsplit("/", 1)[1], e.principal_id, e.member_type) for e in prod] == [
        (UAA, GROUP, "Group")
    ]


def test_eligibility_below_the_subscription_and_the_403_without_read(cloud: Cloud) -> None:
    reader = authz(cloud, READER_APP, SUB_DEV)
    below = list(
        reader.role_eligibility_schedule_instances.list_for_scope(
            f"/subscriptions/{SUB_DEV}", filter="asTarget()"
        )
    )
    assert [e.scope for e in below] == [f"/subscriptions/{SUB_DEV}/resourceGroups/rg-pim"]
    with pytest.raises(HttpResponseError) as e:
        list(
            authz(cloud, BLOB_APP, SUB_DEV).role_eligibility_schedule_instances.list_for_scope(
                f"/subscriptions/{SUB_DEV}"
            )
        )
    assert e.value.status_code == 403


# -- authentication failures --------------------------------------------------------------------


class StaticToken:
    """A credential handing out a fixed token (what a stale or foreign token looks like to ARM)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken(self.token, 4_000_000_000)


def test_missing_and_malformed_tokens_are_401_with_a_challenge(cloud: Cloud, http) -> None:
    url = f"{cloud.arm}/subscriptions?api-version=2022-12-01"
    r = http.get(url)
    assert r.status_code == 401 and r.json()["error"]["code"] == "AuthenticationFailed"
    assert r.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    token = token_for(http, cloud, OPS_APP)
    head, body, sig = token.split(".")
    forged = f"{head}.{body[:-4]}AAAA.{sig}"
    assert (
        http.get(url, headers={"Authorization": f"Bearer {forged}"}).json()["error"]["code"]
        == "InvalidAuthenticationToken"
    )


def test_expired_token_is_refused_through_the_sdk(cloud: Cloud, server: ArmSimServer) -> None:
    expired, _ = server.sim.tokens.issue(
        tenant_id=FABRIKAM,
        object_id=OPS_OID,
        app_id=OPS_APP,
        audience="https://management.azure.com/",
        lifetime=-60,
    )
    client = SubscriptionClient(StaticToken(expired), **mgmt_kwargs(cloud))
    with pytest.raises(ClientAuthenticationError) as e:
        list(client.subscriptions.list())
    assert (e.value.status_code, e.value.error.code) == (401, "ExpiredAuthenticationToken")


def test_token_of_another_tenant_is_refused_for_a_subscription(cloud: Cloud) -> None:
    client = AuthorizationManagementClient(
        credential(cloud, OPS_APP, tenant=NORTHWIND, secret="ops-secret-nw"), SUB_PROD, **mgmt_kwargs(cloud)
    )
    with pytest.raises(ClientAuthenticationError) as e:
        list(client.role_assignments.list_for_subscription())
    assert e.value.error.code == "InvalidAuthenticationTokenTenant"


def test_token_for_another_audience_is_refused(cloud: Cloud, http) -> None:
    r = http.get(
        cloud.identity_endpoint,
        params={"resource": "api://AzureADTokenExchange", "client_id": MI_APP},
        headers={"X-IDENTITY-HEADER": cloud.identity_header},
    )
    exchange = r.json()["access_token"]
    denied = http.get(
        f"{cloud.arm}/subscriptions?api-version=2022-12-01", headers={"Authorization": f"Bearer {exchange}"}
    )
    assert denied.status_code == 401 and "audience" in denied.json()["error"]["message"]


def test_missing_api_version_and_unknown_routes(cloud: Cloud, http) -> None:
    auth = {"Authorization": f"Bearer {token_for(http, cloud, OPS_APP)}"}
    r = http.get(f"{cloud.arm}/subscriptions", headers=auth)
    assert r.status_code == 400 and r.json()["error"]["code"] == "MissingApiVersionParameter"
    r = http.get(
        f"{cloud.arm}/subscriptions/{SUB_PROD}/providers/Microsoft.Compute/virtualMachines"
        "?api-version=2024-01-01",
        headers=auth,
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "NotFound"
    r = http.get(
        f"{cloud.arm}/subscriptions/00000000-0000-0000-0000-00000000beef/resourcegroups"
        "?api-version=2025-04-01",
        headers=auth,
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "SubscriptionNotFound"


# -- the async clients --------------------------------------------------------------------------


async def test_async_clients_read_the_same_estate(cloud: Cloud) -> None:
    kw = mgmt_kwargs(cloud)
    async with credential(cloud, OPS_APP, aio=True) as cred:
        async with AioSubscriptionClient(cred, **kw) as subs:
            assert {s.subscription_id async for s in subs.subscriptions.list()} == {
                SUB_PROD,
                SUB_DEV,
                SUB_SHARED,
            }
        async with AioAuthorizationClient(cred, SUB_PROD, **kw) as auth:
            listed = [
                a async for a in auth.role_assignments.list_for_subscription(filter=assigned_to(OPS_OID))
            ]
            assert seen(listed) == {
                (f"/subscriptions/{SUB_PROD}", CONTRIBUTOR, OPS_OID),
                (STORAGE, READER, OPS_OID),
                (MG_PROD, OWNER, GROUP),
            }
            eligible = [
                e
                async for e in auth.role_eligibility_schedule_instances.list_for_scope(
                    f"/subscriptions/{SUB_PROD}", filter="asTarget()"
                )
            ]
            assert [e.member_type for e in eligible] == ["Group"]
            role = await auth.role_definitions.get_by_id(listed[0].role_definition_id)
            assert role.role_name in {"Contributor", "Reader", "Owner"}
    async with credential(cloud, RG_APP, aio=True) as cred, AioResourceClient(cred, SUB_PROD, **kw) as rm:
        assert [g.name async for g in rm.resource_groups.list()] == ["rg-web"]
