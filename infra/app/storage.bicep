// Storage of the Functions host (leases, timer state, deployment package), the audit queue and the
// Pal* tables. Keyless: shared-key access is disabled, every client uses Entra ID (rbac.bicep).
param name string
param location string = resourceGroup().location
param tags object = {}
param skuName string = 'Standard_ZRS'
param deploymentContainerName string

// Contract names (docs/storage.md, docs/http-api.md). The app creates them too; declaring them makes them visible.
var tableNames = [
  'PalFindings'
  'PalRuns'
  'PalTenantStatus'
]
var queueNames = [
  'pal-audit-tenants'
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35:No VNet in this template, so the Flex Consumption app reaches its host storage over the public endpoint; shared keys are off and every caller needs an Entra role, so the endpoint accepts neither anonymous nor key access
  // checkov:skip=CKV_AZURE_59:Same reason as CKV_AZURE_35 (public endpoint needed without VNet integration; Entra-only access, no shared keys, no public blobs)
  // checkov:skip=CKV_AZURE_206:Host state and audit tables are rebuilt by the next run and geo-replication brings no automatic failover for Functions host storage; the default is zone-redundant (ZRS) and storageSkuName accepts GZRS/RAGZRS
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    isLocalUserEnabled: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    dnsEndpointType: 'Standard'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
        }
        file: {
          enabled: true
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for queueName in queueNames: {
  parent: queueService
  name: queueName
}]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [for tableName in tableNames: {
  parent: tableService
  name: tableName
}]

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
