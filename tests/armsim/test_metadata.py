"""Discovery documents a client reads before it holds a token: ARM's cloud metadata
(`/metadata/endpoints`) and Entra's v2.0 OpenID configuration.

Sources of the facts held here:
- metadata field names and nesting: Azure CLI's `_arm_to_cli_mapper` (azure-cli-core, cloud.py),
  which `az cloud register` applies to the document; `az cloud register` asks for api-version
  2022-09-01 and reads one object; `ARM_CLOUD_METADATA_URL` documents with api-version 2019-05-01
  hold an array of clouds (Azure CLI iterates it; Az PowerShell's Add-AzEnvironment shows it);
- served without a token: real ARM answers it anonymously, which is why clients can discover a cloud;
- an unknown api-version is a 400 `InvalidApiVersionParameter` listing the supported versions, in
  ARM's error envelope;
- OpenID fields: the tenant v2.0 discovery document published by Microsoft Entra ID carries
  `end_session_endpoint`, `userinfo_endpoint`, `claims_supported`, `check_session_iframe`,
  `kerberos_endpoint`, `msgraph_host` and `cloud_graph_host_name`.
"""

from __future__ import annotations

import pytest
import requests
from armsim_support import FABRIKAM, OPS_APP, SECRETS, requests_log

from armsim import Cloud


def metadata(
    http: requests.Session, cloud: Cloud, version: str | None, *, prefix: str = ""
) -> requests.Response:
    query = "" if version is None else f"?api-version={version}"
    return http.get(f"{cloud.arm}{prefix}/metadata/endpoints{query}")


def test_metadata_is_served_without_a_token_and_names_armsim(cloud: Cloud, http: requests.Session) -> None:
    r = metadata(http, cloud, "2022-09-01")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    assert doc["resourceManager"] == cloud.arm + "/"
    assert doc["authentication"] == {
        "loginEndpoint": cloud.authority + "/",
        "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
        "tenant": "common",
        "identityProvider": "AAD",
    }
    assert doc["name"] == "ArmSim"


def test_metadata_carries_every_field_azure_cli_maps(cloud: Cloud, http: requests.Session) -> None:
    doc = metadata(http, cloud, "2022-09-01").json()
    endpoints = {
        "portal", "gallery", "graph", "graphAudience", "media", "batch", "sqlManagement",
        "activeDirectoryDataLake", "vmImageAliasDoc", "microsoftGraphResourceId", "appInsightsResourceId",
        "appInsightsTelemetryChannelResourceId", "attestationResourceId", "synapseAnalyticsResourceId",
        "logAnalyticsResourceId", "ossrDbmsResourceId",
    }  # fmt: skip
    assert endpoints <= set(doc)
    assert all(doc[k].startswith("https://") for k in endpoints)
    suffixes = {
        "storage",
        "keyVaultDns",
        "sqlServerHostname",
        "acrLoginServer",
        "mhsmDns",
        "azureDataLakeStoreFileSystem",
        "azureDataLakeAnalyticsCatalogAndJob",
        "storageSyncEndpointSuffix",
        "synapseAnalytics",
        "attestationEndpoint",
    }
    assert suffixes <= set(doc["suffixes"])
    # suffixes are bare DNS suffixes: az adds the leading dot itself
    assert not any(v.startswith((".", "https://")) for v in doc["suffixes"].values())


@pytest.mark.parametrize("version", ["2019-05-01", "2020-06-01"])
def test_older_api_versions_answer_an_array_of_clouds(
    cloud: Cloud, http: requests.Session, version: str
) -> None:
    r = metadata(http, cloud, version)
    assert r.status_code == 200, r.text
    body = r.json()
    assert isinstance(body, list) and [c["name"] for c in body] == ["ArmSim"]
    assert body[0] == metadata(http, cloud, "2022-09-01").json()


def test_unsupported_api_version_is_a_400_listing_the_supported_ones(
    cloud: Cloud, http: requests.Session
) -> None:
    r = metadata(http, cloud, "1999-01-01")
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "InvalidApiVersionParameter"
    assert "'1999-01-01'" in error["message"] and "2022-09-01" in error["message"]


def test_missing_api_version_is_a_400(cloud: Cloud, http: requests.Session) -> None:
    r = metadata(http, cloud, None)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "MissingApiVersionParameter"


def test_a_trailing_slash_on_the_arm_url_still_finds_it(cloud: Cloud, http: requests.Session) -> None:
    # `az cloud register --endpoint-resource-manager https://host/` asks for `https://host//metadata/...`
    r = metadata(http, cloud, "2022-09-01", prefix="/")
    assert r.status_code == 200, r.text
    assert r.json()["resourceManager"] == cloud.arm + "/"


def test_metadata_is_read_only(cloud: Cloud, http: requests.Session) -> None:
    r = http.post(f"{cloud.arm}/metadata/endpoints?api-version=2022-09-01", json={})
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "HttpMethodNotAllowed"


def test_metadata_requests_are_counted_under_their_own_operation(
    cloud: Cloud, http: requests.Session
) -> None:
    metadata(http, cloud, "2022-09-01")
    seen = requests_log(http, cloud, "metadata.endpoints")
    assert seen and seen[-1]["status"] == 200 and seen[-1]["tenant_id"] is None


def test_a_token_is_not_needed_but_does_no_harm(cloud: Cloud, http: requests.Session) -> None:
    token = http.post(
        f"{cloud.authority}/{FABRIKAM}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": OPS_APP,
            "client_secret": SECRETS[OPS_APP],
            "scope": "https://management.azure.com/.default",
        },
    ).json()["access_token"]
    r = http.get(
        f"{cloud.arm}/metadata/endpoints?api-version=2022-09-01", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200 and r.json()["name"] == "ArmSim"


# ---------------------------------------------------------------- OpenID discovery (v2.0)


def test_openid_discovery_carries_the_fields_entra_publishes(cloud: Cloud, http: requests.Session) -> None:
    doc = http.get(f"{cloud.authority}/{FABRIKAM}/v2.0/.well-known/openid-configuration").json()
    tenant_base = f"{cloud.authority}/{FABRIKAM}"
    assert doc["end_session_endpoint"] == f"{tenant_base}/oauth2/v2.0/logout"
    assert doc["check_session_iframe"] == f"{tenant_base}/oauth2/v2.0/checksession"
    assert doc["kerberos_endpoint"] == f"{tenant_base}/kerberos"
    assert doc["userinfo_endpoint"] == "https://graph.microsoft.com/oidc/userinfo"
    assert {"sub", "iss", "aud", "exp", "iat", "tid", "ver", "name", "preferred_username", "nonce"} <= set(
        doc["claims_supported"]
    )
    assert doc["msgraph_host"] == "graph.microsoft.com"
    assert doc["cloud_graph_host_name"] == "graph.windows.net"
    # every endpoint of the tenant is on armsim and names the tenant by id
    for key in ("token_endpoint", "authorization_endpoint", "device_authorization_endpoint", "jwks_uri"):
        assert doc[key].startswith(tenant_base + "/"), key
