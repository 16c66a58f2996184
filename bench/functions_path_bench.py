"""The Functions path per tenant: the queue trigger driven with many messages, before vs after.

A generated estate (tenants × 3 identities × 4 subscriptions, `estate_gen.py`) is served by armsim
in its own process with simulated latency. For each mode a fresh child process (its own Azurite,
its own CPU clock) plays one Functions worker: the timer queues one message per tenant, and the
messages are handed to the real `audit_tenant` function object, 6 at a time (host.json: batchSize
4 + newBatchThreshold 2). Two runs back to back: the night, then a rescan within the hour.

    before  each message opens its own pool and credentials; the role cache lives for one run
    after   the worker keeps one pool, its credentials (an hour) and built-in roles (an hour)

Counted: token requests, role-definition GETs and all requests (armsim's stats), TCP+TLS
connections opened to armsim (an aiohttp connector hook), CPU and wall per tenant.

    .venv/bin/python bench/functions_path_bench.py --tenants 200 --latency-ms 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

PARALLEL_MESSAGES = 6


def _count_connections(port: int) -> dict[str, int]:
    """Count new connections to armsim's port (bench only: wraps aiohttp's connection factory)."""
    import aiohttp.connector

    counter = {"connections": 0}
    original = aiohttp.connector.TCPConnector._create_connection

    async def counting(self: Any, req: Any, *args: Any, **kwargs: Any) -> Any:
        if req.url.port == port:
            counter["connections"] += 1
        return await original(self, req, *args, **kwargs)

    aiohttp.connector.TCPConnector._create_connection = counting  # type: ignore[method-assign]
    return counter


def _before_auditor() -> None:
    """Put back the per-message Auditor of before this change: its own pool and credentials,
    a role cache per run (built-ins fetched again by every run)."""
    from pal_audit.engine.auditor import Auditor
    from pal_audit.engine.role_definitions import RoleDefinitionCache
    from pal_audit.registry.clouds import cloud_from_setting
    from pal_audit.service.context import AppContext

    per_run: dict[str, RoleDefinitionCache] = {}

    def auditor(self: AppContext, run_id: str | None = None) -> Auditor:
        registry, s = self.registry(), self.settings
        cloud = (cloud_from_setting(s.cloud, base_dir=registry.base_dir) if s.cloud
                 else registry.cloud_config())
        roles = per_run.setdefault(run_id, RoleDefinitionCache()) if run_id else None
        return Auditor(registry, cloud=cloud, concurrency=s.concurrency,
                       unit_budget_seconds=s.unit_budget_seconds,
                       managed_identity_client_id=s.managed_identity_client_id, roles=roles)

    AppContext.auditor = auditor  # type: ignore[method-assign]


async def _drain(host: Any, function: Any) -> int:
    """Hand every queued message to the function, PARALLEL_MESSAGES at a time, as the host does."""
    import azure.functions as func

    done = 0
    gate = asyncio.Semaphore(PARALLEL_MESSAGES)

    async def one(m: Any) -> None:
        async with gate:
            await function(func.QueueMessage(id=m.id, body=m.content.encode(), pop_receipt=m.pop_receipt))
            host.queue.delete_message(m)

    while True:
        batch = list(host.queue.receive_messages(max_messages=32, visibility_timeout=300))
        if not batch:
            return done
        await asyncio.gather(*(one(m) for m in batch))
        done += len(batch)


def child(args: argparse.Namespace) -> None:
    import logging

    from audit_bench import _stats
    from azure.functions.timer import TimerRequest
    from pal_support import QueueHost, call

    from pal_audit.devstack import running_azurite

    logging.getLogger("azure").setLevel(logging.ERROR)
    cloud = json.loads(Path(args.cloud).read_text())
    counter = _count_connections(int(cloud["arm"].rsplit(":", 1)[1].split("/")[0]))
    if args.mode == "before":
        _before_auditor()
    os.environ.update(json.loads(args.env))
    rows = []
    with running_azurite() as azurite:
        os.environ.update({"AzureWebJobsStorage": azurite.connection_string,
                           "PAL_AUDIT_REGISTRY": args.registry, "PAL_AUDIT_CLOUD": args.cloud,
                           "PAL_AUDIT_SCHEDULE": "0 0 2 * * *"})
        host = QueueHost(azurite.connection_string)

        async def runs() -> None:
            for name in ("night", "rescan"):
                await call("nightly_audit")(TimerRequest(past_due=False))
                _stats(cloud, "/_armsim/reset-stats", "POST")
                counter["connections"] = 0
                wall, cpu = time.perf_counter(), time.process_time()
                messages = await _drain(host, call("audit_tenant"))
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                stats = _stats(cloud, "/_armsim/stats")
                ops = stats["by_operation"]
                rows.append({"mode": args.mode, "run": name, "messages": messages, "wall_s": wall,
                             "cpu_s": cpu, "cpu_ms_per_tenant": 1000 * cpu / messages,
                             "requests": stats["total"], "tokens": ops.get("token", 0),
                             "role_definition_gets": ops.get("role_definitions.get", 0),
                             "connections": counter["connections"]})

        asyncio.run(runs())
    print(json.dumps(rows))


def main() -> None:
    from audit_bench import _stats
    from estate_gen import generate

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tenants", type=int, default=200)
    ap.add_argument("--latency-ms", type=int, default=50)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("--mode", "--registry", "--cloud", "--env"):
        ap.add_argument(hidden, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    estate, registry, env = generate(args.tenants, 4, args.out / f"functions-{args.tenants}")
    cloud_file = args.out / f"functions-cloud-{args.tenants}.json"
    sim = subprocess.Popen([sys.executable, "-m", "armsim", "serve", "--estate", str(estate),
                            "--latency-ms", str(args.latency_ms), "--cloud-out", str(cloud_file)],
                           stdout=subprocess.PIPE, text=True, cwd=ROOT)
    rows: list[dict[str, Any]] = []
    try:
        cloud = json.loads(sim.stdout.readline())  # type: ignore[union-attr]
        assert _stats(cloud, "/_armsim/stats") is not None
        for mode in ("before", "after"):
            out = subprocess.run([sys.executable, __file__, "--child", "--mode", mode, "--registry",
                                  str(registry), "--cloud", str(cloud_file), "--env", json.dumps(env)],
                                 capture_output=True, text=True, cwd=ROOT)
            if out.returncode != 0:
                sys.exit(f"{mode} failed:\n{out.stderr[-3000:]}")
            rows += json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        sim.terminate()
        sim.wait(10)
    (args.out / "functions_path_bench.json").write_text(json.dumps(rows, indent=1))
    print(f"\n{args.tenants} tenants x 3 identities x 4 subscriptions, armsim latency {args.latency_ms} ms, "
          f"{PARALLEL_MESSAGES} messages at a time\n")
    print("| mode | run | wall s | CPU ms / tenant | requests / tenant | tokens | role def GETs "
          "| connections |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['mode']} | {r['run']} | {r['wall_s']:.1f} | {r['cpu_ms_per_tenant']:.1f} | "
              f"{r['requests'] / r['messages']:.1f} | {r['tokens']} | {r['role_definition_gets']} | "
              f"{r['connections']} |")


if __name__ == "__main__":
    main()
