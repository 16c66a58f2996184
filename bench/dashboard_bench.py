"""Dashboard size and render time for a large estate: 1,000 customers and 30 runs (a benchmark,
not a test). Builds synthetic inputs, renders the page, then opens it in headless chromium.

    .venv/bin/python bench/dashboard_bench.py [--customers 1000] [--runs 30] [--findings-per-customer 2]

Prints one table row per configuration for bench/RESULTS.md; the pages go to bench/out/.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "dashboard")]

from pal_audit.dashboard import build, render  # noqa: E402
from pal_audit.dashboard.inputs import (  # noqa: E402
    CreditInput,
    FindingInput,
    IdentityInput,
    Inputs,
    RunInput,
    TenantInput,
)

CHECKS = (("link_missing", "high"), ("link_without_eligible_role", "high"), ("excessive_privilege", "medium"),
          ("credit_expires_soon", "medium"), ("customer_approval_missing", "low"),
          ("eligible_role_only_via_pim", "medium"), ("link_foreign_partner", "high"))
DETAIL = ("ops-app is linked to partner ID 1234567 but holds only Reader on /subscriptions/{sub} "
          "(assignment {aid}); Reader is not PAL-eligible, so this link earns no credit. Seen on {n} "
          "subscriptions of the tenant.")
FIX = ("Assign an eligible role, e.g.\naz role assignment create --assignee {oid} --role Contributor "
       "--scope /subscriptions/{sub}\nthen wait for the next audit.")


def credit(rng: random.Random, now: datetime) -> tuple[CreditInput, ...]:
    """What the audit records for an identity: most hold one or two eligible roles, some none."""
    roles = (("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c"),
             ("Support Request Contributor", "cfd33db0-3dd1-45e3-aa9d-cdbdf3b6f24e"))
    return tuple(CreditInput("1234567", *rng.choice(roles),
                             f"/subscriptions/{rng.getrandbits(32):08x}-2222-4222-8222-{rng.getrandbits(48):012x}",
                             now - timedelta(days=rng.uniform(0, 400)))
                 for _ in range(rng.choice((0, 1, 1, 2))))


def synthetic(customers: int, runs: int, per_customer: float, seed: int = 7) -> Inputs:
    rng = random.Random(seed)
    now = datetime(2026, 3, 31, 2, 30, tzinfo=UTC)
    run_ends = [now - timedelta(days=runs - 1 - i) for i in range(runs)]
    tenants, findings = [], []
    for c in range(customers):
        tid = f"{c:08x}-0000-4000-8000-{rng.getrandbits(48):012x}"
        idents = tuple(IdentityInput(name, f"{rng.getrandbits(32):08x}-1111-4111-8111-{c:012x}",
                                     rng.random() > 0.02, now - timedelta(minutes=30), "1234567",
                                     credit(rng, now), now - timedelta(minutes=30))
                       for name in ("ops-app", "mon-app", "vm-ops-app")[: rng.choice((1, 2, 3))])
        ok = rng.random() > 0.02
        tenants.append(TenantInput(tid, f"Customer {c:04d} {rng.choice(('GmbH', 'Ltd', 'Inc', 'S.A.'))}",
                                   rng.random() > 0.05, now - timedelta(minutes=30),
                                   now - timedelta(minutes=30 if ok else 1500), "" if ok else "forbidden: x",
                                   idents))
        for k in range(int(per_customer) + (1 if rng.random() < per_customer % 1 else 0)):
            check, severity = rng.choice(CHECKS)
            first = now - timedelta(days=rng.uniform(0, runs + 10))
            resolved = rng.random() < 0.3
            sub = f"{rng.getrandbits(64):016x}"
            findings.append(FindingInput(
                f"{tid[:8]}{k:02d}{rng.getrandbits(64):016x}", check, severity, tid, idents[0].principal_id,
                idents[0].identity, check.replace("_", " ").capitalize(),
                DETAIL.format(sub=sub, aid=rng.getrandbits(64), n=rng.randint(1, 9)),
                FIX.format(oid=idents[0].principal_id, sub=sub),
                "resolved" if resolved else "open", first,
                first + timedelta(days=rng.uniform(0.5, 5)) if resolved else None,
                f"{run_ends[-1]:%Y%m%dT%H%M%SZ}-00000000" if rng.random() < 0.05 else "",
                rng.choice(("NEW", "RESOLVED"))))
    run_rows = tuple(RunInput(f"{end:%Y%m%dT%H%M%SZ}-{i:08x}", end - timedelta(minutes=20), end, "completed",
                              customers, customers - 3, 3) for i, end in enumerate(run_ends))
    return Inputs("tables", "1234567", tuple(tenants), tuple(findings), run_rows, now)


def browser_times(page: Path, repeats: int) -> tuple[float, float]:
    """Median load time (navigation start to the end of the load event) and one filter's time, ms."""
    from browser_support import chromium

    loads, filters = [], []
    with tempfile.TemporaryDirectory() as tmp, chromium(Path(tmp)) as driver:
        for _ in range(repeats):
            driver.get(page.as_uri())
            loads.append(driver.execute_script(
                "const n = performance.getEntriesByType('navigation')[0];"
                "return n.loadEventEnd - n.startTime;"))
            filters.append(driver.execute_script(
                "const s = document.getElementById('f-severity'); s.value = 'high';"
                "const t = performance.now(); s.dispatchEvent(new Event('change'));"
                "document.body.offsetHeight; return performance.now() - t;"))
    return statistics.median(loads), statistics.median(filters)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--findings-per-customer", type=float, nargs="+", default=[1.0, 3.0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    out = REPO / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    print("| customers | runs | findings (open) | build + render s | page KiB | load ms (median) "
          "| filter ms |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for per in args.findings_per_customer:
        inputs = synthetic(args.customers, args.runs, per)
        started = time.perf_counter()
        view = build(inputs)
        html = render(view).html
        elapsed = time.perf_counter() - started
        page = out / f"dashboard-{args.customers}-{per:g}.html"
        page.write_text(html, encoding="utf-8")
        load_ms, filter_ms = browser_times(page, args.repeats)
        print(f"| {args.customers:,} | {args.runs} | {len(inputs.findings):,} ({len(view.findings):,}) | "
              f"{elapsed:.2f} | {len(html.encode()) / 1024:,.0f} | {load_ms:,.0f} | {filter_ms:,.0f} |")


if __name__ == "__main__":
    main()
