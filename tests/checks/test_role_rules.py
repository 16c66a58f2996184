import pytest

from pal_audit.checks.role_rules import (
    PEC_TABLE,
    PEC_TABLE_SOURCE,
    action_matches,
    classify,
    classify_by_id,
    is_privileged,
)
from pal_audit.model import RoleDefinition

OWNER = RoleDefinition("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", False, ("*",))
CONTRIBUTOR = RoleDefinition(
    "b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor", False, ("*",),
    ("Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
     "Microsoft.Authorization/elevateAccess/Action", "Microsoft.Subscription/cancel/action"))
READER = RoleDefinition("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", False, ("*/read",))
UAA = RoleDefinition("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "User Access Administrator", False,
                     ("*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"))
RBAC_ADMIN = RoleDefinition(
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168", "Role Based Access Control Administrator", False,
    ("Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete",
     "*/read", "Microsoft.Support/*"))
SRC = RoleDefinition("cfd33db0-3dd1-45e3-aa9d-cdbdf3b6f24e", "Support Request Contributor", False,
                     ("Microsoft.Authorization/*/read",
                      "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"))
BLOB_READER = RoleDefinition(
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "Storage Blob Data Reader", False,
    ("Microsoft.Storage/storageAccounts/blobServices/containers/read",
     "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"),
    data_actions=("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",))
VM_USER_LOGIN = RoleDefinition(
    "fb879df8-f326-4884-b1cf-06f3ad86be52", "Virtual Machine User Login", False,
    ("Microsoft.Network/publicIPAddresses/read", "Microsoft.Compute/virtualMachines/*/read"),
    data_actions=("Microsoft.Compute/virtualMachines/login/action",))


def builtin(name: str, actions=(), not_actions=(), data_actions=()) -> RoleDefinition:
    # A built-in role missing from the PEC table (an invented GUID no table row uses).
    return RoleDefinition("0f0e0d0c-0b0a-4909-8807-060504030201", name, False,
                          tuple(actions), tuple(not_actions), tuple(data_actions))


def custom(actions=(), not_actions=(), data_actions=()) -> RoleDefinition:
    return RoleDefinition("7e1d2c3b-4a59-4687-9a0b-1c2d3e4f5a6b", "Contoso Ops", True,
                          tuple(actions), tuple(not_actions), tuple(data_actions))


@pytest.mark.parametrize("role, eligible", [
    (OWNER, True), (CONTRIBUTOR, True), (UAA, True), (SRC, True), (READER, False),
])
def test_table_roles_follow_the_pec_table(role, eligible):
    verdict = classify(role)
    assert (verdict.eligible, verdict.basis) == (eligible, "pec_table")
    assert role.name in verdict.explanation and "PEC role table" in verdict.explanation


def test_table_wins_over_permissions_both_ways():
    # Storage Blob Data Reader carries an /action but the table says No ...
    assert not classify(BLOB_READER).eligible
    # ... and VM User Login has read-only control-plane actions but the table says Yes.
    assert classify(VM_USER_LOGIN).eligible


def test_table_is_keyed_by_guid_not_by_display_name():
    renamed = RoleDefinition(READER.role_id.upper(), "Reader (renamed)", False, ("*/read",))
    assert classify(renamed).basis == "pec_table"
    assert not classify(renamed).eligible
    impostor = builtin("Owner", actions=["*/read"])
    assert classify(impostor).basis == "permissions" and not classify(impostor).eligible


def test_every_table_row_has_a_guid_and_the_source_is_dated():
    assert len(PEC_TABLE) >= 25
    assert all(len(guid) == 36 and guid == guid.lower() for guid in PEC_TABLE)
    assert "azure-roles-perms-pec" in PEC_TABLE_SOURCE and "2026" in PEC_TABLE_SOURCE


def test_builtin_outside_the_table_is_classified_by_permissions():
    verdict = classify(RBAC_ADMIN)
    assert (verdict.eligible, verdict.basis) == (True, "permissions")
    assert "classified by its permissions" in verdict.explanation


def test_read_only_builtin_outside_the_table_is_not_eligible():
    verdict = classify(builtin("Some Reader", actions=["Microsoft.Insights/*/read", "*/read"]))
    assert (verdict.eligible, verdict.basis) == (False, "permissions")


def test_data_actions_never_count():
    role = builtin("Data Writer", actions=["Microsoft.Storage/*/read"],
                   data_actions=["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"])
    assert not classify(role).eligible


def test_not_actions_remove_writes_even_when_split_across_rules():
    role = builtin("Hollow", actions=["Microsoft.Web/*"],
                   not_actions=["Microsoft.Web/*/write", "Microsoft.Web/*/delete", "Microsoft.Web/*/action"])
    assert not classify(role).eligible
    partly = builtin("Partly", actions=["Microsoft.Web/*"], not_actions=["Microsoft.Web/*/write"])
    assert classify(partly).eligible


def test_custom_roles_are_not_eligible_by_default_and_say_why():
    verdict = classify(custom(actions=["*"]))
    assert (verdict.eligible, verdict.basis) == (False, "custom_not_eligible")
    assert "custom role" in verdict.explanation and "default policy" in verdict.explanation


def test_custom_roles_by_permissions_policy():
    writer = classify(custom(actions=["Microsoft.Compute/virtualMachines/restart/action"]), "by_permissions")
    reader = classify(custom(actions=["Microsoft.Compute/*/read"]), "by_permissions")
    assert (writer.eligible, writer.basis) == (True, "custom_by_permissions")
    assert (reader.eligible, reader.basis) == (False, "custom_by_permissions")


def test_unreadable_definition_is_unknown_unless_in_the_table():
    # Was classify(None) -> "not eligible": a transient failure then changed findings.
    assert classify_by_id("0c0c0c0c-0000-4000-8000-000000000001", None) is None
    owner = classify_by_id(OWNER.role_id.upper(), None)
    assert owner is not None and (owner.eligible, owner.privileged, owner.basis) == (True, True, "pec_table")
    reader = classify_by_id(READER.role_id, None)
    assert reader is not None and (reader.eligible, reader.privileged) == (False, False)


def test_table_privilege_matches_the_real_definitions():
    # The table's `privileged` stands in for an unreadable definition, so it must equal what the
    # real built-in definition (as armsim serves it) says.
    from armsim.builtin_roles import BUILTIN_BY_ID

    checked = 0
    for role_id, entry in PEC_TABLE.items():
        served = BUILTIN_BY_ID.get(role_id)
        if served is None:
            continue
        definition = RoleDefinition(role_id, served.name, False, served.actions, served.not_actions)
        assert entry.privileged == is_privileged(definition), entry.name
        assert entry.name == served.name
        checked += 1
    assert checked >= 6


@pytest.mark.parametrize("role, privileged", [
    (OWNER, True), (UAA, True), (RBAC_ADMIN, True),
    (CONTRIBUTOR, False), (READER, False), (SRC, False),
    (custom(actions=["*"]), True), (custom(actions=["Microsoft.Authorization/*"]), True),
    (custom(actions=["*/write"]), True),
    (custom(actions=["microsoft.authorization/roleassignments/*"]), True),
    (custom(actions=["*"], not_actions=["Microsoft.Authorization/roleAssignments/*"]), False),
    (custom(actions=["Microsoft.Authorization/*/read"]), False),
])
def test_privileged_means_can_write_role_assignments(role, privileged):
    assert is_privileged(role) is privileged
    assert classify(role).privileged is privileged


def test_custom_privileged_role_is_privileged_even_when_not_eligible():
    verdict = classify(custom(actions=["*"]))
    assert verdict.privileged and not verdict.eligible


@pytest.mark.parametrize("pattern, action, matches", [
    ("*", "Microsoft.Compute/virtualMachines/write", True),
    ("*/read", "Microsoft.Compute/virtualMachines/read", True),
    ("*/read", "Microsoft.Compute/virtualMachines/write", False),
    ("Microsoft.Authorization/*/Write", "microsoft.authorization/roleAssignments/write", True),
    ("Microsoft.Compute/*", "Microsoft.ComputeX/foo/write", False),
    ("Microsoft.Web/sites/*", "Microsoft.Web/sites/config/write", True),
    ("Microsoft.Web/sites/[a]", "Microsoft.Web/sites/a", False),  # no fnmatch character classes in ARM
])
def test_wildcard_matching(pattern, action, matches):
    assert action_matches(pattern, action) is matches
