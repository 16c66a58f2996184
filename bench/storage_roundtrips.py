"""Storage round trips per tenant, measured against Azurite (docs/performance.md: batched writes).

For tenants with 0 … 1,000 findings, runs the same per-tenant path the queue function does
(`service.audit_and_store` with a stub auditor: run state, findings, tenant status, run progress)
three times — first sight
(every finding NEW), a quiet night (every finding seen again) and a fix (every finding RESOLVED) —
and counts HTTP requests to Table Storage with an azure-core request hook. Expected:
    round trips <= ceil(findings / 100) + floor(findings / 1000) + 6
because findings are written in transactions of 100 and read in pages of 1,000, and the rest is
a constant 6: run state, findings page, status read + write, run progress read + write. The one
tenant that completes a run adds one write (the run's notification flag): +1 once per run.

    .venv/bin/python bench/storage_roundtrips.py [--sizes 0,10,100,250,1000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pal_audit.devstack import running_azurite
from pal_audit.engine.auditor import TenantResult
from pal_audit.model import Finding, IdentitySnapshot, PartnerPolicy, Severity, TenantSnapshot
from pal_audit.service import audit_and_store, start_run
from pal_audit.store import Store

CONSTANT = 6    # run state, first findings page, status read + write, run progress read + write


def bound(n: int) -> int:
    return math.ceil(n / 100) + n // 1000 + CONSTANT


class _Registry:
    """start_run needs only the tenant list."""

    def __init__(self, tenant_ids: list[str]) -> None:
        self._ids = tenant_ids

    def tenant_ids(self) -> list[str]:
        return self._ids

    def partner_policy(self) -> PartnerPolicy:     # the credit evidence written with the status
        return PartnerPolicy("1234567")


def tenant(i: int) -> str:
    return f"{i:08x}-0000-4000-8000-000000000000"


def result(tenant_id: str, n: int) -> TenantResult:
    snap = TenantSnapshot(tenant_id, f"Tenant {tenant_id[:8]}", True, False,
                          (IdentitySnapshot(tenant_id, "ops-app", principal_id="oid-ops"),))
    findings = tuple(Finding("excessive_privilege", Severity.LOW, tenant_id, "oid-ops", "ops-app",
                             "Owner at subscription scope", f"Owner at /subscriptions/{k:08d}",
                             "Remove the assignment or narrow it.", qualifier=f"/subscriptions/{k:08d}/ra")
                     for k in range(n))
    return TenantResult(snap, findings)


class _StubAuditor:
    """Returns a prepared result: the bench measures storage, not ARM."""

    def __init__(self, res: TenantResult) -> None:
        self.res = res

    async def audit_tenant(self, tenant_id: str) -> TenantResult:
        return self.res


async def measure(connection_string: str, sizes: list[int]) -> list[dict[str, int]]:
    counter = {"requests": 0}

    def hook(request) -> None:
        counter["requests"] += 1

    rows = []
    async with Store.from_connection_string(connection_string, raw_request_hook=hook) as store:
        await store.ensure_tables()
        tenants = [tenant(i) for i in range(len(sizes))]
        for phase in ("new", "seen again", "resolved"):
            run = await start_run(store, _Registry(tenants), "cli", enqueue=False)
            for tid, n in zip(tenants, sizes, strict=True):
                counter["requests"] = 0
                auditor = _StubAuditor(result(tid, 0 if phase == "resolved" else n))
                out = await audit_and_store(_Registry(tenants), auditor, store, run.run_id, tid,  # type: ignore[arg-type]
                                            now=datetime.now(UTC))
                rows.append({"phase": phase, "findings": n, "transitions": len(out.changes),
                             "round_trips": counter["requests"], "completes_run": out.run_completed,
                             "bound": bound(n) + (1 if out.run_completed else 0)})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0,1,10,99,100,101,250,1000")
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with running_azurite() as azurite:
        rows = asyncio.run(measure(azurite.connection_string, sizes))
    if args.json:
        for r in rows:
            print(json.dumps(r))
    else:
        print(f"{'phase':<11} {'findings':>8} {'transitions':>11} {'round trips':>11} {'bound':>6}")
        for r in rows:
            last = "  (completed the run: +1)" if r["completes_run"] else ""
            print(f"{r['phase']:<11} {r['findings']:>8} {r['transitions']:>11} {r['round_trips']:>11} "
                  f"{r['bound']:>6}{last}")
    over = [r for r in rows if r["round_trips"] > r["bound"]]
    if over:
        print(f"over the bound ceil(findings/100) + floor(findings/1000) + {CONSTANT}: {over}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
