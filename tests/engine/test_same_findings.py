"""No behaviour change from the throughput work: the engine's findings on the demo estate and on a
generated estate are exactly those the engine produced before it (frozen in tests/engine/data).

The frozen files were written by the engine before adaptive concurrency and raw-JSON collection
(`PAL_AUDIT_FREEZE_FINDINGS=1` rewrites them; only do that for an intended change of findings).
Dates in details are written relative to today, since the demo estate's end dates count from
armsim's start.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from engine_support import audit_demo, demo_served

from armsim import ArmSimServer, load_estate
from pal_audit.engine.auditor import Auditor, TenantResult
from pal_audit.registry import load_registry
from pal_audit.registry.clouds import resolve_cloud

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[2]
FREEZE = os.environ.get("PAL_AUDIT_FREEZE_FINDINGS") == "1"
_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


def _relative_dates(text: str, today: date) -> str:
    def sub(m: re.Match[str]) -> str:
        try:
            d = date.fromisoformat(m.group(1))
        except ValueError:
            return m.group(1)
        # Only dates near today move with the run day; fixed dates (approvals, suppressions) stay.
        return f"today{(d - today).days:+d}d" if abs((d - today).days) <= 400 else m.group(1)
    return _DATE.sub(sub, text)


def record(results: list[TenantResult], today: date) -> list[dict[str, Any]]:
    """What a user sees of an audit: every finding in full, and each unit's status."""
    rows: list[dict[str, Any]] = []
    for r in sorted(results, key=lambda r: r.snapshot.tenant_id):
        findings = sorted((f.to_dict() for f in r.findings), key=lambda f: (f["finding_id"], f["check_id"]))
        rows.append({
            "tenant_id": r.snapshot.tenant_id,
            "fully_audited": r.snapshot.fully_audited,
            "units": sorted([i.identity, i.principal_id, i.ok] for i in r.snapshot.identities),
            "findings": [{k: _relative_dates(str(v), today) for k, v in f.items()} for f in findings],
        })
    return rows


def _compare(name: str, got: list[dict[str, Any]]) -> None:
    path = DATA / f"findings_{name}.json"
    if FREEZE:
        path.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    expected = json.loads(path.read_text())
    assert got == expected


@pytest.mark.parametrize("concurrency", [1, 32, None])
def test_demo_estate_findings_are_unchanged(tmp_path: Path, concurrency: int | None) -> None:
    # None: the adaptive limit; 1 and 32: pinned, as --concurrency N does.
    today = datetime.now(UTC).date()
    with demo_served(tmp_path) as served:
        kw: dict[str, Any] = {} if concurrency is None else {"concurrency": concurrency}
        results = asyncio.run(audit_demo(served, **kw))
    got = record(results, today)
    assert sum(len(t["findings"]) for t in got) > 10      # the demo estate is not trivially clean
    _compare("demo", got)


def test_generated_estate_findings_are_unchanged(tmp_path: Path) -> None:
    from estate_gen import generate

    estate, registry_path, env = generate(12, 4, tmp_path / "estate")
    today = date(2026, 11, 27)
    with ArmSimServer(load_estate(estate), ca_dir=tmp_path) as cloud:
        registry = load_registry(registry_path, env=env)
        cloud_config = resolve_cloud(cloud.to_dict(), base_dir=tmp_path, where="cloud")

        async def go() -> list[TenantResult]:
            async with Auditor(registry, cloud=cloud_config, env=env, today=today) as auditor:
                return [r async for r in auditor.audit_tenants()]

        results = asyncio.run(go())
    got = record(results, today)
    assert all(t["fully_audited"] for t in got)
    _compare("generated", got)


def test_relative_dates_only_move_dates_near_today() -> None:
    today = date(2026, 11, 27)
    assert (_relative_dates("ends 2026-12-02; approved 2020-01-01", today)
            == "ends today+5d; approved 2020-01-01")
    assert _relative_dates("ends " + (today - timedelta(days=1)).isoformat(), today) == "ends today-1d"
