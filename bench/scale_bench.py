"""Audit at scale, side by side: estate sizes × armsim latencies × engine settings, in one run.

For each size (tenants × 3 identities × 4 subscriptions, from `estate_gen.py`) and latency, armsim
is started once in its own process (its load time and memory are recorded), then each engine
setting audits the whole registry as a user would: `pal-audit scan -f json -o FILE` in a child
process, so the report path is measured too. The child's CPU and peak RSS come from `os.wait4`
(the kernel's account of that one process); armsim's request counts from `/_armsim/stats`.

Engine settings (`--configs`): `fixed` is `--concurrency 32` (the long-standing default), `default`
is whatever `pal-audit scan` does without `--concurrency`, and `cN` pins `--concurrency N`.

    .venv/bin/python bench/scale_bench.py                                  # the full matrix (hours)
    .venv/bin/python bench/scale_bench.py --sizes 1000 --latencies 50 100 300
    .venv/bin/python bench/scale_bench.py --sizes 10000 --latencies 100 --configs default
    .venv/bin/python bench/scale_bench.py --load-only --sizes 1000 10000   # armsim load only
    .venv/bin/python bench/scale_bench.py --table bench/out/scale.json     # print a saved run

Rows are appended to `--out` as each finishes, so a long run that is stopped keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from estate_gen import IDENTITIES, generate  # noqa: E402 - the bench folder is not a package

FIXED_CONCURRENCY = 32
PAGE_SIZE_KIB = os.sysconf("SC_PAGE_SIZE") / 1024
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ArmsimLoad:
    """How long armsim took from start to its ready line, and its memory then."""

    load_s: float
    cpu_s: float  # armsim's CPU until ready: on a busy machine the wall time says little
    rss_mib: float  # resident once ready
    peak_mib: float  # high-water mark while loading (VmHWM)


@dataclass(frozen=True)
class Row:
    tenants: int
    latency_ms: int
    config: str
    concurrency: int | None  # None: the engine's default
    wall_s: float
    cpu_s: float  # user + system of the auditing process
    wall_per_cpu: float
    requests: int
    requests_per_identity: float
    peak_mib: float  # the auditing process's peak RSS
    exit_code: int
    report_bytes: int
    armsim_cpu_s: float  # what serving the audit cost armsim (it shares the machine)
    armsim_load_s: float
    armsim_load_cpu_s: float
    armsim_rss_mib: float
    armsim_peak_mib: float


def concurrency_of(config: str) -> int | None:
    """`fixed` -> 32, `default` -> None (no --concurrency), `cN` -> N."""
    if config == "fixed":
        return FIXED_CONCURRENCY
    if config == "default":
        return None
    if config.startswith("c") and config[1:].isdigit() and int(config[1:]) >= 1:
        return int(config[1:])
    raise SystemExit(f"scale_bench: --configs: unknown setting {config!r} (fixed, default or cN, e.g. c64)")


# -- armsim ---------------------------------------------------------------------------------------
def _proc_status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _proc_cpu_s(pid: int) -> float:
    # /proc/PID/stat: the command may hold spaces, so count fields after its closing parenthesis
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


class Armsim:
    """armsim serving one estate at one latency, in its own process."""

    def __init__(self, estate: Path, latency_ms: int, cloud_file: Path) -> None:
        self.cloud_file = cloud_file
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "armsim",
                "serve",
                "--estate",
                str(estate),
                "--port",
                "0",
                "--latency-ms",
                str(latency_ms),
                "--cloud-out",
                str(cloud_file),
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(10)
            raise SystemExit(f"scale_bench: armsim did not start on {estate} (exit {self.proc.returncode})")
        self.load = ArmsimLoad(
            load_s=time.perf_counter() - started,
            cpu_s=_proc_cpu_s(self.proc.pid),
            rss_mib=_proc_status_kib(self.proc.pid, "VmRSS") / 1024,
            peak_mib=_proc_status_kib(self.proc.pid, "VmHWM") / 1024,
        )
        self.cloud: dict[str, Any] = json.loads(line)

    def call(self, path: str, method: str = "GET") -> dict[str, Any]:
        ctx = ssl.create_default_context(cafile=self.cloud["ca_bundle"])
        req = urllib.request.Request(self.cloud["arm"] + path, method=method)
        with urllib.request.urlopen(req, context=ctx) as resp:
            body: dict[str, Any] = json.loads(resp.read() or b"{}")
            return body

    def cpu_s(self) -> float:
        return _proc_cpu_s(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- one audit ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Audit:
    wall_s: float
    cpu_s: float
    peak_mib: float
    exit_code: int
    report_bytes: int


def run_scan(
    registry: Path,
    cloud_file: Path,
    env: dict[str, str],
    concurrency: int | None,
    report: Path,
    timeout: float,
) -> Audit:
    """`pal-audit scan -f json -o report` in a child process, measured by the kernel (wait4)."""
    cmd = [
        str(Path(sys.executable).parent / "pal-audit"),
        "scan",
        "--registry",
        str(registry),
        "--cloud",
        str(cloud_file),
        "-f",
        "json",
        "-o",
        str(report),
    ]
    if concurrency is not None:
        cmd += ["--concurrency", str(concurrency)]
    report.unlink(missing_ok=True)
    log = report.with_suffix(".log")  # a file, not a pipe: a chatty child never blocks on it
    started = time.perf_counter()
    with log.open("w") as err:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=err
        )
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    if not report.exists():
        tail = log.read_text(errors="replace")[-2000:]
        raise SystemExit(f"scale_bench: pal-audit scan wrote no report (exit {proc.returncode}):\n{tail}")
    return Audit(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_mib=usage.ru_maxrss / 1024,  # KiB on Linux
        exit_code=proc.returncode,
        report_bytes=report.stat().st_size,
    )


def estate_for(size: int, workdir: Path) -> tuple[Path, Path, dict[str, str]]:
    """The generated estate of `size` tenants, reused when an earlier run left it in `workdir`."""
    folder = workdir / f"estate-{size}"
    marker = folder / "generated.json"
    if marker.exists():
        saved = json.loads(marker.read_text())
        if saved.get("tenants") == size:
            return folder / "estate.yaml", folder / "registry.yaml", saved["env"]
    estate, registry, env = generate(size, 4, folder)
    marker.write_text(json.dumps({"tenants": size, "env": env}))
    return estate, registry, env


def measure(size: int, latency_ms: int, configs: list[str], workdir: Path, timeout: float) -> list[Row]:
    estate, registry, env = estate_for(size, workdir)
    sim = Armsim(estate, latency_ms, workdir / f"cloud-{size}-{latency_ms}.json")
    rows = []
    try:
        for config in configs:
            c = concurrency_of(config)
            sim.call("/_armsim/reset-stats", "POST")
            armsim_cpu0 = sim.cpu_s()
            audit = run_scan(
                registry,
                sim.cloud_file,
                env,
                c,
                workdir / f"report-{size}-{latency_ms}-{config}.json",
                timeout,
            )
            stats = sim.call("/_armsim/stats")
            rows.append(
                Row(
                    tenants=size,
                    latency_ms=latency_ms,
                    config=config,
                    concurrency=c,
                    wall_s=audit.wall_s,
                    cpu_s=audit.cpu_s,
                    wall_per_cpu=audit.wall_s / max(audit.cpu_s, 1e-9),
                    requests=stats["total"],
                    requests_per_identity=stats["total"] / (size * len(IDENTITIES)),
                    peak_mib=audit.peak_mib,
                    exit_code=audit.exit_code,
                    report_bytes=audit.report_bytes,
                    armsim_cpu_s=sim.cpu_s() - armsim_cpu0,
                    armsim_load_s=sim.load.load_s,
                    armsim_load_cpu_s=sim.load.cpu_s,
                    armsim_rss_mib=sim.load.rss_mib,
                    armsim_peak_mib=sim.load.peak_mib,
                )
            )
            print(format_row(rows[-1]), flush=True)
    finally:
        sim.stop()
    return rows


def measure_load(size: int, workdir: Path) -> dict[str, Any]:
    """armsim's load alone: start, ready line, memory, stop."""
    estate, _registry, _env = estate_for(size, workdir)
    sim = Armsim(estate, 0, workdir / f"cloud-{size}-load.json")
    sim.stop()
    row = {"tenants": size, "estate_mib": estate.stat().st_size / 2**20, **asdict(sim.load)}
    print(
        f"armsim load  {size:>6} tenants  {row['load_s']:6.1f} s ({row['cpu_s']:.1f} s CPU)  "
        f"rss {row['rss_mib']:6.0f} MiB  "
        f"peak {row['peak_mib']:6.0f} MiB  (estate file {row['estate_mib']:.0f} MiB)",
        flush=True,
    )
    return row


# -- output ---------------------------------------------------------------------------------------
def format_row(r: Row) -> str:
    return (
        f"{r.tenants:>6} tenants  {r.latency_ms:>3} ms  {r.config:<8} "
        f"wall {r.wall_s:7.1f}s  cpu {r.cpu_s:7.1f}s  wall/cpu {r.wall_per_cpu:4.2f}  "
        f"req/identity {r.requests_per_identity:5.2f}  peak {r.peak_mib:5.0f} MiB  exit {r.exit_code}"
    )


def _load_cell(wall: float, cpu: float | None) -> str:
    return f"{wall:.1f}" if cpu is None else f"{wall:.1f} ({cpu:.1f} CPU)"


def table(results: dict[str, Any]) -> str:
    """The markdown tables of a run: audits (if any), then armsim loads (if any)."""
    lines: list[str] = []
    if results.get("rows"):
        lines += [
            "| tenants | latency ms | engine | wall s | CPU s | wall/CPU | CPU ms/identity "
            "| requests/identity | peak MiB | armsim load s | armsim MiB |",
            "|---:|---:|:---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
    for r in results.get("rows", []):
        engine = f"{r['config']} ({r['concurrency']})" if r["concurrency"] else r["config"]
        per_identity_ms = 1000 * r["cpu_s"] / (r["tenants"] * len(IDENTITIES))
        lines.append(
            f"| {r['tenants']:,} | {r['latency_ms']} | {engine} | {r['wall_s']:,.1f} | {r['cpu_s']:,.1f} | "
            f"{r['wall_per_cpu']:.2f} | {per_identity_ms:.1f} | {r['requests_per_identity']:.2f} | "
            f"{r['peak_mib']:,.0f} | {_load_cell(r['armsim_load_s'], r.get('armsim_load_cpu_s'))} | "
            f"{r['armsim_rss_mib']:,.0f} |"
        )
    if results.get("loads"):
        lines += [
            "",
            "| tenants | estate MiB | armsim load s | armsim RSS MiB | armsim peak MiB |",
            "|---:|---:|---:|---:|---:|",
        ]
        for x in results["loads"]:
            lines.append(
                f"| {x['tenants']:,} | {x['estate_mib']:.0f} | {_load_cell(x['load_s'], x.get('cpu_s'))} | "
                f"{x['rss_mib']:,.0f} | {x['peak_mib']:,.0f} |"
            )
    return "\n".join(lines).strip("\n")


def _save(out: Path, results: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--sizes", type=int, nargs="+", default=[1000, 10000], help="tenants (default 1000 10000)"
    )
    ap.add_argument(
        "--latencies", type=int, nargs="+", default=[50, 100, 300], help="armsim ms (default 50 100 300)"
    )
    ap.add_argument(
        "--configs", nargs="+", default=["fixed", "default"], help="fixed, default, cN (default: both)"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "scale.json", help="results JSON")
    ap.add_argument(
        "--workdir",
        type=Path,
        default=ROOT / "bench" / "out" / "scale",
        help="generated estates, cloud files and reports (estates are reused)",
    )
    ap.add_argument("--timeout", type=float, default=3600, help="seconds one audit may take (default 3600)")
    ap.add_argument("--load-only", action="store_true", help="measure armsim's load only, no audits")
    ap.add_argument("--table", type=Path, metavar="RESULTS", help="print the markdown table of a saved run")
    args = ap.parse_args(argv)
    if args.table:
        print(table(json.loads(args.table.read_text())))
        return 0
    for config in args.configs:
        concurrency_of(config)  # a typo fails now, not after an hour of measuring
    args.workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "rows": [],
        "loads": [],
    }
    for size in args.sizes:
        if args.load_only:
            results["loads"].append(measure_load(size, args.workdir))
            _save(args.out, results)
            continue
        for latency in args.latencies:
            results["rows"] += [
                asdict(r) for r in measure(size, latency, args.configs, args.workdir, args.timeout)
            ]
            _save(args.out, results)
    print()
    print(table(results))
    print(f"\nsaved: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
