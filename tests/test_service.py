"""The service shell: storage faults mid-run, the CLI's `--store tables` path, hopeless messages."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

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
    from pal_audit.audit import Auditor
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
    assert (header["status"], finished) == ("completed", 10)
    assert [c for c in alerts.recorded if c.run_id == run2] == []


async def test_the_cli_path_writes_the_same_tables(app_env, alerts):
    from pal_audit.registry import load_registry
    from pal_audit.service import AppContext, Hooks, scan_into_tables
    from pal_audit.settings import load_settings
    from pal_audit.store import Store

    registry = load_registry(EXAMPLES / "registry.yaml")
    ctx = AppContext(load_settings(), None)      # type: ignore[arg-type]  # the auditor needs settings only
    async with Store.from_connection_string(app_env) as store, ctx.auditor() as auditor:
        first = await scan_into_tables(registry, auditor, store, hooks=Hooks.from_alerts(alerts))
        assert len(first.results) == 10 and len(first.outcomes) == 10 and first.not_stored == {}
        assert sum(len(o.changes) for o in first.outcomes) == 16
        second = await scan_into_tables(registry, auditor, store)
        assert sum(len(o.changes) for o in second.outcomes) == 0
    assert Counter(statuses(app_env).values()) == {"open": 16, "suppressed": 1}
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

    cmd = [sys.executable, "-c", "from pal_audit.cli import main; main()", "scan",
           "--registry", str(EXAMPLES / "registry.yaml"), "--cloud", str(armsim_cloud), "--store", "tables",
           "--format", "json"]
    for _ in range(2):
        out = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), timeout=60)
        assert out.returncode == 3, out.stderr                   # Coho cannot be audited: incomplete
        assert len(json.loads(out.stdout)["findings"]) == 17
    assert Counter(statuses(app_env).values()) == {"open": 16, "suppressed": 1}
    runs = [r for r in table_rows(app_env, "PalRuns") if r["RowKey"] == "run"]
    assert [(r["trigger"], r["status"], r["tenants_done"].value + r["tenants_failed"].value) for r in runs] \
        == [("cli", "completed", 10)] * 2
    assert sum(r["transitions_new"].value for r in runs) == 16


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
        ("running", 10, 6)                          # the six unsent are failed; four are on the queue
    assert claims(app_env) == dict.fromkeys(sent, run1)
    errors = [r for r in table_rows(app_env, "PalFindings") if r["check_id"] == "audit_error"]
    assert len(errors) == 6 and {r["PartitionKey"] for r in errors}.isdisjoint(sent)
    assert all(r["detail"].startswith("unexpected") and r["identity"] == "-" for r in errors)
    assert {c.finding.tenant_id for c in alerts.recorded} == {r["PartitionKey"] for r in errors}

    monkeypatch.setattr(TenantQueue, "send", send)                 # the queue is back
    await call("nightly_audit")(TimerRequest(past_due=False))
    run2 = [b for b in map(json.loads, host.bodies()) if b["run_id"] != run1]
    assert sorted(b["tenant_id"] for b in run2) == sorted(r["PartitionKey"] for r in errors)
    assert await host.drain(call("audit_tenant")) == 10 and host.failures == []
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
    assert len(QueueHost(app_env).bodies()) == 10                   # nothing held by the dead run


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
    from pal_audit.service import AppContext, Hooks, scan_into_tables
    from pal_audit.settings import load_settings
    from pal_audit.store import Store

    registry = load_registry(EXAMPLES / "registry.yaml")
    async with Store.from_connection_string(app_env) as store, \
            AppContext(load_settings(), None).auditor() as auditor:  # type: ignore[arg-type]
        with pytest.raises(asyncio.CancelledError):
            await scan_into_tables(registry, StopsAfter(auditor, 3), store, hooks=Hooks.from_alerts(alerts))
    runs = [r for r in table_rows(app_env, "PalRuns") if r["RowKey"] == "run"]
    assert [(r["status"], r["tenants_done"].value + r["tenants_failed"].value) for r in runs] == \
        [("completed", 10)]
    assert claims(app_env) == {} and alerts.completed == [runs[0]["PartitionKey"]]
    await call("nightly_audit")(TimerRequest(past_due=False))
    assert len(QueueHost(app_env).bodies()) == 10


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
    assert done + failed == 10 and failed >= 8                  # eight given back, Coho may be a ninth
    await call("nightly_audit")(TimerRequest(past_due=False))
    assert len(QueueHost(app_env).bodies()) == 10
