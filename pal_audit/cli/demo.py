"""`pal-audit demo`: the whole product on the bundled example estate, nothing to configure.

Starts armsim (the local Azure of `armsim/`, as a subprocess: production code never imports
it) and Azurite, then runs two nightly runs of the real engine against them through the same
service the Functions app uses: findings land in Table Storage, alerts are written as files,
and a readable report ends the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@contextmanager
def running_armsim(estate: Path, workdir: Path) -> Iterator[Path]:
    """Serve `estate` with `python -m armsim serve`; yields the cloud file it writes."""
    cloud_file = workdir / "cloud.json"
    cloud_file.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "armsim", "serve", "--estate", str(estate), "--cloud-out", str(cloud_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = proc.stdout.readline() if proc.stdout else ""
        if not ready.strip().startswith("{"):
            err = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"armsim did not start: {(ready + err).strip()[:500]}")
        yield cloud_file
    finally:
        proc.terminate()
        proc.wait(10)


def demo_secrets(estate: Path, registry: Path) -> dict[str, str]:
    """The env vars the example registry names, filled from the estate's simulator-only secrets."""
    est = yaml.safe_load(estate.read_text())
    reg = yaml.safe_load(registry.read_text())
    by_client: dict[str, str] = {}
    for tenant in est["tenants"]:
        for p in tenant.get("principals", []):
            if p.get("app_id") and p.get("secret"):
                by_client[p["app_id"].lower()] = p["secret"]
    env = {}
    for ident in reg["identities"].values():
        name = ident.get("auth", {}).get("secret_env")
        secret = by_client.get(str(ident.get("client_id", "")).lower())
        if name and secret:
            env[name] = secret
    return env


def run_demo(workdir: str) -> int:
    """Run the demo; returns the process exit code (0 when the demo itself worked)."""
    from rich.console import Console

    from pal_audit.cli.demo_run import demo_runs

    console = Console()
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    estate, registry = EXAMPLES / "estate.yaml", EXAMPLES / "registry.yaml"
    os.environ.update(demo_secrets(estate, registry))
    console.rule("[bold]pal-audit demo")
    console.print(f"Estate: {estate}\nRegistry: {registry}\nWork folder: {work}")
    try:
        with running_armsim(estate, work) as cloud_file:
            cloud = json.loads(cloud_file.read_text())
            console.print(f"armsim (local ARM + Entra ID) at {cloud['arm']}")
            return demo_runs(console, registry, cloud_file, work)
    except RuntimeError as exc:
        console.print(f"[red]demo failed:[/] {exc}")
        return 1
