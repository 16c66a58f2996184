"""`pal-audit report`: the coverage dashboard (`--html`) and the evidence pack (`--evidence`), from
the tables (`--store tables`, the default) or from a scan's JSON (`--from`). docs/dashboard.md.

Registered on the typer app by main.py; every problem is one line on stderr and exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pal_audit.cli.exits import check_writable, fail, storage_settings_or_exit
from pal_audit.textsafe import one_line

if TYPE_CHECKING:
    from pal_audit.dashboard import Inputs
    from pal_audit.registry import Registry
    from pal_audit.settings import Settings



def _registry(path: str | None, *, required: bool) -> Registry | None:
    from pal_audit.registry import RegistryError, load_registry
    from pal_audit.registry.clouds import CloudError

    if not path:
        if required:
            fail("--store tables: the registry is needed to list the customers; give --registry FILE "
                  "(or set PAL_AUDIT_REGISTRY)")
        return None
    try:
        return load_registry(path, check_secrets=False)
    except (RegistryError, CloudError) as exc:
        fail("; ".join(exc.errors))


def report(
    html: Annotated[str | None, typer.Option(
        "--html", metavar="FILE", help="Write the dashboard (one self-contained HTML file).")] = None,
    evidence: Annotated[str | None, typer.Option(
        "--evidence", metavar="FILE.csv|FILE.json",
        help="Write the evidence pack; CSV or JSON by the file's suffix.")] = None,
    from_scan: Annotated[str | None, typer.Option(
        "--from", metavar="SCAN.json", help="Build from a `pal-audit scan --format json` report.")] = None,
    store: Annotated[str | None, typer.Option(
        "--store", metavar="tables", help="Build from the Pal* tables (AzureWebJobsStorage); the default.")]
    = None,
    registry: Annotated[str | None, typer.Option(
        "--registry", "-r", envvar="PAL_AUDIT_REGISTRY", metavar="FILE",
        help="Registry file: the customers and partner id (required with --store tables).")] = None,
) -> None:
    """Write the coverage dashboard and/or the evidence pack."""
    from pal_audit.dashboard import SourceError, build, from_scan_file, render
    from pal_audit.dashboard import evidence as evidence_out

    if html is None and evidence is None:
        fail("nothing to write: give --html FILE and/or --evidence FILE.csv|FILE.json")
    if store is not None and store != "tables":
        fail(f"--store must be 'tables', got {store[:40]!r}")
    if store is not None and from_scan is not None:
        fail("give either --from SCAN.json or --store tables, not both")
    if evidence is not None and Path(evidence).suffix.lower() not in (".csv", ".json"):
        fail(f"--evidence {evidence}: the file name must end in .csv or .json")
    for option, target in (("--html", html), ("--evidence", evidence)):
        if target is not None:
            check_writable(target, option)

    reg = _registry(registry, required=from_scan is None)
    try:
        if from_scan is not None:
            inputs = from_scan_file(from_scan, registry=reg)
        else:
            assert reg is not None      # _registry exits when --store tables has none
            inputs = _from_tables(reg)
    except SourceError as exc:
        fail(f"--from {exc}")
    view = build(inputs)
    try:
        if html is not None:
            Path(html).write_text(render(view).html, encoding="utf-8")
            typer.echo(one_line(f"dashboard: {html}"))
        if evidence is not None:
            as_json = evidence.lower().endswith(".json")
            text = evidence_out.to_json(view) if as_json else evidence_out.to_csv(view)
            Path(evidence).write_text(text, encoding="utf-8")
            typer.echo(one_line(f"evidence: {evidence} ({len(view.evidence)} rows)"))
    except OSError as exc:
        fail(f"could not write the report: {exc.strerror or type(exc).__name__}")


def _from_tables(registry: Registry) -> Inputs:
    import asyncio

    from pal_audit.store.tables import StoreError, is_transport_failure

    settings = storage_settings_or_exit()
    try:
        return asyncio.run(_read_tables(settings, registry))
    except Exception as exc:
        if not isinstance(exc, StoreError) and not is_transport_failure(exc):
            raise
        fail(f"--store tables: Table storage failed ({type(exc).__name__}: "
              f"{str(exc).splitlines()[0][:200] if str(exc) else 'no detail'})")


async def _read_tables(settings: Settings, registry: Registry) -> Inputs:
    from pal_audit.dashboard import from_store
    from pal_audit.service import open_context

    async with open_context(settings) as ctx:
        return await from_store(ctx.store, registry)
