"""PalRuns: one header entity per run, plus one progress row per tenant in the same partition.

PartitionKey = run_id (time-ordered, so recent runs are a key-range query); RowKey "run" is the
run entity of docs/storage.md (trigger, started, finished, tenant counts, counts by transition);
RowKey "tenant-<tenant_id>" records that tenant's state in the run. Finishing a tenant updates its
row and the header in one transaction, both If-Match: a tenant is counted once however often its
message is replayed, and exactly one invocation commits the update that completes the run.
"""

from __future__ import annotations

import asyncio
import random
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pal_audit.model import FindingChange, Transition
from pal_audit.store import entities
from pal_audit.store.tables import StoreConflict

if TYPE_CHECKING:
    from azure.data.tables.aio import TableClient

HEADER = "run"
TENANT_PREFIX = "tenant-"
# ASCII digits (\d would take any Unicode digit); use with fullmatch ($ accepts a trailing newline).
RUN_ID = re.compile(r"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}")
TRIGGERS = ("timer", "http", "cli")


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def run_id_prefix(at: datetime) -> str:
    return f"{at:%Y%m%dT%H%M%SZ}"


class UnknownRun(LookupError):
    """No such run, or the tenant is not part of it."""


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    trigger: str
    status: str                     # running | completed
    started: datetime
    finished: datetime | None
    total: int
    done: int
    failed: int
    skipped: int                    # requested, but already queued in another unfinished run
    transitions: dict[str, int] = field(default_factory=dict)
    completion_notified: bool = False
    completion_retry: bool = False  # the completing call's hook failed: a redelivered message retries it
    etag: str | None = None
    # How a later run tells this run is dead (see pal_audit/service/liveness.py). None: not recorded
    # (older runs, and the partial header finish_tenant merges, which must not overwrite them).
    owner: str | None = None        # "host:pid" of the process running a CLI run
    enqueued: bool | None = None    # a queue run: False until every tenant's message was sent
    # Customers that earned credit in this run (pal_audit.checks.credit.tenant_credited), counted
    # once per tenant with its finish; None for runs recorded before the count existed.
    credited: int | None = None

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    def to_public(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "trigger": self.trigger, "status": self.status,
                "started": self.started.isoformat(),
                "finished": self.finished.isoformat() if self.finished else None,
                "tenants": {"total": self.total, "done": self.done, "failed": self.failed,
                            "pending": self.total - self.done - self.failed, "skipped": self.skipped},
                "transitions": {t.value: self.transitions.get(t.value, 0) for t in Transition}}


@dataclass(frozen=True)
class FinishOutcome:
    counted: bool                   # False: this tenant was already finished in this run (a replay)
    completed_now: bool             # True for exactly one call per run
    run: RunRecord


def _header_entity(r: RunRecord) -> dict[str, Any]:
    return entities.encode({
        "PartitionKey": r.run_id, "RowKey": HEADER, "kind": "run", "trigger": r.trigger,
        "status": r.status, "started": r.started, "finished": r.finished, "tenants_total": r.total,
        "tenants_done": r.done, "tenants_failed": r.failed, "tenants_skipped": r.skipped,
        **{f"transitions_{t.value.lower()}": r.transitions.get(t.value, 0) for t in Transition},
        "completion_notified": r.completion_notified, "completion_retry": r.completion_retry,
        "owner": r.owner, "enqueued": r.enqueued, "customers_credited": r.credited,
    })


def _header(entity: Mapping[str, Any]) -> RunRecord:
    e = entities.decode(entity)
    return RunRecord(
        run_id=e["PartitionKey"], trigger=e["trigger"], status=e["status"], started=e["started"],
        finished=e.get("finished"), total=e["tenants_total"], done=e["tenants_done"],
        failed=e["tenants_failed"], skipped=e.get("tenants_skipped", 0),
        transitions={t.value: e.get(f"transitions_{t.value.lower()}", 0) for t in Transition},
        completion_notified=bool(e.get("completion_notified")),
        completion_retry=bool(e.get("completion_retry")), etag=getattr(entity, "metadata", {}).get("etag"),
        owner=e.get("owner") or None, enqueued=e.get("enqueued"), credited=e.get("customers_credited"))


def _tenant_row(run_id: str, tenant_id: str, state: str, **extra: Any) -> dict[str, Any]:
    return entities.encode({"PartitionKey": run_id, "RowKey": TENANT_PREFIX + tenant_id, "kind": "tenant",
                            "tenant_id": tenant_id, "state": state, **extra})


def _is_conflict(exc: BaseException) -> bool:
    from azure.core.exceptions import HttpResponseError

    return isinstance(exc, HttpResponseError) and exc.status_code in (404, 409, 412)


def _if_match(etag: str | None) -> dict[str, Any]:
    from azure.core import MatchConditions
    from azure.data.tables import UpdateMode

    return {"mode": UpdateMode.MERGE, "etag": etag, "match_condition": MatchConditions.IfNotModified}


class RunsTable:
    def __init__(self, client: TableClient) -> None:
        self.client = client

    async def create(self, run_id: str, trigger: str, tenant_ids: Sequence[str], *, skipped: int,
                     at: datetime, owner: str | None = None, enqueued: bool | None = None) -> RunRecord:
        """Progress rows first, header last: a run is visible only once it is whole."""
        rows = [("upsert", _tenant_row(run_id, tid, "queued")) for tid in tenant_ids]
        for batch in entities.chunk(rows):
            await self.client.submit_transaction(batch)
        record = RunRecord(run_id, trigger, "running" if tenant_ids else "completed", at,
                           None if tenant_ids else at, len(tenant_ids), 0, 0, skipped,
                           completion_notified=not tenant_ids, owner=owner, enqueued=enqueued, credited=0)
        await self.client.create_entity(_header_entity(record))
        return record

    async def mark_enqueued(self, run_id: str) -> None:
        """Every message of the run is on the queue: from now on it is live while its tenants are."""
        from azure.data.tables import UpdateMode

        await self.client.update_entity(entities.encode({"PartitionKey": run_id, "RowKey": HEADER,
                                                         "enqueued": True}), mode=UpdateMode.MERGE)

    async def get(self, run_id: str) -> RunRecord | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return _header(await self.client.get_entity(run_id, HEADER))
        except ResourceNotFoundError:
            return None

    async def tenant_state(self, run_id: str, tenant_id: str) -> tuple[RunRecord | None, str | None]:
        """The run header and this tenant's state in it (queued/done/failed), in one round trip."""
        header, row = await self._pair(run_id, tenant_id)
        return (_header(header) if header else None), (row["state"] if row else None)

    async def _pair(self, run_id: str, tenant_id: str) -> tuple[Any, Any]:
        header = row = None
        query = self.client.query_entities(
            "PartitionKey eq @pk and ( RowKey eq @h or RowKey eq @t )",
            parameters={"pk": run_id, "h": HEADER, "t": TENANT_PREFIX + tenant_id})
        async for e in query:
            if e["RowKey"] == HEADER:
                header = e
            else:
                row = e
        return header, row

    async def finish_tenant(self, run_id: str, tenant_id: str, *, ok: bool, changes: Iterable[FindingChange],
                            error: str | None, at: datetime, transitions: Mapping[str, int] | None = None,
                            credited: bool = False, max_attempts: int = 60) -> FinishOutcome:
        """Mark the tenant done/failed in the run and add its transitions to the run's counts, once.

        `transitions` are the run's transitions in this tenant as stored (FindingsTable.apply_tenant),
        exact however often the message was delivered; without them, `changes` are counted.
        `credited`: the customer earned credit in this audit; added to the run's count with the rest.
        """
        counts: dict[str, int] = dict(transitions) if transitions is not None else {}
        if transitions is None:
            for c in changes:
                counts[c.transition.value] = counts.get(c.transition.value, 0) + 1
        for attempt in range(max_attempts):
            header_e, row_e = await self._pair(run_id, tenant_id)
            if header_e is None or row_e is None:
                raise UnknownRun(f"tenant {tenant_id} is not part of run {run_id}")
            run = _header(header_e)
            if row_e["state"] != "queued":
                return FinishOutcome(False, False, run)
            done, failed = run.done + (1 if ok else 0), run.failed + (0 if ok else 1)
            complete = done + failed >= run.total
            updated = RunRecord(
                run.run_id, run.trigger, "completed" if complete else "running", run.started,
                at if complete else None, run.total, done, failed, run.skipped,
                {k: run.transitions.get(k, 0) + counts.get(k, 0) for k in {*run.transitions, *counts}},
                run.completion_notified,
                credited=None if run.credited is None else run.credited + (1 if credited else 0))
            row = _tenant_row(run_id, tenant_id, "done" if ok else "failed", finished=at, credited=credited,
                              error=entities.fit_text(error, 2048) if error else None,
                              **{f"transitions_{k.lower()}": v for k, v in counts.items()})
            try:
                await self.client.submit_transaction([
                    ("update", row, _if_match(row_e.metadata["etag"])),
                    ("update", _header_entity(updated), _if_match(header_e.metadata["etag"])),
                ])
            except Exception as exc:
                if not _is_conflict(exc):
                    raise
                # Another tenant of this run finished at the same moment: back off, then re-read.
                await asyncio.sleep(random.uniform(0, min(0.02 * 2**attempt, 0.5)))
                continue
            return FinishOutcome(True, complete, updated)
        raise StoreConflict(f"run {run_id}: could not record tenant {tenant_id} "
                            f"after {max_attempts} attempts")

    async def set_notification(self, run_id: str, *, notified: bool, retry: bool) -> None:
        from azure.data.tables import UpdateMode

        await self.client.update_entity(entities.encode({
            "PartitionKey": run_id, "RowKey": HEADER,
            "completion_notified": notified, "completion_retry": retry,
        }), mode=UpdateMode.MERGE)

    async def claim_notification_retry(self, run: RunRecord) -> bool:
        """Take over a failed completion notification; If-Match, so one redelivery wins."""
        try:
            await self.client.update_entity(entities.encode({
                "PartitionKey": run.run_id, "RowKey": HEADER, "completion_retry": False,
            }), **_if_match(run.etag))
            return True
        except Exception as exc:
            if _is_conflict(exc):
                return False
            raise

    async def recent(self, since: datetime) -> list[RunRecord]:
        """Run headers started at or after `since`, oldest first (a key-range query)."""
        query = self.client.query_entities("PartitionKey ge @since and RowKey eq @h",
                                           parameters={"since": run_id_prefix(since), "h": HEADER})
        return [_header(e) async for e in query]
