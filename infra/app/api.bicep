// The function app: Flex Consumption (FC1), Linux, Python 3.11, running as the user-assigned identity.
// Every setting pal_audit/settings.py declares is set here (tests/infra checks this); secrets are
// Key Vault references. FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION are not app
// settings on Flex Consumption: the runtime is functionAppConfig.runtime.
param name string
param planName string
param location string = resourceGroup().location
param tags object = {}
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param applicationInsightsName string
param keyVaultName string

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

param registryPath string = 'registry.yaml'
param schedule string = '0 0 2 * * *'
@minValue(1)
@maxValue(256)
param concurrency int = 8
@minValue(5)
@maxValue(3600)
param unitBudgetSeconds int = 120
param cloud string = ''
param webhookAllowedHosts string = ''
param smtpHost string = ''
@minValue(1)
@maxValue(65535)
param smtpPort int = 587
param smtpUsername string = ''
param emailSender string = ''
param emailRecipients string = ''
@minValue(1)
@maxValue(100000)
param alertStormThreshold int = 25
param maskTenantIds bool = false
@minValue(1)
@maxValue(8760)
param staleAfterHours int = 36
param dashboardUrl string = ''

param useTeamsWebhookSecret bool = false
param useSmtpPasswordSecret bool = false
param useAcsConnectionStringSecret bool = false
param registrySecretSettings string = ''

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Host storage, identity-based: no AzureWebJobsStorage connection string exists in Azure.
var hostStorageSettings = [
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identityClientId
  }
  {
    name: 'AzureWebJobsStorage__blobServiceUri'
    value: storage.properties.primaryEndpoints.blob
  }
  {
    name: 'AzureWebJobsStorage__queueServiceUri'
    value: storage.properties.primaryEndpoints.queue
  }
  {
    name: 'AzureWebJobsStorage__tableServiceUri'
    value: storage.properties.primaryEndpoints.table
  }
]

var platformSettings = [
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: applicationInsights.properties.ConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identityClientId};Authorization=AAD'
  }
  {
    // azure-identity's DefaultAzureCredential / ManagedIdentityCredential pick the user-assigned identity.
    name: 'AZURE_CLIENT_ID'
    value: identityClientId
  }
]

var palAuditSettings = [
  {
    name: 'PAL_AUDIT_REGISTRY'
    value: registryPath
  }
  {
    name: 'PAL_AUDIT_SCHEDULE'
    value: schedule
  }
  {
    name: 'PAL_AUDIT_CONCURRENCY'
    value: string(concurrency)
  }
  {
    name: 'PAL_AUDIT_UNIT_BUDGET_SECONDS'
    value: string(unitBudgetSeconds)
  }
  {
    name: 'PAL_AUDIT_CLOUD'
    value: cloud
  }
  {
    name: 'PAL_AUDIT_MANAGED_IDENTITY_CLIENT_ID'
    value: identityClientId
  }
  {
    name: 'PAL_AUDIT_WEBHOOK_ALLOWED_HOSTS'
    value: webhookAllowedHosts
  }
  {
    name: 'PAL_AUDIT_SMTP_HOST'
    value: smtpHost
  }
  {
    name: 'PAL_AUDIT_SMTP_PORT'
    value: string(smtpPort)
  }
  {
    name: 'PAL_AUDIT_SMTP_USERNAME'
    value: smtpUsername
  }
  {
    name: 'PAL_AUDIT_EMAIL_SENDER'
    value: emailSender
  }
  {
    name: 'PAL_AUDIT_EMAIL_RECIPIENTS'
    value: emailRecipients
  }
  {
    name: 'PAL_AUDIT_ALERT_STORM_THRESHOLD'
    value: string(alertStormThreshold)
  }
  {
    name: 'PAL_AUDIT_MASK_TENANT_IDS'
    value: maskTenantIds ? 'true' : 'false'
  }
  {
    name: 'PAL_AUDIT_STALE_AFTER_HOURS'
    value: string(staleAfterHours)
  }
  {
    name: 'PAL_AUDIT_DASHBOARD_URL'
    value: dashboardUrl
  }
]

// Secret settings: Key Vault references, only for secrets the deployer says are stored (an
// unresolvable reference would reach the app as its literal text). Secret name = setting name in
// lower case with hyphens. Versionless URIs: a rotated secret is picked up without a redeployment.
var teamsSecret = useTeamsWebhookSecret ? ['PAL_AUDIT_TEAMS_WEBHOOK_URL'] : []
var smtpSecret = useSmtpPasswordSecret ? ['PAL_AUDIT_SMTP_PASSWORD'] : []
var acsSecret = useAcsConnectionStringSecret ? ['PAL_AUDIT_ACS_CONNECTION_STRING'] : []
var extraSecretSettings = filter(split(replace(registrySecretSettings, ' ', ''), ','), settingName => !empty(settingName))
var secretSettingNames = concat(teamsSecret, smtpSecret, acsSecret, extraSecretSettings)
var keyVaultUri = 'https://${keyVaultName}${environment().suffixes.keyvaultDns}/'
var secretSettings = [for settingName in secretSettingNames: {
  name: settingName
  value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${toLower(replace(settingName, '_', '-'))}/)'
}]

var appSettings = concat(hostStorageSettings, platformSettings, palAuditSettings, secretSettings)

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225:Zone-redundant Flex Consumption plans exist only in some regions; a nightly batch auditor tolerates a zonal outage because queued tenants are retried and the next run redoes the work
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222:The HTTP API (POST /api/scans, GET /api/findings) is called by the partner's pipelines and /api/health by monitors; every route but health needs a function key; add access restrictions or a private endpoint when a VNet exists
  // checkov:skip=CKV_AZURE_17:Callers authenticate with platform-managed function keys (design 8); mandatory client certificates would lock out the pipelines and the anonymous health probe
  // checkov:skip=CKV_AZURE_212:numberOfWorkers does not apply to Flex Consumption; the platform adds instances per trigger and maximumInstanceCount bounds them
  // checkov:skip=CKV_AZURE_213:/api/health reports audit freshness (late or failed runs), not instance liveness; as an App Service health check it would recycle healthy instances whenever a run is late
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    publicNetworkAccess: 'Enabled'
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: appSettings
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// No FTP and no basic-auth publishing: azd deploys with an Entra token.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = site.name
output url string = 'https://${site.properties.defaultHostName}'
