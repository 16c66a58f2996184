"""The findings lifecycle of docs/storage.md, written to and read back from Azurite."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from builders import T1, finding, snapshot
from pal_support import all_tables, table_rows

from pal_audit.model import Severity, Status, Transition

pytestmark = pytest.mark.azurite
DAY1 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def day(n: int) -> datetime:
    return DAY1 + timedelta(days=n - 1)


async def write(store, findings, *, n=1, snap=None, on_changes=None):
    return await store.findings.write_tenant(snap or snapshot(), findings, f"run{n}", at=day(n),
                                             on_changes=on_changes)


def transitions(changes):
    return sorted((c.transition.value, c.finding.check_id, c.finding.identity) for c in changes)


async def test_new_then_seen_again_moves_last_seen_only(store):
    changes = await write(store, [finding("link_missing")])
    assert transitions(changes) == [("NEW", "link_missing", "ops-app")]
    assert changes[0].run_id == "run1" and changes[0].at == day(1)

    assert await write(store, [finding("link_missing", detail="seen again")], n=2) == []
    row = (await store.findings.read_tenant(T1))[finding().finding_id]
    assert (row.first_seen, row.last_seen, row.finding.status) == (day(1), day(2), Status.OPEN)
    assert row.finding.detail == "seen again" and row.last_run_id == "run2"


async def test_fixed_resolves_and_regression_reopens(store):
    await write(store, [finding("link_missing")])
    changes = await write(store, [], n=2)
    assert transitions(changes) == [("RESOLVED", "link_missing", "ops-app")]
    row = (await store.findings.read_tenant(T1))[finding().finding_id]
    assert row.finding.status == Status.RESOLVED and row.resolved_at == day(2)

    assert await write(store, [], n=3) == []          # stays resolved, silently

    changes = await write(store, [finding("link_missing")], n=4)
    assert transitions(changes) == [("REOPENED", "link_missing", "ops-app")]
    row = (await store.findings.read_tenant(T1))[finding().finding_id]
    assert (row.finding.status, row.reopened_count, row.resolved_at, row.first_seen) == \
        (Status.OPEN, 1, None, day(1))


async def test_a_failed_identity_keeps_its_findings(store):
    ops = finding("link_missing", "ops-app")
    mon = finding("link_without_eligible_role", "mon-app")
    tenant = finding("tenant_without_credited_link", "-")
    await write(store, [ops, mon, tenant])

    # ops-app cannot be audited tonight; only its audit_error is seen. mon-app was audited and is clean.
    err = finding("audit_error", "ops-app", detail="forbidden: refused")
    changes = await write(store, [err], n=2, snap=snapshot(ok={"ops-app": False}))
    assert transitions(changes) == [("NEW", "audit_error", "ops-app"),
                                    ("RESOLVED", "link_without_eligible_role", "mon-app")]
    rows = await store.findings.read_tenant(T1)
    assert rows[ops.finding_id].finding.status == Status.OPEN          # untouched by the failure
    assert rows[ops.finding_id].last_seen == day(1)
    assert rows[tenant.finding_id].finding.status == Status.OPEN       # not every identity succeeded

    # Next night everything works: the audit_error and the fixed tenant-level finding resolve.
    changes = await write(store, [ops], n=3)
    assert transitions(changes) == [("RESOLVED", "audit_error", "ops-app"),
                                    ("RESOLVED", "tenant_without_credited_link", "-")]


async def test_a_failed_tenant_resolves_nothing(store):
    await write(store, [finding("link_missing"), finding("tenant_without_credited_link", "-")])
    err = finding("audit_error", "-", detail="unexpected: crashed")
    changes = await write(store, [err], n=2, snap=snapshot(tenant_error=True))
    assert transitions(changes) == [("NEW", "audit_error", "-")]


async def test_findings_of_an_identity_no_longer_audited_resolve_on_full_success(store):
    await write(store, [finding("link_missing", "old-app")])
    changes = await write(store, [], n=2)
    assert transitions(changes) == [("RESOLVED", "link_missing", "old-app")]


async def test_suppressions(store):
    sup = finding("excessive_privilege", qualifier="/sub/a", status=Status.SUPPRESSED, severity=Severity.LOW)
    assert await write(store, [sup]) == []                      # suppressed from the start: silent
    rows = await store.findings.read_tenant(T1)
    assert rows[sup.finding_id].finding.status == Status.SUPPRESSED

    opened = finding("excessive_privilege", qualifier="/sub/a", severity=Severity.LOW)
    changes = await write(store, [opened], n=2)                 # the suppression expired
    assert transitions(changes) == [("UNSUPPRESSED", "excessive_privilege", "ops-app")]
    assert await write(store, [opened], n=3) == []              # alerted once only

    assert await write(store, [sup], n=4) == []                 # suppressed again: silent
    assert await write(store, [], n=5) == []                    # gone while suppressed: silent
    rows = await store.findings.read_tenant(T1)
    assert rows[sup.finding_id].finding.status == Status.RESOLVED


async def test_replaying_a_write_changes_nothing(store, storage):
    findings = [finding("link_missing"), finding("excessive_privilege", qualifier="x")]
    first = await write(store, findings)
    before = table_rows(storage, "PalFindings")
    assert len(first) == 2
    assert await write(store, findings) == []
    assert table_rows(storage, "PalFindings") == before


async def test_transitions_reach_the_outbox_before_the_commit(store, storage):
    seen_in_table: list[int] = []

    def outbox(changes):
        seen_in_table.append(len(table_rows(storage, "PalFindings")))
        raise RuntimeError("outbox down")

    with pytest.raises(RuntimeError, match="outbox down"):
        await write(store, [finding()], on_changes=outbox)
    assert seen_in_table == [0]
    assert table_rows(storage, "PalFindings") == []            # no alert recorded -> nothing written

    recorded = []

    async def async_outbox(changes):
        recorded.extend(changes)

    committed = await write(store, [finding()], on_changes=async_outbox)
    assert recorded == committed and len(committed) == 1


async def test_two_invocations_writing_one_tenant_produce_each_transition_once(store, storage):
    findings = [finding("excessive_privilege", qualifier=str(i), severity=Severity.LOW) for i in range(30)]
    results = await asyncio.gather(*(write(store, findings) for _ in range(4)))
    new = [c for r in results for c in r if c.transition == Transition.NEW]
    assert len(new) == 30
    assert len(table_rows(storage, "PalFindings")) == 30
    assert all_tables(storage)["PalFindings"][0]["reopened_count"].value == 0


async def test_duplicate_findings_in_one_audit_are_one_row(store):
    changes = await write(store, [finding(), finding()])
    assert len(changes) == 1
