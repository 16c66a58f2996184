"""The service shell: storage faults mid-run, the CLI's `--store tables` path, hopeless messages."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest
from pal_support import EXAMPLES, QueueHost, call, set_app_env, table_rows

from pal_audit.devstack import running_azurite

pytestmark = pytest.mark.azurite
MARGIE = "778369f3-4c6f-4737-af07-241b89fcc0e7"
FABRIKAM = "d13c513a-42f8-4da1-97b1-165f0971b7c4"


def statuses(storage: str) -> dict[str, str]:
    return {r["RowKey"]: r["status"] for r in table_rows(storage, "PalFindings")}


@pytest.fixture
def disk_azurite(tmp_path):
    """An Azurite of its own that keeps its data on disk, so it can be stopped and restarted."""
    import pal_audit.store as store_pkg

    with running_azurite(location=tmp_path / "azurite") as instance:
        store_pkg._ensured.clear()
        yield instance
    store_pkg._ensured.clear()


async def test_storage_stopping_mid_run_fails_clearly_and_the_retry_completes_the_run(
        disk_azurite, armsim_cloud, monkeypatch, alerts):
    from pal_audit.engine.auditor import Auditor
    from pal_audit.store import StoreUnavailable
    from pal_audit.store.tenant_status import TenantStatusTable

    storage = disk_azurite.connection_string
    set_app_env(monkeypatch, storage, armsim_cloud)
    host = QueueHost(storage)
    await call("nightly_audit")(TimerRequest(past_due=False))
    await host.drain(call("audit_tenant"))
    after_run1 = statuses(storage)

    # Run 2: storage goes away after Margie's audit (before its findings are written), and again
    # after Fabrikam's findings are written (before its status and the run are updated).
    audit, record = Auditor.audit_tenant, TenantStatusTable.record

    async def audit_then_outage(self, tenant_id):
        result = await audit(self, tenant_id)
        if tenant_id == MARGIE:
            disk_azurite.stop()
        return result

    async def record_after_outage(self, snapshot, run_id, **kw):
        if snapshot.tenant_id == FABRIKAM:
            disk_azurite.stop()
        return await record(self, snapshot, run_id, **kw)

    monkeypatch.setattr(Auditor, "audit_tenant", audit_then_outage)
    monkeypatch.setattr(TenantStatusTable, "record", record_after_outage)
    await call("nightly_audit")(TimerRequest(past_due=False))
    messages = list(host.queue.receive_messages(max_messages=32, visibility_timeout=600))
    run2 = json.loads(messages[0].content)["run_id"]
    failed = []
    for m in messages:
        if not disk_azurite.running:
            disk_azurite.start()
        try:
            await call("audit_tenant")(func.QueueMessage(id=m.id, body=m.content.encode()))
        except StoreUnavailable as exc:
            assert "unavailable" in str(exc) and str(disk_azurite.table_port) in str(exc)
            failed.append(m)
            continue
        host.queue.delete_message(m)
    assert {json.loads(m.content)["tenant_id"] for m in failed} == {MARGIE, FABRIKAM}
    if not disk_azurite.running:
        disk_azurite.start()
    monkeypatch.setattr(Auditor, "audit_tenant", audit)
    monkeypatch.setattr(TenantStatusTable, "record", record)
    assert statuses(storage) == after_run1              # nothing resolved, nothing lost

    for m in failed:                                     # the host redelivers the failed messages
        host.queue.update_message(m, visibility_timeout=0)
    assert await host.drain(call("audit_tenant")) == 2 and host.failures == []
    assert statuses(storage) == after_run1
    assert alerts.completed.count(run2) == 1
    header = next(r for r in table_rows(storage, "PalRuns")
                  if r["PartitionKey"] == run2 and r["RowKey"] == "run")
    finished = header["tenants_done"].value + header["tenants_failed"].value
    assert (header["status"], finished) == ("completed", 11)
    assert [c for c in alerts.recorded if c.run_id == run2] == []


async def test_the_cli_path_writes_the_same_tables(app_env, alerts):
    from pal_audit.registry import load_registry
    from pal_audit.service import AppContext, scan_into_tables
    from pal_audit.settings import load_settings
    from pal_audit.store import Store

    registry = load_registry(EXAMPLES / "registry.yaml")
    ctx = AppContext(load_settings(), None)      # type: ignore[arg-type]  # the auditor needs settings only
    async with Store.from_connection_string(app_env) as store, ctx.auditor() as auditor:
        first = await scan_into_tables(registry, auditor, store, observer=alerts)
        assert len(first.results) == 17 and len(first.outcomes) == 11 and first.not_stored == {}
        assert sum(len(o.changes) for o in first.outcomes) == 21
        second = await scan_into_tables(registry, auditor, store)
        assert sum(len(o.changes) for o in second.outcomes) == 0
    assert Counter(statuses(app_env).values()) == {"open": 21, "suppressed": 1}
    runs = {r["PartitionKey"]: r for r in table_rows(app_env, "PalRuns") if r["RowKey"] == "run"}
    assert {r["trigger"] for r in runs.values()} == {"cli"} and set(runs) == {first.run_id, second.run_id}
    assert all(r["status"] == "completed" for r in runs.values()) and alerts.completed == [first.run_id]


async def test_the_cli_does_not_store_tenants_a_functions_run_has_queued(app_env):
    from pal_audit.registry import load_registry
    from pal_audit.service import AppContext, scan_into_tables
    from pal_audit.settings import load_settings
    from pal_audit.store import Store

    await call("post_scans")(func.HttpRequest("POST", "https://x/api/scans", body=json.dumps(
        {"tenant_ids": [MARGIE]}).encode()))
    registry = load_registry(EXAMPLES / "registry.yaml")
    async with Store.from_connection_string(app_env) as store, \
            AppContext(load_settings(), None).auditor() as auditor:  # type: ignore[arg-type]
        scan = await scan_into_tables(registry, auditor, store, [MARGIE, FABRIKAM])
    assert len(scan.results) == 2 and list(scan.not_stored) == [MARGIE]
    assert {o.tenant_id for o in scan.outcomes} == {FABRIKAM}


async def test_messages_that_can_never_succeed_are_dropped_not_retried(app_env, caplog):
    for body in (b"not json", b"{}",
                 b'{"run_id": "20260301T020000Z-1a2b3c4d", "tenant_id": "x", "trigger": "timer"}',
                 json.dumps({"run_id": "20260301T020000Z-1a2b3c4d", "tenant_id": FABRIKAM,
                             "trigger": "timer"}).encode()):
        await call("audit_tenant")(func.QueueMessage(id="1", body=body))     # no exception: no retry
        await call("audit_tenant_poison")(func.QueueMessage(id="1", body=body))
    assert "malformed" in caplog.text and "unknown run" in caplog.text


async def test_a_tenant_removed_from_the_registry_still_finishes_its_run(app_env, alerts, tmp_path,
                                                                          monkeypatch):
    import pal_audit.service as service

    host = QueueHost(app_env)
    await call("nightly_audit")(TimerRequest(past_due=False))
    smaller = (EXAMPLES / "registry.yaml").read_text().replace(
        f"  - tenant_id: {MARGIE}", "  - tenant_id: 778369f3-4c6f-4737-af07-241b89fcc0e8")
    (tmp_path / "registry.yaml").write_text(smaller)
    monkeypatch.setenv("PAL_AUDIT_REGISTRY", str(tmp_path / "registry.yaml"))
    service._registry_cache.clear()
    await host.drain(call("audit_tenant"))
    assert host.failures == [] and len(alerts.completed) == 1
    header = next(r for r in table_rows(app_env, "PalRuns") if r["RowKey"] == "run")
    assert header["tenants_failed"].value == 2          # Coho (sign-in) and the removed tenant


def test_pal_audit_scan_store_tables_writes_the_function_tables(app_env, armsim_cloud):
    """The real command line (`pal-audit scan --store tables`), twice: the second run changes nothing."""
    import os
    import subprocess
    import sys

    cmd = [sys.executable, "-c", "from pal_audit.cli.main import main; main()", "scan",
           "--registry", str(EXAMPLES / "registry.yaml"), "--cloud", str(armsim_cloud), "--store", "tables",
           "--format", "json"]
    for _ in range(2):
        out = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), timeout=60)
        assert out.returncode == 3, out.stderr                   # Coho cannot be audited: incomplete
        # 17 in the registry's tenants + 5 of its Lighthouse customers, all stored
        assert len(json.loads(out.stdout)["findings"]) == 22
    assert Counter(statuses(app_env).values()) == {"open": 21, "suppressed": 1}
    runs = [r for r in table_rows(app_env, "PalRuns") if r["RowKey"] == "run"]
    assert [(r["trigger"], r["status"], r["tenants_done"].value + r["tenants_failed"].value) for r in runs] \
        == [("cli", "completed", 11)] * 2
    assert sum(r["transitions_new"].value for r in runs) == 21


# ---------------------------------------------------------------- a run that dies gives its tenants back


def run_header(storage: str, run_id: str) -> dict:
    return next(r for r in table_rows(storage, "PalRuns")
                if r["PartitionKey"] == run_id and r["RowKey"] == "run")


def claims(storage: str) -> dict[str, str]:
    """Tenant id -> the run holding its claim (only tenants currently claimed)."""
    return {r["PartitionKey"]: r["active_run_id"] for r in table_rows(storage, "PalTenantStatus")
            if r["RowKey"] == "-" and r.get("active_run_id")}


async def test_a_queue_failing_part_way_gives_the_unsent_tenants_back(app_env, alerts, monkeypatch):
    from azure.core.exceptions import ServiceRequestError

    from pal_audit.store import StoreUnavailable
    from pal_audit.store.queues import TenantQueue

    host, sent, send = QueueHost(app_env), [], TenantQueue.send

    async def fails_after_four(self, message):
        if len(sent) >= 4:
            raise ServiceRequestError("connection reset by peer")
        sent.append(message.tenant_id)
        await send(self, message)

    monkeypatch.setattr(TenantQueue, "send", fails_after_four)
    with pytest.raises(StoreUnavailable):
        await call("nightly_audit")(TimerRequest(past_due=False))
    run1 = json.loads(host.bodies()[0])["run_id"]
    assert sorted(json.loads(b)["tenant_id"] for b in host.bodies()) == sorted(sent)
    header = run_header(app_env, run1)
    assert (header["status"], header["tenants_total"].value, header["tenants_failed"].value) == \
        ("running", 11, 7)                          # the seven unsent are failed; four are on the queue
    assert claims(app_env) == dict.fromkeys(sent, run1)
    errors = [r for r in table_rows(app_env, "PalFindings") if r["check_id"] == "audit_error"]
    assert len(errors) == 7 and {r["PartitionKey"] for r in errors}.isdisjoint(sent)
    assert all(r["detail"].startswith("unexpected") and r["identity"] == "-" for r in errors)
    assert {c.finding.tenant_id for c in alerts.recorded} == {r["PartitionKey"] for r in errors}

    monkeypatch.setattr(TenantQueue, "send", send)                 # the queue is back
    await call("nightly_audit")(TimerRequest(past_due=False))
    run2 = [b for b in map(json.loads, host.bodies()) if b["run_id"] != run1]
    units = sorted(b.get("tenant_id") or b["lighthouse"] for b in run2)    # a managing tenant is a unit
    assert units == sorted(r["PartitionKey"] for r in errors)
    assert await host.drain(call("audit_tenant")) == 11 and host.failures == []
    assert sorted(alerts.completed) == sorted([run1, run2[0]["run_id"]]) and claims(app_env) == {}
    assert run_header(app_env, run1)["status"] == "completed"


async def test_a_run_that_could_not_be_recorded_releases_its_claims(app_env, monkeypatch):
    from azure.core.exceptions import ServiceResponseError

    from pal_audit.store import StoreUnavailable
    from pal_audit.store.runs import RunsTable

    create = RunsTable.create

    async def storage_drops(self, *args, **kwargs):
        raise ServiceResponseError("storage went away")

    monkeypatch.setattr(RunsTable, "create", storage_drops)
    with pytest.raises(StoreUnavailable):
        await call("nightly_audit")(TimerRequest(past_due=False))
    assert claims(app_env) == {}
    monkeypatch.setattr(RunsTable, "create", create)
    await call("nightly_audit")(TimerRequest(past_due=False))
    assert len(QueueHost(app_env).bodies()) == 11                   # nothing held by the dead run


class StopsAfter:
    """The real auditor, interrupted (Ctrl-C under asyncio.run cancels the scan) after `n` tenants."""

    def __init__(self, auditor, n: int) -> None:
        self.auditor, self.n = auditor, n

    async def audit_tenants(self, tenant_ids, progress=None):
        count = 0
        async for result in self.auditor.audit_tenants(tenant_ids, progress=progress):
            if count == self.n:
                raise asyncio.CancelledError
            count += 1
            yield result


async def test_an_interrupted_cli_scan_finishes_its_run_and_frees_its_tenants(app_env, alerts):
    from pal_audit.registry import load_registry
    from pal_audit.service import AppContext, scan_into_tables
    from pal_audit.settings import load_settings
    from pal_audit.store import Store

    registry = load_registry(EXAMPLES / "registry.yaml")
    async with Store.from_connection_string(app_env) as store, \
            AppContext(load_settings(), None).auditor() as auditor:  # type: ignore[arg-type]
        with pytest.raises(asyncio.CancelledError):
            await scan_into_tables(registry, StopsAfter(auditor, 3), store, observer=alerts)
    runs = [r for r in table_rows(app_env, "PalRuns") if r["RowKey"] == "run"]
    assert [(r["status"], r["tenants_done"].value + r["tenants_failed"].value) for r in runs] == \
        [("completed", 10)]
    assert claims(app_env) == {} and alerts.completed == [runs[0]["PartitionKey"]]
    await call("nightly_audit")(TimerRequest(past_due=False))
    assert len(QueueHost(app_env).bodies()) == 11


async def test_closing_the_cli_sink_early_finishes_its_run_and_frees_its_tenants(app_env):
    from pal_audit.registry import load_registry
    from pal_audit.service import AppContext, table_result_sink
    from pal_audit.settings import load_settings

    registry = load_registry(EXAMPLES / "registry.yaml")
    async with table_result_sink(load_settings(), registry) as sink, \
            AppContext(load_settings(), None).auditor() as auditor:  # type: ignore[arg-type]
        async for result in StopsAfter(auditor, 10).audit_tenants(registry.tenant_ids()):
            await sink("scan", result)
            if len(sink.outcomes) == 2:
                break                               # the CLI stops here (an error, Ctrl-C)
    header = run_header(app_env, sink.run_id)
    assert header["status"] == "completed" and claims(app_env) == {}
    done, failed = header["tenants_done"].value, header["tenants_failed"].value
    assert done + failed == 11 and failed >= 9  # 8 tenants and the Lighthouse unit given back
    await call("nightly_audit")(TimerRequest(past_due=False))
    assert len(QueueHost(app_env).bodies()) == 11


# ---------------------------------------------------------------- run counters under redelivery


async def scan_json(run_id: str) -> dict:
    """GET /api/scans/{run_id}, as an operator reads it."""
    req = func.HttpRequest("GET", f"https://pal.example.net/api/scans/{run_id}", body=b"",
                           route_params={"run_id": run_id})
    resp = await call("get_scan")(req)
    assert resp.status_code == 200, resp.get_body()
    return json.loads(resp.get_body())


async def test_each_message_delivered_twice_at_once_counts_every_transition_once(app_env, monkeypatch):
    from pal_audit.store.findings import FindingsTable
    from pal_audit.store.runs import RunsTable

    # The race that loses counts: both deliveries read the findings before either commits; one
    # commits every transition, the other finds nothing left to do and finishes the tenant first.
    commit, finish = FindingsTable._commit, RunsTable.finish_tenant
    arrived: dict[str, int] = {}

    async def both_read_first(self, writes, *args, **kwargs):
        if writes:
            tid = writes[0].row.finding.tenant_id
            arrived[tid] = arrived.get(tid, 0) + 1
            for _ in range(200):
                if arrived[tid] >= 2:
                    break
                await asyncio.sleep(0.01)
        return await commit(self, writes, *args, **kwargs)

    async def committer_finishes_last(self, run_id, tenant_id, *, changes, **kwargs):
        changes = list(changes)
        if changes:
            await asyncio.sleep(0.3)
        return await finish(self, run_id, tenant_id, changes=changes, **kwargs)

    monkeypatch.setattr(FindingsTable, "_commit", both_read_first)
    monkeypatch.setattr(RunsTable, "finish_tenant", committer_finishes_last)
    host = QueueHost(app_env)
    await call("nightly_audit")(TimerRequest(past_due=False))
    messages = list(host.queue.receive_messages(max_messages=32, visibility_timeout=600))
    run_id = json.loads(messages[0].content)["run_id"]
    audit_tenant = call("audit_tenant")
    for m in messages:          # the host hands one message to two workers at the same moment
        body = m.content.encode()
        await asyncio.gather(audit_tenant(func.QueueMessage(id=m.id, body=body)),
                             audit_tenant(func.QueueMessage(id=m.id, body=body)))
    scan = await scan_json(run_id)
    assert scan["status"] == "completed" and scan["tenants"]["pending"] == 0
    assert scan["transitions"]["NEW"] == 21
    assert Counter(statuses(app_env).values()) == {"open": 21, "suppressed": 1}


async def test_storage_lost_after_the_findings_commit_still_counts_the_redelivered_tenants(
        disk_azurite, armsim_cloud, monkeypatch, alerts):
    from pal_audit.store import StoreUnavailable
    from pal_audit.store.tenant_status import TenantStatusTable

    storage = disk_azurite.connection_string
    set_app_env(monkeypatch, storage, armsim_cloud)
    host = QueueHost(storage)
    record = TenantStatusTable.record
    lost: set[str] = set()

    async def outage_after_the_findings(self, snapshot, run_id, **kw):
        if snapshot.tenant_id not in lost:      # first delivery of every tenant: storage goes away
            lost.add(snapshot.tenant_id)
            disk_azurite.stop()
        return await record(self, snapshot, run_id, **kw)

    monkeypatch.setattr(TenantStatusTable, "record", outage_after_the_findings)
    await call("nightly_audit")(TimerRequest(past_due=False))
    messages = list(host.queue.receive_messages(max_messages=32, visibility_timeout=600))
    run_id = json.loads(messages[0].content)["run_id"]
    for m in messages * 2:                      # each fails once, then the redelivery succeeds
        if not disk_azurite.running:
            disk_azurite.start()
        try:
            await call("audit_tenant")(func.QueueMessage(id=m.id, body=m.content.encode()))
        except StoreUnavailable:
            continue
    if not disk_azurite.running:
        disk_azurite.start()
    scan = await scan_json(run_id)
    assert scan["status"] == "completed" and scan["tenants"]["pending"] == 0
    assert Counter(statuses(storage).values()) == {"open": 21, "suppressed": 1}
    assert scan["transitions"]["NEW"] == 21


# ---------------------------------------------------------------- storage lost under a CLI scan

# `pal-audit scan --store tables` whose storage dies (SIGTERM to Azurite, by pid) once the first
# tenant is stored: the sink's write is wrapped, everything else is the real command line.
_CLI_KILLS_STORAGE = """
import os, signal, sys
import pal_audit.service.stored_scan as cli_sink
from pal_audit.cli.main import main

store = cli_sink.store_tenant_result
async def then_storage_dies(*args, **kwargs):
    outcome = await store(*args, **kwargs)
    os.kill(int(os.environ["AZURITE_PID"]), signal.SIGTERM)
    return outcome
cli_sink.store_tenant_result = then_storage_dies
sys.argv[1:] = {argv!r}
main()
"""


def _scan_cmd(armsim_cloud) -> list[str]:
    return ["scan", "--registry", str(EXAMPLES / "registry.yaml"), "--cloud", str(armsim_cloud),
            "--store", "tables", "--format", "json"]


def test_storage_dying_under_a_cli_scan_gives_one_line_and_the_rerun_stores_every_tenant(
        disk_azurite, armsim_cloud, monkeypatch):
    import os
    import subprocess
    import sys
    import time

    storage = disk_azurite.connection_string
    set_app_env(monkeypatch, storage, armsim_cloud)
    env = {**os.environ, "AZURITE_PID": str(disk_azurite._proc.pid)}
    script = _CLI_KILLS_STORAGE.format(argv=_scan_cmd(armsim_cloud))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr and len(lines) <= 3, out.stderr
    assert any("storage" in line and "rerun" in line for line in lines), out.stderr

    for _ in range(100):                    # the SIGTERM'd Azurite has exited: start it again
        if disk_azurite._proc.poll() is not None:
            break
        time.sleep(0.1)
    disk_azurite.start()
    first_run = next(r["PartitionKey"] for r in table_rows(storage, "PalRuns") if r["RowKey"] == "run")
    assert len(claims(storage)) == 10        # storage was gone: the dead scan could not hand them back

    cmd = [sys.executable, "-c", "from pal_audit.cli.main import main; main()", *_scan_cmd(armsim_cloud)]
    rerun = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), timeout=120)
    assert rerun.returncode == 3, rerun.stderr              # Coho cannot be audited: incomplete
    report = json.loads(rerun.stdout)
    # every registry tenant and the Lighthouse unit stored
    assert [t for t in report["tenants"] if t.get("stored") is False and "kind" not in t] == []
    second = run_header(storage, report["run"]["run_id"])
    assert (second["status"], second["tenants_total"].value) == ("completed", 11)
    assert claims(storage) == {}
    first = run_header(storage, first_run)                 # the dead run completes: 1 stored, 9 failed
    assert (first["status"], first["tenants_done"].value + first["tenants_failed"].value) == ("completed", 11)
    assert Counter(statuses(storage).values()) == {"open": 21, "suppressed": 1}


# ---------------------------------------------------------------- storage lost while the timer queues


def backdate_run(storage: str, run_id: str, by: timedelta) -> None:
    """Time passes: the run started `by` earlier than it did."""
    from azure.data.tables import TableClient, UpdateMode

    client = TableClient.from_connection_string(storage, "PalRuns")
    header = client.get_entity(run_id, "run")
    client.update_entity({"PartitionKey": run_id, "RowKey": "run", "started": header["started"] - by},
                         mode=UpdateMode.MERGE)


async def test_a_run_whose_messages_could_not_be_queued_is_not_reused(disk_azurite, armsim_cloud,
                                                                       monkeypatch, alerts, caplog):
    from pal_audit.store import StoreUnavailable
    from pal_audit.store.queues import TenantQueue

    storage = disk_azurite.connection_string
    set_app_env(monkeypatch, storage, armsim_cloud)
    send = TenantQueue.send

    async def storage_blips(self, message):
        disk_azurite.stop()
        await send(self, message)

    monkeypatch.setattr(TenantQueue, "send", storage_blips)
    with pytest.raises(StoreUnavailable):               # the timer fails: the host logs and retries it
        await call("nightly_audit")(TimerRequest(past_due=False))
    assert "Traceback" not in caplog.text
    disk_azurite.start()
    monkeypatch.setattr(TenantQueue, "send", send)
    host = QueueHost(storage)
    dead = next(r["PartitionKey"] for r in table_rows(storage, "PalRuns") if r["RowKey"] == "run")
    assert host.bodies() == [] and set(claims(storage).values()) == {dead}

    backdate_run(storage, dead, timedelta(minutes=2))    # the timer's retry, two minutes later
    req = func.HttpRequest("POST", "https://pal.example.net/api/scans", body=b"{}")
    resp = await call("post_scans")(req)
    body = json.loads(resp.get_body())
    assert resp.status_code == 202 and body["queued"] == 11 and body["run_id"] != dead
    header = run_header(storage, dead)
    assert (header["status"], header["tenants_failed"].value) == ("completed", 11)
    assert all(r["error"].startswith("unexpected: not audited in this run")
               for r in table_rows(storage, "PalRuns") if r["PartitionKey"] == dead and r["RowKey"] != "run")
    assert await host.drain(call("audit_tenant")) == 11 and host.failures == []
    assert run_header(storage, body["run_id"])["status"] == "completed" and claims(storage) == {}
    await call("nightly_audit")(TimerRequest(past_due=False))   # and the next timer queues all again
    assert len(host.bodies()) == 11


async def test_a_run_starting_right_now_still_holds_its_tenants(app_env, monkeypatch):
    """The other side of taking over: a run still sending its messages is not dead."""
    from pal_audit.store.queues import TenantQueue

    host, send, nested = QueueHost(app_env), TenantQueue.send, []

    async def a_rescan_arrives_mid_send(self, message):
        if not nested:
            nested.append(await call("post_scans")(
                func.HttpRequest("POST", "https://pal.example.net/api/scans", body=b"{}")))
        await send(self, message)

    monkeypatch.setattr(TenantQueue, "send", a_rescan_arrives_mid_send)
    await call("nightly_audit")(TimerRequest(past_due=False))
    assert json.loads(nested[0].get_body())["queued"] == 0
    assert len(host.bodies()) == 11


def test_a_cli_scan_names_the_tenants_it_could_not_store(app_env, armsim_cloud):
    """Tenants a live Functions run holds are audited but not stored: stderr and the report say so."""
    import os
    import subprocess
    import sys

    asyncio.run(call("nightly_audit")(TimerRequest(past_due=False)))      # queued, not yet audited
    held = json.loads(QueueHost(app_env).bodies()[0])["run_id"]
    cmd = [sys.executable, "-c", "from pal_audit.cli.main import main; main()", *_scan_cmd(armsim_cloud)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), timeout=120)
    assert out.returncode == 3, out.stderr
    notice = [line for line in out.stderr.splitlines() if "not stored" in line]
    assert len(notice) == 1 and "11 tenant(s)" in notice[0] and held in notice[0] and MARGIE in notice[0]
    tenants = [t for t in json.loads(out.stdout)["tenants"] if "kind" not in t]   # Lighthouse: never stored
    assert len(tenants) == 10 and all(t["stored"] is False and held in t["not_stored"] for t in tenants)


# The first tenant whose findings commit produced transitions: storage dies right after that commit,
# before the tenant is finished in its run.
_CLI_KILLS_STORAGE_AFTER_COMMIT = """
import os, signal, sys
from pal_audit.store.findings import FindingsTable
from pal_audit.cli.main import main

apply = FindingsTable.apply_tenant
async def then_storage_dies(*args, **kwargs):
    written = await apply(*args, **kwargs)
    if written.committed:
        os.kill(int(os.environ["AZURITE_PID"]), signal.SIGTERM)
    return written
FindingsTable.apply_tenant = then_storage_dies
sys.argv[1:] = {argv!r}
main()
"""


def test_transitions_committed_by_a_scan_that_died_still_count_once(disk_azurite, armsim_cloud, monkeypatch):
    import os
    import subprocess
    import sys
    import time

    storage = disk_azurite.connection_string
    set_app_env(monkeypatch, storage, armsim_cloud)
    env = {**os.environ, "AZURITE_PID": str(disk_azurite._proc.pid)}
    script = _CLI_KILLS_STORAGE_AFTER_COMMIT.format(argv=_scan_cmd(armsim_cloud))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    for _ in range(100):
        if disk_azurite._proc.poll() is not None:
            break
        time.sleep(0.1)
    disk_azurite.start()
    new_before = sum(1 for r in table_rows(storage, "PalFindings") if r["status"] == "open")
    assert new_before > 0                   # the dead scan committed some NEW findings

    cmd = [sys.executable, "-c", "from pal_audit.cli.main import main; main()", *_scan_cmd(armsim_cloud)]
    rerun = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), timeout=120)
    assert rerun.returncode == 3, rerun.stderr
    runs = [r for r in table_rows(storage, "PalRuns") if r["RowKey"] == "run"]
    assert [r["status"] for r in runs] == ["completed", "completed"]
    assert Counter(statuses(storage).values()) == {"open": 21, "suppressed": 1}
    assert [r["transitions_new"].value for r in runs] == [new_before, 21 - new_before]


async def test_the_app_root_passes_the_alerts_in_and_a_caller_passes_its_own(app_env, monkeypatch):
    from pal_audit.alerts import AlertsObserver
    from pal_audit.service import NO_OBSERVER, AppRoot, NoObserver, open_context

    async with AppRoot().open() as ctx:             # no alert channel configured: nothing observes
        assert ctx.observer is NO_OBSERVER
    monkeypatch.setenv("PAL_AUDIT_TEAMS_WEBHOOK_URL",
                       "https://prod-01.westeurope.logic.azure.com:443/workflows/1/triggers/manual?sig=s3cr3tsig")
    async with AppRoot().open() as ctx:
        assert isinstance(ctx.observer, AlertsObserver)
        assert ctx.observer.alerts.outbox.table.table_name == "PalAlerts"     # the store's client

    mine = NoObserver()
    async with open_context(observer=lambda settings, store: mine) as ctx:
        assert ctx.observer is mine
    async with open_context() as ctx:               # the service alone never finds the alerts
        assert ctx.observer is NO_OBSERVER
