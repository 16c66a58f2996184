"""The demo's Azure Lighthouse part (examples/README.md) through armsim and the real SDKs: a managing
tenant whose delegations are credited, credited only just in time, Reader only, credited through a
group inside a group, not delegated at all, and not Succeeded."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from engine_support import demo_env, demo_served

from pal_audit.engine.lighthouse import LighthouseAuditor

EXPECTED = {  # the table in examples/README.md
    "Contoso Managed (Lighthouse)": [],
    "Trey Research via Lighthouse": [("lighthouse_unaudited_principal", "low")],
    "Humongous Insurance via Lighthouse": [("lighthouse_credit_only_via_jit", "medium")],
    "Fourth Coffee via Lighthouse": [("lighthouse_delegation_not_credited", "high")],
    "Lucerne Publishing via Lighthouse": [],
    "Contoso Pharmaceuticals via Lighthouse": [("lighthouse_customer_not_delegated", "high")],
    "VanArsdel via Lighthouse": [("lighthouse_customer_not_delegated", "high")],
}


def test_the_demo_managing_tenant(tmp_path: Path) -> None:
    with demo_served(tmp_path) as (registry, cloud):
        async def go():
            today = date(2026, 11, 30)
            async with LighthouseAuditor(registry, cloud=cloud, env=demo_env(), today=today) as a:
                return await a.audit_lighthouse()
        results = asyncio.run(go())
    seen = {r.snapshot.name: sorted((f.check_id, f.severity.value) for f in r.findings) for r in results}
    assert seen == EXPECTED
    assert all(r.ok and not r.undecided for r in results)
    lucerne = next(r for r in results if r.snapshot.name.startswith("Lucerne"))
    assert lucerne.snapshot.lighthouse is not None
    assert [d.scope.rsplit("/", 1)[-1] for d in lucerne.snapshot.lighthouse.delegations] == ["rg-cms"]
