"""The Functions app through the v2 model's function objects, on Azurite and armsim.

QueueHost plays the Functions host: it takes messages off the real Azurite queue and hands each
to the queue function, as the host would (no host runs offline).
"""

from __future__ import annotations

import ast
import asyncio
import base64
import json
import logging
import subprocess
import sys
from collections import Counter

import azure.functions as func
import pytest
import yaml
from azure.functions.timer import TimerRequest
from pal_support import (
    EXAMPLES,
    REPO,
    QueueHost,
    all_tables,
    call,
    demo_secrets,
    functions,
    set_app_env,
    table_rows,
)

from armsim import ArmSimServer, load_estate

pytestmark = pytest.mark.azurite


@pytest.fixture(autouse=True)
async def _worker_pool_closed():
    """The queue trigger keeps a connection pool per worker process: close it with the test's loop."""
    from pal_audit.service.worker import WORKER

    yield
    await WORKER.aclose()
DEMO_TENANTS = 10
DEMO_UNITS = DEMO_TENANTS + 1      # and the Lighthouse managing tenant with its customers: one message
CHECKS_EXPECTED = Counter({  # examples/README.md table: 17 findings (16 open, 1 suppressed)
    "tenant_without_credited_link": 3, "link_without_eligible_role": 2, "excessive_privilege": 2,
    "audit_error": 2, "link_foreign_partner": 1, "link_on_excluded_tenant": 1, "link_without_access": 1,
    "link_previous_partner_id": 1, "eligible_role_only_via_pim": 1, "customer_approval_missing": 1,
    "link_missing": 1, "credit_expires_soon": 1,
}) + Counter({  # and the 5 of the Lighthouse customers, stored in their partitions
    "lighthouse_credit_only_via_jit": 1, "lighthouse_delegation_not_credited": 1,
    "lighthouse_customer_not_delegated": 2, "lighthouse_unaudited_principal": 1,
})


def bindings(name: str) -> list[dict]:
    return json.loads(functions()[name].get_function_json())["bindings"]


def test_bindings_match_the_design():
    timer = bindings("nightly_audit")[0]
    assert (timer["type"], timer["schedule"], timer["useMonitor"], timer["runOnStartup"]) == \
        ("timerTrigger", "%PAL_AUDIT_SCHEDULE%", True, False)
    for name, queue in (("audit_tenant", "pal-audit-tenants"),
                        ("audit_tenant_poison", "pal-audit-tenants-poison")):
        b = bindings(name)[0]
        assert (b["type"], b["queueName"], b["connection"]) == ("queueTrigger", queue, "AzureWebJobsStorage")
    routes = {(b["route"], tuple(b["methods"]), b["authLevel"])
              for n in ("post_scans", "get_scan", "get_findings", "get_health") for b in bindings(n)[:1]}
    assert routes == {("scans", ("POST",), "FUNCTION"), ("scans/{run_id}", ("GET",), "FUNCTION"),
                      ("findings", ("GET",), "FUNCTION"), ("health", ("GET",), "ANONYMOUS")}
    dash = bindings("get_dashboard")[0]
    assert (dash["route"], dash["methods"], dash["authLevel"]) == ("dashboard", ["GET"], "FUNCTION")


def test_importing_the_app_loads_no_azure_sdk():
    code = ("import sys, function_app; heavy = [m for m in sys.modules if m.startswith(("
            "'azure.data', 'azure.storage', 'azure.identity', 'azure.mgmt', 'aiohttp', 'pal_audit.store'))];"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"


def imports_of(source: str) -> tuple[set[str], set[str]]:
    """(modules imported at module level, modules imported inside the functions) of a Python file."""
    tree = ast.parse(source)

    def names(nodes: list[ast.stmt] | list[ast.AST]) -> set[str]:
        out: set[str] = set()
        for node in nodes:
            if isinstance(node, ast.Import):
                out |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                out.add("." * node.level + (node.module or ""))
        return out

    top = names(tree.body)
    inner = names([n for f in tree.body if isinstance(f, ast.AsyncFunctionDef | ast.FunctionDef)
                   for n in ast.walk(f)])
    return top, inner


def test_the_app_imports_azure_functions_only_and_hands_over_to_the_service_and_http():
    top, inner = imports_of((REPO / "function_app.py").read_text())
    # cold start: nothing but azure.functions (plus the stdlib's logging and the __future__ switch)
    assert top == {"__future__", "logging", "azure.functions"}
    # inside the triggers: the service, its composition root and the HTTP layer; no store, alerts,
    # engine or SDK directly (they come through those)
    assert inner and all(m in ("pal_audit.service", "pal_audit.service.composition", "pal_audit.http")
                         for m in inner), inner


def test_the_import_check_catches_a_trigger_reaching_past_the_service():
    top, inner = imports_of("import azure.functions\nfrom pal_audit.store import Store\n"
                            "async def f():\n    from pal_audit.alerts import build_alerts\n")
    assert "pal_audit.store" in top and inner == {"pal_audit.alerts"}


async def nightly(host: QueueHost, *, past_due: bool = False) -> str:
    await call("nightly_audit")(TimerRequest(past_due=past_due))
    bodies = [json.loads(b) for b in host.bodies()]
    assert len({b["run_id"] for b in bodies}) == 1
    await host.drain(call("audit_tenant"))
    return bodies[0]["run_id"]


def findings_by_status(storage: str) -> Counter:
    return Counter(r["status"] for r in table_rows(storage, "PalFindings"))


async def test_the_nightly_flow(app_env, alerts, caplog):
    host = QueueHost(app_env)
    caplog.set_level(logging.INFO)
    await call("nightly_audit")(TimerRequest(past_due=True))
    assert "past due" in caplog.text

    # One base64 JSON message per tenant on the Azurite queue.
    raw = host.raw_bodies()
    messages = [json.loads(base64.b64decode(b)) for b in raw]
    units = {m.get("tenant_id") or m["lighthouse"] for m in messages}
    assert len(messages) == DEMO_UNITS and len(units) == DEMO_UNITS
    assert {(m["trigger"], m["run_id"]) for m in messages} == {("timer", messages[0]["run_id"])}
    run_id = messages[0]["run_id"]
    run = table_rows(app_env, "PalRuns")[0]
    assert (run["RowKey"], run["status"], run["tenants_total"].value) == ("run", "running", DEMO_UNITS)

    assert await host.drain(call("audit_tenant")) == DEMO_UNITS and host.failures == []

    rows = table_rows(app_env, "PalFindings")
    assert Counter(r["check_id"] for r in rows) == CHECKS_EXPECTED
    assert findings_by_status(app_env) == {"open": 21, "suppressed": 1}
    assert all(r["last_run_id"] == run_id and r["reopened_count"].value == 0 for r in rows)
    header = next(r for r in table_rows(app_env, "PalRuns") if r["RowKey"] == "run")
    counts = (header["tenants_done"].value, header["tenants_failed"].value)
    assert (header["status"], *counts) == ("completed", 10, 1)
    assert header["transitions_new"].value == 21 and header["completion_notified"] is True
    assert alerts.completed == [run_id]
    assert sorted(c.transition.value for c in alerts.recorded) == ["NEW"] * 21
    assert len(alerts.written) == DEMO_TENANTS + 7     # the managing tenant and its 6 customers


async def test_replaying_every_message_gives_the_same_tables(app_env, alerts):
    host = QueueHost(app_env)
    await call("nightly_audit")(TimerRequest(past_due=False))
    bodies = host.bodies()
    await host.drain(call("audit_tenant"))
    before = all_tables(app_env)

    for body in bodies:                 # every message delivered a second time
        host.send(body)
    assert await host.drain(call("audit_tenant")) == DEMO_UNITS and host.failures == []
    assert all_tables(app_env) == before
    assert len(alerts.completed) == 1 and len(alerts.recorded) == 21


async def test_a_tenant_whose_identity_fails_keeps_its_findings(app_env, alerts, monkeypatch):
    host = QueueHost(app_env)
    await nightly(host)
    before = {r["RowKey"]: r for r in table_rows(app_env, "PalFindings")}

    monkeypatch.setenv("PAL_DEMO_OPS_APP_SECRET", "wrong")          # ops-app cannot sign in tonight
    run2 = await nightly(host)
    # Each timer tick lets the alerts check for a quiet auditor: none yet, then run 1's finish.
    assert alerts.stale_checks[0] is None and alerts.stale_checks[1] is not None

    after = {r["RowKey"]: r for r in table_rows(app_env, "PalFindings")}
    for key, old in before.items():     # nothing resolved: every old finding is still there as it was
        assert after[key]["status"] == old["status"], (old["check_id"], old["identity"])
    new_errors = [r for k, r in after.items() if k not in before]
    assert new_errors and {r["check_id"] for r in new_errors} == {"audit_error"}
    assert {r["identity"] for r in new_errors} == {"ops-app"}
    assert all(r["detail"].startswith("auth_failed") or "auth" in r["detail"] for r in new_errors)
    assert {c.transition.value for c in alerts.recorded if c.run_id == run2} == {"NEW"}
    # ops-app's own finding (Adatum: excessive_privilege) kept its last_seen from the first run.
    kept = [r for r in after.values() if r["identity"] == "ops-app" and r["check_id"] == "excessive_privilege"
            and r["status"] == "open"]
    assert kept and all(r["last_run_id"] != run2 for r in kept)
    status = {r["PartitionKey"]: r for r in table_rows(app_env, "PalTenantStatus")
              if r["RowKey"] == "ops-app"}
    assert all(s["last_error"].startswith("auth_failed") for s in status.values())


async def test_a_fixed_misconfiguration_resolves_and_a_regression_reopens(app_env_fresh, alerts):
    from armsim_client import delete_link, put_link

    cloud, storage = app_env_fresh
    host = QueueHost(storage)
    margie = "778369f3-4c6f-4737-af07-241b89fcc0e7"
    await nightly(host)

    await put_link(cloud, margie, "ops-app", "1234567")            # the engineer links ops-app
    run2 = await nightly(host)
    resolved = {(c.finding.check_id, c.finding.tenant_id) for c in alerts.recorded
                if c.run_id == run2 and c.transition.value == "RESOLVED"}
    assert resolved == {("link_missing", margie), ("tenant_without_credited_link", margie)}

    await delete_link(cloud, margie, "ops-app")                     # ... and someone removes it again
    run3 = await nightly(host)
    reopened = [c for c in alerts.recorded if c.run_id == run3]
    assert {(c.transition.value, c.finding.check_id) for c in reopened} == \
        {("REOPENED", "link_missing"), ("REOPENED", "tenant_without_credited_link")}
    rows = [r for r in table_rows(storage, "PalFindings") if r["PartitionKey"] == margie]
    assert {(r["check_id"], r["status"], r["reopened_count"].value) for r in rows} == \
        {("link_missing", "open", 1), ("tenant_without_credited_link", "open", 1)}


MARGIE = "778369f3-4c6f-4737-af07-241b89fcc0e7"
FABRIKAM = "d13c513a-42f8-4da1-97b1-165f0971b7c4"


async def test_a_tenant_that_keeps_crashing_ends_in_the_poison_queue_as_audit_error(app_env, alerts,
                                                                                    monkeypatch):
    from pal_audit.engine.auditor import Auditor

    host = QueueHost(app_env)
    run1 = await nightly(host)
    original = Auditor.audit_tenant

    async def crashing(self, tenant_id):
        if tenant_id == MARGIE:
            raise RuntimeError("bug in a check")
        return await original(self, tenant_id)

    monkeypatch.setattr(Auditor, "audit_tenant", crashing)
    await call("nightly_audit")(TimerRequest(past_due=False))
    await host.drain(call("audit_tenant"))
    assert len(host.failures) == 5 and all("bug in a check" in str(e) for e in host.failures)
    assert len(alerts.completed) == 1                        # run 2 waits for the crashed tenant

    assert await host.drain_poison(call("audit_tenant_poison")) == 1
    rows = {(r["check_id"], r["identity"]): r for r in table_rows(app_env, "PalFindings")
            if r["PartitionKey"] == MARGIE}
    error = rows[("audit_error", "-")]
    assert error["status"] == "open" and error["detail"].startswith("unexpected")
    assert rows[("link_missing", "ops-app")]["status"] == "open"                 # not resolved
    assert rows[("link_missing", "ops-app")]["last_run_id"] == run1
    run2 = alerts.completed[-1]
    assert len(alerts.completed) == 2 and run2 != run1
    header = next(r for r in table_rows(app_env, "PalRuns")
                  if r["PartitionKey"] == run2 and r["RowKey"] == "run")
    assert (header["status"], header["tenants_failed"].value) == ("completed", 2)

    # A poison message delivered twice (or after the tenant finished) changes nothing.
    before = all_tables(app_env)
    await call("audit_tenant_poison")(func.QueueMessage(
        id="x", body=json.dumps({"run_id": run2, "tenant_id": MARGIE, "trigger": "timer"}).encode()))
    assert all_tables(app_env) == before


def http(method: str, route: str, *, body: bytes = b"", params: dict | None = None,
         route_params: dict | None = None):
    return func.HttpRequest(method, f"https://pal.example.net/api/{route}", params=params or {},
                            route_params=route_params or {}, body=body)


async def post_scan(tenant_ids=None) -> tuple[int, dict]:
    body = b"" if tenant_ids is None else json.dumps({"tenant_ids": tenant_ids}).encode()
    resp = await call("post_scans")(http("POST", "scans", body=body))
    return resp.status_code, json.loads(resp.get_body())


async def test_overlapping_timer_and_http_runs_queue_each_tenant_once(app_env, alerts):
    host = QueueHost(app_env)
    await call("nightly_audit")(TimerRequest(past_due=False))
    timer_run = json.loads(host.bodies()[0])["run_id"]

    status, body = await post_scan([MARGIE, FABRIKAM.upper()])
    assert status == 202 and body["queued"] == 0 and body["run_id"] == timer_run
    assert body["already_queued"] == {MARGIE: timer_run, FABRIKAM: timer_run}
    assert len(host.bodies()) == DEMO_UNITS                       # nothing queued twice
    await host.drain(call("audit_tenant"))

    status, body = await post_scan([MARGIE, FABRIKAM])            # the timer run is over: queued now
    assert status == 202 and body["queued"] == 2 and body["run_id"] != timer_run

    # The timer fires while another rescan of everything arrives: every tenant queued exactly once.
    await asyncio.gather(call("nightly_audit")(TimerRequest(past_due=False)), post_scan())
    queued = Counter(json.loads(b).get("tenant_id") or json.loads(b)["lighthouse"] for b in host.bodies())
    assert len(queued) == DEMO_UNITS and set(queued.values()) == {1}

    await host.drain(call("audit_tenant"))
    assert host.failures == []
    rows = table_rows(app_env, "PalFindings")
    assert len(rows) == 22 and all(r["reopened_count"].value == 0 for r in rows)
    assert sum(c.transition.value == "NEW" for c in alerts.recorded) == 21     # each finding new once
    runs = [r for r in table_rows(app_env, "PalRuns") if r["RowKey"] == "run"]
    assert all(r["status"] == "completed" for r in runs)
    assert sorted(alerts.completed) == sorted(r["PartitionKey"] for r in runs)  # each run completed once


# ---------------------------------------------------------------- health, the stale check, the app's wiring


async def test_a_run_where_every_tenant_failed_is_not_a_success(app_env, alerts, monkeypatch):
    for name in demo_secrets():                 # every credential broken
        monkeypatch.delenv(name)
    host = QueueHost(app_env)
    run_id = await nightly(host)
    header = next(r for r in table_rows(app_env, "PalRuns") if r["RowKey"] == "run")
    assert (header["status"], header["tenants_done"].value) == ("completed", 0)

    resp = await call("get_health")(http("GET", "health"))
    body = json.loads(resp.get_body())
    assert resp.status_code == 503 and body["status"] == "stale" and body["last_success"] is None
    assert (body["last_run"]["run_id"], body["last_run"]["tenants_failed"]) == (run_id, DEMO_UNITS)
    await call("nightly_audit")(TimerRequest(past_due=False))
    assert alerts.stale_checks == [None, None]      # the stale alert measures from before that run


async def test_the_stale_check_still_runs_when_the_timer_cannot_start_a_run(app_env, alerts, tmp_path,
                                                                          monkeypatch):
    from pal_audit.registry import RegistryError

    host = QueueHost(app_env)
    await nightly(host)
    broken = tmp_path / "registry.yaml"
    broken.write_text("partner: [\n")
    monkeypatch.setenv("PAL_AUDIT_REGISTRY", str(broken))
    with pytest.raises(RegistryError):              # the host records the failed invocation
        await call("nightly_audit")(TimerRequest(past_due=False))
    assert len(alerts.stale_checks) == 2 and alerts.stale_checks[1] is not None


async def test_a_relative_registry_path_is_read_from_the_app_root(app_env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                     # the host's working directory is not the app root
    monkeypatch.setenv("PAL_AUDIT_REGISTRY", "examples/registry.yaml")
    await call("nightly_audit")(TimerRequest(past_due=False))
    assert len(QueueHost(app_env).bodies()) == DEMO_UNITS


@pytest.fixture
def served_armsim(tmp_path, monkeypatch, storage):
    """armsim of its own, whose request log (operation and path) the test reads."""
    server = ArmSimServer(load_estate(EXAMPLES / "estate.yaml"))
    with server as cloud:
        path = tmp_path / "cloud.json"
        path.write_text(json.dumps(cloud.to_dict()))
        set_app_env(monkeypatch, storage, path)
        yield server


async def test_a_run_fetches_each_role_definition_once_across_its_messages(served_armsim, storage):
    host, stats = QueueHost(storage), served_armsim.sim.stats

    def fetched() -> Counter:
        return Counter(r["path"].rsplit("/", 1)[-1] for r in stats.recent
                       if r["operation"] == "role_definitions.get")

    await nightly(host)                 # ten tenant messages, built-in roles shared between tenants
    first = fetched()
    assert first and set(first.values()) == {1}, first
    estate = yaml.safe_load((EXAMPLES / "estate.yaml").read_text())
    custom_ids = {r["role_id"] for t in estate["tenants"] for r in t.get("custom_roles", [])}
    custom = Counter({role: n for role, n in first.items() if role in custom_ids})
    assert custom and custom != first
    stats.reset()
    await nightly(host)                 # the next run reads custom roles afresh (one may have changed);
    assert fetched() == custom          # built-ins stay with the worker (an hour): identical everywhere


async def test_the_queue_trigger_reuses_one_pool_and_each_credential_across_messages(served_armsim, storage):
    """Ten tenant messages share one connection pool; a rescan within the hour signs in only where
    signing in failed (a failure is never cached) and finds exactly the same."""
    from pal_audit.service.worker import WORKER

    host, stats = QueueHost(storage), served_armsim.sim.stats
    pools, connections = WORKER.pools_opened, WORKER.connections_made
    await nightly(host)
    tokens = [r for r in stats.recent if r["operation"] == "token"]
    failed_sign_ins = sum(1 for r in tokens if r["status"] != 200)
    first_findings, first_connections = findings_by_status(storage), WORKER.connections_made - connections
    assert WORKER.pools_opened == pools + 1
    assert 0 < first_connections < DEMO_TENANTS, first_connections     # a pool per message opened >= 10
    assert 0 < failed_sign_ins < len(tokens)

    stats.reset()
    await nightly(host)
    assert stats.by_operation["token"] == failed_sign_ins
    assert WORKER.pools_opened == pools + 1
    assert findings_by_status(storage) == first_findings == {"open": 21, "suppressed": 1}
