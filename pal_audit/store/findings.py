"""PalFindings: PartitionKey = tenant_id, RowKey = finding_id (docs/storage.md).

A tenant's write is: read its partition, plan (pure, `lifecycle.plan`), hand the transitions to
`on_changes` (the alerts outbox) *before* committing, then commit in ≤100-operation transactions
where every operation is conditional on the state it was planned from (create = must not exist,
update = If-Match etag). If another invocation wrote in between, the transaction fails as a
whole and the plan is recomputed from the fresh state, so no transition is produced twice.

Each entity also records the run and transition of its last change (`changed_in_run`, `change`).
The run's transition counts for a tenant are counted from those stored markers, not from what one
call committed: a redelivered message whose first delivery committed the findings but died before
finishing the tenant, or two deliveries of one message racing, still count every transition of
the run exactly once (`TenantWrite.transitions`).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pal_audit.model import Finding, FindingChange, Severity, Status, TenantSnapshot
from pal_audit.store import entities
from pal_audit.store.lifecycle import Row, Write, plan
from pal_audit.store.tables import StoreConflict

if TYPE_CHECKING:
    from azure.data.tables.aio import TableClient

# Columns a findings query may filter on, by API name: column names never come from user input.
QUERY_COLUMNS = {"tenant_id": "PartitionKey", "status": "status", "check_id": "check_id",
                 "severity": "severity"}
OnChanges = Callable[[list[FindingChange]], Awaitable[None] | None]


async def maybe_await(value: Awaitable[None] | None) -> None:
    """`on_changes` may be sync (returns None) or async (returns an awaitable)."""
    if inspect.isawaitable(value):
        await value


def fit_finding(f: Finding) -> Finding:
    """The finding as it will be stored: free text trimmed to the 64 KiB string limit."""
    fit = entities.fit_text
    f = replace(f, title=fit(f.title), detail=fit(f.detail), remediation=fit(f.remediation))
    return f if f.suppression is None else replace(f, suppression=fit(f.suppression, 4096))


@dataclass(frozen=True)
class ChangeMark:
    """The run and transition of a finding's last change, as stored on its entity."""

    run_id: str = ""
    transition: str = ""


@dataclass(frozen=True)
class TenantWrite:
    committed: list[FindingChange]          # the transitions this call committed
    transitions: dict[str, int] = field(default_factory=dict)   # the run's, in this tenant, as stored


def to_entity(finding_id: str, row: Row, mark: ChangeMark | None = None) -> dict[str, Any]:
    f = row.finding
    mark = mark or ChangeMark()
    return entities.encode({
        "PartitionKey": f.tenant_id, "RowKey": finding_id,
        "check_id": f.check_id, "severity": str(f.severity), "tenant_id": f.tenant_id,
        "principal_id": f.principal_id, "identity": f.identity, "title": f.title, "detail": f.detail,
        "remediation": f.remediation, "qualifier": f.qualifier, "status": str(f.status),
        "suppression": f.suppression, "first_seen": row.first_seen, "last_seen": row.last_seen,
        "resolved_at": row.resolved_at, "reopened_count": row.reopened_count,
        "last_run_id": row.last_run_id,
        "changed_in_run": mark.run_id or None, "change": mark.transition or None,
    })


def from_entity(entity: Mapping[str, Any]) -> Row:
    e = entities.decode(entity)
    finding = Finding(
        check_id=e["check_id"], severity=Severity(e["severity"]), tenant_id=e["tenant_id"],
        principal_id=e["principal_id"], identity=e["identity"], title=e.get("title", ""),
        detail=e.get("detail", ""), remediation=e.get("remediation", ""), qualifier=e.get("qualifier", ""),
        status=Status(e["status"]), suppression=e.get("suppression"),
    )
    etag = getattr(entity, "metadata", {}).get("etag")
    return Row(finding, first_seen=e["first_seen"], last_seen=e["last_seen"],
               resolved_at=e.get("resolved_at"), reopened_count=int(e.get("reopened_count", 0)),
               last_run_id=e.get("last_run_id", ""), etag=etag)


def public_dict(entity: Mapping[str, Any]) -> dict[str, Any]:
    """A stored finding as the HTTP API and the CLI show it (docs/checks.md fields + lifecycle)."""
    row = from_entity(entity)
    out: dict[str, Any] = {**row.finding.to_dict(), "finding_id": entity["RowKey"]}
    out.update(first_seen=row.first_seen.isoformat(), last_seen=row.last_seen.isoformat(),
               resolved_at=row.resolved_at.isoformat() if row.resolved_at else None,
               reopened_count=row.reopened_count, last_run_id=row.last_run_id,
               suppression=row.finding.suppression)
    return out


def _is_conflict(exc: BaseException) -> bool:
    from azure.core.exceptions import HttpResponseError

    return isinstance(exc, HttpResponseError) and exc.status_code in (404, 409, 412)


class FindingsTable:
    def __init__(self, client: TableClient) -> None:
        self.client = client

    async def read_tenant(self, tenant_id: str) -> dict[str, Row]:
        return (await self._read_marked(tenant_id))[0]

    async def run_transitions(self, tenant_id: str, run_id: str) -> dict[str, int]:
        """The transitions `run_id` made in this tenant, as its findings record them."""
        return _run_transitions((await self._read_marked(tenant_id))[1], run_id)

    async def _read_marked(self, tenant_id: str) -> tuple[dict[str, Row], dict[str, ChangeMark]]:
        rows: dict[str, Row] = {}
        marks: dict[str, ChangeMark] = {}
        query = self.client.query_entities("PartitionKey eq @pk", parameters={"pk": tenant_id},
                                           results_per_page=1000)
        async for entity in query:
            rows[entity["RowKey"]] = from_entity(entity)
            marks[entity["RowKey"]] = ChangeMark(entity.get("changed_in_run") or "",
                                                 entity.get("change") or "")
        return rows, marks

    async def query_page(self, filters: Mapping[str, str], *, page_size: int,
                         continuation: Mapping[str, str | None] | None = None
                         ) -> tuple[list[dict[str, Any]], Any]:
        """One page of findings matching `filters` (equality, ANDed), and the SDK's next token."""
        clauses = [f"{QUERY_COLUMNS[name]} eq @{name}" for name in filters]
        if clauses:
            pager = self.client.query_entities(" and ".join(clauses), parameters=dict(filters),
                                               results_per_page=page_size)
        else:
            pager = self.client.list_entities(results_per_page=page_size)
        # The tables SDK's token is a dict (next PartitionKey / RowKey), though typed as a string.
        pages = pager.by_page(continuation_token=continuation or None)  # type: ignore[arg-type]
        items: list[dict[str, Any]] = []
        async for page in pages:
            items = [public_dict(e) async for e in page]
            break
        return items, getattr(pages, "continuation_token", None)

    async def write_tenant(self, snapshot: TenantSnapshot, findings: Sequence[Finding], run_id: str, *,
                           at: datetime, on_changes: OnChanges | None = None,
                           max_attempts: int = 6) -> list[FindingChange]:
        """Apply one tenant's audit; returns the transitions this call committed."""
        written = await self.apply_tenant(snapshot, findings, run_id, at=at, on_changes=on_changes,
                                          max_attempts=max_attempts)
        return written.committed

    async def apply_tenant(self, snapshot: TenantSnapshot, findings: Sequence[Finding], run_id: str, *,
                           at: datetime, on_changes: OnChanges | None = None,
                           max_attempts: int = 6) -> TenantWrite:
        """Apply one tenant's audit: the transitions this call committed, and the run's transitions
        in this tenant as stored (earlier deliveries of the same run included)."""
        detected = [fit_finding(f) for f in findings if f.tenant_id == snapshot.tenant_id]
        committed: list[FindingChange] = []
        for _ in range(max_attempts):
            stored, marks = await self._read_marked(snapshot.tenant_id)
            writes = plan(snapshot, detected, stored, run_id, at)
            changes = [w.change for w in writes if w.change is not None]
            if changes and on_changes is not None:
                await maybe_await(on_changes(changes))   # outbox first: a crash cannot lose an alert
            try:
                await self._commit(writes, committed, marks)
            except Exception as exc:
                if not _is_conflict(exc):
                    raise
                # Someone else wrote this tenant since we read it: plan again from what is there.
                continue
            # only this audit's rows: a customer audited directly and through Lighthouse in the
            # same run shares its partition, and each unit counts its own transitions once
            owned = {fid for fid, row in stored.items() if snapshot.owns(row.finding)}
            owned |= {w.finding_id for w in writes if snapshot.owns(w.row.finding)}
            return TenantWrite(committed, _run_transitions({k: m for k, m in marks.items() if k in owned},
                                                           run_id))
        raise StoreConflict(f"findings of tenant {snapshot.tenant_id} kept changing under us "
                            f"({max_attempts} attempts)")

    async def _commit(self, writes: list[Write], committed: list[FindingChange],
                      marks: dict[str, ChangeMark]) -> None:
        """Commit the writes; `marks` becomes the stored change marks (a write without a
        transition keeps its entity's mark)."""
        from azure.core import MatchConditions
        from azure.data.tables import UpdateMode

        ops: list[entities.Operation] = []
        by_key = {w.finding_id: w for w in writes}
        planned = {w.finding_id: (ChangeMark(w.change.run_id, w.change.transition.value) if w.change
                                  else marks.get(w.finding_id, ChangeMark())) for w in writes}
        for w in writes:
            entity = to_entity(w.finding_id, w.row, planned[w.finding_id])
            if w.etag is None:
                ops.append(("create", entity))
            else:
                ops.append(("update", entity, {"mode": UpdateMode.REPLACE, "etag": w.etag,
                                               "match_condition": MatchConditions.IfNotModified}))
        for batch in entities.chunk(ops):
            await self.client.submit_transaction(batch)
            committed.extend(c for op in batch if (c := by_key[op[1]["RowKey"]].change) is not None)
            marks.update((op[1]["RowKey"], planned[op[1]["RowKey"]]) for op in batch)


def _run_transitions(marks: dict[str, ChangeMark], run_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for mark in marks.values():
        if mark.run_id == run_id and mark.transition:
            counts[mark.transition] = counts.get(mark.transition, 0) + 1
    return counts
