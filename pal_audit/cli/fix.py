"""`pal-audit fix`: audit (or read a saved plan), plan the link changes, and apply them with --apply.

Exit codes: 0 every planned action applied (or already as planned), 3 some action failed or was
skipped (or a unit could not be audited, so nothing could be planned for it), 2 usage.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pal_audit.cli.exits import check_writable, fail, storage_settings_or_exit
from pal_audit.engine.plan import FixFlags, LinkAction, Plan, PlanFileError, plan_fixes, plan_from_json
from pal_audit.registry import Registry, RegistryError, load_registry
from pal_audit.registry.clouds import Cloud, CloudError, load_cloud_file

if TYPE_CHECKING:
    from rich.console import Console

    from pal_audit.engine.links import ActionResult
    from pal_audit.model import Finding, TenantSnapshot

EXIT_OK, EXIT_INCOMPLETE = 0, 3


class FixFormat(StrEnum):
    table = "table"
    json = "json"


class FixStore(StrEnum):
    none = "none"
    tables = "tables"


def fix_command(
    registry: Annotated[str, typer.Option(
        "--registry", "-r", envvar="PAL_AUDIT_REGISTRY", metavar="FILE",
        help="Registry file: the identities to sign in as, the partner id.")],
    plan_file: Annotated[str | None, typer.Argument(
        metavar="[PLAN.json]", help="With --apply: apply this saved plan instead of auditing now.")] = None,
    cloud: Annotated[str | None, typer.Option(
        "--cloud", metavar="FILE", help="Cloud file; overrides the registry's cloud.")] = None,
    tenant: Annotated[list[str] | None, typer.Option(
        "--tenant", metavar="ID", help="Only this tenant (repeatable); default: every tenant.")] = None,
    plan_out: Annotated[str | None, typer.Option(
        "--plan-out", metavar="PLAN.json", help="Write the plan to this file.")] = None,
    apply: Annotated[bool, typer.Option(
        "--apply", help="Apply the plan (this audit's, or the PLAN.json given after it).")] = False,
    overwrite_foreign: Annotated[bool, typer.Option(
        "--overwrite-foreign", help="Also replace links to other partners' ids.")] = False,
    delete_excluded: Annotated[bool, typer.Option(
        "--delete-excluded", help="Also delete our links on tenants with expect_link: false.")] = False,
    delete_stale: Annotated[bool, typer.Option(
        "--delete-stale", help="Also delete links of identities without access (link_without_access).")]
    = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
    output_format: Annotated[FixFormat, typer.Option("--format", "-f", help="Output format.")]
    = FixFormat.table,
    store: Annotated[FixStore, typer.Option(
        "--store", help="tables: record every applied action in PalActions (AzureWebJobsStorage).")]
    = FixStore.none,
) -> None:
    """Plan the link changes the findings ask for; change them with --apply."""
    if plan_file is not None and not apply:
        fail(f"{plan_file}: a plan file is only read with --apply (pal-audit fix --apply {plan_file})")
    if apply and not yes and not stdin_is_terminal():
        fail("--apply: not a terminal, so nobody can confirm the changes; add --yes to apply "
                    "without asking")
    reg = _load_registry(registry)
    cloud_config = _load_cloud(cloud)
    known = {t.tenant_id.lower() for t in reg.tenants}
    for tid in tenant or []:
        if tid.lower() not in known:
            fail(f"--tenant {tid}: not a tenant of {registry}")
    actions_table = _storage_or_exit() if store == FixStore.tables and apply else None
    if plan_out is not None:
        check_writable(plan_out, "--plan-out")
    flags = FixFlags(overwrite_foreign, delete_excluded, delete_stale)
    not_audited: list[str] = []
    if plan_file is not None:
        plan = _read_plan(plan_file, reg, tenant)
    else:
        plan, not_audited = _audit_and_plan(reg, cloud_config, tenant, flags)
    if plan_out is not None:
        from pal_audit.engine.plan import plan_to_json

        try:
            Path(plan_out).write_text(plan_to_json(plan), encoding="utf-8")
        except OSError as exc:
            fail(f"--plan-out {plan_out}: could not write: {exc.strerror or type(exc).__name__}")
    from rich.console import Console

    console = Console(stderr=output_format == FixFormat.json)
    results: list[ActionResult] | None = None
    if apply and plan.actions:
        if output_format == FixFormat.table:
            render_plan(plan, not_audited, console)
        if not yes and not typer.confirm(f"Change {len(plan.actions)} link(s) as planned above?",
                                         default=False, err=True):
            typer.echo("nothing changed", err=True)
            raise typer.Exit(EXIT_INCOMPLETE)
        results = asyncio.run(_apply(reg, cloud_config, plan.actions))
        if actions_table is not None:
            asyncio.run(_record(actions_table, results))
    if output_format == FixFormat.json:
        typer.echo(to_json(plan, not_audited, results))
    elif results is not None:
        render_results(results, console)
    else:
        render_plan(plan, not_audited, console)
        if apply:
            console.print("Nothing to apply.")
        elif plan.actions:
            console.print("Nothing was changed. Apply with: pal-audit fix --apply"
                          + (f" {plan_out}" if plan_out else "") + " ...")
    raise typer.Exit(exit_code(not_audited, results))


def stdin_is_terminal() -> bool:
    """Whether someone can answer the confirmation."""
    return sys.stdin.isatty()


def exit_code(not_audited: list[str], results: list[ActionResult] | None) -> int:
    if not_audited:
        return EXIT_INCOMPLETE
    if results is not None and any(r.outcome in ("skipped", "failed") for r in results):
        return EXIT_INCOMPLETE
    return EXIT_OK


# ---------------------------------------------------------------- inputs


def _load_registry(path: str) -> Registry:
    try:
        return load_registry(path)
    except (RegistryError, CloudError) as exc:
        fail(exc.errors)


def _load_cloud(path: str | None) -> Cloud | None:
    if path is None:
        return None
    try:
        return load_cloud_file(path)
    except CloudError as exc:
        fail(exc.errors)


def _read_plan(path: str, reg: Registry, tenants: list[str] | None) -> Plan:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"{path}: cannot read the plan: {exc.strerror or type(exc).__name__}")
    try:
        plan = plan_from_json(text, path)
    except PlanFileError as exc:
        fail(str(exc))
    if plan.partner_id not in {reg.partner.partner_id, *reg.partner.previous_partner_ids}:
        fail(f"{path}: partner_id: {plan.partner_id} is not the registry's partner id "
                    f"({reg.partner.partner_id})")
    for i, a in enumerate(plan.actions):
        if a.identity not in reg.identities:
            fail(f"{path}: actions[{i}].identity: {a.identity!r} is not an identity of the registry")
    if tenants:
        wanted = {t.lower() for t in tenants}
        from dataclasses import replace

        plan = replace(plan, actions=tuple(a for a in plan.actions if a.tenant_id.lower() in wanted),
                       held=tuple(a for a in plan.held if a.tenant_id.lower() in wanted))
    return plan


def _audit_and_plan(reg: Registry, cloud: Cloud | None, tenants: list[str] | None,
                    flags: FixFlags) -> tuple[Plan, list[str]]:
    """Audit the tenants and plan; also the units that could not be audited (nothing planned there)."""
    results = asyncio.run(_audit(reg, cloud, tenants))
    not_audited = [
        f"{snap.name} ({snap.tenant_id}) {i.identity}: {i.error.reason}: {i.error.message}"
        for snap, _ in results for i in snap.identities if i.error is not None
    ] + [f"{snap.name} ({snap.tenant_id}): {snap.error.reason}: {snap.error.message}"
         for snap, _ in results if snap.error is not None]
    return plan_fixes(results, reg.partner.partner_id, flags), sorted(not_audited)


async def _audit(reg: Registry, cloud: Cloud | None, tenants: list[str] | None
                 ) -> list[tuple[TenantSnapshot, tuple[Finding, ...]]]:
    from pal_audit.engine.auditor import Auditor

    wanted = {x.lower() for x in tenants or []}
    ids = [t.tenant_id for t in reg.tenants if not wanted or t.tenant_id.lower() in wanted]
    async with Auditor(reg, cloud=cloud) as auditor:
        return [(r.snapshot, r.findings) async for r in auditor.audit_tenants(ids)]


async def _apply(reg: Registry, cloud: Cloud | None, actions: tuple[LinkAction, ...]) -> list[ActionResult]:
    from pal_audit.engine.links import LinkWriter

    async with LinkWriter(reg, cloud=cloud) as writer:
        return await writer.apply(actions)


# ---------------------------------------------------------------- PalActions


def _storage_or_exit() -> str:
    connection = storage_settings_or_exit().storage_connection
    assert connection is not None     # storage_settings_or_exit exits without one
    return connection


def actor() -> str:
    """Who ran the command, for PalActions: the OS account (never a secret)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


async def _record(connection_string: str, results: list[ActionResult]) -> None:
    from azure.data.tables.aio import TableServiceClient

    from pal_audit.store.actions import ActionRecord, ActionsTable

    by = actor()
    records = [ActionRecord(
        at=r.at, by=by, tenant_id=r.action.tenant_id, tenant_name=r.action.tenant_name,
        identity=r.action.identity, principal_id=r.action.principal_id, kind=r.action.kind,
        before=r.action.before, after=r.action.after, check_id=r.action.check_id,
        finding_id=r.action.finding_id, result=r.outcome, detail=r.detail, found=r.found) for r in results]
    try:
        async with TableServiceClient.from_connection_string(connection_string) as service:
            table = ActionsTable.of(service)
            await table.ensure()
            await table.record(records)
    except Exception as exc:  # the links are changed already: say so, and that the record is missing
        fail(f"--store tables: the changes were applied but PalActions could not be written "
                    f"({type(exc).__name__}); the output above is the only record of them")


# ---------------------------------------------------------------- output


def _link(partner_id: str | None) -> str:
    return partner_id if partner_id is not None else "-"


def render_plan(plan: Plan, not_audited: list[str], console: Console) -> None:
    from rich.table import Table

    table = Table(title=f"Plan: {len(plan.actions)} link change(s) to partner id {plan.partner_id}",
                  title_justify="left")
    for col in ("tenant", "identity", "action", "before", "after", "finding"):
        table.add_column(col)
    for a in plan.actions:
        table.add_row(a.tenant_name, a.identity, a.kind, _link(a.before), _link(a.after), a.check_id)
    console.print(table)
    for a in plan.held:
        console.print(f"not planned: {a.tenant_name} {a.identity}: {a.kind} {_link(a.before)} -> "
                      f"{_link(a.after)} ({a.check_id}) needs {' '.join(a.needs)}", highlight=False)
    for line in not_audited:
        console.print(f"not audited, nothing planned: {line}", highlight=False)


def render_results(results: list[ActionResult], console: Console) -> None:
    from rich.table import Table

    table = Table(title="Applied", title_justify="left")
    for col in ("tenant", "identity", "action", "before", "after", "result", "detail"):
        table.add_column(col)
    for r in results:
        a = r.action
        table.add_row(a.tenant_name, a.identity, a.kind, _link(a.before), _link(a.after), r.outcome, r.detail)
    console.print(table)
    counts = Counter(r.outcome for r in results)
    console.print(", ".join(f"{k} {counts[k]}" for k in ("applied", "unchanged", "skipped", "failed")),
                  highlight=False)


def to_json(plan: Plan, not_audited: list[str], results: list[ActionResult] | None) -> str:
    import json

    from pal_audit.engine.plan import plan_to_json

    out: dict[str, object] = {"plan": json.loads(plan_to_json(plan)), "not_audited": not_audited}
    if results is not None:
        out["results"] = [{
            "tenant_id": r.action.tenant_id, "tenant_name": r.action.tenant_name,
            "identity": r.action.identity, "kind": r.action.kind, "before": r.action.before,
            "after": r.action.after, "check_id": r.action.check_id, "result": r.outcome,
            "detail": r.detail, "found": r.found, "at": r.at.isoformat()} for r in results]
    return json.dumps(out, indent=2)
