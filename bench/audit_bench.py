"""Audit engine benchmark (docs/performance.md): wall, CPU, requests per identity, peak memory.

For each estate size (tenants × 3 identities × 4 subscriptions) armsim is started in its own
process with simulated latency, and each configuration is audited in a fresh child process so
its peak RSS is its own. `--concurrency 1` is the one-call-at-a-time baseline; concurrency 0 in
`--also` is the adaptive limit (what the CLI does without --concurrency).

    .venv/bin/python bench/audit_bench.py                  # 10, 100, 1000 tenants
    .venv/bin/python bench/audit_bench.py --sizes 10 100 --latency-ms 50
    .venv/bin/python bench/audit_bench.py --sizes 1000 --sequential-max 0 --also 0   # fixed 32 vs adaptive
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


FIXED_CONCURRENCY = 32   # the fixed limit of the CLI before it adapted: the comparison row


def _stats(cloud: dict, path: str, method: str = "GET") -> dict:
    ctx = ssl.create_default_context(cafile=cloud["ca_bundle"])
    req = urllib.request.Request(cloud["arm"] + path, method=method)
    with urllib.request.urlopen(req, context=ctx) as resp:
        return json.loads(resp.read() or b"{}")


def child(args: argparse.Namespace) -> None:
    """One audit, measured from inside: prints a JSON line."""
    from pal_audit.engine.auditor import Auditor
    from pal_audit.registry import load_registry

    os.environ.update(json.loads(args.env))
    registry = load_registry(args.registry)
    from pal_audit.registry.clouds import load_cloud_file

    cloud = load_cloud_file(args.cloud)

    limits: list[int] = []

    async def run() -> tuple[int, int, int]:
        findings = errors = 0
        async with Auditor(registry, cloud=cloud, concurrency=args.concurrency or None,
                           unit_budget_seconds=600) as auditor:
            async for r in auditor.audit_tenants():
                findings += len(r.findings)
                errors += sum(1 for i in r.snapshot.identities if not i.ok)
            # (an engine from before the adaptive limit has no history: its limit was fixed)
            limit = getattr(auditor, "limit", None)
            limits.extend(limit.history if limit is not None else [args.concurrency])
            return findings, errors, auditor.roles.builtin_count

    cpu0, wall0 = time.process_time(), time.perf_counter()
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        findings, errors, builtins = profiler.runcall(asyncio.run, run())
        profiler.dump_stats(args.profile)
    else:
        findings, errors, builtins = asyncio.run(run())
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall_s": wall, "cpu_s": cpu, "peak_mib": peak_mib, "findings": findings,
                      "unit_errors": errors, "builtin_definitions_cached": builtins,
                      "limits": limits}))


def measure(size: int, latency_ms: int, concurrencies: list[int], workdir: Path,
            profile: bool = False) -> list[dict]:
    from estate_gen import generate

    estate, registry, env = generate(size, 4, workdir / f"estate-{size}")
    cloud_file = workdir / f"cloud-{size}.json"
    sim = subprocess.Popen([sys.executable, "-m", "armsim", "serve", "--estate", str(estate),
                            "--latency-ms", str(latency_ms), "--cloud-out", str(cloud_file)],
                           stdout=subprocess.PIPE, text=True, cwd=ROOT)
    rows = []
    try:
        cloud = json.loads(sim.stdout.readline())
        for c in concurrencies:
            _stats(cloud, "/_armsim/reset-stats", "POST")
            out = subprocess.run(
                [sys.executable, __file__, "--child", "--registry", str(registry), "--cloud", str(cloud_file),
                 "--concurrency", str(c), "--env", json.dumps(env),
                 *(["--profile", str(workdir / f"profile-{size}-{c}.prof")] if profile else [])],
                capture_output=True, text=True, check=True, cwd=ROOT)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            stats = _stats(cloud, "/_armsim/stats")
            identities = size * 3
            row.update(tenants=size, concurrency=c, requests=stats["total"],
                       requests_per_identity=stats["total"] / identities,
                       role_definition_gets=stats["by_operation"].get("role_definitions.get", 0),
                       by_operation=stats["by_operation"])
            rows.append(row)
            print(f"  {size:>5} tenants  c={c or 'adaptive':<3} wall {row['wall_s']:8.1f}s  "
                  f"cpu {row['cpu_s']:7.1f}s  "
                  f"req/identity {row['requests_per_identity']:.2f}  peak {row['peak_mib']:.0f} MiB  "
                  f"cpu/identity {1000 * row['cpu_s'] / identities:.1f} ms  limits {row['limits'][:12]}",
                  flush=True)
    finally:
        sim.terminate()
        sim.wait(10)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    ap.add_argument("--latency-ms", type=int, default=50)
    ap.add_argument("--default-concurrency", type=int, default=None)
    ap.add_argument("--also", type=int, nargs="*", default=[], help="more concurrency levels to measure")
    ap.add_argument("--sequential-max", type=int, default=1000,
                    help="skip the --concurrency 1 baseline above this many tenants")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--registry"), ap.add_argument("--cloud"), ap.add_argument("--env")
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--profile", nargs="?", const=True, default=None,
                    help="cProfile each audit into bench/out/profile-<size>-<concurrency>.prof")
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    default = args.default_concurrency or FIXED_CONCURRENCY
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"latency {args.latency_ms} ms, 3 identities x 4 subscriptions per tenant, "
          f"default concurrency {default}")
    rows = []
    for size in args.sizes:
        concurrencies = ([1] if size <= args.sequential_max else []) + [default, *args.also]
        rows += measure(size, args.latency_ms, concurrencies, args.out, profile=bool(args.profile))
    (args.out / "audit_bench.json").write_text(json.dumps(rows, indent=1))
    print_table(rows)


def print_table(rows: list[dict]) -> None:
    print("\n| tenants | concurrency | wall s | CPU s | wall/CPU | CPU ms/identity | speed-up "
          "| requests/identity | role def GETs | peak MiB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    seq = {r["tenants"]: r["wall_s"] for r in rows if r["concurrency"] == 1}
    for r in rows:
        base = seq.get(r["tenants"])
        speedup = base / r["wall_s"] if base and r["concurrency"] != 1 else 1.0
        label = r["concurrency"] or f"adaptive (peak {max(r['limits'])})"
        print(f"| {r['tenants']} | {label} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
              f"{r['wall_s'] / r['cpu_s']:.2f} | {1000 * r['cpu_s'] / (3 * r['tenants']):.1f} | "
              f"{speedup:.1f}× | {r['requests_per_identity']:.2f} | {r['role_definition_gets']} | "
              f"{r['peak_mib']:.0f} |")


if __name__ == "__main__":
    main()
