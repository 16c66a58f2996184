"""How many list calls per second armsim answers (issue 2: at least 1,000/s on one core).

Starts `python -m armsim serve` as its own process on a generated estate, signs in a few service
principals, then sends a fixed number of ARM list calls (subscriptions, role assignments with
`assignedTo()`, PIM `asTarget()`, the caller's link) over many concurrent keep-alive HTTPS
connections. It reports the wall-clock rate and the rate per second of the *server's* CPU time
(read from /proc), which is the figure that says whether armsim can be a benchmark's bottleneck.

    .venv/bin/python bench/armsim_rate.py [--requests 6000] [--connections 64] [--tenants 50]

Traffic goes only to 127.0.0.1; the run is bounded by --requests and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent


def make_estate(tenants: int) -> dict:
    """One service principal per tenant, with a subscription, a group and a few assignments."""
    out = []
    for i in range(tenants):
        tid, sid = str(uuid.UUID(int=0xA << 124 | i)), str(uuid.UUID(int=0x5 << 124 | i))
        sp, grp = str(uuid.UUID(int=0xB << 124 | i)), str(uuid.UUID(int=0xC << 124 | i))
        app = str(uuid.UUID(int=0xD << 124 | i))
        out.append(
            {
                "tenant_id": tid,
                "name": f"bench-{i}",
                "subscriptions": [
                    {"subscription_id": sid, "name": "prod", "resource_groups": ["rg-a", "rg-b"]}
                ],
                "principals": [
                    {
                        "object_id": sp,
                        "type": "ServicePrincipal",
                        "app_id": app,
                        "secret": "s",
                        "member_of": [grp],
                        "pal": {"partner_id": "1234567"},
                    },
                    {"object_id": grp, "type": "Group"},
                ],
                "role_assignments": [
                    {"principal": sp, "role": "Contributor", "scope": f"/subscriptions/{sid}"},
                    {
                        "principal": grp,
                        "role": "Reader",
                        "scope": f"/subscriptions/{sid}/resourceGroups/rg-a",
                    },
                    {"principal": sp, "role": "Owner", "scope": f"/subscriptions/{sid}/resourceGroups/rg-b"},
                ],
                "eligible_assignments": [
                    {"principal": sp, "role": "Owner", "scope": f"/subscriptions/{sid}"}
                ],
            }
        )
    return {
        "partners": [{"partner_id": "1234567", "name": "Bench"}],
        "tenants": out,
        "faults": {"throttle": False},
    }


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def run(args: argparse.Namespace, cloud: dict, estate: dict) -> dict:
    tls = ssl.create_default_context(cafile=cloud["ca_bundle"])
    connector = aiohttp.TCPConnector(limit=args.connections, ssl=tls)
    base = cloud["arm"]
    async with aiohttp.ClientSession(connector=connector) as http:
        callers = []
        for t in estate["tenants"][: args.signins]:
            sp = t["principals"][0]
            form = {
                "grant_type": "client_credentials",
                "client_id": sp["app_id"],
                "client_secret": "s",
                "scope": "https://management.azure.com/.default",
            }
            async with http.post(f"{base}/{t['tenant_id']}/oauth2/v2.0/token", data=form) as r:
                token = (await r.json())["access_token"]
            sid = t["subscriptions"][0]["subscription_id"]
            callers.append(({"Authorization": f"Bearer {token}"}, sid, sp["object_id"]))

        def request(i: int) -> tuple[str, dict]:
            headers, sid, oid = callers[i % len(callers)]
            kind = i % 4
            if kind == 0:
                return f"{base}/subscriptions?api-version=2022-12-01", headers
            if kind == 1:
                return (
                    f"{base}/subscriptions/{sid}/providers/Microsoft.Authorization/roleAssignments"
                    f"?api-version=2022-04-01&$filter=assignedTo('{oid}')"
                ), headers
            if kind == 2:
                return (
                    f"{base}/subscriptions/{sid}/providers/Microsoft.Authorization/"
                    "roleEligibilityScheduleInstances?api-version=2020-10-01&$filter=asTarget()"
                ), headers
            return f"{base}/providers/Microsoft.ManagementPartner/partners?api-version=2018-02-01", headers

        statuses: dict[int, int] = {}
        next_i = 0

        async def worker() -> None:
            nonlocal next_i
            while next_i < args.requests:
                i, next_i = next_i, next_i + 1
                url, headers = request(i)
                async with http.get(url, headers=headers) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1

        await worker_round(http, base, callers)  # warm every connection's TLS session first
        started_cpu, started = cpu_seconds(args.pid), time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(args.connections))), timeout=300)
        wall, cpu = time.perf_counter() - started, cpu_seconds(args.pid) - started_cpu
    return {
        "requests": args.requests,
        "connections": args.connections,
        "tenants": args.tenants,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "wall_s": round(wall, 3),
        "rate_wall_per_s": round(args.requests / wall),
        "server_cpu_s": round(cpu, 3),
        "rate_per_server_cpu_s": round(args.requests / cpu) if cpu > 0 else None,
    }


async def worker_round(http: aiohttp.ClientSession, base: str, callers: list) -> None:
    headers = callers[0][0]
    url = f"{base}/subscriptions?api-version=2022-12-01"

    async def one() -> None:
        async with http.get(url, headers=headers) as r:
            await r.read()

    await asyncio.gather(*(one() for _ in range(64)))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=6000)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--tenants", type=int, default=50)
    p.add_argument("--signins", type=int, default=20, help="distinct callers (tokens) spread over the calls")
    p.add_argument("--json", action="store_true", help="print only the JSON result")
    args = p.parse_args()
    estate = make_estate(args.tenants)
    with tempfile.TemporaryDirectory(prefix="armsim-bench-") as tmp:
        path = Path(tmp) / "estate.yaml"
        path.write_text(yaml.safe_dump(estate))
        proc = subprocess.Popen(
            [sys.executable, "-m", "armsim", "serve", "--estate", str(path), "--page-size", "100"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            line = proc.stdout.readline() if proc.stdout else ""
            if not line:
                print("armsim did not start", file=sys.stderr)
                return 1
            args.pid = proc.pid
            result = asyncio.run(run(args, json.loads(line), estate))
        finally:
            proc.terminate()
            proc.wait(10)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"armsim answered {result['requests']} list calls over {result['connections']} keep-alive "
            f"connections in {result['wall_s']} s: {result['rate_wall_per_s']}/s wall clock, "
            f"{result['rate_per_server_cpu_s']}/s per second of server CPU (one core). "
            f"Statuses: {result['statuses']}"
        )
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
