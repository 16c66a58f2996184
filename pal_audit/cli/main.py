"""The `pal-audit` command line (docs/cli.md).

One function per command, registered on `app`. Exit codes are a contract: 0 ok, 1 findings at or
above --fail-on, 2 usage or registry error (message on stderr, never a traceback), 3 audit incomplete.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from pal_audit.cli.exits import EXIT_USAGE, check_writable, fail, storage_settings_or_exit
from pal_audit.cli.fix import fix_command
from pal_audit.cli.me import me_command
from pal_audit.cli.report_command import report as report_command
from pal_audit.cli.report_stream import ReportCounters, StreamingReport
from pal_audit.cli.scan import stream_scan
from pal_audit.engine.auditor import DEFAULT_MAX_CONCURRENCY
from pal_audit.model import Severity
from pal_audit.registry import Registry, RegistryError, load_registry
from pal_audit.registry.clouds import Cloud, CloudError, load_cloud_file
from pal_audit.store.tables import StoreError
from pal_audit.textsafe import one_line

if TYPE_CHECKING:
    from pal_audit.engine.auditor import TenantResult
    from pal_audit.service import TableResultSink

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INCOMPLETE = 3

app = typer.Typer(
    name="pal-audit",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,   # a traceback is never the user interface
)

RegistryOption = Annotated[str, typer.Option(
    "--registry", "-r", envvar="PAL_AUDIT_REGISTRY", metavar="FILE",
    help="Registry file (YAML, or JSON by its .json suffix).")]


@app.callback()
def _root() -> None:
    """Audit Partner Admin Link (PAL) attribution across the Azure tenants a partner manages."""


def load_registry_or_exit(path: str, *, check_secrets: bool = True) -> Registry:
    """load_registry for commands: any problem becomes messages on stderr and exit code 2."""
    try:
        return load_registry(path, check_secrets=check_secrets)
    except (RegistryError, CloudError) as exc:
        fail(exc.errors)
    except Exception as exc:  # a bug of ours must still not greet the user with a traceback
        detail = str(exc).splitlines()[0][:200] if str(exc) else ""
        fail(f"{path}: unexpected error while loading the registry: {type(exc).__name__}"
             + (f": {detail}" if detail else ""))


def registry_summary(reg: Registry, today: date, *, secrets_checked: bool) -> list[str]:
    """A few lines telling what the registry will audit."""
    p = reg.partner
    partner = p.partner_id + (f" ({p.name})" if p.name else "")
    if p.previous_partner_ids:
        partner += f"; previous ids: {', '.join(p.previous_partner_ids)}"
    excluded = sum(1 for t in reg.tenants if not t.expect_link)
    approved = sum(1 for t in reg.tenants if t.customer_approval is not None)
    methods = Counter(i.auth.method for i in reg.identities.values())
    expired = sum(1 for s in reg.suppressions if s.expires < today)
    expected_customers = sum(len(lh.customers) for lh in reg.lighthouse)
    return [
        f"{reg.source}: valid",
        f"  partner:      {partner}",
        f"  cloud:        {reg.cloud.name} ({reg.cloud.arm})",
        f"  tenants:      {len(reg.tenants)} ({excluded} with expect_link false, "
        f"{approved} with customer approval)",
        f"  identities:   {len(reg.identities)} "
        f"({', '.join(f'{m}: {n}' for m, n in sorted(methods.items()))})",
        *([f"  lighthouse:   {len(reg.lighthouse)} managing tenant(s), {expected_customers} expected "
            "customer(s)"] if reg.lighthouse else []),
        f"  suppressions: {len(reg.suppressions)} ({expired} expired)",
        f"  secrets:      {'all environment variables set' if secrets_checked else 'not checked'}",
    ]


@app.command()
def validate(
    registry: RegistryOption,
    check_secrets: Annotated[bool, typer.Option(
        "--check-secrets/--no-check-secrets",
        help="Require the secret environment variables the registry names to be set.")] = True,
) -> None:
    """Check a registry file and summarise it; exit 2 with every problem listed when it is invalid."""
    reg = load_registry_or_exit(registry, check_secrets=check_secrets)
    today = date.today()
    for line in registry_summary(reg, today, secrets_checked=check_secrets):
        typer.echo(one_line(line))
    for warning in reg.warnings(today):
        typer.echo(one_line(f"warning: {warning}"), err=True)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class StoreKind(StrEnum):
    none = "none"
    tables = "tables"


@app.command()
def scan(
    registry: RegistryOption,
    cloud: Annotated[str | None, typer.Option(
        "--cloud", metavar="FILE", help="Cloud file (JSON/YAML as armsim --cloud-out writes); overrides "
        "the registry's cloud.")] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", "-f", help="Report format.")]
    = OutputFormat.table,
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="FILE",
                                               help="Write the report here instead of stdout.")] = None,
    store: Annotated[StoreKind, typer.Option(
        "--store", help="Also record findings in Table Storage (AzureWebJobsStorage).")] = StoreKind.none,
    concurrency: Annotated[int | None, typer.Option(
        "--concurrency", min=1, max=1024, help="Pin the (tenant, identity) units audited at once; "
        "by default the number adapts to latency, 429s and memory, up to --max-concurrency.")] = None,
    max_concurrency: Annotated[int, typer.Option(
        "--max-concurrency", min=1, max=1024, help="Ceiling of the adaptive concurrency.")]
    = DEFAULT_MAX_CONCURRENCY,
    fail_on: Annotated[Severity | None, typer.Option(
        "--fail-on", help="Exit 1 when an open finding is at or above this severity.")] = None,
    unit_budget: Annotated[float, typer.Option(
        "--unit-budget", min=1, metavar="SECONDS",
        help="Time budget of one (tenant, identity), retries included.")] = 120.0,
) -> None:
    """Audit every tenant of the registry and report the findings."""
    reg = load_registry_or_exit(registry)
    if output is not None:
        check_writable(output)      # before a long audit, not after it
    cloud_config = None
    if cloud is not None:
        try:
            cloud_config = load_cloud_file(cloud)
        except CloudError as exc:
            fail(exc.errors)
    # The report streams to disk spools as tenants finish: memory does not grow with the estate.
    report = new_report(output_format.value, output)
    try:
        run_scan_command(reg, report, cloud=cloud_config, concurrency=concurrency, unit_budget=unit_budget,
                         store=store == StoreKind.tables, max_concurrency=max_concurrency)
        write_report(report, output_format.value, output)
    finally:
        report.close()
    raise typer.Exit(exit_code(report, fail_on))


def new_report(fmt: str, output: str | None) -> StreamingReport:
    """An empty report whose findings spool in the order the chosen output reads them."""
    import uuid
    from datetime import UTC, datetime

    from rich.console import Console

    narrow_table = fmt == "table" and output is None and Console().width < 140
    order = "tenant" if narrow_table else "severity"
    return StreamingReport(uuid.uuid4().hex, datetime.now(UTC), order=order)


def run_scan_command(reg: Registry, report: StreamingReport, *, cloud: Cloud | None,
                     concurrency: int | None, unit_budget: float, store: bool,
                     max_concurrency: int = DEFAULT_MAX_CONCURRENCY) -> StreamingReport:
    """Run the scan into `report` with a progress bar on a terminal (none when stderr is piped)."""
    import asyncio

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    sink = table_sink_or_exit(reg) if store else None

    def go(progress: Callable[[TenantResult], None] | None = None) -> StreamingReport:
        try:
            asyncio.run(stream_scan(reg, report, cloud=cloud, concurrency=concurrency,
                                    max_concurrency=max_concurrency, unit_budget_seconds=unit_budget,
                                    sink=sink, progress=progress))
        except StoreError as exc:    # Azure-side audit failures are findings, never exceptions
            fail(f"--store tables: Table/Queue storage failed ({type(exc).__name__}: "
                 f"{str(exc).splitlines()[0][:200] if str(exc) else 'no detail'}); tenants stored before the "
                 "failure are kept, the rest were not written; rerun when storage is reachable")
        except OSError as exc:       # the report's spool files (the audit itself raises none)
            import tempfile

            fail(f"could not write the report's temporary files in {tempfile.gettempdir()}: "
                 f"{exc.strerror or type(exc).__name__}")
        if sink is not None and sink.run_id:
            report.run_id = sink.run_id     # the id the tables (and GET /api/scans) know the run by
        return report

    if not console.is_terminal:
        return go()
    columns = (TextColumn("auditing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("tenants", total=len(reg.tenants))
        return go(lambda _result: bar.advance(task))


def table_sink_or_exit(reg: Registry) -> TableResultSink:
    """The `--store tables` sink, or exit 2 naming the missing or bad setting."""
    settings = storage_settings_or_exit()
    from pal_audit.service import alerts_observer, table_result_sink

    return table_result_sink(settings, reg, observer=alerts_observer)   # the alerts, as the app sends them


def write_report(report: StreamingReport, fmt: str, output: str | None) -> None:
    """Write the report; a full disk or a closed pipe is exit 2 naming where, never "internal error"."""
    try:
        _write_report(report, fmt, output)
    except OSError as exc:
        where = output if output is not None else "standard output"
        fail(f"could not write the report to {where}: {exc.strerror or type(exc).__name__}")


def _write_report(report: StreamingReport, fmt: str, output: str | None) -> None:
    import sys

    from rich.console import Console

    if fmt == "table":
        if output is None:
            report.write_table(Console())
            return
        with open(output, "w", encoding="utf-8") as fh:
            report.write_table(Console(file=fh, width=160, force_terminal=False))
        return
    write = report.write_json if fmt == "json" else report.write_csv
    if output is None:
        write(sys.stdout)
        sys.stdout.flush()
    else:
        with open(output, "w", encoding="utf-8") as fh:
            write(fh)


def exit_code(report: ReportCounters, fail_on: Severity | None) -> int:
    """§11: 3 when some unit failed (wins over 1), 1 for findings at or above --fail-on, else 0."""
    if report.failed_tenants:
        return EXIT_INCOMPLETE
    worst = report.worst_open_severity()
    if fail_on is not None and worst is not None and worst.rank >= fail_on.rank:
        return EXIT_FINDINGS
    return EXIT_OK


@app.command()
def demo(
    workdir: Annotated[str, typer.Option("--workdir", metavar="DIR",
                                         help="Where the demo writes its CA, alerts and report.")]
    = ".pal-audit-demo",
) -> None:
    """The whole product on the bundled example estate: armsim + Azurite + audit + alerts."""
    from pal_audit.cli.demo import run_demo

    raise typer.Exit(run_demo(workdir))


app.command(name="report")(report_command)     # the dashboard and evidence pack (report_command.py)
# Commands whose bodies live in modules of their own (docs/cli.md).
app.command("fix")(fix_command)
app.command("me")(me_command)


def main() -> None:
    """Console script entry point (`pal-audit`)."""
    import logging

    # azure-identity logs every failed sign-in at WARNING; the report already carries it as an
    # audit_error, so the terminal stays readable.
    logging.getLogger("azure").setLevel(logging.ERROR)
    try:
        app()
    except Exception as exc:  # a bug of ours: one readable line, never a traceback (docs/cli.md)
        detail = str(exc).splitlines()[0][:200] if str(exc) else ""
        what = type(exc).__name__ + (f": {detail}" if detail else "")
        typer.echo(one_line(f"pal-audit: internal error: {what} (please report it)"), err=True)
        raise SystemExit(EXIT_USAGE) from None


if __name__ == "__main__":
    main()
