"""The real Azure CLI signed in to armsim as a person: `az login --use-device-code` (armsim approves
for the estate's approving user, as the person would in a browser), then tokens for the tenants
where the person is a guest, a tenant that demands MFA, and azure-identity's AzureCliCredential on
top, as `pal-audit me` will use it.

`az` comes from .venv-azure-cli; without it these tests skip (and fail with CI=true).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import AzureCliCredential
from azure_cli_support import ArmSimCloud, AzureCli, require_az

from armsim import ArmSimServer, parse_estate
from armsim.tokens import decode_unverified

slow = pytest.mark.slow

CONTOSO = "c1000000-0000-0000-0000-000000000001"  # ana's home
FABRIKAM = "c1000000-0000-0000-0000-000000000002"  # ana is a guest
NORTHWIND = "c1000000-0000-0000-0000-000000000003"  # ana is a guest; MFA required
ANA = "a1000000-0000-0000-0000-00000000000a"
ANA_IN_FABRIKAM = "a1000000-0000-0000-0000-0000000000fa"
ANA_IN_NORTHWIND = "a1000000-0000-0000-0000-0000000000ab"
SUB_FABRIKAM = "5c100000-0000-0000-0000-000000000002"
UPN = "ana@contoso.example"

ESTATE: dict[str, Any] = {
    "partners": [{"partner_id": "1234567"}],
    "tenants": [
        {"tenant_id": CONTOSO, "name": "Contoso",
         "principals": [{"object_id": ANA, "type": "User", "name": "Ana Lima", "user_principal_name": UPN,
                         "password": "ana-pw", "device_code": "approve"}]},
        {"tenant_id": FABRIKAM, "name": "Fabrikam",
         "subscriptions": [{"subscription_id": SUB_FABRIKAM, "name": "fabrikam-prod"}],
         "principals": [{"object_id": ANA_IN_FABRIKAM, "type": "User",
                         "guest_of": {"tenant_id": CONTOSO, "object_id": ANA},
                         "pal": {"partner_id": "1234567"}}],
         "role_assignments": [{"principal": ANA_IN_FABRIKAM, "role": "Contributor",
                               "scope": f"/subscriptions/{SUB_FABRIKAM}"}]},
        {"tenant_id": NORTHWIND, "name": "Northwind",
         "principals": [{"object_id": ANA_IN_NORTHWIND, "type": "User",
                         "guest_of": {"tenant_id": CONTOSO, "object_id": ANA}, "mfa_required": True}]},
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def armsim() -> Iterator[ArmSimCloud]:
    with ArmSimServer(parse_estate(ESTATE, "users.yaml")) as cloud:
        yield ArmSimCloud(arm=cloud.arm, ca_bundle=cloud.ca_bundle)


@pytest.fixture
def az(tmp_path: Path, armsim: ArmSimCloud) -> AzureCli:
    require_az()
    cli = AzureCli(tmp_path / "azure-config", armsim)
    cli.register_armsim()
    return cli


def device_code_login(az: AzureCli, tenant: str) -> tuple[list[dict[str, Any]], str]:
    """`az login --use-device-code`: the accounts it prints and what it told the person (stderr)."""
    proc = az.run("login", "--use-device-code", "--tenant", tenant, "--allow-no-subscriptions", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    return list(json.loads(proc.stdout)), proc.stderr


def access_token(az: AzureCli, tenant: str) -> subprocess.CompletedProcess[str]:
    return az.run("account", "get-access-token", "--tenant", tenant, "-o", "json")


def claims(token: str) -> dict[str, Any]:
    return decode_unverified(token)[1]


@slow
def test_device_code_login_then_a_guest_tenant_token(az: AzureCli) -> None:
    accounts, told = device_code_login(az, CONTOSO)
    assert "enter the code" in told and "/devicelogin" in told  # az shows armsim's message
    [account] = accounts  # no subscriptions at home: a tenant-level account
    assert (account["tenantId"], account["user"]["name"], account["user"]["type"]) == (CONTOSO, UPN, "user")
    home = json.loads(az.ok("account", "get-access-token", "-o", "json"))
    assert (claims(home["accessToken"])["oid"], home["tenant"]) == (ANA, CONTOSO)
    # the home refresh token reaches the tenant where ana is a guest, as her guest object there
    proc = access_token(az, FABRIKAM)
    assert proc.returncode == 0, proc.stderr
    guest = claims(json.loads(proc.stdout)["accessToken"])
    assert (guest["tid"], guest["oid"], guest["idtyp"]) == (FABRIKAM, ANA_IN_FABRIKAM, "user")


@slow
def test_a_tenant_that_demands_mfa_gives_aadsts50076_through_az(az: AzureCli) -> None:
    device_code_login(az, CONTOSO)
    proc = access_token(az, NORTHWIND)
    assert proc.returncode != 0
    assert "AADSTS50076" in proc.stderr and "multi-factor authentication" in proc.stderr
    assert "Traceback" not in proc.stderr


@slow
def test_azure_cli_credential_lists_tenants_and_gets_guest_tokens(
    az: AzureCli, armsim: ArmSimCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `pal-audit me` does: AzureCliCredential on the CLI's login, GET /tenants, then a token
    per tenant with tenant_id=..., reading the user's link there."""
    from azure.mgmt.managementpartner import ACEProvisioningManagementPartnerAPI
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    device_code_login(az, CONTOSO)
    for key, value in az.env.items():
        monkeypatch.setenv(key, value)  # AzureCliCredential runs `az` with this process's environment
    kw: dict[str, Any] = {
        "base_url": armsim.arm,
        "credential_scopes": ["https://management.azure.com/.default"],
        "connection_verify": armsim.ca_bundle,
    }
    tenants = [t.tenant_id for t in SubscriptionClient(AzureCliCredential(), **kw).tenants.list()]
    assert tenants == [CONTOSO, FABRIKAM, NORTHWIND]
    partners = ACEProvisioningManagementPartnerAPI(AzureCliCredential(tenant_id=FABRIKAM), **kw)
    link = partners.partners.get()
    assert (link.partner_id, link.object_id, link.tenant_id) == ("1234567", ANA_IN_FABRIKAM, FABRIKAM)
    with pytest.raises(ClientAuthenticationError, match="AADSTS50076"):
        AzureCliCredential(tenant_id=NORTHWIND).get_token("https://management.azure.com/.default")
