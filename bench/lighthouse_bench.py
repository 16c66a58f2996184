"""Lighthouse benchmark: 1,000 delegated subscriptions audited from one managing tenant, side by side
with auditing the same 1,000 customers by signing in to each (the per-customer audit).

Each customer has one subscription, delegated to the managing tenant (the linked automation app
with Contributor, the reader with Reader; every fourth through a group of the managing tenant),
and the same automation app consented in the customer tenant with Contributor, for the
per-customer audit. armsim runs in its own process with simulated latency; each audit runs in a
fresh child process.

    .venv/bin/python bench/lighthouse_bench.py                 # 1,000 customers, 50 ms latency
    .venv/bin/python bench/lighthouse_bench.py --customers 100 --latency-ms 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PARTNER_ID = "1234567"
SECRETS = {"LH_AUTOMATION_SECRET": "sim-only-lh-automation", "LH_READER_SECRET": "sim-only-lh-reader"}


def _guid(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "pal-audit-lighthouse-bench/" + "/".join(map(str, parts))))


MANAGING, AUTOMATION_APP, READER_APP = _guid("managing"), _guid("app", "automation"), _guid("app", "reader")
AUTOMATION, READER, GROUP = _guid("sp", "automation"), _guid("sp", "reader"), _guid("group")


def generate(customers: int, workdir: Path) -> tuple[Path, Path, Path]:
    """(estate, Lighthouse registry, per-customer registry) files for `customers` customers."""
    workdir.mkdir(parents=True, exist_ok=True)
    tenants: list[dict[str, Any]] = [{
        "tenant_id": MANAGING, "name": "Contoso Managed",
        "principals": [
            {"object_id": AUTOMATION, "type": "ServicePrincipal", "name": "lh-automation",
             "app_id": AUTOMATION_APP, "secret": SECRETS["LH_AUTOMATION_SECRET"],
             "pal": {"partner_id": PARTNER_ID}, "member_of": [GROUP]},
            {"object_id": READER, "type": "ServicePrincipal", "name": "lh-reader", "app_id": READER_APP,
             "secret": SECRETS["LH_READER_SECRET"]},
            {"object_id": GROUP, "type": "Group", "name": "LH Engineers"},
        ],
        "graph_permissions": [{"principal": READER, "permissions": ["GroupMember.Read.All"]}],
    }]
    registry_tenants = []
    for i in range(customers):
        tid, sub, local = _guid("customer", i), _guid("sub", i), _guid("local-sp", i)
        holder = GROUP if i % 4 == 0 else AUTOMATION
        tenants.append({
            "tenant_id": tid, "name": f"Customer {i:04d}",
            "subscriptions": [{"subscription_id": sub, "name": f"prod-{i:04d}"}],
            "principals": [{"object_id": local, "type": "ServicePrincipal", "name": "lh-automation",
                            "app_id": AUTOMATION_APP, "secret": SECRETS["LH_AUTOMATION_SECRET"],
                            "pal": {"partner_id": PARTNER_ID}}],
            "role_assignments": [{"principal": local, "role": "Contributor",
                                  "scope": f"/subscriptions/{sub}"}],
            "delegations": [{
                "managed_by": MANAGING, "scope": f"/subscriptions/{sub}", "name": "Contoso managed services",
                "authorizations": [{"principal": holder, "role": "Contributor"},
                                   {"principal": READER, "role": "Reader"}]}],
        })
        registry_tenants.append({"tenant_id": tid, "name": f"Customer {i:04d}",
                                 "identities": ["lh-automation"],
                                 "customer_approval": {"by": "bench", "on": "2026-01-01"}})
    estate = workdir / "estate.yaml"
    estate.write_text(yaml.safe_dump({"partners": [{"partner_id": PARTNER_ID, "name": "Contoso"}],
                                      "tenants": tenants, "faults": {"throttle": False}}))
    identities = {
        "lh-automation": {"kind": "service_principal", "client_id": AUTOMATION_APP,
                          "auth": {"method": "client_secret", "secret_env": "LH_AUTOMATION_SECRET"}},
        "lh-reader": {"kind": "service_principal", "client_id": READER_APP,
                      "auth": {"method": "client_secret", "secret_env": "LH_READER_SECRET"}},
    }
    base = {"partner": {"partner_id": PARTNER_ID}, "cloud": "AzureCloud"}
    lighthouse = workdir / "registry-lighthouse.json"
    lighthouse.write_text(json.dumps({**base, "identities": identities, "lighthouse": [{
        "managing_tenant_id": MANAGING, "name": "Contoso Managed", "identities": ["lh-automation"],
        "reader": "lh-reader"}]}))
    per_customer = workdir / "registry-per-customer.json"
    per_customer.write_text(json.dumps({**base, "identities": {"lh-automation": identities["lh-automation"]},
                                        "tenants": registry_tenants}))
    return estate, lighthouse, per_customer


def child(args: argparse.Namespace) -> None:
    from pal_audit.engine.lighthouse import LighthouseAuditor
    from pal_audit.registry import load_registry
    from pal_audit.registry.clouds import load_cloud_file

    os.environ.update(SECRETS)
    registry = load_registry(args.registry)
    cloud = load_cloud_file(args.cloud)

    async def run() -> tuple[int, int, int]:
        findings = failed = units = 0
        async with LighthouseAuditor(registry, cloud=cloud, concurrency=args.concurrency,
                                     unit_budget_seconds=600) as auditor:
            if args.mode == "lighthouse":
                results = await auditor.audit_lighthouse()
            else:
                results = [r async for r in auditor.audit_tenants()]
            for r in results:
                findings += len(r.findings)
                failed += 0 if r.ok else 1
                units += 1
        return findings, failed, units

    cpu0, wall0 = time.process_time(), time.perf_counter()
    findings, failed, units = asyncio.run(run())
    print(json.dumps({"wall_s": time.perf_counter() - wall0, "cpu_s": time.process_time() - cpu0,
                      "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "findings": findings, "failed": failed, "results": units}))


def _http(cloud: dict[str, Any], path: str, method: str = "GET") -> dict[str, Any]:
    import ssl
    import urllib.request

    ctx = ssl.create_default_context(cafile=cloud["ca_bundle"])
    with urllib.request.urlopen(urllib.request.Request(cloud["arm"] + path, method=method), context=ctx) as r:
        body: dict[str, Any] = json.loads(r.read() or b"{}")
        return body


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=1000)
    ap.add_argument("--latency-ms", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--registry"), ap.add_argument("--cloud"), ap.add_argument("--mode")
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    work = args.out / f"lighthouse-{args.customers}"
    estate, lighthouse, per_customer = generate(args.customers, work)
    cloud_file = work / "cloud.json"
    sim = subprocess.Popen([sys.executable, "-m", "armsim", "serve", "--estate", str(estate),
                            "--latency-ms", str(args.latency_ms), "--cloud-out", str(cloud_file)],
                           stdout=subprocess.PIPE, text=True, cwd=ROOT)
    rows = []
    try:
        cloud = json.loads(sim.stdout.readline()) if sim.stdout else {}
        for mode, registry in (("lighthouse", lighthouse), ("per-customer", per_customer)):
            _http(cloud, "/_armsim/reset-stats", "POST")
            out = subprocess.run([sys.executable, __file__, "--child", "--mode", mode,
                                  "--registry", str(registry), "--cloud", str(cloud_file),
                                  "--concurrency", str(args.concurrency)],
                                 capture_output=True, text=True, check=True, cwd=ROOT)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            stats = _http(cloud, "/_armsim/stats")
            row.update(mode=mode, customers=args.customers, requests=stats["total"],
                       requests_per_customer=stats["total"] / args.customers,
                       by_operation=stats["by_operation"])
            rows.append(row)
            print(f"  {mode:<13} wall {row['wall_s']:7.1f}s  cpu {row['cpu_s']:6.1f}s  "
                  f"requests {row['requests']:>6}  per customer {row['requests_per_customer']:.2f}  "
                  f"findings {row['findings']}"
                  f"  failed {row['failed']}  peak {row['peak_mib']:.0f} MiB", flush=True)
    finally:
        sim.terminate()
        sim.wait(10)
    (work / "lighthouse_bench.json").write_text(json.dumps(rows, indent=1))
    print("\n| audit | customers | wall s | CPU s | requests | requests / customer | peak MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['mode']} | {r['customers']:,} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
              f"{r['requests']:,} | {r['requests_per_customer']:.2f} | {r['peak_mib']:.0f} |")
    for r in rows:
        print(r["mode"], json.dumps(r["by_operation"]))


if __name__ == "__main__":
    main()
