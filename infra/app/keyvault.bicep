// Key Vault for the app's secrets (webhook URL, SMTP password, ACS connection string, client secrets
// of registry identities that are not federated). RBAC mode: no access policies; the app's identity
// reads secrets (Key Vault Secrets User), the deployer manages them (Key Vault Secrets Officer).
// The template stores no secret value: secrets are set out of band (docs/deploy.md).
param name string
param location string = resourceGroup().location
param tags object = {}
param logAnalyticsWorkspaceId string

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109:Without VNet integration the platform resolves the app's Key Vault references over the public endpoint; the vault is RBAC-only (only the app identity reads secrets) and its audit log goes to Log Analytics
  // checkov:skip=CKV_AZURE_189:Same reason as CKV_AZURE_109 (public endpoint needed without VNet integration; RBAC-only, audited)
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

// Who read or changed which secret, kept in Log Analytics.
resource keyVaultAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: keyVault
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

output name string = keyVault.name
output id string = keyVault.id
output uri string = keyVault.properties.vaultUri
