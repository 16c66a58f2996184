"""Two stored runs of the demo estate (real armsim + Azurite), and hand-made inputs for pure tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pal_support import EXAMPLES

from pal_audit.dashboard.inputs import FindingInput, IdentityInput, Inputs, RunInput, TenantInput

MARGIE = "778369f3-4c6f-4737-af07-241b89fcc0e7"
NOW = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)


async def two_demo_runs(storage: str, cloud_file: Path) -> tuple[str, str]:
    """The demo's story in the tables: run 1, ops-app linked in Margie's Travel, run 2."""
    import json

    from armsim_client import put_link

    from pal_audit.registry import load_registry
    from pal_audit.service import AppContext, scan_into_tables
    from pal_audit.settings import load_settings
    from pal_audit.store import Store

    registry = load_registry(EXAMPLES / "registry.yaml")
    ctx = AppContext(load_settings(), None)      # type: ignore[arg-type]  # the auditor needs settings only
    async with Store.from_connection_string(storage) as store:
        async with ctx.auditor() as auditor:
            first = await scan_into_tables(registry, auditor, store)
        # an engineer links ops-app in Margie's Travel (what `az managementpartner create` does)
        assert await put_link(json.loads(cloud_file.read_text()), MARGIE, "ops-app", "1234567") == 200
        async with ctx.auditor() as auditor:
            second = await scan_into_tables(registry, auditor, store)
    assert first.run_id and second.run_id
    return first.run_id, second.run_id


async def demo_inputs(storage: str) -> Inputs:
    from pal_audit.dashboard import from_store
    from pal_audit.registry import load_registry
    from pal_audit.store import Store

    async with Store.from_connection_string(storage) as store:
        return await from_store(store, load_registry(EXAMPLES / "registry.yaml"))


def tenant(tid: str, name: str, *, ok: bool = True, expect_link: bool = True,
           identities: tuple[tuple[str, bool], ...] = (("ops-app", True),)) -> TenantInput:
    at = NOW - timedelta(hours=1)
    return TenantInput(tid, name, expect_link, at, at if ok else at - timedelta(days=1), "" if ok else "boom",
                       tuple(IdentityInput(n, f"oid-{n}-{tid[:4]}", good, at if good else None)
                             for n, good in identities))


def finding(tid: str, check_id: str, *, identity: str = "ops-app", severity: str = "high",
            status: str = "open", first_seen: datetime | None = None, resolved_at: datetime | None = None,
            title: str = "a finding", detail: str = "seen", remediation: str = "do this",
            change: str = "", run: str = "") -> FindingInput:
    return FindingInput(f"{tid[:4]}-{check_id}-{identity}", check_id, severity, tid, f"oid-{identity}",
                        identity, title, detail, remediation, status,
                        first_seen or NOW - timedelta(days=3), resolved_at, run, change)


def run(run_id: str, finished: datetime, *, failed: int = 0) -> RunInput:
    return RunInput(run_id, finished - timedelta(minutes=5), finished, "completed", 3, 3 - failed, failed)


def inputs(tenants: tuple[TenantInput, ...], findings: tuple[FindingInput, ...] = (),
           runs: tuple[RunInput, ...] = (), partner_id: str = "1234567") -> Inputs:
    return Inputs("tables", partner_id, tenants, findings, runs, NOW)
