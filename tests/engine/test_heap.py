"""The collector's settings while audits run, and back to what they were afterwards."""

from __future__ import annotations

import gc
from pathlib import Path

from builders import EstateBuilder

from pal_audit.engine import heap
from pal_audit.engine.auditor import Auditor


def test_overlapping_audits_share_the_setting_and_the_last_one_restores_it() -> None:
    before = gc.get_threshold()
    heap.hold()
    heap.hold()
    assert gc.get_threshold() == heap.AUDIT_THRESHOLDS
    assert gc.get_freeze_count() > 0          # modules and the registry are out of the scans
    heap.release()
    assert gc.get_threshold() == heap.AUDIT_THRESHOLDS     # one audit still runs
    heap.release()
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    heap.release()                            # an extra release changes nothing
    assert gc.get_threshold() == before


async def test_an_auditor_restores_the_collector_when_it_closes_or_fails_to_open(tmp_path: Path) -> None:
    before = gc.get_threshold()
    b = EstateBuilder()
    b.sp(b.tenant("Heap"), "ops-app")
    registry = b.registry("AzureCloud", tmp_path)   # type: ignore[arg-type]  # never contacted
    async with Auditor(registry, env=b.env):
        assert gc.get_threshold() == heap.AUDIT_THRESHOLDS
    assert gc.get_threshold() == before

    broken = Auditor(registry, env=b.env)
    broken._uses_federated = lambda: 1 / 0   # type: ignore[method-assign, assignment, return-value]
    try:
        async with broken:
            raise AssertionError("opened")
    except ZeroDivisionError:
        pass
    assert gc.get_threshold() == before
