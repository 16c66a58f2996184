"""The demo's two nightly runs on Azurite, with alerts written as files (see demo.py).

Run 1 audits the example estate: findings land in the Pal* tables as NEW and the alerts a
partner would receive are written to `<workdir>/alerts/`. Then `pal-audit fix` plans the link
changes run 1's findings ask for and applies the safe ones for real (signed in as each identity,
through the ManagementPartner API), holding the risky ones back, and run 2 shows the lifecycle:
RESOLVED, and nothing re-alerted that did not change.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from pal_audit.cli.report import ScanReport, render_table
from pal_audit.registry import Registry, load_registry
from pal_audit.registry.clouds import load_cloud_file
from pal_audit.store import RunRecord

if TYPE_CHECKING:
    from pal_audit.engine.auditor import TenantResult
    from pal_audit.engine.links import ActionResult


def demo_runs(console: Console, registry_path: Path, cloud_file: Path, work: Path) -> int:
    from pal_audit.devstack.azurite import running_azurite

    registry = load_registry(registry_path)
    with running_azurite() as azurite:     # in memory: every demo starts from empty tables
        os.environ["AzureWebJobsStorage"] = azurite.connection_string  # noqa: SIM112 (the Functions name)
        console.print("Azurite (Table + Queue storage) started\n")
        alerts_dir = work / "alerts"
        shutil.rmtree(alerts_dir, ignore_errors=True)
        first = asyncio.run(_run(registry, cloud_file, alerts_dir))
        console.rule("[bold]Run 1: the nightly audit")
        render_table(first.report, console)
        _summarise(console, first, alerts_dir)
        from pal_audit.cli.demo_lighthouse import show_lighthouse

        show_lighthouse(console, registry, cloud_file)

        console.rule("[bold]pal-audit fix --apply: the safe fixes, then run 2")
        _fix(console, registry, cloud_file, first)
        second = asyncio.run(_run(registry, cloud_file, alerts_dir))
        _summarise(console, second, alerts_dir)
        dashboard = asyncio.run(_write_dashboard(registry, work / "dashboard.html"))
    console.print("\nThe findings were kept in the tables PalFindings, PalRuns and PalTenantStatus (on "
                  "Azurite, stopped now); the Functions app serves them at GET /api/findings.")
    console.print(f"Alerts as Teams would receive them: {alerts_dir}/*.card.json (Adaptive Cards), "
                  "mails: *.eml")
    console.print(f"Coverage dashboard after run 2 (open it in a browser): {dashboard}")
    return 0


async def _write_dashboard(registry: Registry, path: Path) -> Path:
    """The page `pal-audit report --html` writes, from the tables both runs filled."""
    from pal_audit.dashboard import build, from_store, render
    from pal_audit.settings import load_settings
    from pal_audit.store import Store

    async with Store.from_connection_string(load_settings().storage_connection or "") as store:
        inputs = await from_store(store, registry)
    path.write_text(render(build(inputs)).html, encoding="utf-8")
    return path.resolve()


@dataclass(frozen=True)
class DemoRun:
    report: ScanReport
    run: RunRecord | None               # as stored in PalRuns
    changes: Counter[str]               # transitions by name
    alerts: list[Path]                  # files the alerts wrote in this run
    results: tuple[TenantResult, ...] = ()  # what the audit saw, for `fix` to plan from


async def _run(registry: Registry, cloud_file: Path, alerts_dir: Path) -> DemoRun:
    from pal_audit.alerts import FileSink, build_alerts
    from pal_audit.cli.scan import tenant_row
    from pal_audit.engine.auditor import Auditor
    from pal_audit.service import NO_OBSERVER, scan_into_tables
    from pal_audit.settings import load_settings
    from pal_audit.store import Store

    settings = load_settings()
    sink = FileSink(alerts_dir)
    before = set(sink.directory.glob("*"))
    cloud = load_cloud_file(cloud_file)
    async with Store.from_connection_string(settings.storage_connection or "") as store:
        observer = build_alerts(settings, store, sink=sink) or NO_OBSERVER
        async with Auditor(registry, cloud=cloud) as auditor:
            scan = await scan_into_tables(registry, auditor, store, observer=observer)
        run = await store.runs.get(scan.run_id) if scan.run_id else None
    from datetime import UTC, datetime

    report = ScanReport(run_id=scan.run_id or "-", started=run.started if run else datetime.now(UTC),
                        finished=run.finished if run else None)
    for result in scan.results:
        report.tenants.append(tenant_row(result))
        report.findings.extend(result.findings)
    changes = Counter(c.transition.value for o in scan.outcomes for c in o.changes)
    written = sorted(set(sink.directory.glob("*")) - before)
    return DemoRun(report, run, changes, written, tuple(scan.results))


def _summarise(console: Console, run: DemoRun, alerts_dir: Path) -> None:
    record = run.run
    if record is not None:
        public = record.to_public()
        t = public["tenants"]
        console.print(f"Run [bold]{public['run_id']}[/] {public['status']}: {t['total']} tenants, "
                      f"{t['done']} audited, {t['failed']} incomplete")
    changes = run.changes
    console.print("Transitions: " + (", ".join(f"{k} {v}" for k, v in sorted(changes.items())) or "none"))
    cards = [p for p in run.alerts if p.name.endswith(".card.json")]
    if not cards:
        console.print("Alerts sent: none (nothing changed since the last run)")
        return
    console.print(f"Alerts sent ({len(cards)}), written to {alerts_dir}:")
    for path in cards:
        console.print(f"  {_card_headline(path)}\n    [dim]{path.name}[/]")


def _card_headline(path: Path) -> str:
    """The first text block of a card: what the partner sees first in Teams."""
    try:
        body = json.loads(path.read_text())
        content = body["attachments"][0]["content"] if "attachments" in body else body
        for item in content.get("body", []):
            if item.get("type") == "TextBlock":
                return str(item.get("text"))
            for inner in item.get("items", []):
                if inner.get("type") == "TextBlock":
                    return str(inner.get("text"))
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        pass
    return "(card)"


def _fix(console: Console, registry: Registry, cloud_file: Path, run: DemoRun) -> None:
    """What `pal-audit fix --apply --yes` does after a run: plan from its findings, apply the safe ones."""
    from pal_audit.cli.fix import render_plan, render_results
    from pal_audit.engine.links import LinkWriter
    from pal_audit.engine.plan import plan_fixes

    console.print("$ pal-audit fix --registry examples/registry.yaml --apply --yes", highlight=False)
    plan = plan_fixes(((r.snapshot, r.findings) for r in run.results), registry.partner.partner_id)
    not_audited = [f"{r.snapshot.name} {i.identity}: {i.error.reason}" for r in run.results
                   for i in r.snapshot.identities if i.error is not None]
    render_plan(plan, not_audited, console)

    async def apply() -> list[ActionResult]:
        async with LinkWriter(registry, cloud=load_cloud_file(cloud_file)) as writer:
            return await writer.apply(plan.actions)

    render_results(asyncio.run(apply()), console)
