"""The streamed report: the same bytes as the whole-report renderer, in memory that does not grow
with the number of tenants."""

from __future__ import annotations

import asyncio
import io
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from rich.console import Console

from pal_audit.cli.demo import EXAMPLES, demo_secrets
from pal_audit.cli.report import ScanReport, render_table, to_csv, to_json
from pal_audit.cli.report_stream import ExternalSorter, StreamingReport
from pal_audit.cli.scan import run_scan
from pal_audit.model import Finding, Severity, Status
from pal_audit.registry import load_registry
from pal_audit.registry.clouds import load_cloud_file

STARTED, FINISHED = datetime(2026, 11, 30, 1, 0, tzinfo=UTC), datetime(2026, 11, 30, 1, 5, tzinfo=UTC)


def _streamed(report: ScanReport, *, order: str, chunk: int, arrival: list[dict[str, object]] | None = None
              ) -> StreamingReport:
    """The report's tenants fed one by one, in the order they arrived (default: reverse name order,
    as results may come), to a StreamingReport."""
    stream = StreamingReport(report.run_id, report.started, order=order, chunk=chunk)
    for row in arrival if arrival is not None else reversed(report.tenants):
        stream.add(row, [f for f in report.findings if f.tenant_id == row["tenant_id"]])
    stream.finished = report.finished
    return stream


def _outputs(report: ScanReport, *, chunk: int, arrival: list[dict[str, object]] | None = None
             ) -> list[tuple[str, str, str]]:
    """(format, whole-report text, streamed text) for every output format."""
    pairs = []
    severity = _streamed(report, order="severity", chunk=chunk, arrival=arrival)
    tenant = _streamed(report, order="tenant", chunk=chunk, arrival=arrival)
    out = io.StringIO()
    severity.write_json(out)
    pairs.append(("json", to_json(report), out.getvalue()))
    out = io.StringIO()
    severity.write_csv(out)
    pairs.append(("csv", to_csv(report), out.getvalue()))
    for width, stream in ((200, severity), (80, tenant)):
        whole, streamed = io.StringIO(), io.StringIO()
        render_table(report, Console(file=whole, width=width, force_terminal=False))
        stream.write_table(Console(file=streamed, width=width, force_terminal=False))
        pairs.append((f"table-{width}", whole.getvalue(), streamed.getvalue()))
    severity.close()
    tenant.close()
    return pairs


@pytest.fixture(scope="module")
def demo_report(armsim_cloud: object) -> ScanReport:
    """The demo estate audited for real (armsim), as the CLI's old whole-report path gathered it."""
    env = demo_secrets(EXAMPLES / "estate.yaml", EXAMPLES / "registry.yaml")
    mp = pytest.MonkeyPatch()
    for name, value in env.items():
        mp.setenv(name, value)
    try:
        registry = load_registry(EXAMPLES / "registry.yaml")
        report = asyncio.run(run_scan(registry, cloud=load_cloud_file(str(armsim_cloud)), run_id="r-demo"))
    finally:
        mp.undo()
    report.started, report.finished = STARTED, FINISHED
    return report


@pytest.mark.parametrize("chunk", [1, 4, 5_000])     # spilled to disk at every item, some, or never
def test_streamed_outputs_are_the_bytes_of_the_whole_report_on_the_demo_estate(demo_report, chunk):
    assert len(demo_report.tenants) == 17 and len(demo_report.findings) > 10
    for fmt, whole, streamed in _outputs(demo_report, chunk=chunk):
        assert streamed == whole, fmt


def _finding(i: int, tenant: str, sev: Severity, status: Status = Status.OPEN) -> Finding:
    return Finding("excessive_privilege", sev, tenant, f"oid-{i % 3}", f"app-{i % 3}", "title",
                   f"detail {i}", f"fix {i}", qualifier=f"q{i % 2}", status=status,
                   suppression="kept (lead, until 2027-01-01)" if status == Status.SUPPRESSED else None)


def test_ties_and_empty_reports_keep_the_whole_reports_order():
    """Equal sort keys (same tenant, identity, check, qualifier) stay in arrival order, as sorted()
    keeps them; tenants with the same name too."""
    report = ScanReport(run_id="r", started=STARTED, finished=FINISHED)
    for n in range(12):
        tid = f"{n % 4:08d}-0000-0000-0000-000000000000"
        report.tenants.append({"tenant_id": tid + str(n), "name": f"Same {n % 2}",
                               "status": "error" if n == 3 else "ok", "identities": []})
        report.findings += [_finding(i, tid + str(n), sev, status)
                            for i, (sev, status) in enumerate([(Severity.HIGH, Status.OPEN),
                                                               (Severity.LOW, Status.SUPPRESSED),
                                                               (Severity.HIGH, Status.OPEN)])]
    arrival = list(report.tenants)
    report.tenants.sort(key=lambda t: str(t["name"]))      # as run_scan does once all have arrived
    for fmt, whole, streamed in _outputs(report, chunk=5, arrival=arrival):
        assert streamed == whole, fmt
    empty = ScanReport(run_id="r", started=STARTED, finished=FINISHED)
    for fmt, whole, streamed in _outputs(empty, chunk=5):
        assert streamed == whole, fmt


def test_counters_give_the_exit_code_inputs_of_the_whole_report(demo_report):
    stream = _streamed(demo_report, order="severity", chunk=3)
    assert stream.failed_tenants == demo_report.failed_tenants == 1
    assert stream.worst_open_severity() == demo_report.worst_open_severity() == Severity.HIGH
    assert stream.run_summary() == demo_report.run_summary()
    stream.close()


# ---------------------------------------------------------------- memory

def _tenant_results(n: int) -> Iterator[tuple[dict[str, object], list[Finding]]]:
    """n synthetic tenants, each with an identity row and three findings, made on demand."""
    for i in range(n):
        tid = f"{i:08d}-1111-2222-3333-444444444444"
        row = {"tenant_id": tid, "name": f"Customer {i:06d}", "status": "ok",
               "identities": [{"identity": "ops-app", "principal_id": f"p-{i}", "status": "ok",
                               "error": None, "link": "1234567"}]}
        yield row, [_finding(i, tid, Severity.HIGH), _finding(i + 1, tid, Severity.MEDIUM),
                    _finding(i + 2, tid, Severity.LOW, Status.SUPPRESSED)]


class _CountingSink(io.TextIOBase):
    """A file that keeps nothing: what is measured is the report, not its text."""

    def __init__(self) -> None:
        self.chars = 0

    def write(self, s: str) -> int:
        self.chars += len(s)
        return len(s)


def _peak_streamed(n: int, fmt: str) -> int:
    tracemalloc.start()
    stream = StreamingReport("r", STARTED, chunk=250)
    for row, findings in _tenant_results(n):
        stream.add(row, findings)
    sink = _CountingSink()
    if fmt == "json":
        stream.write_json(sink)
    else:
        stream.write_csv(sink)
    stream.close()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert sink.chars > n * 100          # everything was written
    return peak


def _peak_whole(n: int) -> int:
    tracemalloc.start()
    report = ScanReport(run_id="r", started=STARTED)
    for row, findings in _tenant_results(n):
        report.tenants.append(row)
        report.findings.extend(findings)
    to_csv(report)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


# Held whole, 1,000 such tenants already take 3 MB; streamed, 10,000 stay under 1 MB.
PEAK_BOUND = 1_000_000


@pytest.mark.parametrize(("fmt", "tenants"), [("json", 1_000), ("json", 10_000), ("csv", 1_000)])
def test_peak_memory_of_the_streamed_report_stays_under_a_bound_whatever_the_tenants(fmt, tenants):
    # Ten times the tenants means more sorted runs on disk, not more memory (tracemalloc is slow:
    # the sizes are kept small enough for the suite).
    assert _peak_streamed(tenants, fmt) < PEAK_BOUND


def test_the_memory_bound_catches_a_report_held_whole():
    """The measure above can fail: the whole report in memory passes the bound at 1,000 tenants."""
    assert _peak_whole(1_000) > PEAK_BOUND


def test_the_external_sort_is_stable_and_matches_sorted():
    items = [(i * 7919) % 101 for i in range(1_000)]
    sorter: ExternalSorter[tuple[int, int]] = ExternalSorter(lambda t: (t[0],), chunk=37)
    for pos, value in enumerate(items):
        sorter.add((value, pos))
    assert list(sorter) == sorted(((v, p) for p, v in enumerate(items)), key=lambda t: t[0])
    sorter.close()


def test_a_temporary_folder_that_cannot_be_written_is_a_clear_error(armsim_cloud, tmp_path, monkeypatch):
    """The report spools to TMPDIR (here from the first finding on): when that fails the scan says
    where, exit 2, no traceback."""
    import functools
    import tempfile

    from typer.testing import CliRunner

    from pal_audit.cli import main

    for name, value in demo_secrets(EXAMPLES / "estate.yaml", EXAMPLES / "registry.yaml").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(main, "StreamingReport", functools.partial(StreamingReport, chunk=1))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    result = CliRunner().invoke(main.app, ["scan", "-r", str(EXAMPLES / "registry.yaml"),
                                           "--cloud", str(armsim_cloud), "-f", "json"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"could not write the report's temporary files in {tmp_path / 'missing'}")
    assert "Traceback" not in result.output and result.stdout == ""
