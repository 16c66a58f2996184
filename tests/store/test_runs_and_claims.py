"""PalRuns counting and completion, PalTenantStatus claims: what two invocations meeting must not break."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from builders import T1, T2, snapshot
from pal_support import REPO

from pal_audit.store import new_run_id
from pal_audit.store.tenant_status import CLAIM_TTL

pytestmark = pytest.mark.azurite
NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
TENANTS = [f"{i:08d}-0000-0000-0000-000000000000" for i in range(24)]


async def test_a_run_completes_exactly_once_however_tenants_race(store):
    run_id = new_run_id(NOW)
    await store.runs.create(run_id, "timer", TENANTS, skipped=0, at=NOW)
    # Every tenant finished twice at once (a redelivered message racing the original).
    outcomes = await asyncio.gather(*(
        store.runs.finish_tenant(run_id, t, ok=i % 4 != 0, changes=(), error=None, at=NOW)
        for i, t in enumerate(TENANTS * 2)))
    assert sum(o.completed_now for o in outcomes) == 1
    assert sum(o.counted for o in outcomes) == 24
    run = await store.runs.get(run_id)
    assert (run.status, run.done, run.failed, run.total) == ("completed", 18, 6, 24)
    assert run.to_public()["tenants"]["pending"] == 0


async def test_recent_runs_come_oldest_first(store):
    ids = [new_run_id(NOW - timedelta(hours=h)) for h in (50, 20, 1)]
    for rid in ids:
        await store.runs.create(rid, "http", [T1], skipped=0, at=NOW)
    assert [r.run_id for r in await store.runs.recent(NOW - timedelta(hours=24))] == ids[1:]


async def test_only_one_of_two_runs_claims_a_tenant(store):
    async def active(*_):
        return True

    a, b = new_run_id(NOW), new_run_id(NOW)
    claims = await asyncio.gather(*(store.status.claim(T1, rid, at=NOW, holder_active=active)
                                    for rid in (a, b, a, b)))
    winners = {rid for rid, c in zip((a, b, a, b), claims, strict=True) if c.claimed}
    assert len(winners) == 1
    holder = winners.pop()
    assert all(c.holder == holder for c in claims if not c.claimed)


async def test_a_claim_ends_when_its_run_writes_the_tenant_or_grows_old(store):
    async def active(*_):
        return True

    a, b = new_run_id(NOW), new_run_id(NOW)
    assert (await store.status.claim(T1, a, at=NOW, holder_active=active)).claimed
    assert not (await store.status.claim(T1, b, at=NOW, holder_active=active)).claimed
    await store.status.record(snapshot(T1), a, at=NOW)          # run a wrote the tenant: claim released
    assert (await store.status.claim(T1, b, at=NOW, holder_active=active)).claimed

    assert (await store.status.claim(T2, a, at=NOW, holder_active=active)).claimed
    later = NOW + CLAIM_TTL + timedelta(minutes=1)              # a lost message cannot block forever
    assert (await store.status.claim(T2, b, at=later, holder_active=active)).claimed


async def test_a_run_gives_back_only_its_own_claim(store):
    async def active(*_):
        return True

    a, b = new_run_id(NOW), new_run_id(NOW)
    assert (await store.status.claim(T1, a, at=NOW, holder_active=active)).claimed
    assert not await store.status.release(T1, b)                # not b's to give back
    assert not (await store.status.claim(T1, b, at=NOW, holder_active=active)).claimed
    assert await store.status.release(T1, a)
    assert (await store.status.claim(T1, b, at=NOW, holder_active=active)).claimed
    assert not await store.status.release(T2, a)                # never claimed at all


def _duration(text: str) -> timedelta:
    h, m, s = (int(x) for x in text.split(":"))
    return timedelta(hours=h, minutes=m, seconds=s)


def test_a_claim_outlives_every_delivery_of_its_message():
    """CLAIM_TTL must cover a message that fails on every delivery until the poison trigger
    finishes its tenant (host.json), or a second run could queue a tenant still in flight."""
    host = json.loads((REPO / "host.json").read_text())
    queues = host["extensions"]["queues"]
    worst = queues["maxDequeueCount"] * (_duration(host["functionTimeout"])
                                         + _duration(queues["visibilityTimeout"]))
    assert worst + timedelta(minutes=30) <= CLAIM_TTL <= timedelta(hours=3)


async def test_tenant_status_records_attempts_and_errors(store):
    await store.status.record(snapshot(T1), "r1", at=NOW)
    later = NOW + timedelta(days=1)
    await store.status.record(snapshot(T1, ok={"ops-app": False}), "r2", at=later)
    rows = await store.status.get(T1)
    assert rows["-"]["last_attempted"] == later and rows["-"]["last_succeeded"] == NOW
    assert rows["-"]["last_error"] == "ops-app: forbidden"
    assert rows["ops-app"]["last_succeeded"] == NOW and rows["ops-app"]["last_error"].startswith("forbidden")
    assert rows["mon-app"]["last_succeeded"] == later and rows["mon-app"]["last_error"] == ""
