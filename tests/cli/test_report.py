"""Report rendering: what a person reads at a wide terminal, a narrow one, and what a pipeline parses."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from rich.console import Console

from pal_audit.cli.report import ScanReport, render_table, to_csv, to_json
from pal_audit.model import Finding, Severity, Status

T1, T2 = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"


def _report() -> ScanReport:
    def f(check: str, sev: Severity, tenant: str, identity: str, status: Status = Status.OPEN) -> Finding:
        return Finding(check, sev, tenant, "oid-" + identity, identity, check.replace("_", " "),
                       f"seen for {identity}", f"fix {check}", status=status,
                       suppression="needed (lead, until 2027-01-01)" if status == Status.SUPPRESSED else None)

    r = ScanReport(run_id="r1", started=datetime(2026, 11, 27, tzinfo=UTC))
    r.tenants = [{"tenant_id": T1, "name": "Fabrikam", "status": "ok", "identities": []},
                 {"tenant_id": T2, "name": "Contoso [prod]", "status": "error", "identities": []}]
    r.findings = [f("excessive_privilege", Severity.LOW, T1, "ops-app", Status.SUPPRESSED),
                  f("link_missing", Severity.HIGH, T1, "ops-app"),
                  f("audit_error", Severity.HIGH, T2, "mon-app")]
    return r


@pytest.mark.parametrize("width", [80, 200])
def test_table_shows_every_finding_and_the_summary(width):
    out = io.StringIO()
    render_table(_report(), Console(file=out, width=width, force_terminal=False))
    text = out.getvalue()
    for needle in ("Fabrikam", "Contoso [prod]", "link_missing", "audit_error", "suppressed",
                   "fix link_missing"):
        assert needle in text
    assert "2 tenants audited (1 incomplete); 2 open findings (2 high, 0 medium, 0 low), 1 suppressed." in \
        " ".join(text.split())


def test_json_and_csv_order_by_severity_then_tenant():
    body = json.loads(to_json(_report()))
    assert [f["check_id"] for f in body["findings"]] == ["link_missing", "audit_error", "excessive_privilege"]
    assert body["run"]["open_by_severity"] == {"high": 2, "medium": 0, "low": 0}
    lines = to_csv(_report()).splitlines()
    assert lines[0].startswith("finding_id,check_id,severity") and len(lines) == 4


def test_worst_open_severity_ignores_suppressed():
    r = _report()
    r.findings = [x for x in r.findings if x.status == Status.SUPPRESSED]
    assert r.worst_open_severity() is None


# ---------------------------------------------------------------- hostile text from Azure and the registry

CLEAR_SCREEN = "\x1b[2J\x1b[H"
OSC8_LINK = "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"
HOSTILE_TEXTS = [CLEAR_SCREEN, OSC8_LINK, "\x9b2J", "\u202eevil\u202c", "bell\x07", "cr\roverwrite",
                 "line\u2028sep", "nul\x00"]
UNSAFE_CHARS = ("\x1b", "\x9b", "\u202e", "\x07", "\r", "\u2028", "\x00")


def _hostile_report(text: str) -> ScanReport:
    """A custom role name (Azure) and a tenant name (registry) carrying terminal control sequences."""
    r = _report()
    r.tenants[0]["name"] = f"Fabrikam{text}"
    r.findings.append(Finding("excessive_privilege", Severity.MEDIUM, T1, "oid-x", f"ops{text}app",
                              f"title{text}", f"role 'VM {text} Operator' grants write",
                              f"az role assignment delete --role 'VM {text} Operator'"))
    return r


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
@pytest.mark.parametrize("fmt", ["table-80", "table-200", "csv", "json"])
def test_no_terminal_control_reaches_any_output_format(text, fmt):
    report = _hostile_report(text)
    if fmt.startswith("table"):
        out = io.StringIO()
        render_table(report, Console(file=out, width=int(fmt.split("-")[1]), force_terminal=False))
        rendered = out.getvalue()
    else:
        rendered = to_csv(report) if fmt == "csv" else to_json(report)
    assert not [c for c in UNSAFE_CHARS if c in rendered], repr(rendered)
    assert "Operator" in rendered                                   # the text is shown, escaped, not dropped


def test_escaped_control_characters_stay_visible():
    out = io.StringIO()
    render_table(_hostile_report(CLEAR_SCREEN), Console(file=out, width=200, force_terminal=False))
    assert "\\x1b[2J" in out.getvalue()


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_csv_cells_never_start_a_spreadsheet_formula(start):
    r = _report()
    r.findings = [Finding("excessive_privilege", Severity.LOW, T1, "oid", "ops-app", "t",
                          f'{start}HYPERLINK("https://evil.example","x")', f"{start}1+1")]
    row = next(csv.DictReader(io.StringIO(to_csv(r))))
    assert row["detail"] == f"'{start}HYPERLINK(\"https://evil.example\",\"x\")"
    assert row["remediation"] == f"'{start}1+1"


def test_csv_keeps_the_dash_of_tenant_level_findings():
    r = _report()
    r.findings = [Finding("link_missing", Severity.HIGH, T1, "-", "-", "t", "d", "f")]
    row = next(csv.DictReader(io.StringIO(to_csv(r))))
    assert row["identity"] == "-" and row["principal_id"] == "-"
