"""The demo's Azure Lighthouse part: the example registry's managing tenant audited through armsim,
shown as a report (not stored: the run's claims cover registry tenants only, docs/lighthouse.md)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pal_audit.cli.report import ScanReport, render_table
from pal_audit.cli.scan import tenant_row
from pal_audit.engine.lighthouse import LighthouseAuditor
from pal_audit.registry import Registry
from pal_audit.registry.clouds import load_cloud_file

if TYPE_CHECKING:
    from rich.console import Console


def lighthouse_report(registry: Registry, cloud_file: Path) -> ScanReport:
    async def run() -> ScanReport:
        report = ScanReport(run_id="lighthouse", started=datetime.now(UTC))
        async with LighthouseAuditor(registry, cloud=load_cloud_file(cloud_file)) as auditor:
            for result in await auditor.audit_lighthouse():
                report.tenants.append(tenant_row(result))
                report.findings.extend(result.findings)
        report.finished = datetime.now(UTC)
        return report

    return asyncio.run(run())


def show_lighthouse(console: Console, registry: Registry, cloud_file: Path) -> None:
    if not registry.lighthouse:
        return
    console.rule("[bold]Azure Lighthouse: delegations to Contoso's own tenant (reported, not stored)")
    render_table(lighthouse_report(registry, cloud_file), console)
