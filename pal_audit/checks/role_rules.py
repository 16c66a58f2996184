"""Role classification: does a role earn PAL credit, and can it grant access? (docs/roles.md)

Data and rules live together here so that a change in Microsoft's guidance is one reviewable diff.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from pal_audit.model import RoleDefinition

PEC_TABLE_SOURCE = (
    "Partner Center 'Azure roles and permissions for partner earned credit' "
    "(https://learn.microsoft.com/partner-center/billing/azure-roles-perms-pec): full table from the "
    "2020-05-04 copy (MicrosoftDocs/partner-center-pr.zh-cn, azure-roles-perms-pec.md), opening of the "
    "current page. Role GUIDs from the built-in roles reference "
    "(learn.microsoft.com/azure/role-based-access-control/built-in-roles). Reviewed 2026-11-27."
)


@dataclass(frozen=True)
class PecEntry:
    name: str
    eligible: bool
    # Whether the built-in role allows roleAssignments/write. Recorded so that a table role whose
    # definition could not be read is still fully classified (evidence, not a guess: built-in
    # definitions are the same in every tenant).
    privileged: bool = False


# The PEC role table, keyed by built-in role GUID (the same in every tenant; names can be renamed).
# It always wins over the permission rule: e.g. Storage Blob Data Reader has an /action but is "No",
# Virtual Machine User Login has only read control-plane actions but is "Yes".
PEC_TABLE: dict[str, PecEntry] = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": PecEntry("Owner", True, privileged=True),
    "b24988ac-6180-42a0-ab88-20f7382dd24c": PecEntry("Contributor", True),
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": PecEntry("User Access Administrator", True, privileged=True),
    "cfd33db0-3dd1-45e3-aa9d-cdbdf3b6f24e": PecEntry("Support Request Contributor", True),
    "9980e02c-c2be-4d73-94e8-173b1dc7cf3c": PecEntry("Virtual Machine Contributor", True),
    "1c0163c0-47e6-4577-8991-ea5c82e286e4": PecEntry("Virtual Machine Administrator Login", True),
    "fb879df8-f326-4884-b1cf-06f3ad86be52": PecEntry("Virtual Machine User Login", True),
    "7f951dda-4ed3-4680-a7ca-43fe172d538d": PecEntry("AcrPull", True),
    "434105ed-43f6-45c7-a02f-909b2ba83430": PecEntry("Cost Management Contributor", True),
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": PecEntry("Storage Blob Data Contributor", True),
    "f25e0fa2-a7c8-4377-a976-54943a77a395": PecEntry("Key Vault Contributor", True),
    "5d58bcaf-24a5-4b20-bdb6-eed9f69fbe4c": PecEntry("Management Group Contributor", True),
    "c12c1c16-33a1-487b-954d-41c89c60f349": PecEntry("Reader and Data Access", True),
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": PecEntry("Reader", False),
    "cdda3590-29a3-44f6-95f2-9f980659eb04": PecEntry("AcrQuarantineReader", False),
    "71522526-b88f-4d52-b57f-d31fc3546d0d": PecEntry("API Management Service Reader Role", False),
    "a795c7a0-d4a2-40c1-ae25-d81f01202912": PecEntry("Backup Reader", False),
    "fa23ad8b-c56e-40d8-ac0c-ce449e1d2c64": PecEntry("Billing Reader", False),  # "ac0c": the brief had "ac0f"
    "72fafb9e-0641-4937-9268-a91bfd8191a3": PecEntry("Cost Management Reader", False),
    "73c42c96-874c-492b-b04d-ab87d138a893": PecEntry("Log Analytics Reader", False),
    "43d0d8ad-25c7-4714-9337-8ba259a9fe05": PecEntry("Monitoring Reader", False),
    "39bc4728-0917-49c7-9d2c-d95423bc2eb4": PecEntry("Security Reader", False),
    "dbaa88c4-0c30-4179-9fb3-46319faa6149": PecEntry("Site Recovery Reader", False),
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": PecEntry("Storage Blob Data Reader", False),
    "ac63b705-f282-497d-ac71-919bf39d939d": PecEntry("Management Group Reader", False),
}

CustomRolePolicy = Literal["not_eligible", "by_permissions"]
Basis = Literal["pec_table", "permissions", "custom_not_eligible", "custom_by_permissions"]

ROLE_ASSIGNMENTS_WRITE = "Microsoft.Authorization/roleAssignments/write"
# ARM operations end in one of these verbs; anything but /read changes something.
_NON_READ_VERBS = ("write", "delete", "action")


@dataclass(frozen=True)
class RoleVerdict:
    eligible: bool
    privileged: bool
    basis: Basis
    explanation: str


@lru_cache(maxsize=1024)
def _pattern(pattern: str) -> re.Pattern[str]:
    # ARM wildcards: only `*`, matching any run of characters including "/"; case-insensitive.
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.IGNORECASE)


def action_matches(pattern: str, action: str) -> bool:
    """Whether an ARM permission pattern (`*`, `Microsoft.Authorization/*`, `*/read`…) allows `action`.

    `action` may itself contain `*`: the answer is then "allows every action the wildcard stands for",
    which holds when the pattern's own wildcards absorb the action's ones.
    """
    return _pattern(pattern).fullmatch(action) is not None


def _allowed(action: str, actions: Iterable[str], not_actions: Iterable[str]) -> bool:
    return any(action_matches(a, action) for a in actions) and not any(
        action_matches(n, action) for n in not_actions
    )


def _non_read_witnesses(pattern: str) -> list[str]:
    """Non-read operations (possibly wildcarded) that `pattern` grants; empty for read-only patterns."""
    p = pattern.strip()
    if p.lower().endswith("/read"):
        return []
    if p.endswith("*"):  # `*`, `Microsoft.Support/*`: try each non-read verb under it
        return [f"{p}/{verb}" for verb in _NON_READ_VERBS]
    return [p]


def non_read_action(role: RoleDefinition) -> str | None:
    """A control-plane non-read operation the role's effective actions grant, or None (read-only).

    Effective = actions minus notActions; dataActions never count (docs/roles.md).
    """
    for pattern in role.actions:
        for witness in _non_read_witnesses(pattern):
            if not any(action_matches(n, witness) for n in role.not_actions):
                return witness
    return None


def is_privileged(role: RoleDefinition | None) -> bool:
    """Can this role grant access? True when its effective actions allow roleAssignments/write."""
    if role is None:
        return False
    return _allowed(ROLE_ASSIGNMENTS_WRITE, role.actions, role.not_actions)


def _by_permissions(role: RoleDefinition) -> tuple[bool, str]:
    witness = non_read_action(role)
    if witness is None:
        return False, "its control-plane actions are read-only (dataActions do not count)"
    return True, f"its control-plane actions include a non-read operation ({witness})"


def classify_by_id(role_id: str, role: RoleDefinition | None,
                   custom_roles: CustomRolePolicy = "not_eligible") -> RoleVerdict | None:
    """The verdict on an assigned role, or None when it cannot be known.

    `role` is None when its definition could not be read. A role in the PEC table is then still
    classified from the table (eligibility and privilege are recorded there); any other role is
    unknown, and a check that needs it must leave its finding undecided.
    """
    if role is not None:
        return classify(role, custom_roles)
    entry = PEC_TABLE.get(role_id.lower())
    if entry is None:
        return None
    verdict = "PAL-eligible" if entry.eligible else "not PAL-eligible"
    return RoleVerdict(entry.eligible, entry.privileged, "pec_table",
                       f"{entry.name} is {verdict} per the PEC role table")


def classify(role: RoleDefinition, custom_roles: CustomRolePolicy = "not_eligible") -> RoleVerdict:
    """Is `role` PAL-eligible (earns credit) and privileged (can grant access)?  docs/roles.md."""
    privileged = is_privileged(role)
    entry = PEC_TABLE.get(role.role_id.lower()) if not role.is_custom else None
    if entry is not None:
        verdict = "PAL-eligible" if entry.eligible else "not PAL-eligible"
        return RoleVerdict(entry.eligible, privileged, "pec_table",
                           f"{role.name} is {verdict} per the PEC role table")
    if not role.is_custom:
        eligible, why = _by_permissions(role)
        verdict = "PAL-eligible" if eligible else "not PAL-eligible"
        return RoleVerdict(eligible, privileged, "permissions",
                           f"{role.name} is a built-in role missing from the PEC table, classified by its "
                           f"permissions: {verdict}, {why}")
    if custom_roles == "by_permissions":
        eligible, why = _by_permissions(role)
        verdict = "PAL-eligible" if eligible else "not PAL-eligible"
        return RoleVerdict(eligible, privileged, "custom_by_permissions",
                           f"{role.name} is a custom role classified by its permissions "
                           f"(policy custom_roles: by_permissions): {verdict}, {why}")
    return RoleVerdict(False, privileged, "custom_not_eligible",
                       f"{role.name} is a custom role: not PAL-eligible by default policy (Microsoft "
                       "documents only built-in roles as earning credit; policy custom_roles: by_permissions "
                       "changes this)")
