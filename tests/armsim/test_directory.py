"""The RBAC model under the ARM routes: wildcard actions, scope ancestry, filters."""

from __future__ import annotations

import pytest
from armsim_support import ESTATE_FILE, FABRIKAM, OPS_OID, SUB_PROD

from armsim import load_estate
from armsim.builtin_roles import BUILTIN_BY_NAME
from armsim.directory import (
    AssignmentFilter,
    FilterError,
    TenantView,
    parse_assignment_filter,
    parse_role_definition_filter,
    parse_scope,
)

WRITE_ASSIGNMENTS = "Microsoft.Authorization/roleAssignments/write"


@pytest.mark.parametrize(
    ("role", "action", "allowed"),
    [
        ("Owner", WRITE_ASSIGNMENTS, True),
        ("Contributor", WRITE_ASSIGNMENTS, False),  # notActions Microsoft.Authorization/*/Write
        ("Contributor", "Microsoft.Compute/virtualMachines/write", True),
        ("User Access Administrator", WRITE_ASSIGNMENTS, True),
        ("Role Based Access Control Administrator", WRITE_ASSIGNMENTS, True),
        ("Reader", "microsoft.authorization/roleassignments/read", True),  # case-insensitive
        ("Reader", "Microsoft.Compute/virtualMachines/write", False),
        ("Virtual Machine Contributor", "Microsoft.Authorization/roleAssignments/read", True),
        ("Storage Blob Data Reader", "Microsoft.Authorization/roleAssignments/read", False),
        ("Cost Management Reader", "Microsoft.Resources/subscriptions/resourceGroups/read", True),
    ],
)
def test_effective_actions(role: str, action: str, allowed: bool) -> None:
    assert BUILTIN_BY_NAME[role.lower()].allows(action) is allowed


@pytest.fixture(scope="module")
def fabrikam() -> TenantView:
    return TenantView(load_estate(ESTATE_FILE).tenants[0])


def test_ancestry_from_a_resource_up_to_the_root(fabrikam: TenantView) -> None:
    resource = (
        f"/subscriptions/{SUB_PROD}/resourcegroups/rg-data/providers/microsoft.storage/storageaccounts/st1"
    )
    assert fabrikam.ancestors(resource) == (
        resource,
        f"/subscriptions/{SUB_PROD}/resourcegroups/rg-data",
        f"/subscriptions/{SUB_PROD}",
        "/providers/microsoft.management/managementgroups/mg-child",
        "/providers/microsoft.management/managementgroups/mg-prod",
        f"/providers/microsoft.management/managementgroups/{FABRIKAM}",
        "/",
    )


def test_group_membership_is_transitive(fabrikam: TenantView) -> None:
    assert fabrikam.identities_of(OPS_OID) == {
        OPS_OID,
        "9b000000-0000-0000-0000-0000000000a1",
        "9b000000-0000-0000-0000-0000000000a0",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, AssignmentFilter()),
        ("atScope()", AssignmentFilter(at_scope=True)),
        (f"assignedTo('{OPS_OID}')", AssignmentFilter(assigned_to=OPS_OID)),
        (
            f"atScope() and assignedTo('{OPS_OID.upper()}')",
            AssignmentFilter(at_scope=True, assigned_to=OPS_OID),
        ),
        (f"principalId eq '{OPS_OID}'", AssignmentFilter(principal_id=OPS_OID)),
        (f"principalId  eq {OPS_OID}", AssignmentFilter(principal_id=OPS_OID)),
        ("asTarget()", AssignmentFilter(as_target=True)),
    ],
)
def test_assignment_filters(text: str | None, expected: AssignmentFilter) -> None:
    assert parse_assignment_filter(text) == expected


@pytest.mark.parametrize(
    "text",
    ["roleName eq 'Owner'", "assignedTo(someone)", f"assignedTo('{OPS_OID}') and principalId eq '{OPS_OID}'"],
)
def test_unsupported_filters(text: str) -> None:
    with pytest.raises(FilterError):
        parse_assignment_filter(text)


def test_role_definition_filters() -> None:
    f = parse_role_definition_filter("type eq 'BuiltInRole' and roleName eq 'Virtual Machine Contributor'")
    assert (f.role_type, f.role_name) == ("BuiltInRole", "Virtual Machine Contributor")
    with pytest.raises(FilterError):
        parse_role_definition_filter("type eq 'Mystery'")


@pytest.mark.parametrize(
    ("prefix", "kind"),
    [
        ("", "root"),
        ("/providers/Microsoft.Management/managementGroups/mg-prod", "management_group"),
        (f"/subscriptions/{SUB_PROD}", "subscription"),
        (f"/SUBSCRIPTIONS/{SUB_PROD}/resourcegroups/rg-web", "resource_group"),
        (
            f"/subscriptions/{SUB_PROD}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/vm1",
            "resource",
        ),
    ],
)
def test_scopes_in_paths(prefix: str, kind: str) -> None:
    scope = parse_scope(prefix)
    assert scope is not None and scope.kind == kind


@pytest.mark.parametrize("prefix", ["/subscriptions", "/resourceGroups/x", "/subscriptions/x/foo/bar"])
def test_not_scopes(prefix: str) -> None:
    assert parse_scope(prefix) is None
