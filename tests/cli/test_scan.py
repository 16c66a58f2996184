"""`pal-audit scan` as a pipeline uses it: formats, output file, --fail-on and the exit codes of §11."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pal_audit.checks import CHECK_IDS
from pal_audit.cli.demo import EXAMPLES, demo_secrets
from pal_audit.cli.main import app

NAMES = {"healthy": ["Fabrikam Retail", "Woodgrove Bank"], "adatum": ["Adatum Health"]}


@pytest.fixture
def demo_env(monkeypatch):
    for name, value in demo_secrets(EXAMPLES / "estate.yaml", EXAMPLES / "registry.yaml").items():
        monkeypatch.setenv(name, value)


def registry_with(tmp_path: Path, names: list[str] | None) -> Path:
    """The example registry, restricted to the named tenants."""
    data = yaml.safe_load((EXAMPLES / "registry.yaml").read_text())
    for t in data["tenants"]:   # YAML 1.1 reads the key `on` as true; the registry's own loader does not
        if t.get("customer_approval") and True in t["customer_approval"]:
            t["customer_approval"]["on"] = str(t["customer_approval"].pop(True))
    if names is not None:
        data["tenants"] = [t for t in data["tenants"] if t["name"] in names]
        kept = {t["tenant_id"] for t in data["tenants"]}
        data["suppressions"] = [s for s in data.get("suppressions", []) if s["tenant_id"] in kept]
        data.pop("lighthouse", None)   # the managing tenant and its customers only in the full registry
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(data, default=str))
    return path


def scan(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["scan", *args])
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout


def test_json_report_has_the_contract_shape(armsim_cloud, demo_env, tmp_path):
    registry = registry_with(tmp_path, None)
    code, out = scan("-r", str(registry), "--cloud", str(armsim_cloud), "--format", "json")
    body = json.loads(out)
    assert code == 3                                   # Coho Winery could not be audited: incomplete
    # ten tenants, the Lighthouse managing tenant and its six customers ("… via Lighthouse")
    assert body["run"]["tenants_total"] == 17 and body["run"]["tenants_failed"] == 1
    assert "Trey Research via Lighthouse" in {t["name"] for t in body["tenants"]}
    assert {t["status"] for t in body["tenants"]} == {"ok", "error"}
    assert set(body["findings"][0]) == {"finding_id", "check_id", "severity", "tenant_id", "principal_id",
                                        "identity", "title", "detail", "remediation", "status"}
    assert {f["check_id"] for f in body["findings"]} == set(CHECK_IDS)   # the demo reaches every check
    suppressed = [f for f in body["findings"] if f["status"] == "suppressed"]
    assert [f["check_id"] for f in suppressed] == ["excessive_privilege"]


def test_csv_to_a_file(armsim_cloud, demo_env, tmp_path):
    out = tmp_path / "findings.csv"
    code, stdout = scan("-r", str(registry_with(tmp_path, NAMES["adatum"])), "--cloud", str(armsim_cloud),
                        "--format", "csv", "--output", str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert code == 0 and stdout == ""
    assert sorted(r["check_id"] for r in rows) == ["excessive_privilege", "link_without_eligible_role"]


@pytest.mark.parametrize(("names", "fail_on", "expected"), [
    ("healthy", "low", 0),          # nothing found
    ("adatum", None, 0),            # findings alone never fail without --fail-on
    ("adatum", "high", 0),          # a medium and a low: below high
    ("adatum", "medium", 1),
    ("adatum", "low", 1),
])
def test_fail_on_exit_codes(armsim_cloud, demo_env, tmp_path, names, fail_on, expected):
    args = ["-r", str(registry_with(tmp_path, NAMES[names])), "--cloud", str(armsim_cloud), "-f", "json"]
    code, _ = scan(*args, *(["--fail-on", fail_on] if fail_on else []))
    assert code == expected


def test_incomplete_wins_over_findings(armsim_cloud, demo_env, tmp_path):
    code, _ = scan("-r", str(registry_with(tmp_path, None)), "--cloud", str(armsim_cloud), "-f", "csv",
                   "--fail-on", "low")
    assert code == 3


def test_table_report_when_piped_has_no_progress_bar(armsim_cloud, demo_env, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pal_audit.cli", "scan", "-r", str(registry_with(tmp_path, NAMES["adatum"])),
         "--cloud", str(armsim_cloud)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Adatum Health" in proc.stdout and "excessive_privilege" in proc.stdout
    assert proc.stderr == ""                       # no progress bar, no log noise, no traceback


def test_bad_cloud_file_is_a_usage_error(demo_env, tmp_path):
    bad = tmp_path / "cloud.json"
    bad.write_text(json.dumps({"arm": "http://127.0.0.1:1", "authority": "https://x", "audience": "a/"}))
    result = CliRunner().invoke(app, ["scan", "-r", str(registry_with(tmp_path, None)), "--cloud", str(bad)])
    assert result.exit_code == 2
    assert "arm" in result.stderr and "https" in result.stderr and "Traceback" not in result.output


def test_unwritable_output_fails_before_the_audit(demo_env, tmp_path):
    out = str(tmp_path / "no" / "x.csv")
    result = CliRunner().invoke(app, ["scan", "-r", str(registry_with(tmp_path, None)), "--cloud",
                                      str(tmp_path / "never-read.json"), "-o", out])
    assert result.exit_code == 2
    assert "--output" in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.output


def test_store_tables_with_storage_down_is_a_clear_error(armsim_cloud, demo_env, tmp_path, monkeypatch):
    dead = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
            "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;")
    monkeypatch.setenv("AzureWebJobsStorage", dead)
    result = CliRunner().invoke(app, ["scan", "-r", str(registry_with(tmp_path, NAMES["adatum"])),
                                      "--cloud", str(armsim_cloud), "--store", "tables"])
    assert result.exit_code == 2, result.output
    assert "--store tables" in result.stderr and "storage" in result.stderr
    assert "Traceback" not in result.output and "a2V5" not in result.output


def test_progress_bar_on_a_terminal(armsim_cloud, demo_env, tmp_path):
    """On a terminal (stderr is a tty) rich shows a progress bar; piped output stays clean (above)."""
    import os
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pal_audit.cli", "scan", "-r", str(registry_with(tmp_path, NAMES["adatum"])),
         "--cloud", str(armsim_cloud), "-f", "json"],
        stdout=subprocess.PIPE, stderr=follower, text=True, env=dict(os.environ, TERM="xterm", COLUMNS="100"))
    os.close(follower)
    out, _ = proc.communicate(timeout=60)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    terminal = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0 and json.loads(out)["run"]["tenants_total"] == 1
    assert "auditing" in terminal and "/1" in terminal     # the bar and its tenant count


# ---------------------------------------------------------------- hostile input around a scan

ESCAPES = "\x1b[2J\x1b[H\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"


@pytest.fixture
def hostile_armsim(tmp_path):
    """The demo estate with a custom role whose name clears the screen and plants an OSC-8 link."""
    from armsim import ArmSimServer, load_estate

    estate = yaml.safe_load((EXAMPLES / "estate.yaml").read_text())
    for tenant in estate["tenants"]:
        for role in tenant.get("custom_roles", []):
            old, role["name"] = role["name"], f"Alpine{ESCAPES} VM Operator"
            for a in tenant.get("role_assignments", []):
                if a["role"] == old:
                    a["role"] = role["name"]
    path = tmp_path / "estate.yaml"
    path.write_text(yaml.safe_dump(estate, allow_unicode=False))
    with ArmSimServer(load_estate(path)) as cloud:
        cloud_file = tmp_path / "cloud.json"
        cloud_file.write_text(json.dumps(cloud.to_dict()))
        yield cloud_file


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_a_role_name_with_escape_sequences_never_reaches_the_report_raw(hostile_armsim, demo_env, tmp_path,
                                                                        fmt):
    registry = registry_with(tmp_path, ["Alpine Ski House"])
    out = tmp_path / f"report.{fmt}"
    piped = subprocess.run([sys.executable, "-m", "pal_audit.cli", "scan", "-r", str(registry), "--cloud",
                            str(hostile_armsim), "-f", fmt], capture_output=True, timeout=120)
    code, _ = scan("-r", str(registry), "--cloud", str(hostile_armsim), "-f", fmt, "-o", str(out))

    assert piped.returncode == code == 0, piped.stderr
    for produced in (piped.stdout, piped.stderr, out.read_bytes()):
        assert b"\x1b" not in produced
    assert b"Alpine" in piped.stdout and b"VM Operator" in piped.stdout   # shown, escaped, not dropped


def test_a_full_disk_is_a_clear_error_naming_the_output(armsim_cloud, demo_env, tmp_path):
    result = CliRunner().invoke(app, ["scan", "-r", str(registry_with(tmp_path, NAMES["adatum"])), "--cloud",
                                      str(armsim_cloud), "-f", "csv", "-o", "/dev/full"])
    assert result.exit_code == 2, result.output
    assert result.stderr == "could not write the report to /dev/full: No space left on device\n"


def test_a_cloud_file_whose_ca_bundle_is_no_pem_fails_before_the_audit(demo_env, tmp_path):
    (tmp_path / "ca.pem").write_text("this is not a certificate\n")
    cloud = tmp_path / "cloud.json"
    cloud.write_text(json.dumps({"arm": "https://127.0.0.1:9", "authority": "https://127.0.0.1:9",
                                 "audience": "https://management.azure.com/", "ca_bundle": "ca.pem"}))
    registry = registry_with(tmp_path, None)
    result = CliRunner().invoke(app, ["scan", "-r", str(registry), "--cloud", str(cloud)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"{cloud}: ca_bundle: not a PEM bundle of CA certificates")
    assert "internal error" not in result.output and result.stdout == ""
