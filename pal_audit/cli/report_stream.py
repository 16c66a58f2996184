"""The scan report, written from a stream of tenant results in memory that does not grow with them.

Each tenant's row and findings go to disk spools as they arrive; only counters (the run summary)
and one bounded chunk per spool stay in memory. At the end the spools are read back in the order
the report promises (tenants by name, findings worst first or grouped by tenant) with an external
merge sort, so the JSON, CSV and table outputs are the same bytes `report.py` renders from a whole
`ScanReport`, at 10 tenants or 10,000.
"""

from __future__ import annotations

import csv
import heapq
import json
import pickle
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import IO, TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from pal_audit.cli.report import (
    FINDING_FIELDS,
    _csv_value,
    _finding_block_rows,
    _findings_table_of,
    _tenant_heading,
    finding_sort_key,
    summary_line,
)
from pal_audit.model import Finding, Severity, Status

if TYPE_CHECKING:
    from rich.console import Console

T = TypeVar("T")
SortKey = tuple[Any, ...]

# Items sorted in memory before a chunk is spilled to disk: bounds the peak, whatever the estate.
DEFAULT_CHUNK = 5_000
FAN_IN = 16


class ExternalSorter(Generic[T]):
    """Stable sort of more items than should sit in memory: sorted runs on disk, merged lazily.

    Ties keep their insertion order, as `sorted` does: runs are spilled in insertion order and
    `heapq.merge` prefers the earlier run on equal keys.
    """

    def __init__(self, key: Callable[[T], SortKey], *, chunk: int = DEFAULT_CHUNK) -> None:
        self._key = key
        self._chunk = chunk
        self._buffer: list[tuple[SortKey, int, T]] = []
        # Sorted runs on disk by level: FAN_IN runs of one level merge into one of the next, so
        # the open files (and their read buffers) stay few however many items come.
        self._levels: list[list[IO[bytes]]] = []
        self._seq = 0

    @property
    def _runs(self) -> list[IO[bytes]]:
        # Oldest items first: higher levels hold earlier arrivals (ties resolve by arrival).
        return [run for level in reversed(self._levels) for run in level]

    def add(self, item: T) -> None:
        # The sequence number makes equal keys compare by arrival, never by the items themselves.
        self._buffer.append((self._key(item), self._seq, item))
        self._seq += 1
        if len(self._buffer) >= self._chunk:
            self._buffer.sort(key=_order)
            self._push(0, self._write(self._buffer))
            self._buffer = []

    def _push(self, level: int, run: IO[bytes]) -> None:
        if len(self._levels) == level:
            self._levels.append([])
        self._levels[level].append(run)
        if len(self._levels[level]) >= FAN_IN:
            runs, self._levels[level] = self._levels[level], []
            merged = self._write(heapq.merge(*(self._read(r) for r in runs), key=_order))
            for r in runs:
                r.close()
            self._push(level + 1, merged)

    @staticmethod
    def _write(entries: Iterable[tuple[SortKey, int, T]]) -> IO[bytes]:
        # Kept open until close(): removed by the OS once closed, even after a crash.
        run = tempfile.TemporaryFile()  # noqa: SIM115
        for entry in entries:
            pickle.dump(entry, run, protocol=pickle.HIGHEST_PROTOCOL)
        run.seek(0)
        return run

    @staticmethod
    def _read(run: IO[bytes]) -> Iterator[tuple[SortKey, int, T]]:
        # Our own temporary file, written above: nothing untrusted is unpickled.
        run.seek(0)
        while True:
            try:
                yield pickle.load(run)
            except EOFError:
                return

    def __iter__(self) -> Iterator[T]:
        self._buffer.sort(key=_order)
        streams = [self._read(run) for run in self._runs] + [iter(self._buffer)]
        for _key, _seq, item in heapq.merge(*streams, key=_order):
            yield item

    def close(self) -> None:
        for run in self._runs:
            run.close()
        self._levels, self._buffer = [], []


def _order(entry: tuple[SortKey, int, object]) -> tuple[SortKey, int]:
    return entry[0], entry[1]


class ReportCounters(Protocol):
    """What the exit code is computed from (a `ScanReport` or a `StreamingReport`)."""

    @property
    def failed_tenants(self) -> int: ...

    def worst_open_severity(self) -> Severity | None: ...


@dataclass(frozen=True)
class _Entry:
    """A finding with its tenant's name: the table names tenants without a per-tenant map."""

    finding: Finding
    tenant_name: str


class StreamingReport:
    """Collects a scan tenant by tenant; renders `--format json|csv|table` at the end.

    Holds counters for the summary and the exit code (`failed_tenants`, `worst_open_severity`,
    as `ScanReport` offers them) and spools the rest. `order` is how the findings will be read:
    "severity" (worst first: json, csv, the wide table) or "tenant" (the narrow table's blocks).
    """

    def __init__(self, run_id: str, started: datetime, *, order: str = "severity",
                 chunk: int = DEFAULT_CHUNK) -> None:
        self.run_id = run_id
        self.started = started
        self.finished: datetime | None = None
        self.order = order
        self.tenants_total = 0
        self.failed_tenants = 0
        self.open_by_severity: Counter[str] = Counter()
        self.findings_suppressed = 0
        tenant_first = order == "tenant"
        self._tenants: ExternalSorter[dict[str, Any]] = ExternalSorter(
            lambda t: (str(t["name"]),), chunk=chunk)
        self._findings: ExternalSorter[_Entry] = ExternalSorter(
            lambda e: finding_sort_key(e.finding, tenant_first=tenant_first), chunk=chunk)

    def add(self, row: dict[str, Any], findings: Iterable[Finding]) -> None:
        """One tenant's report row and its findings."""
        self.tenants_total += 1
        if row["status"] == "error":
            self.failed_tenants += 1
        name = str(row.get("name") or "")
        self._tenants.add(row)
        for f in findings:
            if f.status == Status.OPEN:
                self.open_by_severity[f.severity.value] += 1
            elif f.status == Status.SUPPRESSED:
                self.findings_suppressed += 1
            self._findings.add(_Entry(f, name))

    def worst_open_severity(self) -> Severity | None:
        present = [s for s in Severity if self.open_by_severity.get(s.value)]
        return max(present, key=lambda s: s.rank) if present else None

    def run_summary(self) -> dict[str, Any]:
        findings_open = sum(self.open_by_severity.values())
        return {
            "run_id": self.run_id,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat() if self.finished else None,
            "tenants_total": self.tenants_total,
            "tenants_ok": self.tenants_total - self.failed_tenants,
            "tenants_failed": self.failed_tenants,
            "findings_open": findings_open,
            "findings_suppressed": self.findings_suppressed,
            "open_by_severity": {s.value: self.open_by_severity.get(s.value, 0) for s in Severity},
        }

    def tenants(self) -> Iterator[dict[str, Any]]:
        return iter(self._tenants)

    def findings(self) -> Iterator[Finding]:
        return (e.finding for e in self._findings)

    def close(self) -> None:
        self._tenants.close()
        self._findings.close()

    # ------------------------------------------------------------ outputs

    def write_json(self, out: IO[str]) -> None:
        """The same text as `report.to_json`, an element at a time."""
        out.write('{\n  "run": ')
        out.write(_indented(json.dumps(self.run_summary(), indent=2), "  "))
        out.write(',\n  "tenants": ')
        _write_json_array(out, self.tenants())
        out.write(',\n  "findings": ')
        _write_json_array(out, (f.to_dict() for f in self.findings()))
        out.write("\n}\n")

    def write_csv(self, out: IO[str]) -> None:
        """The same text as `report.to_csv`, a row at a time."""
        writer = csv.DictWriter(out, fieldnames=FINDING_FIELDS, lineterminator="\n")
        writer.writeheader()
        for f in self.findings():
            writer.writerow({k: _csv_value(v) for k, v in f.to_dict().items()})

    def write_table(self, console: Console, *, rows_per_table: int = DEFAULT_CHUNK) -> None:
        """What `report.render_table` shows: a wide console gets tables of at most `rows_per_table`
        rows (one table for any report that size or smaller), a narrow one a block per tenant."""
        if console.width >= 140:
            entries = iter(self._findings)
            first = True
            while batch := [e for _, e in zip(range(rows_per_table), entries, strict=False)]:
                console.print(_findings_table_of(
                    ((e.finding, e.tenant_name) for e in batch), title="PAL findings" if first else None))
                first = False
            if first:
                console.print(_findings_table_of((), title="PAL findings"))
        else:
            from rich.padding import Padding

            for tenant_id, group in groupby(self._findings, key=lambda e: e.finding.tenant_id):
                head = next(group)
                console.print(_tenant_heading(tenant_id, head.tenant_name))
                grid = _finding_block_rows(e.finding for e in (head, *group))
                console.print(Padding(grid, (0, 0, 0, 2)))
            console.print()
        console.print(summary_line(self.run_summary()))


def _indented(text: str, prefix: str) -> str:
    return text.replace("\n", "\n" + prefix)


def _write_json_array(out: IO[str], items: Iterable[Any]) -> None:
    """An array as json.dumps(indent=2) writes it one level down: "[]" when empty."""
    first = True
    for item in items:
        out.write("[\n    " if first else ",\n    ")
        out.write(_indented(json.dumps(item, indent=2), "    "))
        first = False
    out.write("[]" if first else "\n  ]")
