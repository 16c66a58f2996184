"""Property: a transient fault never makes a stored finding flap.

For seeded random fault schedules over the demo estate (404/403/429/500 on any operation armsim
serves, on one tenant or all, 1-3 times or on every call), three nights are stored through the real
findings store on Azurite: clean, faulty, clean. The estate never changes, so:
- the faulty night creates, reopens and resolves nothing but `audit_error` (which reports the fault);
- the clean night after it changes nothing but resolving those `audit_error`s.
That is stronger than "never NEW in one night and RESOLVED in the next (or the reverse)".

One fault is outside the property by contract: a 404 on `partners.get` is how ARM says "this
identity has no link", so it is a change in the estate as the auditor can observe it.
"""

from __future__ import annotations

import asyncio
import random
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from engine_support import audit_demo, demo_served

from pal_audit.engine.auditor import TenantResult

SCHEDULES = 40
BATCH = 20          # faulty audits run side by side (each on its own armsim), then are stored in turn
OPERATIONS = ("token", "partners.get", "subscriptions.list", "role_assignments.list",
              "resource_groups.list", "role_eligibility_schedule_instances.list",
              "role_assignment_schedule_instances.list", "role_definitions.get")
STATUSES = (404, 403, 429, 500)
TENANTS = ("d13c513a-42f8-4da1-97b1-165f0971b7c4", "7d791a3c-a63c-45f9-bdcd-c219fe72c33b",
           "86ad9101-08d2-43b7-b25a-55f4796ce0e9", "68b49734-b70d-403b-866b-3aa827a0018a",
           "7cbdd8d7-1463-416d-adaa-b2c3504c2658", "d2849169-0a6b-4001-b373-01c69980fbbc",
           "7ccaa901-c61f-462f-8422-0e931c962909", "495a38d0-9ce6-481b-b615-4826b1548e26",
           "f67449f7-ce5e-47cc-b183-d775467b8fef", "778369f3-4c6f-4737-af07-241b89fcc0e7")


def schedule(seed: int) -> list[dict[str, Any]]:
    """1-4 fault rules, reproducible from the seed."""
    rng = random.Random(seed)
    rules = []
    for _ in range(rng.randint(1, 4)):
        op = rng.choice(OPERATIONS)
        status = rng.choice([s for s in STATUSES if (op, s) != ("partners.get", 404)])
        rule: dict[str, Any] = {"match": op, "status": status}
        if rng.random() < 0.4:
            rule["tenant_id"] = rng.choice(TENANTS)
        times = rng.choice((1, 2, 3, None))
        if times is not None:
            rule["times"] = times
        rules.append(rule)
    return rules


async def _audit_batch(tmp: Path, seeds: list[int]) -> list[list[TenantResult]]:
    with ExitStack() as stack:
        served = []
        for seed in seeds:
            (tmp / f"s{seed}").mkdir()
            served.append(stack.enter_context(demo_served(tmp / f"s{seed}", schedule(seed))))
        return list(await asyncio.gather(*(audit_demo(s) for s in served)))


async def _store_night(store: Any, results: list[TenantResult], night: int) -> list[tuple[str, str, str]]:
    at = datetime(2026, 11, 1, 2, tzinfo=UTC) + timedelta(days=night)
    # Tenants are separate partitions: writing them side by side is what the queue workers do.
    written = await asyncio.gather(*(store.findings.write_tenant(r.snapshot, r.findings, f"night-{night}",
                                                                 at=at) for r in results))
    return sorted((c.transition.value, c.finding.check_id, f"{r.snapshot.name}/{c.finding.identity}")
                  for r, changes in zip(results, written, strict=True) for c in changes)


@pytest.mark.slow
async def test_no_finding_flaps_under_random_fault_schedules(store, tmp_path):
    (tmp_path / "clean").mkdir()
    with demo_served(tmp_path / "clean") as served:
        clean = await audit_demo(served)     # the estate never changes: every clean night sees this
    assert await _store_night(store, clean, 0), "the clean night must store the demo's findings"
    # Each schedule is a faulty night followed by a clean one. When the property holds, the clean
    # night leaves the store as the first clean night did (audit_error rows aside), so the next
    # schedule starts from the same baseline.
    failures, faulty_units = [], 0
    for start in range(0, SCHEDULES, BATCH):
        seeds = list(range(start, min(start + BATCH, SCHEDULES)))
        for seed, faulty in zip(seeds, await _audit_batch(tmp_path, seeds), strict=True):
            faulty_units += sum(1 for r in faulty for i in r.snapshot.identities if i.error or i.unknowns)
            moved = await _store_night(store, faulty, 2 * seed + 1)
            during = [m for m in moved if m[1] != "audit_error"]
            moved = await _store_night(store, clean, 2 * seed + 2)
            after = [m for m in moved if not (m[0] == "RESOLVED" and m[1] == "audit_error")]
            if during or after:
                failures.append(f"seed {seed} {schedule(seed)}: faulty night {during}; next night {after}")
    assert not failures, "\n".join(failures)
    # The schedules did hit something: units failed or were partially audited.
    assert faulty_units >= SCHEDULES
