"""ARM's cloud metadata document, `GET {arm}/metadata/endpoints?api-version=...`.

Clients discover a cloud through it before they hold a token (`az cloud register
--endpoint-resource-manager`, the Go and Terraform SDKs), so it is served without authentication.
Facts it follows, checked against public sources:
- field names and nesting are those Azure CLI's `_arm_to_cli_mapper` (azure-cli-core, cloud.py)
  reads: `name`, `authentication.loginEndpoint`, `authentication.audiences[0]`, `resourceManager`,
  `portal`, `gallery`, `graph`, `graphAudience`, `batch`, `media`, `sqlManagement`, `suffixes.*`, ...;
- api-version 2022-09-01 (what `az cloud register` sends) answers one cloud object; the older
  2019-05-01 and 2020-06-01 answer a JSON array of clouds (Azure CLI's `ARM_CLOUD_METADATA_URL`
  path iterates that array; Az PowerShell's Add-AzEnvironment documents the same array shape);
- `authentication.audiences` lists the ARM token audiences, management.core.windows.net first as in
  the public cloud, `tenant` is `common` and `identityProvider` `AAD`.

armsim is one cloud, so the array holds only it. Its own endpoints (ARM and the Entra authority)
point at armsim; the services armsim does not simulate (Graph, storage, Key Vault, ...) keep the
public cloud's values, so a client building those URLs gets well-formed ones.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from armsim.wire import arm_error, json_response

CLOUD_NAME = "ArmSim"
# the ARM token audiences, in the order the public cloud lists them (az uses the first)
AUDIENCES = ("https://management.core.windows.net/", "https://management.azure.com/")
SINGLE_OBJECT_VERSIONS = ("2022-09-01",)
ARRAY_VERSIONS = ("2019-05-01", "2020-06-01")
SUPPORTED_VERSIONS = ARRAY_VERSIONS + SINGLE_OBJECT_VERSIONS

# Services armsim does not simulate: the public cloud's values.
_PUBLIC_SERVICES: dict[str, str] = {
    "portal": "https://portal.azure.com",
    "gallery": "https://gallery.azure.com/",
    "graph": "https://graph.windows.net/",
    "graphAudience": "https://graph.windows.net/",
    "media": "https://rest.media.azure.net",
    "batch": "https://batch.core.windows.net/",
    "sqlManagement": "https://management.core.windows.net:8443/",
    "activeDirectoryDataLake": "https://datalake.azure.net/",
    "vmImageAliasDoc": "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/main/"
    "arm-compute/quickstart-templates/aliases.json",
    "microsoftGraphResourceId": "https://graph.microsoft.com/",
    "appInsightsResourceId": "https://api.applicationinsights.io",
    "appInsightsTelemetryChannelResourceId": "https://dc.applicationinsights.azure.com/v2/track",
    "attestationResourceId": "https://attest.azure.net",
    "synapseAnalyticsResourceId": "https://dev.azuresynapse.net",
    "logAnalyticsResourceId": "https://api.loganalytics.io",
    "ossrDbmsResourceId": "https://ossrdbms-aad.database.windows.net",
}
_PUBLIC_SUFFIXES: dict[str, str] = {
    "acrLoginServer": "azurecr.io",
    "attestationEndpoint": "attest.azure.net",
    "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
    "azureDataLakeStoreFileSystem": "azuredatalakestore.net",
    "azureFrontDoorEndpointSuffix": "azurefd.net",
    "keyVaultDns": "vault.azure.net",
    "mariadbServerEndpoint": "mariadb.database.azure.com",
    "mhsmDns": "managedhsm.azure.net",
    "mysqlServerEndpoint": "mysql.database.azure.com",
    "postgresqlServerEndpoint": "postgres.database.azure.com",
    "sqlServerHostname": "database.windows.net",
    "storage": "core.windows.net",
    "storageSyncEndpointSuffix": "afs.azure.net",
    "synapseAnalytics": "dev.azuresynapse.net",
}


def cloud_metadata(base_url: str) -> dict[str, Any]:
    """The metadata document of the armsim at `base_url` (ARM and Entra share that host)."""
    root = base_url.rstrip("/") + "/"
    return {
        **_PUBLIC_SERVICES,
        "name": CLOUD_NAME,
        "resourceManager": root,
        "authentication": {
            "loginEndpoint": root,
            "audiences": list(AUDIENCES),
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "suffixes": dict(_PUBLIC_SUFFIXES),
    }


def endpoints(base_url: str, method: str, query: dict[str, str]) -> web.Response:
    """The answer to `{method} /metadata/endpoints` with `query` (names lower-cased); errors raise."""
    if method not in ("GET", "HEAD"):
        raise arm_error(
            405,
            "HttpMethodNotAllowed",
            f"The HTTP method '{method}' is not supported for '/metadata/endpoints'. Use GET.",
        )
    version = query.get("api-version")
    if version is None:
        raise arm_error(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    if version not in SUPPORTED_VERSIONS:
        raise arm_error(
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{version}' is invalid. The supported versions are "
            f"'{','.join(sorted(SUPPORTED_VERSIONS, reverse=True))}'.",
        )
    doc = cloud_metadata(base_url)
    return json_response(200, doc if version in SINGLE_OBJECT_VERSIONS else [doc])
