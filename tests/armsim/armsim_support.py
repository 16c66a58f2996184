"""Shared ids and helpers of the armsim tests (the ids are those of tests/armsim/estate.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
import yaml

from armsim import Cloud, parse_estate

ESTATE_FILE = Path(__file__).with_name("estate.yaml")
FABRIKAM = "aaaaaaaa-0000-0000-0000-000000000001"
CONTOSO = "aaaaaaaa-0000-0000-0000-000000000002"
NORTHWIND = "aaaaaaaa-0000-0000-0000-000000000003"
SUB_PROD = "5b000000-0000-0000-0000-000000000001"
SUB_DEV = "5b000000-0000-0000-0000-000000000002"
SUB_SHARED = "5b000000-0000-0000-0000-000000000003"
SUB_NW = "5b000000-0000-0000-0000-0000000000c1"
OPS_APP, OPS_OID = "a0000000-0000-0000-0000-0000000000a1", "0b000000-0000-0000-0000-0000000000a1"
GROUP, GROUP_PARENT = "9b000000-0000-0000-0000-0000000000a1", "9b000000-0000-0000-0000-0000000000a0"
RG_APP, RG_OID = "a0000000-0000-0000-0000-0000000000a2", "0b000000-0000-0000-0000-0000000000a2"
READER_APP, READER_OID = "a0000000-0000-0000-0000-0000000000a3", "0b000000-0000-0000-0000-0000000000a3"
DISABLED_APP = "a0000000-0000-0000-0000-0000000000a4"
LINKER_APP = "a0000000-0000-0000-0000-0000000000a5"
FED_APP, FED_OID = "a0000000-0000-0000-0000-0000000000a6", "0b000000-0000-0000-0000-0000000000a6"
CERT_APP, CERT_OID = "a0000000-0000-0000-0000-0000000000a7", "0b000000-0000-0000-0000-0000000000a7"
NOROLES_APP = "a0000000-0000-0000-0000-0000000000a8"
BLOB_APP = "a0000000-0000-0000-0000-0000000000a9"
MI_APP, MI_OID = "a0000000-0000-0000-0000-0000000000b1", "0b000000-0000-0000-0000-0000000000b1"
USER_OID = "0c000000-0000-0000-0000-0000000000c1"
SECRETS = {
    OPS_APP: "ops-secret",
    RG_APP: "rg-secret",
    READER_APP: "reader-secret",
    DISABLED_APP: "disabled-secret",
    LINKER_APP: "linker-secret",
    NOROLES_APP: "none-secret",
    BLOB_APP: "blob-secret",
}
SCOPE = "https://management.azure.com/.default"


def estate_data() -> dict[str, Any]:
    """The test estate as a fresh dict (tests may edit their copy)."""
    return yaml.safe_load(ESTATE_FILE.read_text())


def build_estate(cert_pem: str | None = None, **faults: Any):
    data = estate_data()
    if cert_pem:
        for p in data["tenants"][0]["principals"]:
            if p.get("app_id") == CERT_APP:
                p["certificate"] = cert_pem
    if faults:
        data["faults"] = faults
    return parse_estate(data, source=str(ESTATE_FILE))


def credential(
    cloud: Cloud, app_id: str, tenant: str = FABRIKAM, secret: str | None = None, aio: bool = False
):
    module = __import__(
        "azure.identity.aio" if aio else "azure.identity", fromlist=["ClientSecretCredential"]
    )
    return module.ClientSecretCredential(
        tenant,
        app_id,
        secret or SECRETS[app_id],
        authority=cloud.authority,
        disable_instance_discovery=True,
        connection_verify=cloud.ca_bundle,
    )


def mgmt_kwargs(cloud: Cloud, **extra: Any) -> dict[str, Any]:
    """Everything a mgmt client needs to talk to armsim: endpoint, scope and CA. Nothing else."""
    return {
        "base_url": cloud.arm,
        "credential_scopes": [SCOPE],
        "connection_verify": cloud.ca_bundle,
        **extra,
    }


def token_for(http: requests.Session, cloud: Cloud, app_id: str, tenant: str = FABRIKAM) -> str:
    r = http.post(
        f"{cloud.authority}/{tenant}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app_id,
            "client_secret": SECRETS[app_id],
            "scope": SCOPE,
        },
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def requests_log(http: requests.Session, cloud: Cloud, operation: str) -> list[dict[str, Any]]:
    return http.get(f"{cloud.arm}/_armsim/requests", params={"operation": operation}).json()["value"]
