// pal-audit: everything `azd up` provisions. Modelled on Microsoft's azd Functions templates
// (Azure-Samples/functions-quickstart-python-azd-timer): Flex Consumption, a user-assigned managed
// identity, keyless storage, Key Vault references for secrets, Application Insights with Entra auth.
// Resources are declared in local modules (not registry modules) so that checkov and the tests in
// tests/infra can inspect every property offline.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; hashed with the subscription and location into the resource names.')
param environmentName string

@minLength(1)
@description('Region of every resource. It must offer the Flex Consumption plan (az functionapp list-flexconsumption-locations).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the deploying user or pipeline (azd sets AZURE_PRINCIPAL_ID). It gets Key Vault Secrets Officer to store and rotate the secrets. Empty: no role.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
])
@description('Principal type of principalId.')
param principalType string = 'User'

@description('Resource group name; empty: rg-<environmentName>.')
param resourceGroupName string = ''

// ---- Flex Consumption scale ----

@minValue(1)
@maxValue(1000)
@description('Most instances the app scales out to (Flex Consumption maximumInstanceCount).')
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
@description('Memory of one instance in MB (Flex Consumption instanceMemoryMB).')
param instanceMemoryMB int = 2048

@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
  'Standard_RAGRS'
  'Standard_RAGZRS'
])
@description('Replication of the storage account that holds the host state, the queue and the Pal* tables.')
param storageSkuName string = 'Standard_ZRS'

// ---- app settings (pal_audit/settings.py declares each; defaults match it) ----

@description('PAL_AUDIT_REGISTRY: path of the registry file, relative to the app root; the file is deployed with the app package.')
param registryPath string = 'registry.yaml'

@description('PAL_AUDIT_SCHEDULE: NCRONTAB schedule of the nightly audit (UTC unless WEBSITE_TIME_ZONE is set).')
param schedule string = '0 0 2 * * *'

@minValue(1)
@maxValue(256)
@description('PAL_AUDIT_CONCURRENCY: identities audited at once within one tenant.')
param concurrency int = 8

@minValue(5)
@maxValue(3600)
@description('PAL_AUDIT_UNIT_BUDGET_SECONDS: time budget of one (tenant, identity) unit, retries included.')
param unitBudgetSeconds int = 120

@description('PAL_AUDIT_CLOUD: override of the registry cloud (AzureCloud, AzureUSGovernment, AzureChinaCloud or a JSON cloud file); empty: the registry decides.')
param cloud string = ''

@description('PAL_AUDIT_WEBHOOK_ALLOWED_HOSTS: extra webhook host names, comma separated.')
param webhookAllowedHosts string = ''

@description('PAL_AUDIT_SMTP_HOST: SMTP server for email alerts (STARTTLS); empty: no SMTP.')
param smtpHost string = ''

@minValue(1)
@maxValue(65535)
@description('PAL_AUDIT_SMTP_PORT: SMTP port.')
param smtpPort int = 587

@description('PAL_AUDIT_SMTP_USERNAME: SMTP login user.')
param smtpUsername string = ''

@description('PAL_AUDIT_EMAIL_SENDER: From address of alert mails.')
param emailSender string = ''

@description('PAL_AUDIT_EMAIL_RECIPIENTS: alert mail recipients, comma separated.')
param emailRecipients string = ''

@minValue(1)
@maxValue(100000)
@description('PAL_AUDIT_ALERT_STORM_THRESHOLD: more new findings than this in one run become one summary.')
param alertStormThreshold int = 25

@description('PAL_AUDIT_MASK_TENANT_IDS: mask tenant ids in alerts.')
param maskTenantIds bool = false

@minValue(1)
@maxValue(8760)
@description('PAL_AUDIT_STALE_AFTER_HOURS: alert when no run has succeeded for this many hours.')
param staleAfterHours int = 36

@description('PAL_AUDIT_DASHBOARD_URL: https address of the coverage dashboard, linked from alerts (empty: no link).')
param dashboardUrl string = ''

// ---- secrets: Key Vault references (store the secret first, see docs/deploy.md) ----

@description('Set PAL_AUDIT_TEAMS_WEBHOOK_URL to a Key Vault reference to the secret pal-audit-teams-webhook-url.')
param useTeamsWebhookSecret bool = false

@description('Set PAL_AUDIT_SMTP_PASSWORD to a Key Vault reference to the secret pal-audit-smtp-password.')
param useSmtpPasswordSecret bool = false

@description('Set PAL_AUDIT_ACS_CONNECTION_STRING to a Key Vault reference to the secret pal-audit-acs-connection-string.')
param useAcsConnectionStringSecret bool = false

@description('Comma-separated names of the extra secret settings the registry names (auth secret_env / certificate_env of identities that are not federated), e.g. OPS_APP_SECRET,OPS_APP_CERT_PEM. Each becomes a Key Vault reference to the secret named like the setting in lower case with hyphens (ops-app-secret).')
param registrySecretSettings string = ''

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'pal-audit'
}
var functionAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(toLower(uniqueString(functionAppName, resourceToken)), 7)}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity './app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring './app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage './app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    skuName: storageSkuName
    deploymentContainerName: deploymentContainerName
  }
}

module keyVault './app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module rbac './app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: keyVault.outputs.name
    identityPrincipalId: identity.outputs.principalId
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
  }
}

module api './app/api.bicep' = {
  name: 'api'
  scope: rg
  dependsOn: [
    rbac
  ]
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: keyVault.outputs.name
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    registryPath: registryPath
    schedule: schedule
    concurrency: concurrency
    unitBudgetSeconds: unitBudgetSeconds
    cloud: cloud
    webhookAllowedHosts: webhookAllowedHosts
    smtpHost: smtpHost
    smtpPort: smtpPort
    smtpUsername: smtpUsername
    emailSender: emailSender
    emailRecipients: emailRecipients
    alertStormThreshold: alertStormThreshold
    maskTenantIds: maskTenantIds
    staleAfterHours: staleAfterHours
    dashboardUrl: dashboardUrl
    useTeamsWebhookSecret: useTeamsWebhookSecret
    useSmtpPasswordSecret: useSmtpPasswordSecret
    useAcsConnectionStringSecret: useAcsConnectionStringSecret
    registrySecretSettings: registrySecretSettings
  }
}

// azd reads these outputs into the environment (.azure/<env>/.env); docs/onboarding.md uses them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = api.outputs.name
output AZURE_FUNCTION_NAME string = api.outputs.name
output AZURE_FUNCTION_URL string = api.outputs.url
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_ENDPOINT string = keyVault.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
