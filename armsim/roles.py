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

_AUTHZ_READ = "Microsoft.Authorization/*/read"
_RG_READ = "Microsoft.Resources/subscriptions/resourceGroups/read"
_DEPLOYMENTS = "Microsoft.Resources/deployments/*"
_ALERT_RULES = "Microsoft.Insights/alertRules/*"
_SUPPORT = "Microsoft.Support/*"
_MANAGE_COMMON = (_AUTHZ_READ, _ALERT_RULES, _DEPLOYMENTS, _RG_READ, _SUPPORT)
_VM_LOGIN_READS = (
    "Microsoft.Network/publicIPAddresses/read",
    "Microsoft.Network/virtualNetworks/read",
    "Microsoft.Network/loadBalancers/read",
    "Microsoft.Network/networkInterfaces/read",
    "Microsoft.Compute/virtualMachines/*/read",
    "Microsoft.HybridCompute/machines/*/read",
    "Microsoft.HybridConnectivity/endpoints/listCredentials/action",
)
_KV_READS = (
    _AUTHZ_READ,
    _ALERT_RULES,
    _DEPLOYMENTS,
    _RG_READ,
    _SUPPORT,
    "Microsoft.KeyVault/checkNameAvailability/read",
    "Microsoft.KeyVault/deletedVaults/read",
    "Microsoft.KeyVault/locations/*/read",
    "Microsoft.KeyVault/vaults/*/read",
    "Microsoft.KeyVault/operations/read",
)


def _role(
    role_id: str,
    name: str,
    description: str,
    actions: tuple[str, ...] = (),
    not_actions: tuple[str, ...] = (),
    data_actions: tuple[str, ...] = (),
    not_data_actions: tuple[str, ...] = (),
) -> Role:
    return Role(role_id, name, True, actions, not_actions, data_actions, not_data_actions, description)


# The rest of the PEC table and further built-ins partners commonly hold, so that role-definition
# listing pages at armsim's page size. GUIDs, names and permissions as Azure's built-in roles
# reference gives them (reviewed 2026-11).
MORE_BUILTIN_ROLES: tuple[Role, ...] = (
    _role(
        "1c0163c0-47e6-4577-8991-ea5c82e286e4",
        "Virtual Machine Administrator Login",
        "View Virtual Machines in the portal and login as administrator",
        _VM_LOGIN_READS,
        data_actions=(
            "Microsoft.Compute/virtualMachines/login/action",
            "Microsoft.Compute/virtualMachines/loginAsAdmin/action",
            "Microsoft.HybridCompute/machines/login/action",
            "Microsoft.HybridCompute/machines/loginAsAdmin/action",
        ),
    ),
    _role(
        "fb879df8-f326-4884-b1cf-06f3ad86be52",
        "Virtual Machine User Login",
        "View Virtual Machines in the portal and login as a regular user.",
        _VM_LOGIN_READS,
        data_actions=(
            "Microsoft.Compute/virtualMachines/login/action",
            "Microsoft.HybridCompute/machines/login/action",
        ),
    ),
    _role(
        "7f951dda-4ed3-4680-a7ca-43fe172d538d",
        "AcrPull",
        "acr pull",
        ("Microsoft.ContainerRegistry/registries/pull/read",),
    ),
    _role(
        "8311e382-0749-4cb8-b61a-304f252e45ec",
        "AcrPush",
        "acr push",
        (
            "Microsoft.ContainerRegistry/registries/pull/read",
            "Microsoft.ContainerRegistry/registries/push/write",
        ),
    ),
    _role(
        "c2f4ef07-c644-48eb-af81-4b1b4947fb11",
        "AcrDelete",
        "acr delete",
        ("Microsoft.ContainerRegistry/registries/artifacts/delete",),
    ),
    _role(
        "cdda3590-29a3-44f6-95f2-9f980659eb04",
        "AcrQuarantineReader",
        "acr quarantine data reader",
        ("Microsoft.ContainerRegistry/registries/quarantine/read",),
        data_actions=("Microsoft.ContainerRegistry/registries/quarantinedArtifacts/read",),
    ),
    _role(
        "c8d4ff99-41c3-41a8-9f60-21dfdad59608",
        "AcrQuarantineWriter",
        "acr quarantine data writer",
        (
            "Microsoft.ContainerRegistry/registries/quarantine/read",
            "Microsoft.ContainerRegistry/registries/quarantine/write",
        ),
        data_actions=(
            "Microsoft.ContainerRegistry/registries/quarantinedArtifacts/read",
            "Microsoft.ContainerRegistry/registries/quarantinedArtifacts/write",
        ),
    ),
    _role(
        "f25e0fa2-a7c8-4377-a976-54943a77a395",
        "Key Vault Contributor",
        "Lets you manage key vaults, but not access to them.",
        (_AUTHZ_READ, _ALERT_RULES, "Microsoft.KeyVault/*", _DEPLOYMENTS, _RG_READ, _SUPPORT),
        (
            "Microsoft.KeyVault/locations/deletedVaults/purge/action",
            "Microsoft.KeyVault/hsmPools/*",
            "Microsoft.KeyVault/managedHsms/*",
        ),
    ),
    _role(
        "00482a5a-887f-4fb3-b363-3b7fe8e74483",
        "Key Vault Administrator",
        "Perform all data plane operations on a key vault and all objects in it, including "
        "certificates, keys, and secrets. Cannot manage key vault resources or manage role assignments. "
        "Only works for key vaults that use the 'Azure role-based access control' permission model.",
        _KV_READS,
        data_actions=("Microsoft.KeyVault/vaults/*",),
    ),
    _role(
        "21090545-7ca7-4776-b22c-e363652d74d2",
        "Key Vault Reader",
        "Read metadata of key vaults and its certificates, keys, and secrets. Cannot read sensitive "
        "values such as secret contents or key material. Only works for key vaults that use the "
        "'Azure role-based access control' permission model.",
        _KV_READS,
        data_actions=(
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        ),
    ),
    _role(
        "4633458b-17de-408a-b874-0445c86b69e6",
        "Key Vault Secrets User",
        "Read secret contents. Only works for key vaults that use the 'Azure role-based access "
        "control' permission model.",
        data_actions=(
            "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        ),
    ),
    _role(
        "5d58bcaf-24a5-4b20-bdb6-eed9f69fbe4c",
        "Management Group Contributor",
        "Management Group Contributor Role",
        (
            "Microsoft.Management/managementGroups/delete",
            "Microsoft.Management/managementGroups/read",
            "Microsoft.Management/managementGroups/subscriptions/delete",
            "Microsoft.Management/managementGroups/subscriptions/write",
            "Microsoft.Management/managementGroups/write",
            "Microsoft.Management/managementGroups/subscriptions/read",
            _AUTHZ_READ,
        ),
    ),
    _role(
        "ac63b705-f282-497d-ac71-919bf39d939d",
        "Management Group Reader",
        "Management Group Reader Role",
        (
            "Microsoft.Management/managementGroups/read",
            "Microsoft.Management/managementGroups/subscriptions/read",
            _AUTHZ_READ,
        ),
    ),
    _role(
        "c12c1c16-33a1-487b-954d-41c89c60f349",
        "Reader and Data Access",
        "Lets you view everything but will not let you delete or create a storage account or contained "
        "resource. It will also allow read/write access to all data contained in a storage account via "
        "access to storage account keys.",
        (
            "Microsoft.Storage/storageAccounts/listKeys/action",
            "Microsoft.Storage/storageAccounts/ListAccountSas/action",
            "Microsoft.Storage/storageAccounts/read",
        ),
    ),
    _role(
        "71522526-b88f-4d52-b57f-d31fc3546d0d",
        "API Management Service Reader Role",
        "Read-only access to service and APIs",
        (
            "Microsoft.ApiManagement/service/*/read",
            "Microsoft.ApiManagement/service/read",
            _AUTHZ_READ,
            _ALERT_RULES,
            "Microsoft.ResourceHealth/availabilityStatuses/read",
            _DEPLOYMENTS,
            _RG_READ,
            _SUPPORT,
        ),
        ("Microsoft.ApiManagement/service/users/keys/read",),
    ),
    _role(
        "a795c7a0-d4a2-40c1-ae25-d81f01202912",
        "Backup Reader",
        "Can view backup services, but can't make changes",
        # The leading part of the role's long list (reads of Recovery Services vaults), then its
        # three non-read operations, so that permission-based checks see what they would in Azure.
        (
            _AUTHZ_READ,
            "Microsoft.RecoveryServices/locations/allocatedStamp/read",
            "Microsoft.RecoveryServices/Vaults/backupFabrics/operationResults/read",
            "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/operationResults/read",
            "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/read",
            "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/read",
            "Microsoft.RecoveryServices/Vaults/backupJobs/operationResults/read",
            "Microsoft.RecoveryServices/locations/backupStatus/action",
            "Microsoft.RecoveryServices/Vaults/monitoringConfigurations/*",
            "Microsoft.RecoveryServices/Vaults/monitoringAlerts/write",
            "Microsoft.RecoveryServices/operations/read",
            "Microsoft.RecoveryServices/locations/operationStatus/read",
            "Microsoft.RecoveryServices/Vaults/backupProtectionIntents/read",
            "Microsoft.RecoveryServices/Vaults/usages/read",
            "Microsoft.RecoveryServices/locations/backupValidateFeatures/action",
        ),
    ),
    _role(
        "dbaa88c4-0c30-4179-9fb3-46319faa6149",
        "Site Recovery Reader",
        "Lets you view Site Recovery status but not perform other management operations",
        (
            _AUTHZ_READ,
            "Microsoft.Insights/alertRules/read",
            "Microsoft.RecoveryServices/locations/allocatedStamp/read",
            "Microsoft.RecoveryServices/Vaults/extendedInformation/read",
            "Microsoft.RecoveryServices/Vaults/monitoringAlerts/read",
            "Microsoft.RecoveryServices/Vaults/read",
            "Microsoft.RecoveryServices/Vaults/replicationAlertSettings/read",
            "Microsoft.RecoveryServices/Vaults/replicationEvents/read",
            "Microsoft.RecoveryServices/Vaults/replicationFabrics/read",
            "Microsoft.RecoveryServices/Vaults/replicationJobs/read",
            "Microsoft.RecoveryServices/Vaults/replicationPolicies/read",
            "Microsoft.RecoveryServices/Vaults/replicationRecoveryPlans/read",
            "Microsoft.RecoveryServices/Vaults/usages/read",
            _RG_READ,
            "Microsoft.Storage/storageAccounts/read",
            "Microsoft.Support/*",
        ),
    ),
    _role(
        "73c42c96-874c-492b-b04d-ab87d138a893",
        "Log Analytics Reader",
        "Log Analytics Reader can view and search all monitoring data as well as and view monitoring "
        "settings, including viewing the configuration of Azure diagnostics on all Azure resources.",
        (
            "*/read",
            "Microsoft.OperationalInsights/workspaces/analytics/query/action",
            "Microsoft.OperationalInsights/workspaces/search/action",
            _SUPPORT,
        ),
        ("Microsoft.OperationalInsights/workspaces/sharedKeys/read",),
    ),
    _role(
        "92aaf0da-9dab-42b6-94a3-d43ce8d16293",
        "Log Analytics Contributor",
        "Log Analytics Contributor can read all monitoring data and edit monitoring settings.",
        (
            "*/read",
            "Microsoft.ClassicCompute/virtualMachines/extensions/*",
            "Microsoft.ClassicStorage/storageAccounts/listKeys/action",
            "Microsoft.Compute/virtualMachines/extensions/*",
            "Microsoft.HybridCompute/machines/extensions/write",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Insights/diagnosticSettings/*",
            "Microsoft.OperationalInsights/*",
            "Microsoft.OperationsManagement/*",
            _DEPLOYMENTS,
            "Microsoft.Resources/subscriptions/resourcegroups/deployments/*",
            "Microsoft.Storage/storageAccounts/listKeys/action",
            _SUPPORT,
        ),
    ),
    _role(
        "43d0d8ad-25c7-4714-9337-8ba259a9fe05",
        "Monitoring Reader",
        "Can read all monitoring data.",
        ("*/read", "Microsoft.OperationalInsights/workspaces/search/action", _SUPPORT),
    ),
    _role(
        "749f88d5-cbae-40b8-bcfc-e573ddc772fa",
        "Monitoring Contributor",
        "Can read all monitoring data and update monitoring settings.",
        (
            "*/read",
            "Microsoft.AlertsManagement/alerts/*",
            "Microsoft.AlertsManagement/alertsSummary/*",
            "Microsoft.Insights/actiongroups/*",
            "Microsoft.Insights/activityLogAlerts/*",
            "Microsoft.Insights/AlertRules/*",
            "Microsoft.Insights/components/*",
            "Microsoft.Insights/dataCollectionEndpoints/*",
            "Microsoft.Insights/dataCollectionRules/*",
            "Microsoft.Insights/dataCollectionRuleAssociations/*",
            "Microsoft.Insights/DiagnosticSettings/*",
            "Microsoft.Insights/eventtypes/*",
            "Microsoft.Insights/LogDefinitions/*",
            "Microsoft.Insights/metricalerts/*",
            "Microsoft.Insights/MetricDefinitions/*",
            "Microsoft.Insights/Metrics/*",
            "Microsoft.Insights/Register/Action",
            "Microsoft.Insights/scheduledqueryrules/*",
            "Microsoft.Insights/webtests/*",
            "Microsoft.Insights/workbooks/*",
            "Microsoft.OperationalInsights/workspaces/write",
            "Microsoft.OperationalInsights/workspaces/savedSearches/*",
            "Microsoft.OperationalInsights/workspaces/search/action",
            "Microsoft.OperationalInsights/workspaces/sharedKeys/action",
            "Microsoft.OperationalInsights/workspaces/storageinsightconfigs/*",
            _SUPPORT,
            "Microsoft.AlertsManagement/smartDetectorAlertRules/*",
            "Microsoft.AlertsManagement/actionRules/*",
            "Microsoft.AlertsManagement/smartGroups/*",
        ),
    ),
    _role(
        "39bc4728-0917-49c7-9d2c-d95423bc2eb4",
        "Security Reader",
        "View permissions for Microsoft Defender for Cloud. Can view recommendations, alerts, a security "
        "policy, and security states, but cannot make changes.",
        (
            _AUTHZ_READ,
            "Microsoft.Insights/alertRules/read",
            "Microsoft.operationalInsights/workspaces/*/read",
            "Microsoft.Resources/deployments/*/read",
            _RG_READ,
            "Microsoft.Security/*/read",
            "Microsoft.IoTSecurity/*/read",
            "Microsoft.Support/*/read",
            "Microsoft.Security/iotDefenderSettings/packageDownloads/action",
            "Microsoft.Security/iotDefenderSettings/downloadManagerActivation/action",
            "Microsoft.Security/iotSensors/downloadResetPassword/action",
            "Microsoft.IoTSecurity/defenderSettings/packageDownloads/action",
            "Microsoft.IoTSecurity/defenderSettings/downloadManagerActivation/action",
            "Microsoft.Management/managementGroups/read",
        ),
    ),
    _role(
        "fb1c8493-542b-48eb-b624-b4c8fea62acd",
        "Security Admin",
        "Security Admin Role",
        (
            _AUTHZ_READ,
            "Microsoft.Authorization/policyAssignments/*",
            "Microsoft.Authorization/policyDefinitions/*",
            "Microsoft.Authorization/policyExemptions/*",
            "Microsoft.Authorization/policySetDefinitions/*",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Management/managementGroups/read",
            "Microsoft.operationalInsights/workspaces/*/read",
            "Microsoft.Resources/deployments/*",
            _RG_READ,
            "Microsoft.Security/*",
            "Microsoft.IoTSecurity/*",
            "Microsoft.IoTFirmwareDefense/*",
            _SUPPORT,
        ),
    ),
    _role(
        "36243c78-bf99-498c-9df9-86d9f8d28608",
        "Resource Policy Contributor",
        "Users with rights to create/modify resource policy, create support ticket and read "
        "resources/hierarchy.",
        (
            "*/read",
            "Microsoft.Authorization/policyassignments/*",
            "Microsoft.Authorization/policydefinitions/*",
            "Microsoft.Authorization/policyexemptions/*",
            "Microsoft.Authorization/policysetdefinitions/*",
            "Microsoft.PolicyInsights/*",
            _SUPPORT,
        ),
    ),
    _role(
        "4d97b98b-1d4f-4787-a291-c67834d212e7",
        "Network Contributor",
        "Lets you manage networks, but not access to them.",
        (_AUTHZ_READ, _ALERT_RULES, "Microsoft.Network/*", _DEPLOYMENTS, _RG_READ, _SUPPORT),
    ),
    _role(
        "17d1049b-9a84-46fb-8f53-869881c3d3ab",
        "Storage Account Contributor",
        "Permits management of storage accounts. Provides access to the account key, which can be used "
        "to access data via Shared Key authorization.",
        (
            _AUTHZ_READ,
            "Microsoft.Insights/diagnosticSettings/*",
            "Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action",
            "Microsoft.ResourceHealth/availabilityStatuses/read",
            _DEPLOYMENTS,
            _RG_READ,
            "Microsoft.Storage/storageAccounts/*",
            _SUPPORT,
        ),
    ),
    _role(
        "19e7f393-937e-4f77-808e-94535e297925",
        "Storage Queue Data Reader",
        "Read and list Azure Storage queues and queue messages.",
        ("Microsoft.Storage/storageAccounts/queueServices/queues/read",),
        data_actions=("Microsoft.Storage/storageAccounts/queueServices/queues/messages/read",),
    ),
    _role(
        "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
        "Storage Queue Data Contributor",
        "Read, write, and delete Azure Storage queues and queue messages.",
        (
            "Microsoft.Storage/storageAccounts/queueServices/queues/delete",
            "Microsoft.Storage/storageAccounts/queueServices/queues/read",
            "Microsoft.Storage/storageAccounts/queueServices/queues/write",
        ),
        data_actions=(
            "Microsoft.Storage/storageAccounts/queueServices/queues/messages/delete",
            "Microsoft.Storage/storageAccounts/queueServices/queues/messages/read",
            "Microsoft.Storage/storageAccounts/queueServices/queues/messages/write",
            "Microsoft.Storage/storageAccounts/queueServices/queues/messages/process/action",
        ),
    ),
    _role(
        "76199698-9eea-4c19-bc75-cec21354c6b6",
        "Storage Table Data Reader",
        "Allows for read access to Azure Storage tables and entities",
        ("Microsoft.Storage/storageAccounts/tableServices/tables/read",),
        data_actions=("Microsoft.Storage/storageAccounts/tableServices/tables/entities/read",),
    ),
    _role(
        "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
        "Storage Table Data Contributor",
        "Allows for read, write and delete access to Azure Storage tables and entities",
        (
            "Microsoft.Storage/storageAccounts/tableServices/tables/read",
            "Microsoft.Storage/storageAccounts/tableServices/tables/write",
            "Microsoft.Storage/storageAccounts/tableServices/tables/delete",
        ),
        data_actions=(
            "Microsoft.Storage/storageAccounts/tableServices/tables/entities/read",
            "Microsoft.Storage/storageAccounts/tableServices/tables/entities/write",
            "Microsoft.Storage/storageAccounts/tableServices/tables/entities/delete",
            "Microsoft.Storage/storageAccounts/tableServices/tables/entities/add/action",
            "Microsoft.Storage/storageAccounts/tableServices/tables/entities/update/action",
        ),
    ),
    _role(
        "de139f84-1756-47ae-9be6-808fbbe84772",
        "Website Contributor",
        "Lets you manage websites (not web plans), but not access to them.",
        (
            _AUTHZ_READ,
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Insights/components/*",
            "Microsoft.ResourceHealth/availabilityStatuses/read",
            _DEPLOYMENTS,
            _RG_READ,
            _SUPPORT,
            "Microsoft.Web/certificates/*",
            "Microsoft.Web/listSitesAssignedToHostName/read",
            "Microsoft.Web/serverFarms/join/action",
            "Microsoft.Web/serverFarms/read",
            "Microsoft.Web/sites/*",
        ),
    ),
    _role(
        "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8",
        "Azure Kubernetes Service Cluster Admin Role",
        "List cluster admin credential action.",
        (
            "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action",
            "Microsoft.ContainerService/managedClusters/accessProfiles/listCredential/action",
            "Microsoft.ContainerService/managedClusters/read",
            "Microsoft.ContainerService/managedClusters/runcommand/action",
        ),
    ),
    _role(
        "4abbcc35-e782-43d8-92c5-2d3f1bd2253f",
        "Azure Kubernetes Service Cluster User Role",
        "List cluster user credential action.",
        (
            "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
            "Microsoft.ContainerService/managedClusters/read",
        ),
    ),
    _role(
        "91c1777a-f3dc-4fae-b103-61d183457e46",
        "Managed Services Registration assignment Delete Role",
        "Managed Services Registration Assignment Delete Role allows the managing tenant users to delete "
        "the registration assignment assigned to their tenant.",
        (
            "Microsoft.ManagedServices/registrationAssignments/read",
            "Microsoft.ManagedServices/registrationAssignments/delete",
            "Microsoft.ManagedServices/operationStatuses/read",
        ),
    ),
    _role(
        "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59",
        "Managed Identity Contributor",
        "Create, Read, Update, and Delete User Assigned Identity",
        (
            "Microsoft.ManagedIdentity/userAssignedIdentities/read",
            "Microsoft.ManagedIdentity/userAssignedIdentities/write",
            "Microsoft.ManagedIdentity/userAssignedIdentities/delete",
            "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read",
            "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
            "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/delete",
            "Microsoft.ManagedIdentity/userAssignedIdentities/revokeTokens/action",
            _AUTHZ_READ,
            "Microsoft.Insights/alertRules/*",
            _RG_READ,
            _DEPLOYMENTS,
            _SUPPORT,
        ),
    ),
    _role(
        "f1a07417-d97a-45cb-824c-7a7467783830",
        "Managed Identity Operator",
        "Read and Assign User Assigned Identity",
        (
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/read",
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
            _AUTHZ_READ,
            "Microsoft.Insights/alertRules/*",
            _RG_READ,
            _DEPLOYMENTS,
            _SUPPORT,
        ),
    ),
)

ALL_BUILTIN_ROLES: tuple[Role, ...] = (*BUILTIN_ROLES, *MORE_BUILTIN_ROLES)

BUILTIN_BY_ID: dict[str, Role] = {r.role_id: r for r in ALL_BUILTIN_ROLES}
BUILTIN_BY_NAME: dict[str, Role] = {r.name.lower(): r for r in ALL_BUILTIN_ROLES}
