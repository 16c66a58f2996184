"""`python -m armsim serve --estate FILE ...` and `python -m armsim validate`."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from armsim.estate import Estate, EstateError, load_estate
from armsim.estate.document import collector_paused
from armsim.server import DEFAULT_PAGE_SIZE, Simulator, start


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m armsim", description="Local HTTPS simulator of Azure Resource Manager and Entra ID."
    )
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve an estate until interrupted")
    s.add_argument("--estate", required=True, type=Path, help="estate YAML file")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    s.add_argument("--latency-ms", type=int, default=0, help="delay added to every request")
    s.add_argument("--cloud-out", type=Path, help="also write the ready JSON object to this file")
    s.add_argument(
        "--page-size",
        type=int,
        default=DEFAULT_PAGE_SIZE,
        help=f"items per page of every list (default {DEFAULT_PAGE_SIZE})",
    )
    s.add_argument("--token-lifetime", type=int, default=3599, help="access token lifetime in seconds")
    v = sub.add_parser("validate", help="check an estate file and summarise it")
    v.add_argument("--estate", required=True, type=Path)
    return p


def _resident_mib() -> float | None:
    """This process's resident memory (Linux /proc), or None where there is no /proc."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    kib = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), None)
    return None if kib is None else kib / 1024


def _load_summary(estate: Estate, seconds: float) -> str:
    """What was loaded and what it cost, so a slow or large estate is visible at a glance."""
    n_principals = sum(len(t.principals) for t in estate.tenants)
    rss = _resident_mib()
    memory = f", {rss:.0f} MiB resident" if rss is not None else ""
    return (
        f"{len(estate.tenants)} tenants, {n_principals} principals, {len(estate.partners)} partners "
        f"(loaded in {seconds:.1f} s{memory})"
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    try:
        estate = load_estate(args.estate)
    except EstateError as e:
        print(f"armsim: {e}", file=sys.stderr)
        return 2
    if args.command == "validate":
        print(f"{args.estate}: ok: {_load_summary(estate, time.perf_counter() - started)}")
        return 0
    for name, value, low in (
        ("--port", args.port, 0),
        ("--latency-ms", args.latency_ms, 0),
        ("--page-size", args.page_size, 1),
        ("--token-lifetime", args.token_lifetime, 1),
    ):
        if value < low or (name == "--port" and value > 65535):
            print(f"armsim: {name}: out of range: {value}", file=sys.stderr)
            return 2
    with collector_paused():
        sim = Simulator(
            estate, page_size=args.page_size, latency_ms=args.latency_ms, token_lifetime=args.token_lifetime
        )
    # The estate lives as long as the server: keep the collector from scanning it on every full pass.
    gc.freeze()
    print(f"armsim: {args.estate}: {_load_summary(estate, time.perf_counter() - started)}", file=sys.stderr)
    ca_dir = Path(tempfile.mkdtemp(prefix="armsim-"))
    try:
        return asyncio.run(_serve(sim, args, ca_dir))
    except KeyboardInterrupt:
        return 0
    finally:
        shutil.rmtree(ca_dir, ignore_errors=True)


async def _serve(sim: Simulator, args: argparse.Namespace, ca_dir: Path) -> int:
    # Handlers first: a SIGTERM sent right after the ready line must still stop the server cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        runner, cloud = await start(sim, host=args.host, port=args.port, ca_dir=ca_dir)
    except OSError as e:
        print(f"armsim: cannot listen on {args.host}:{args.port}: {e.strerror or e}", file=sys.stderr)
        return 2
    ready = json.dumps(cloud.to_dict())
    if args.cloud_out:
        try:
            args.cloud_out.write_text(ready + "\n", encoding="utf-8")
        except OSError as e:
            print(f"armsim: cannot write --cloud-out {args.cloud_out}: {e.strerror or e}", file=sys.stderr)
            await runner.cleanup()
            return 2
    print(ready, flush=True)
    await stop.wait()
    await runner.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
