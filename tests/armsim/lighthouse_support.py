"""Ids, server fixture and helpers of the Lighthouse tests (tests/armsim/lighthouse_estate.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from azure.identity import ClientSecretCredential
from azure.identity.aio import ClientSecretCredential as AioClientSecretCredential

from armsim import ArmSimServer, Cloud, parse_estate

LH_ESTATE_FILE = Path(__file__).with_name("lighthouse_estate.yaml")
CONTOSO = "1d000000-0000-0000-0000-000000000001"
OTHER_MSP = "1d000000-0000-0000-0000-000000000002"
FABRIKAM, TAILSPIN, WOODGROVE, LITWARE, NORTHWIND, ADATUM, PROSEWARE = (
    f"1c000000-0000-0000-0000-00000000000{i}" for i in range(1, 8)
)
FAB_PROD, FAB_DEV = "1e000000-0000-0000-0000-000000000011", "1e000000-0000-0000-0000-000000000012"
TAIL_PROD, WOOD_PROD, LIT_PROD = (f"1e000000-0000-0000-0000-0000000000{n}1" for n in (2, 3, 4))
NW_PROD, ADATUM_PROD = "1e000000-0000-0000-0000-000000000051", "1e000000-0000-0000-0000-000000000061"
PROSE_PROD, PROSE_DEV = "1e000000-0000-0000-0000-000000000071", "1e000000-0000-0000-0000-000000000072"
AUTOMATION_APP, AUTOMATION = "1a000000-0000-0000-0000-000000000001", "1f000000-0000-0000-0000-000000000001"
READER_APP, READER = "1a000000-0000-0000-0000-000000000002", "1f000000-0000-0000-0000-000000000002"
OPS_USER, LH_ADMINS, LH_AUTOMATION = (f"1f000000-0000-0000-0000-00000000000{i}" for i in (3, 4, 5))
GROUPED_APP, GROUPED = "1a000000-0000-0000-0000-000000000006", "1f000000-0000-0000-0000-000000000006"
ADMIN_USER = "1f000000-0000-0000-0000-000000000007"
NOGRAPH_APP = "1a000000-0000-0000-0000-000000000008"
OTHER_APP = "2a000000-0000-0000-0000-000000000001"
FAB_READER_APP, FAB_NOROLE_APP = (
    "3a000000-0000-0000-0000-000000000001",
    "3a000000-0000-0000-0000-000000000002",
)
ADATUM_APP, PROSE_APP = "6a000000-0000-0000-0000-000000000001", "7a000000-0000-0000-0000-000000000001"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER_ROLE = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
SRC_ROLE = "cfd33db0-3dd1-45e3-aa9d-cdbdf3b6f24e"
SECRETS = {
    AUTOMATION_APP: ("automation-secret", CONTOSO),
    READER_APP: ("reader-secret", CONTOSO),
    GROUPED_APP: ("grouped-secret", CONTOSO),
    NOGRAPH_APP: ("nograph-secret", CONTOSO),
    OTHER_APP: ("other-secret", OTHER_MSP),
    FAB_READER_APP: ("fabrikam-secret", FABRIKAM),
    FAB_NOROLE_APP: ("norole-secret", FABRIKAM),
    ADATUM_APP: ("adatum-secret", ADATUM),
    PROSE_APP: ("proseware-secret", PROSEWARE),
}
ARM_SCOPE = "https://management.azure.com/.default"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
API = "2022-10-01"


def lh_data() -> dict[str, Any]:
    return yaml.safe_load(LH_ESTATE_FILE.read_text())


def lh_server(data: dict[str, Any] | None = None, page_size: int = 2) -> ArmSimServer:
    estate = parse_estate(data or lh_data(), source=str(LH_ESTATE_FILE))
    return ArmSimServer(estate, page_size=page_size)


def cred(cloud: Cloud, app_id: str, aio: bool = False) -> Any:
    secret, tenant = SECRETS[app_id]
    cls = AioClientSecretCredential if aio else ClientSecretCredential
    return cls(
        tenant,
        app_id,
        secret,
        authority=cloud.authority,
        disable_instance_discovery=True,
        connection_verify=cloud.ca_bundle,
    )


def mgmt(cloud: Cloud, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": cloud.arm,
        "credential_scopes": [ARM_SCOPE],
        "connection_verify": cloud.ca_bundle,
        **extra,
    }


def bearer(cloud: Cloud, app_id: str, scope: str = ARM_SCOPE) -> dict[str, str]:
    return {"Authorization": f"Bearer {cred(cloud, app_id).get_token(scope).token}"}
