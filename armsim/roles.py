"""Built-in Azure role definitions (real GUIDs and permissions) and action matching.

Source: MicrosoftDocs/azure-docs `articles/role-based-access-control/built-in-roles/*.md` (the JSON
blocks), as summarised in azure-wire.md §4.4. Built-in roles are the same in every tenant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Role:
    role_id: str  # bare GUID, lower case
    name: str
    builtin: bool
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()
    description: str = ""
    assignable_scopes: tuple[str, ...] = ("/",)

    def allows(self, action: str) -> bool:
        """Whether the role's effective control-plane actions (actions minus notActions) cover `action`."""
        return any(_pattern(a).fullmatch(action) for a in self.actions) and not any(
            _pattern(n).fullmatch(action) for n in self.not_actions
        )


@lru_cache(maxsize=4096)
def _pattern(wildcard: str) -> re.Pattern[str]:
    # ARM wildcards: `*` matches any run of characters (slashes included), case-insensitively.
    return re.compile(".*".join(re.escape(p) for p in wildcard.split("*")), re.IGNORECASE)


_STORAGE_BLOB = "Microsoft.Storage/storageAccounts/blobServices"

BUILTIN_ROLES: tuple[Role, ...] = (
    Role(
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        "Owner",
        True,
        ("*",),
        description="Grants full access to manage all resources, including the ability to assign roles "
        "in Azure RBAC.",
    ),
    Role(
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "Contributor",
        True,
        ("*",),
        (
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
            "Microsoft.Purview/consents/write",
            "Microsoft.Purview/consents/delete",
            "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
            "Microsoft.Subscription/cancel/action",
            "Microsoft.Subscription/enable/action",
        ),
        description="Grants full access to manage all resources, but does not allow you to assign roles "
        "in Azure RBAC.",
    ),
    Role(
        "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        "Reader",
        True,
        ("*/read",),
        description="View all resources, but does not allow you to make any changes.",
    ),
    Role(
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        "User Access Administrator",
        True,
        ("*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"),
        description="Lets you manage user access to Azure resources.",
    ),
    Role(
        "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
        "Role Based Access Control Administrator",
        True,
        (
            "Microsoft.Authorization/roleAssignments/write",
            "Microsoft.Authorization/roleAssignments/delete",
            "*/read",
            "Microsoft.Support/*",
        ),
        description="Manage access to Azure resources by assigning roles using Azure RBAC.",
    ),
    Role(
        "9980e02c-c2be-4d73-94e8-173b1dc7cf3c",
        "Virtual Machine Contributor",
        True,
        (
            "Microsoft.Authorization/*/read",
            "Microsoft.Compute/availabilitySets/*",
            "Microsoft.Compute/locations/*",
            "Microsoft.Compute/virtualMachines/*",
            "Microsoft.Compute/virtualMachineScaleSets/*",
            "Microsoft.Compute/disks/write",
            "Microsoft.Compute/disks/read",
            "Microsoft.Compute/disks/delete",
            "Microsoft.DevTestLab/schedules/*",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Network/applicationGateways/backendAddressPools/join/action",
            "Microsoft.Network/loadBalancers/backendAddressPools/join/action",
            "Microsoft.Network/loadBalancers/inboundNatPools/join/action",
            "Microsoft.Network/loadBalancers/inboundNatRules/join/action",
            "Microsoft.Network/loadBalancers/probes/join/action",
            "Microsoft.Network/loadBalancers/read",
            "Microsoft.Network/locations/*",
            "Microsoft.Network/networkInterfaces/*",
            "Microsoft.Network/networkSecurityGroups/join/action",
            "Microsoft.Network/networkSecurityGroups/read",
            "Microsoft.Network/publicIPAddresses/join/action",
            "Microsoft.Network/publicIPAddresses/read",
            "Microsoft.Network/virtualNetworks/read",
            "Microsoft.Network/virtualNetworks/subnets/join/action",
            "Microsoft.RecoveryServices/locations/*",
            "Microsoft.RecoveryServices/Vaults/backupFabrics/backupProtectionIntent/write",
            "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/*/read",
            "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/read",
            "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/write",
            "Microsoft.RecoveryServices/Vaults/backupPolicies/read",
            "Microsoft.RecoveryServices/Vaults/backupPolicies/write",
            "Microsoft.RecoveryServices/Vaults/read",
            "Microsoft.RecoveryServices/Vaults/usages/read",
            "Microsoft.RecoveryServices/Vaults/write",
            "Microsoft.ResourceHealth/availabilityStatuses/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.SqlVirtualMachine/*",
            "Microsoft.Storage/storageAccounts/listKeys/action",
            "Microsoft.Storage/storageAccounts/read",
            "Microsoft.Support/*",
        ),
        description="Lets you manage virtual machines, but not access to them, and not the virtual network "
        "or storage account they're connected to.",
    ),
    Role(
        "cfd33db0-3dd1-45e3-aa9d-cdbdf3b6f24e",
        "Support Request Contributor",
        True,
        (
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Support/*",
        ),
        description="Lets you create and manage Support requests",
    ),
    Role(
        "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
        "Storage Blob Data Reader",
        True,
        (
            f"{_STORAGE_BLOB}/containers/read",
            f"{_STORAGE_BLOB}/generateUserDelegationKey/action",
        ),
        data_actions=(f"{_STORAGE_BLOB}/containers/blobs/read",),
        description="Allows for read access to Azure Storage blob containers and data",
    ),
    Role(
        "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
        "Storage Blob Data Contributor",
        True,
        (
            f"{_STORAGE_BLOB}/containers/delete",
            f"{_STORAGE_BLOB}/containers/read",
            f"{_STORAGE_BLOB}/containers/write",
            f"{_STORAGE_BLOB}/generateUserDelegationKey/action",
        ),
        data_actions=(
            f"{_STORAGE_BLOB}/containers/blobs/delete",
            f"{_STORAGE_BLOB}/containers/blobs/read",
            f"{_STORAGE_BLOB}/containers/blobs/write",
            f"{_STORAGE_BLOB}/containers/blobs/move/action",
            f"{_STORAGE_BLOB}/containers/blobs/add/action",
        ),
        description="Allows for read, write and delete access to Azure Storage blob containers and data",
    ),
    Role(
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        "Storage Blob Data Owner",
        True,
        (
            f"{_STORAGE_BLOB}/containers/*",
            f"{_STORAGE_BLOB}/generateUserDelegationKey/action",
        ),
        data_actions=(f"{_STORAGE_BLOB}/containers/blobs/*",),
        description="Allows for full access to Azure Storage blob containers and data, including assigning "
        "POSIX access control.",
    ),
    Role(
        "fa23ad8b-c56e-40d8-ac0c-ce449e1d2c64",
        "Billing Reader",
        True,
        (
            "Microsoft.Authorization/*/read",
            "Microsoft.Billing/*/read",
            "Microsoft.Commerce/*/read",
            "Microsoft.Consumption/*/read",
            "Microsoft.Management/managementGroups/read",
            "Microsoft.CostManagement/*/read",
            "Microsoft.Support/*",
        ),
        description="Allows read access to billing data",
    ),
    Role(
        "72fafb9e-0641-4937-9268-a91bfd8191a3",
        "Cost Management Reader",
        True,
        (
            "Microsoft.Consumption/*/read",
            "Microsoft.CostManagement/*/read",
            "Microsoft.Billing/billingPeriods/read",
            "Microsoft.Resources/subscriptions/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Support/*",
            "Microsoft.Advisor/configurations/read",
            "Microsoft.Advisor/recommendations/read",
            "Microsoft.Management/managementGroups/read",
            "Microsoft.Billing/billingProperty/read",
        ),
        description="Can view cost data and configuration (e.g. budgets, exports)",
    ),
    Role(
        "434105ed-43f6-45c7-a02f-909b2ba83430",
        "Cost Management Contributor",
        True,
        (
            "Microsoft.Consumption/*",
            "Microsoft.CostManagement/*",
            "Microsoft.Billing/billingPeriods/read",
            "Microsoft.Resources/subscriptions/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Support/*",
            "Microsoft.Advisor/configurations/read",
            "Microsoft.Advisor/recommendations/read",
            "Microsoft.Management/managementGroups/read",
            "Microsoft.Billing/billingProperty/read",
        ),
        description="Can view costs and manage cost configuration (e.g. budgets, exports)",
    ),
)

BUILTIN_BY_ID: dict[str, Role] = {r.role_id: r for r in BUILTIN_ROLES}
BUILTIN_BY_NAME: dict[str, Role] = {r.name.lower(): r for r in BUILTIN_ROLES}
