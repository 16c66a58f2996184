"""The evidence of credit in PalTenantStatus and the credited count in PalRuns (real Azurite)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from builders import T1, snapshot

from pal_audit.checks.credit import Credit
from pal_audit.model import AuditError, Link
from pal_audit.store import entities, new_run_id
from pal_audit.store.tenant_status import parse_credit

pytestmark = pytest.mark.azurite
DAY1 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
DAY2, DAY3, DAY4, DAY5 = (DAY1 + timedelta(days=n) for n in (1, 2, 3, 4))
SUB = "/subscriptions/22222222-0000-0000-0000-000000000002"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
SUPPORT = "cfd33db0-3dd1-45e3-aa9d-cdbdf3b6f24e"


def linked(ok_mon: bool = True):
    snap = snapshot(T1, ok={"mon-app": ok_mon})
    ops, mon = snap.identities
    return replace(snap, identities=(replace(ops, link=Link("1234567")),
                                     replace(mon, link=Link("5555555")) if ok_mon else mon))


def credit(role: str = "Contributor", role_id: str = CONTRIBUTOR, scope: str = SUB) -> Credit:
    return Credit("ops-app", "oid-ops-app", "1234567", role, role_id, scope)


async def rows(store) -> dict:
    return await store.status.get(T1)


async def test_credited_since_holds_while_partner_role_and_scope_hold_and_restarts_when_they_change(store):
    await store.status.record(linked(), "r1", at=DAY1, credit=(credit(),))
    await store.status.record(linked(), "r2", at=DAY2, credit=(credit(),))
    ops = (await rows(store))["ops-app"]
    assert (ops["link_partner_id"], ops["credited_since"], ops["last_verified"]) == ("1234567", DAY1, DAY2)
    assert [(e["role"], e["scope"], e["since"]) for e in parse_credit(ops["credit"])] == [
        ("Contributor", SUB, DAY1)]

    # A second role appears: its own since; the first keeps its own.
    await store.status.record(linked(), "r3", at=DAY3, credit=(credit(), credit("Support Request Contributor",
                                                                                SUPPORT, "/")))
    ops = (await rows(store))["ops-app"]
    assert [(e["role"], e["since"]) for e in parse_credit(ops["credit"])] == [
        ("Contributor", DAY1), ("Support Request Contributor", DAY3)]
    assert ops["credited_since"] == DAY1

    # Contributor moves to another scope: a new since for it.
    await store.status.record(linked(), "r4", at=DAY4, credit=(credit(scope=SUB + "/resourceGroups/rg"),))
    ops = (await rows(store))["ops-app"]
    assert [e["since"] for e in parse_credit(ops["credit"])] == [DAY4] and ops["credited_since"] == DAY4

    # The credit lapses: no entries, no credited_since; last_verified says when it was last seen.
    await store.status.record(linked(), "r5", at=DAY5, credit=())
    ops = (await rows(store))["ops-app"]
    assert parse_credit(ops["credit"]) == [] and "credited_since" not in ops
    assert ops["last_verified"] == DAY4 and ops["last_succeeded"] == DAY5
    assert (await rows(store))["mon-app"]["link_partner_id"] == "5555555"


async def test_a_failed_identity_keeps_its_evidence_neither_confirmed_nor_denied(store):
    await store.status.record(linked(), "r1", at=DAY1, credit=(credit(),))
    failed = linked()
    ops, mon = failed.identities
    failed = replace(failed, identities=(replace(ops, error=AuditError("forbidden", "refused")), mon))
    await store.status.record(failed, "r2", at=DAY2, credit=())
    ops_row = (await rows(store))["ops-app"]
    assert ops_row["last_attempted"] == DAY2 and ops_row["last_succeeded"] == DAY1
    assert (ops_row["credited_since"], ops_row["last_verified"]) == (DAY1, DAY1)
    # ... and when it is audited again with the same credit, credit continues from DAY1.
    await store.status.record(linked(), "r3", at=DAY3, credit=(credit(),))
    assert (await rows(store))["ops-app"]["credited_since"] == DAY1


async def test_without_credit_given_the_rows_keep_what_they_had(store):
    # A write that computed no credit (a tenant given up by its run) must not erase the evidence.
    await store.status.record(linked(), "r1", at=DAY1, credit=(credit(),))
    await store.status.record(linked(), "r2", at=DAY2)
    ops = (await rows(store))["ops-app"]
    assert (ops["credited_since"], ops["last_verified"], ops["last_run_id"]) == (DAY1, DAY1, "r2")


async def test_a_huge_credit_list_stays_within_the_table_limits_and_says_what_it_left_out(store):
    many = tuple(credit(scope=f"{SUB}/resourceGroups/{'r' * 200}{n:04d}") for n in range(400))
    await store.status.record(linked(), "r1", at=DAY1, credit=many)
    ops = (await rows(store))["ops-app"]
    body = json.loads(ops["credit"])
    assert entities.utf16_units(ops["credit"]) <= entities.MAX_STRING_UNITS
    assert body["omitted"] > 0 and len(body["roles"]) + body["omitted"] == 400


async def test_the_run_counts_credited_customers_once_however_often_a_tenant_finishes(store):
    run_id = new_run_id(DAY1)
    tenants = [f"{i:08d}-0000-0000-0000-000000000000" for i in range(3)]
    await store.runs.create(run_id, "timer", tenants, skipped=0, at=DAY1)
    for tid, credited in [(tenants[0], True), (tenants[0], True), (tenants[1], False), (tenants[2], True)]:
        await store.runs.finish_tenant(run_id, tid, ok=True, changes=(), error=None, at=DAY1,
                                       credited=credited)
    run = await store.runs.get(run_id)
    assert (run.status, run.credited) == ("completed", 2)
