"""The `PalAlerts` table: every alert and its delivery state (an extension of the contract tables).

Rows (PartitionKey / RowKey):
- `<run_id>` / `<finding_id>|<TRANSITION>`: one finding change (Kind=change). Created once (a replay of
  the same run finds it and leaves its state alone). High severity: it is itself a delivery unit
  (Status pending -> sent | failed); otherwise Status queued -> digested | summarized (Unit names the
  digest or storm unit it went into).
- `<run_id>` / `~unit|<hash>`: a digest or storm summary unit of the run (Kind=digest | storm).
- `<run_id>` / `~count`: opening changes recorded so far in the run (storm detection before the end).
- `~stale` / `<last success>` or `never`: one "no successful run" alert per quiet period.

Concurrency: a unit is delivered only by whoever claims it, an ETag-conditional merge that sets
`ClaimedUntil`; a change joins exactly one unit through an ETag-conditional merge as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity, TableTransactionError, UpdateMode

from pal_audit.store.tables import ALERTS_TABLE

TABLE = ALERTS_TABLE        # the store owns the table and its client (store/alerts_table.py)
PENDING, SENT, FAILED = "pending", "sent", "failed"
QUEUED, DIGESTED, SUMMARIZED, EMPTY, UNROUTED = "queued", "digested", "summarized", "empty", "unrouted"
STALE_PK = "~stale"
COUNTER_RK = "~count"
UNIT_PREFIX = "~unit|"
MAX_TEXT = 8000         # characters kept of detail/remediation (Table Storage strings stop at 32K)

Entity = dict[str, Any]
_BAD_KEY = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")


def safe_key(value: str) -> str:
    """Table keys may not contain / \\ # ? or control characters."""
    return _BAD_KEY.sub("_", value)[:255] or "_"


def _etag(e: Entity) -> str:
    etag = e.metadata["etag"] if isinstance(e, TableEntity) else None
    if not isinstance(etag, str):
        raise ValueError(f"row {e.get('PartitionKey')}/{e.get('RowKey')} carries no etag")
    return etag


class Outbox:
    """The outbox over the `PalAlerts` table client the store hands over."""

    def __init__(self, table: TableClient):
        self.table = table

    # -- rows -------------------------------------------------------------------------------------
    def get(self, pk: str, rk: str) -> Entity | None:
        try:
            return self.table.get_entity(pk, rk)
        except ResourceNotFoundError:
            return None

    def create(self, entity: Entity) -> bool:
        """Insert unless it exists; an existing row (and its delivery state) is never overwritten."""
        try:
            self.table.create_entity(entity)
            return True
        except ResourceExistsError:
            return False

    def create_many(self, entities: list[Entity]) -> list[Entity]:
        """Insert rows of one partition in batches of 100; returns those that did not exist yet."""
        created: list[Entity] = []
        for i in range(0, len(entities), 100):
            chunk = entities[i:i + 100]
            try:
                self.table.submit_transaction([("create", e) for e in chunk])
                created += chunk
            except TableTransactionError:   # some exist (a replay): fall back to one by one
                created += [e for e in chunk if self.create(e)]
        return created

    def merge_if_unchanged(self, entity: Entity, fields: Mapping[str, Any]) -> Entity | None:
        """Merge `fields` only if nobody changed the row since it was read; returns the new row."""
        try:
            meta = self.table.update_entity({"PartitionKey": entity["PartitionKey"],
                                             "RowKey": entity["RowKey"], **fields},
                                            mode=UpdateMode.MERGE, etag=_etag(entity),
                                            match_condition=MatchConditions.IfNotModified)
        except (ResourceModifiedError, ResourceNotFoundError):
            return None
        merged = TableEntity({**entity, **fields})
        merged._metadata = {"etag": meta["etag"], "timestamp": None}  # saves re-reading the row
        return merged

    def claim(self, entity: Entity, owner: str, now: datetime, lease: timedelta) -> Entity | None:
        """Take a pending unit for delivery; None if it is not due, taken, or someone was faster."""
        if entity.get("Status") != PENDING:
            return None
        if (entity.get("ClaimedUntil") or now) > now or (entity.get("NextAttemptAt") or now) > now:
            return None
        return self.merge_if_unchanged(entity, {"ClaimedUntil": now + lease, "ClaimedBy": owner})

    # -- queries ----------------------------------------------------------------------------------
    def query(self, flt: str, **params: Any) -> Iterator[Entity]:
        return iter(self.table.query_entities(flt, parameters=params))

    def run_changes(self, pk: str) -> list[Entity]:
        return list(self.query("PartitionKey eq @pk and Kind eq 'change'", pk=pk))

    def run_units(self, pk: str) -> list[Entity]:
        return list(self.query("PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi",
                               pk=pk, lo=UNIT_PREFIX, hi=UNIT_PREFIX[:-1] + "}"))

    def unit_items(self, pk: str, unit: str) -> list[Entity]:
        return list(self.query("PartitionKey eq @pk and Unit eq @u", pk=pk, u=unit))

    def pending(self) -> list[Entity]:
        return list(self.query("Status eq @s", s=PENDING))

    def queued_before(self, cutoff: datetime) -> list[Entity]:
        return list(self.query("Status eq @s and RecordedAt lt @t", s=QUEUED, t=cutoff))

    # -- the run's opening counter ----------------------------------------------------------------
    def add_opening(self, pk: str, n: int) -> int:
        """Add `n` to the run's count of opening changes (optimistic concurrency); returns the total."""
        for _ in range(50):
            row = self.get(pk, COUNTER_RK)
            if row is None:
                if self.create({"PartitionKey": pk, "RowKey": COUNTER_RK, "Kind": "counter", "Opening": n}):
                    return n
                continue
            if n == 0:
                return int(row["Opening"])
            if self.merge_if_unchanged(row, {"Opening": int(row["Opening"]) + n}) is not None:
                return int(row["Opening"]) + n
        raise RuntimeError(f"could not update the alert counter of run {pk}")


def truncate(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"


def count(rows: Iterable[Entity], **match: Any) -> int:
    return sum(1 for r in rows if all(r.get(k) == v for k, v in match.items()))
