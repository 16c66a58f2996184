"""`python -m armsim serve` as its callers rely on it: ready line, --cloud-out, stats, exit."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from armsim_support import ESTATE_FILE, OPS_APP, credential, mgmt_kwargs
from azure.mgmt.resource.subscriptions import SubscriptionClient

from armsim import Cloud

ROOT = Path(__file__).resolve().parents[2]


def armsim(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "armsim", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, dict, Path]]:
    out = tmp_path / "cloud.json"
    proc = armsim("serve", "--estate", str(ESTATE_FILE), "--cloud-out", str(out), "--latency-ms", "0")
    line = proc.stdout.readline() if proc.stdout else ""
    try:
        assert line, proc.stderr.read() if proc.stderr else "no output"
        yield proc, json.loads(line), out
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(10)


ARM_KEYS = ("arm", "authority", "audience", "ca_bundle")   # Cloud's fields; graph* are derived


def test_ready_line_cloud_out_and_a_real_client(served) -> None:
    _proc, ready, out = served
    assert set(ready) == {"arm", "authority", "audience", "ca_bundle", "graph", "graph_audience"}
    assert (ready["graph"], ready["graph_audience"]) == (ready["arm"], "https://graph.microsoft.com")
    assert ready["arm"].startswith("https://127.0.0.1:") and ready["authority"] == ready["arm"]
    assert ready["audience"] == "https://management.azure.com/"
    assert json.loads(out.read_text()) == ready
    assert Path(ready["ca_bundle"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    cloud = Cloud(**{k: ready[k] for k in ARM_KEYS})
    subs = SubscriptionClient(credential(cloud, OPS_APP), **mgmt_kwargs(cloud)).subscriptions.list()
    assert len(list(subs)) == 3


def test_stats_count_by_operation_and_reset(served) -> None:
    _proc, ready, _out = served
    http = requests.Session()
    http.trust_env = False
    http.verify = ready["ca_bundle"]
    cloud = Cloud(**{k: ready[k] for k in ARM_KEYS})
    list(SubscriptionClient(credential(cloud, OPS_APP), **mgmt_kwargs(cloud)).subscriptions.list())
    stats = http.get(f"{ready['arm']}/_armsim/stats").json()
    assert stats["by_operation"] == {"openid_configuration": 1, "token": 1, "subscriptions.list": 1}
    assert stats["total"] == 3 and stats["by_status"] == {"200": 3}
    assert http.post(f"{ready['arm']}/_armsim/reset-stats").status_code == 200
    assert http.get(f"{ready['arm']}/_armsim/stats").json()["total"] == 0


def test_sigterm_stops_cleanly_and_removes_the_ca(served) -> None:
    proc, ready, _out = served
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    assert not Path(ready["ca_bundle"]).exists()


def test_invalid_estate_exits_2_with_the_place_named(tmp_path: Path) -> None:
    bad = tmp_path / "estate.yaml"
    bad.write_text("tenants:\n  - tenant_id: not-a-guid\n")
    proc = armsim("serve", "--estate", str(bad))
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert f"{bad}: tenants[0].tenant_id: not a GUID" in err and "Traceback" not in err


def test_missing_estate_and_busy_port_exit_2(tmp_path: Path) -> None:
    proc = armsim("serve", "--estate", str(tmp_path / "nope.yaml"))
    assert proc.wait(30) == 2 and "cannot read estate file" in proc.stderr.read()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = armsim("serve", "--estate", str(ESTATE_FILE), "--port", str(port))
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err


def test_validate_summarises_an_estate() -> None:
    proc = armsim("validate", "--estate", str(ESTATE_FILE))
    out, _err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "3 tenants" in out


def test_help_names_the_contract_options() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "armsim", "serve", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=True,
    ).stdout
    for option in ("--estate", "--host", "--port", "--latency-ms", "--cloud-out"):
        assert option in out
