"""Lighthouse results stored through the findings lifecycle: the nightly run's one message per
managing tenant (timer -> queue -> queue trigger, via the Functions app's own function objects) and
`pal-audit scan --store tables`, against armsim's demo estate and Azurite."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest
from pal_support import EXAMPLES, QueueHost, call, set_app_env, table_rows

pytestmark = pytest.mark.azurite
MANAGING = "90a23e50-beef-42e0-b663-2b6dbfced546"
HUMONGOUS = "7743dc6b-7e80-40e4-8e07-baffcdce6c8c"      # credited only just in time
HUMONGOUS_SUB = "9d35b4e4-127a-4c86-aa67-35608d0aac8d"
FOURTH_COFFEE = "962745f1-282a-4e97-9c91-495a3f7c66ff"  # Reader only: not credited
CUSTOMERS = {"7329d539-09fa-43d2-af1e-5eac3992b1c6", HUMONGOUS, FOURTH_COFFEE,
             "dd52af5e-dcf2-4959-8daa-f83910182b68", "8cc6b4b0-cdcc-43e2-970d-b29255eb4c97",
             "0cfd591d-c60a-4c68-ac11-b7d107088429"}


def lighthouse_rows(storage: str) -> dict[tuple[str, str, str], str]:
    """(tenant, check, qualifier) -> status of every finding stored for a Lighthouse customer."""
    return {(r["PartitionKey"], r["check_id"], r.get("qualifier") or ""): r["status"]
            for r in table_rows(storage, "PalFindings") if r["PartitionKey"] in CUSTOMERS}


@contextmanager
def served_cloud_file(estate: Path, tmp: Path) -> Iterator[Path]:
    """armsim serving `estate`; yields the cloud file the app settings point at."""
    from armsim import ArmSimServer, load_estate

    with ArmSimServer(load_estate(estate)) as cloud:
        path = tmp / "cloud-night2.json"
        path.write_text(json.dumps(cloud.to_dict()))
        yield path


def night_two_estate(tmp: Path) -> Path:
    """The demo estate the next day: Fourth Coffee's automation now holds Contributor (fixed), and
    Humongous Insurance's subscription refuses every read (its delegations cannot be read)."""
    text = (EXAMPLES / "estate.yaml").read_text()
    reader_only = "role: Reader, display_name: PAL provider automation}"
    assert text.count(reader_only) == 1
    text = text.replace(reader_only, "role: Contributor, display_name: PAL provider automation}")
    assert "\nfaults:" not in text
    text += f"\nfaults:\n  fail:\n    - {{match: \"{HUMONGOUS_SUB}\", status: 403}}\n"
    path = tmp / "estate-night2.yaml"
    path.write_text(text)
    return path


def run_row(storage: str, run_id: str, tenant_id: str | None = None) -> dict:
    """The run's header, or the row of one of its units (a tenant, or a managing tenant)."""
    rows = [r for r in table_rows(storage, "PalRuns") if r["PartitionKey"] == run_id]
    if tenant_id is None:
        return next(r for r in rows if r["RowKey"] == "run")
    return next(r for r in rows if r.get("tenant_id") == tenant_id)


async def night(storage: str) -> str:
    host = QueueHost(storage)
    await call("nightly_audit")(TimerRequest(past_due=False))
    bodies = [json.loads(b) for b in host.bodies()]
    assert [b["lighthouse"] for b in bodies if "lighthouse" in b] == [MANAGING]   # one message, the unit
    assert await host.drain(call("audit_tenant")) == 11 and host.failures == []
    return bodies[0]["run_id"]


async def test_the_nightly_run_stores_delegations_and_resolves_only_what_was_decided(
        storage, armsim_cloud, monkeypatch, alerts, tmp_path):
    set_app_env(monkeypatch, storage, armsim_cloud)
    run1 = await night(storage)
    first = lighthouse_rows(storage)
    assert set(first.values()) == {"open"} and len(first) == 5
    assert first[(FOURTH_COFFEE, "lighthouse_delegation_not_credited",
                  "/subscriptions/a1178d84-d73f-44da-a459-5c08d3836f16")] == "open"
    assert first[(HUMONGOUS, "lighthouse_credit_only_via_jit", f"/subscriptions/{HUMONGOUS_SUB}")] == "open"
    header = run_row(storage, run1)
    assert (header["status"], header["tenants_total"].value) == ("completed", 11)
    assert header["transitions_new"].value == 21            # 16 from the tenants, 5 from the delegations
    new = [c for c in alerts.recorded if c.run_id == run1 and c.finding.tenant_id in CUSTOMERS]
    assert len(new) == 5 and all(c.finding.detail.startswith("Via Lighthouse from Contoso Managed")
                                 for c in new)

    # the findings API serves a customer's delegation findings
    req = func.HttpRequest("GET", "/api/findings", params={"tenant_id": HUMONGOUS}, body=b"")
    resp = await call("get_findings")(req)
    assert resp.status_code == 200
    served = json.loads(resp.get_body())["findings"]
    assert [(f["check_id"], f["principal_id"]) for f in served] == [("lighthouse_credit_only_via_jit", "-")]

    # night two: one delegation fixed, one unreadable
    with served_cloud_file(night_two_estate(tmp_path), tmp_path) as cloud_file:
        set_app_env(monkeypatch, storage, cloud_file)
        run2 = await night(storage)
    second = lighthouse_rows(storage)
    changed = {k: v for k, v in second.items() if first.get(k) != v}
    assert changed == {
        (FOURTH_COFFEE, "lighthouse_delegation_not_credited",
         "/subscriptions/a1178d84-d73f-44da-a459-5c08d3836f16"): "resolved",   # decided: fixed
        (HUMONGOUS, "audit_error", f"lighthouse:{MANAGING}"): "open",          # unreadable: said so
    }
    # the unreadable customer's finding is neither resolved nor lost
    assert second[(HUMONGOUS, "lighthouse_credit_only_via_jit", f"/subscriptions/{HUMONGOUS_SUB}")] == "open"
    transitions = Counter(c.transition.value for c in alerts.recorded
                          if c.run_id == run2 and c.finding.tenant_id in CUSTOMERS)
    assert transitions == {"RESOLVED": 1, "NEW": 1}
    header = run_row(storage, run2)
    assert header["status"] == "completed" and header["tenants_failed"].value >= 1   # the unit failed
    unit = run_row(storage, run2, MANAGING)
    assert unit["state"] == "failed" and "Humongous Insurance via Lighthouse" in unit["error"]


async def test_a_rescan_may_name_a_managing_tenant(app_env, alerts):
    req = func.HttpRequest("POST", "/api/scans", body=json.dumps({"tenant_ids": [MANAGING]}).encode())
    resp = await call("post_scans")(req)
    assert resp.status_code == 202 and json.loads(resp.get_body())["queued"] == 1
    host = QueueHost(app_env)
    assert [json.loads(b).get("lighthouse") for b in host.bodies()] == [MANAGING]
    assert await host.drain(call("audit_tenant")) == 1 and host.failures == []
    assert len(lighthouse_rows(app_env)) == 5


def test_scan_store_tables_stores_the_delegations(app_env):
    import os
    import subprocess
    import sys

    cmd = [sys.executable, "-c", "from pal_audit.cli.main import main; main()", "scan", "--registry",
           str(EXAMPLES / "registry.yaml"), "--cloud", os.environ["PAL_AUDIT_CLOUD"], "--store", "tables",
           "--format", "json"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), timeout=120)
    assert out.returncode == 3, out.stderr                  # Coho cannot be audited: incomplete
    report = json.loads(out.stdout)
    assert [t for t in report["tenants"] if t.get("stored") is False] == []
    assert len(lighthouse_rows(app_env)) == 5 and set(lighthouse_rows(app_env).values()) == {"open"}
    status = {r["PartitionKey"]: r for r in table_rows(app_env, "PalTenantStatus") if r["RowKey"] == "-"}
    assert MANAGING in status and not status[MANAGING].get("active_run_id")   # stored, claim released


async def test_a_managing_tenant_whose_audit_keeps_crashing_is_failed_by_the_poison_queue(app_env, alerts):
    await call("post_scans")(func.HttpRequest("POST", "/api/scans",
                                              body=json.dumps({"tenant_ids": [MANAGING]}).encode()))
    host = QueueHost(app_env)
    body = host.bodies()[0]
    run_id = json.loads(body)["run_id"]
    host.poison.create_queue()
    host.poison.send_message(body)                   # what the host does after the fifth crash
    assert await host.drain_poison(call("audit_tenant_poison")) == 1 and host.failures == []
    unit = run_row(app_env, run_id, MANAGING)
    assert unit["state"] == "failed" and "poison" in unit["error"]
    assert run_row(app_env, run_id)["status"] == "completed"
    errors = [r for r in table_rows(app_env, "PalFindings") if r["PartitionKey"] == MANAGING]
    assert [r["check_id"] for r in errors] == ["audit_error"]
