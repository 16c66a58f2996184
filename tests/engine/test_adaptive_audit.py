"""The adaptive unit limit in a real audit (armsim), the per-principal cap, and the CLI options."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from builders import EstateBuilder
from engine_support import served
from typer.testing import CliRunner

from pal_audit.cli.demo import EXAMPLES, demo_secrets
from pal_audit.cli.main import app
from pal_audit.engine.auditor import Auditor
from pal_audit.engine.concurrency import DEFAULT_START, CallObserver, UnitLimit


def test_a_429_halves_the_unit_limit_and_every_unit_still_completes(tmp_path: Path) -> None:
    b = EstateBuilder()
    for i in range(6):
        t = b.tenant(f"T{i}")
        oid = b.sp(t, "ops-app")
        b.assign(t, oid, "Contributor", b.sub(t))
    b.fail = [{"match": "role_assignments.list", "status": 429, "retry_after": 1, "times": 1}]
    with served(b, tmp_path) as (registry, _):
        async def go() -> tuple[list[bool], list[int]]:
            async with Auditor(registry, env=b.env) as auditor:
                results = [r async for r in auditor.audit_tenants()]
                oks = [i.ok for r in results for i in r.snapshot.identities]
                return oks, auditor.limit.history

        oks, limits = asyncio.run(go())
    assert oks == [True] * 6
    assert limits[:2] == [DEFAULT_START, DEFAULT_START // 2]   # before the retry policy waited


def test_pinned_concurrency_keeps_the_limit(tmp_path: Path) -> None:
    b = EstateBuilder()
    t = b.tenant("T")
    b.assign(t, b.sp(t, "ops-app"), "Contributor", b.sub(t))
    b.fail = [{"match": "role_assignments.list", "status": 429, "retry_after": 1, "times": 1}]
    with served(b, tmp_path) as (registry, _):
        async def go() -> list[int]:
            async with Auditor(registry, env=b.env, concurrency=3) as auditor:
                assert all(r.ok for r in [r async for r in auditor.audit_tenants()])
                return auditor.limit.history

        assert asyncio.run(go()) == [3]


async def test_requests_of_one_principal_in_flight_stay_under_its_cap() -> None:
    from azure.core.pipeline import PipelineRequest, PipelineResponse
    from azure.core.pipeline.policies import AsyncHTTPPolicy
    from azure.core.rest import HttpRequest

    inside = peak = 0

    class Slow(AsyncHTTPPolicy):   # stands in for the transport: counts what is in flight
        async def send(self, request):
            nonlocal inside, peak
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.01)
            inside -= 1
            return PipelineResponse(request.http_request, type("R", (), {"status_code": 200})(), None)

    slot, limit = asyncio.Semaphore(3), UnitLimit(pinned=8)
    observers = [CallObserver(slot, limit) for _ in range(4)]     # four sessions of one principal
    for o in observers:
        o.next = Slow()
    await asyncio.gather(*(o.send(PipelineRequest(HttpRequest("GET", "https://arm/x"), None))
                           for o in observers for _ in range(10)))
    assert peak == 3


def _scan(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["scan", *args])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def test_scan_with_a_low_ceiling_finds_what_a_pinned_scan_finds(armsim_cloud, monkeypatch) -> None:
    for name, value in demo_secrets(EXAMPLES / "estate.yaml", EXAMPLES / "registry.yaml").items():
        monkeypatch.setenv(name, value)
    common = ("-r", str(EXAMPLES / "registry.yaml"), "--cloud", str(armsim_cloud), "-f", "json")
    _, adaptive = _scan(*common, "--max-concurrency", "2")
    _, pinned = _scan(*common, "--concurrency", "32")
    ids = [sorted(f["finding_id"] for f in json.loads(out)["findings"]) for out in (adaptive, pinned)]
    assert ids[0] == ids[1] and ids[0]


def test_a_concurrency_of_zero_is_refused_by_name() -> None:
    code, out = _scan("-r", str(EXAMPLES / "registry.yaml"), "--concurrency", "0")
    assert code == 2 and "--concurrency" in out
    code, out = _scan("-r", str(EXAMPLES / "registry.yaml"), "--max-concurrency", "0")
    assert code == 2 and "--max-concurrency" in out



async def test_a_slow_identity_does_not_hold_back_the_tenants_after_it(tmp_path: Path) -> None:
    # Places at the gate are counted by unfinished units, not by tenants: while the slow identity of
    # each tenant still runs, its tenant's finished units free their places for the next tenants.
    from pal_audit.engine.collect import Step
    from pal_audit.model import IdentitySnapshot

    b = EstateBuilder()
    for i in range(6):
        t = b.tenant(f"T{i}")
        for name in ("fast-a", "fast-b", "slow"):
            b.sp(t, name)
    registry = b.registry("AzureCloud", tmp_path)   # type: ignore[arg-type]  # never contacted
    release, fast_done = asyncio.Event(), []

    class Simulated(Auditor):
        async def _collect(self, tenant, identity_name, step: Step, deadline):  # type: ignore[no-untyped-def, override]
            if identity_name == "slow":
                await release.wait()
            else:
                fast_done.append(tenant.name)
            return IdentitySnapshot(tenant_id=tenant.tenant_id, identity=identity_name, principal_id="p")

    async with Simulated(registry, env=b.env, concurrency=3) as auditor:
        results = asyncio.ensure_future(_drain(auditor))
        for _ in range(50):
            await asyncio.sleep(0)
        # T0's and T1's fast units ran; their slow units hold 2 of the 3 places, so T2 starts
        # (counted by tenants, T0 and T1 would fill the window and T2 would wait for `release`).
        assert {"T0", "T1", "T2"} <= set(fast_done)
        release.set()
        assert len(await results) == 6


async def _drain(auditor: Auditor) -> list[object]:
    return [r async for r in auditor.audit_tenants()]
