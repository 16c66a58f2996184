"""The real Azure CLI against armsim: cloud discovery, service-principal sign-in, `az rest`, and
`pal-audit scan` signing in through the CLI (`auth: {method: azure_cli}`).

`az` comes from .venv-azure-cli (scripts/setup-azure-cli.sh); without it these tests skip, and fail
with CI=true. Each test gives az a configuration directory of its own under tmp_path.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from azure_cli_support import ArmSimCloud, AzureCli, estate_secret, require_az

from pal_audit.cli.demo import EXAMPLES

slow = pytest.mark.slow

ESTATE = EXAMPLES / "estate.yaml"
OPS_APP = "29ec148c-ead5-4263-b4d6-d23508bd9d96"  # contoso-ops-app, multi-tenant, linked to 1234567
ADATUM = "68b49734-b70d-403b-866b-3aa827a0018a"  # ops-app holds Owner on a subscription there
FABRIKAM = "d13c513a-42f8-4da1-97b1-165f0971b7c4"


@pytest.fixture
def armsim(armsim_cloud: Path) -> ArmSimCloud:
    return ArmSimCloud.from_file(armsim_cloud)


@pytest.fixture
def az(tmp_path: Path, armsim: ArmSimCloud) -> AzureCli:
    require_az()
    return AzureCli(tmp_path / "azure-config", armsim)


def test_a_missing_azure_cli_fails_in_ci_and_skips_locally(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / ".venv-azure-cli" / "bin" / "az"
    monkeypatch.setenv("CI", "true")
    with pytest.raises(
        pytest.fail.Exception, match=r"CI=true and \.venv-azure-cli is missing.*setup-azure-cli\.sh"
    ):
        require_az(missing)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match=r"setup-azure-cli\.sh"):
        require_az(missing)


@slow
def test_cloud_register_discovers_armsim_through_its_metadata(az: AzureCli, armsim: ArmSimCloud) -> None:
    az.ok("cloud", "register", "--name", "ArmSim", "--endpoint-resource-manager", armsim.arm + "/")
    registered = az.json("cloud", "show", "--name", "ArmSim")
    # only the ARM URL was given: the sign-in endpoint and the token audience came from armsim
    assert registered["endpoints"]["resourceManager"] == armsim.arm + "/"
    assert registered["endpoints"]["activeDirectory"] == armsim.arm + "/"
    assert registered["endpoints"]["activeDirectoryResourceId"] == "https://management.core.windows.net/"
    assert registered["suffixes"]["keyvaultDns"] == ".vault.azure.net"
    az.ok("cloud", "set", "--name", "ArmSim")
    assert az.json("cloud", "show")["name"] == "ArmSim"


@slow
def test_service_principal_sign_in_then_az_rest_reads_the_partner_link(
    az: AzureCli, armsim: ArmSimCloud
) -> None:
    az.register_armsim()
    accounts = az.login_service_principal(OPS_APP, estate_secret(ESTATE, OPS_APP), FABRIKAM)
    assert {a["name"] for a in accounts} == {"fabrikam-prod", "fabrikam-dev"}
    assert {(a["tenantId"], a["cloudName"], a["user"]["type"]) for a in accounts} == {
        (FABRIKAM, "ArmSim", "servicePrincipal")
    }
    link = az.json(
        "rest",
        "--method",
        "get",
        "--url",
        f"{armsim.arm}/providers/Microsoft.ManagementPartner/partners?api-version=2018-02-01",
    )
    assert link["properties"]["partnerId"] == "1234567"
    assert link["properties"]["tenantId"] == FABRIKAM
    assert link["properties"]["state"] == "Active"


@slow
def test_a_wrong_secret_is_refused_with_entra_s_message(az: AzureCli) -> None:
    az.register_armsim()
    proc = az.run(
        "login",
        "--service-principal",
        "--username",
        OPS_APP,
        "--password",
        "not-the-secret",
        "--tenant",
        FABRIKAM,
        "--allow-no-subscriptions",
    )
    assert proc.returncode != 0
    assert "AADSTS7000215" in proc.stderr and "Invalid client secret" in proc.stderr
    assert "not-the-secret" not in proc.stderr + proc.stdout


# ---------------------------------------------------------------- pal-audit scan through the CLI


def write_registry(path: Path, auth: str) -> Path:
    """One tenant (Adatum Health) audited by ops-app, signing in with `auth`."""
    path.write_text(f"""\
partner: {{partner_id: "1234567", name: Contoso Managed Services}}
cloud: AzureCloud
identities:
  ops-app:
    kind: service_principal
    client_id: {OPS_APP}
    auth: {auth}
tenants:
  - tenant_id: {ADATUM}
    name: Adatum Health
    identities: [ops-app]
""")
    return path


def scan(
    az: AzureCli, registry: Path, cloud_file: Path, extra_env: dict[str, str] | None = None
) -> tuple[int, Any]:
    """`pal-audit scan` as a subprocess whose PATH finds az's venv first and whose AZURE_CONFIG_DIR
    is this test's: AzureCliCredential shells out to `az account get-access-token`."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pal_audit.cli",
            "scan",
            "-r",
            str(registry),
            "--cloud",
            str(cloud_file),
            "--format",
            "json",
        ],
        env={**az.env, **(extra_env or {})},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """A report without what differs from run to run."""
    return {"tenants": report["tenants"], "findings": report["findings"]}


@slow
def test_scan_with_an_azure_cli_identity_finds_what_client_secret_finds(
    az: AzureCli, armsim_cloud: Path, tmp_path: Path
) -> None:
    secret = estate_secret(ESTATE, OPS_APP)
    az.register_armsim()
    az.login_service_principal(OPS_APP, secret, ADATUM)
    via_cli_code, via_cli = scan(
        az, write_registry(tmp_path / "cli.yaml", "{method: azure_cli}"), armsim_cloud
    )
    via_secret_code, via_secret = scan(
        az,
        write_registry(tmp_path / "secret.yaml", "{method: client_secret, secret_env: PAL_TEST_OPS_SECRET}"),
        armsim_cloud,
        {"PAL_TEST_OPS_SECRET": secret},
    )
    assert via_cli_code == via_secret_code == 0
    assert via_cli["run"]["tenants_ok"] == 1
    [identity] = via_cli["tenants"][0]["identities"]
    assert identity["status"] == "ok" and identity["link"] == "1234567" and identity["principal_id"]
    assert sorted(f["check_id"] for f in via_cli["findings"]) == [
        "customer_approval_missing",
        "excessive_privilege",
    ]
    assert comparable(via_cli) == comparable(via_secret)


@slow
def test_scan_with_an_azure_cli_identity_but_no_az_login_is_an_audit_error(
    az: AzureCli, armsim_cloud: Path, tmp_path: Path
) -> None:
    code, report = scan(az, write_registry(tmp_path / "cli.yaml", "{method: azure_cli}"), armsim_cloud)
    assert code == 3  # incomplete: the tenant could not be audited
    assert report["run"]["tenants_failed"] == 1
    [finding] = report["findings"]
    assert finding["check_id"] == "audit_error" and finding["tenant_id"] == ADATUM
    assert finding["detail"].startswith("auth_failed")
