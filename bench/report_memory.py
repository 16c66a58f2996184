"""Peak memory of writing the scan report: held whole (before) vs streamed (after), by tenants.

Each measurement runs in a fresh child process that feeds N synthetic tenant results (3 identity
rows, 5 findings each, as a generated estate yields) to the report and writes `--format json` to
/dev/null; its peak RSS (ru_maxrss) is the figure. The audit itself is left out: it holds only
`concurrency` tenants at a time, so what grows with the estate is the report.

    .venv/bin/python bench/report_memory.py --sizes 1000 10000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _results(n: int) -> Iterator[tuple[dict[str, object], list[object]]]:
    from pal_audit.model import Finding, Severity, Status

    for i in range(n):
        tid = f"{i:08d}-1111-2222-3333-444444444444"
        row = {"tenant_id": tid, "name": f"Customer {i:06d}", "status": "ok",
               "identities": [{"identity": name, "principal_id": f"{i:08d}-aaaa-bbbb-cccc-{k:012d}",
                               "status": "ok", "error": None, "link": "1234567"}
                              for k, name in enumerate(("ops-app", "deploy-app", "monitor-app"))]}
        findings = [Finding(check, sev, tid, f"{i:08d}-aaaa-bbbb-cccc-000000000000", "ops-app",
                            f"{check} title", f"role 'Owner' at /subscriptions/{i:08d}-{k} (detail text)",
                            f"az role assignment delete --assignee ... --scope /subscriptions/{i:08d}-{k}",
                            qualifier=f"q{k}", status=Status.SUPPRESSED if k == 4 else Status.OPEN)
                    for k, (check, sev) in enumerate([("excessive_privilege", Severity.MEDIUM),
                                                      ("link_missing", Severity.HIGH),
                                                      ("excessive_privilege", Severity.LOW),
                                                      ("link_without_eligible_role", Severity.MEDIUM),
                                                      ("excessive_privilege", Severity.LOW)])]
        yield row, findings


def child(mode: str, n: int) -> None:
    from pal_audit.cli.report import ScanReport, to_json
    from pal_audit.cli.report_stream import StreamingReport

    start = datetime.now(UTC)
    cpu = time.process_time()
    with open("/dev/null", "w", encoding="utf-8") as out:
        if mode == "whole":
            report = ScanReport(run_id="r", started=start)
            for row, findings in _results(n):
                report.tenants.append(row)
                report.findings.extend(findings)  # type: ignore[arg-type]
            report.tenants.sort(key=lambda t: str(t["name"]))
            out.write(to_json(report))
        else:
            stream = StreamingReport("r", start)
            for row, findings in _results(n):
                stream.add(row, findings)  # type: ignore[arg-type]
            stream.write_json(out)
            stream.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"mode": mode, "tenants": n, "peak_mib": peak, "cpu_s": time.process_time() - cpu}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    rows = []
    for mode in ("whole", "streamed"):
        for n in args.sizes:
            out = subprocess.run([sys.executable, __file__, "--child", mode, str(n)], capture_output=True,
                                 text=True, check=True, cwd=ROOT)
            rows.append(json.loads(out.stdout))
    print("| report | " + " | ".join(f"{n:,} tenants" for n in args.sizes) + " | growth |")
    print("|---|" + "---:|" * (len(args.sizes) + 1))
    for mode in ("whole", "streamed"):
        peaks = [r["peak_mib"] for r in rows if r["mode"] == mode]
        cells = " | ".join(f"{p:.0f} MiB" for p in peaks)
        print(f"| {mode} | {cells} | {peaks[-1] / peaks[0]:.2f}× |")


if __name__ == "__main__":
    main()
