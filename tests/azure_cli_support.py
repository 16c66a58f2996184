"""Running the real Azure CLI (`az`, from .venv-azure-cli) against armsim, for tests only.

Every `AzureCli` has its own configuration directory, so tests never share (or touch the user's)
sign-in state, trusts armsim's CA through REQUESTS_CA_BUNDLE, and has telemetry, colours, update
checks and MSAL instance discovery (a call to login.microsoftonline.com) turned off.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
AZ_VENV = REPO / ".venv-azure-cli"
AZ = AZ_VENV / "bin" / "az"
AZ_TIMEOUT = 120  # seconds per az command: its start-up alone takes one or two


def require_az(az: Path | None = None) -> None:
    """Skip when the Azure CLI venv is missing locally; fail in CI, where nothing may be skipped."""
    az = AZ if az is None else az
    if az.is_file() and os.access(az, os.X_OK):
        return
    message = (
        f"{az.parents[1].name} is missing: run scripts/setup-azure-cli.sh (creates it with the "
        "pinned azure-cli; scripts/setup.sh runs it)"
    )
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


@dataclass(frozen=True)
class ArmSimCloud:
    """What the tests need of a running armsim: its URL and the CA that signs its certificate."""

    arm: str
    ca_bundle: str

    @classmethod
    def from_file(cls, cloud_file: Path) -> ArmSimCloud:
        data = json.loads(cloud_file.read_text())
        return cls(arm=data["arm"], ca_bundle=data["ca_bundle"])


def az_environment(config_dir: Path, ca_bundle: str) -> dict[str, str]:
    """The environment for `az` (and for programs that shell out to it): az's venv first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "ARM_", "MSAL_"))}
    env.update(
        {
            "PATH": f"{AZ.parent}{os.pathsep}{env.get('PATH', '')}",
            "AZURE_CONFIG_DIR": str(config_dir),
            "REQUESTS_CA_BUNDLE": ca_bundle,
            "AZURE_CORE_INSTANCE_DISCOVERY": "false",
            "AZURE_CORE_COLLECT_TELEMETRY": "0",
            "AZURE_CORE_NO_COLOR": "1",
            "AZURE_CORE_ONLY_SHOW_ERRORS": "1",
            "AZURE_CORE_SURVEY_MESSAGE": "0",
        }
    )
    return env


class AzureCli:
    """`az` with a configuration directory of its own."""

    def __init__(self, config_dir: Path, cloud: ArmSimCloud) -> None:
        config_dir.mkdir(parents=True, exist_ok=True)
        self.cloud = cloud
        self.env = az_environment(config_dir, cloud.ca_bundle)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(AZ), *args], env=self.env, capture_output=True, text=True, timeout=AZ_TIMEOUT, check=False
        )

    def ok(self, *args: str) -> str:
        """stdout of a command that must succeed."""
        proc = self.run(*args)
        assert proc.returncode == 0, f"az {' '.join(args[:3])} failed ({proc.returncode}): {proc.stderr}"
        return proc.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--output", "json"))

    def register_armsim(self, name: str = "ArmSim") -> None:
        """`az cloud register` with endpoint discovery (armsim's /metadata/endpoints), then select it."""
        self.ok("cloud", "register", "--name", name, "--endpoint-resource-manager", self.cloud.arm + "/")
        self.ok("cloud", "set", "--name", name)

    def login_service_principal(self, app_id: str, secret: str, tenant_id: str) -> list[dict[str, Any]]:
        return list(
            self.json(
                "login",
                "--service-principal",
                "--username",
                app_id,
                "--password",
                secret,
                "--tenant",
                tenant_id,
                "--allow-no-subscriptions",
            )
        )


def estate_secret(estate_file: Path, app_id: str) -> str:
    """The simulator-only secret the estate gives an app."""
    estate = yaml.safe_load(estate_file.read_text())
    for tenant in estate["tenants"]:
        for p in tenant.get("principals", []):
            if str(p.get("app_id", "")).lower() == app_id.lower() and p.get("secret"):
                return str(p["secret"])
    raise KeyError(f"{estate_file}: no app {app_id} with a secret")
