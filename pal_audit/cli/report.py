"""Scan results -> the `--format table|json|csv` outputs of docs/cli.md (pure rendering)."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pal_audit.model import Finding, Severity, Status
from pal_audit.textsafe import csv_cell, multi_line, one_line

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

FINDING_FIELDS = ("finding_id", "check_id", "severity", "tenant_id", "principal_id", "identity", "title",
                  "detail", "remediation", "status")
_SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan"}


@dataclass
class ScanReport:
    run_id: str
    started: datetime
    finished: datetime | None = None
    tenants: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def failed_tenants(self) -> int:
        return sum(1 for t in self.tenants if t["status"] == "error")

    def open_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.status == Status.OPEN]

    def worst_open_severity(self) -> Severity | None:
        ranks = [f.severity for f in self.open_findings()]
        return max(ranks, key=lambda s: s.rank) if ranks else None

    def run_summary(self) -> dict[str, Any]:
        by_severity = Counter(f.severity.value for f in self.open_findings())
        return {
            "run_id": self.run_id,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat() if self.finished else None,
            "tenants_total": len(self.tenants),
            "tenants_ok": len(self.tenants) - self.failed_tenants,
            "tenants_failed": self.failed_tenants,
            "findings_open": len(self.open_findings()),
            "findings_suppressed": sum(1 for f in self.findings if f.status == Status.SUPPRESSED),
            "open_by_severity": {s.value: by_severity.get(s.value, 0) for s in Severity},
        }


def finding_sort_key(f: Finding, *, tenant_first: bool = False) -> tuple[object, ...]:
    """Worst first (for pipelines), or grouped by tenant then worst first (for reading)."""
    head = (f.tenant_id, -f.severity.rank) if tenant_first else (-f.severity.rank, f.tenant_id)
    return (*head, f.identity, f.check_id, f.qualifier)


def _sorted(findings: Sequence[Finding], *, tenant_first: bool = False) -> list[Finding]:
    return sorted(findings, key=lambda f: finding_sort_key(f, tenant_first=tenant_first))


def to_json(report: ScanReport) -> str:
    body = {
        "run": report.run_summary(),
        "tenants": report.tenants,
        "findings": [f.to_dict() for f in _sorted(report.findings)],
    }
    return json.dumps(body, indent=2) + "\n"


def to_csv(report: ScanReport) -> str:
    """One row per finding; cells escaped and guarded against spreadsheet formulas (docs/registry.md)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FINDING_FIELDS, lineterminator="\n")
    writer.writeheader()
    for f in _sorted(report.findings):
        writer.writerow({k: _csv_value(v) for k, v in f.to_dict().items()})
    return out.getvalue()


def _csv_value(value: str) -> str:
    # Role and tenant names come from Azure and the registry: no terminal control, no formula.
    # "-" (the identity of a tenant-level finding) is no formula and stays as it is.
    return value if value == "-" else csv_cell(value)


def render_table(report: ScanReport, console: Console) -> None:
    """A readable report on a rich Console: the findings, then the run summary.

    A wide console gets one table; a narrow one (a laptop terminal, a CI log) gets one block per
    finding, since six columns at 80 characters are unreadable.
    """
    # Everything shown comes through one_line/multi_line: a role name holding ESC sequences must not
    # clear the screen or plant a link (JSON escapes control characters by itself).
    names = {t["tenant_id"]: str(t.get("name") or "") for t in report.tenants}
    if console.width >= 140:
        _findings_table(report, names, console)
    else:
        _findings_blocks(report, names, console)
    _summary(report, console)


def _t(text: str) -> str:
    """One line of Azure- or registry-sourced text for rich: control characters escaped, no markup."""
    from rich.markup import escape

    return escape(one_line(text))


def _tm(text: str) -> str:
    """Like _t, keeping line breaks (details and fixes span lines)."""
    from rich.markup import escape

    return escape(multi_line(text))


def _tenant_heading(tenant_id: str, name: str) -> str:
    return f"\n[bold underline]{_t(name or tenant_id)}[/] [dim]{_t(tenant_id)}[/]"


def _finding_block_rows(findings: Iterable[Finding]) -> Table:
    """One tenant's findings as the narrow console's grid."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=6, no_wrap=True)
    grid.add_column(ratio=1, overflow="fold")   # fold, never cut, a command someone will copy
    for f in findings:
        head = f"[bold]{f.check_id}[/]" + ("" if f.identity == "-" else f" [cyan]{_t(f.identity)}[/]")
        if f.status == Status.SUPPRESSED:
            head += f" [dim](suppressed: {_t(f.suppression or '')})[/]"
        body = f"{head}\n{_tm(f.detail)}\n[green]fix:[/] {_tm(f.remediation)}"
        grid.add_row(f"[{_SEVERITY_STYLE[f.severity.value]}]{f.severity.value}[/]", body)
    return grid


def _findings_blocks(report: ScanReport, names: dict[str, str], console: Console) -> None:
    from itertools import groupby

    from rich.padding import Padding

    by_tenant = _sorted(report.findings, tenant_first=True)
    for tenant_id, findings in groupby(by_tenant, key=lambda f: f.tenant_id):
        console.print(_tenant_heading(tenant_id, names.get(tenant_id) or ""))
        console.print(Padding(_finding_block_rows(findings), (0, 0, 0, 2)))
    console.print()


def _findings_table_of(rows: Iterable[tuple[Finding, str]], *, title: str | None) -> Table:
    """The wide console's table of (finding, tenant name) rows."""
    from rich.table import Table

    table = Table(title=title, show_lines=True, expand=True)
    for column, kw in (("Severity", {"no_wrap": True}), ("Tenant", {}), ("Identity", {}), ("Check", {}),
                       ("What was seen", {"ratio": 3, "overflow": "fold"}),
                       ("Fix", {"ratio": 3, "overflow": "fold"})):
        table.add_column(column, **kw)
    for f, tenant_name in rows:
        severity = f"[{_SEVERITY_STYLE[f.severity.value]}]{f.severity.value}[/]"
        if f.status == Status.SUPPRESSED:
            severity += "\n[dim]suppressed[/]"
        # Names, details and commands come from the registry and Azure: never read them as markup.
        seen = _tm(f.detail) + (f"\n[dim]suppressed: {_t(f.suppression)}[/]" if f.suppression else "")
        table.add_row(severity, _t(tenant_name or f.tenant_id),
                      _t(f.identity), _t(f.check_id), seen, _tm(f.remediation))
    return table


def _findings_table(report: ScanReport, names: dict[str, str], console: Console) -> None:
    rows = ((f, names.get(f.tenant_id) or "") for f in _sorted(report.findings))
    console.print(_findings_table_of(rows, title="PAL findings"))


def summary_line(s: dict[str, Any]) -> str:
    """The run summary's closing line (rich markup), from `run_summary()`."""
    sev = s["open_by_severity"]
    return (f"[bold]{s['tenants_total']}[/] tenants audited ({s['tenants_failed']} incomplete); "
            f"[bold]{s['findings_open']}[/] open findings "
            f"([bold red]{sev['high']} high[/], [yellow]{sev['medium']} medium[/], "
            f"[cyan]{sev['low']} low[/]), "
            f"{s['findings_suppressed']} suppressed.")


def _summary(report: ScanReport, console: Console) -> None:
    console.print(summary_line(report.run_summary()))
