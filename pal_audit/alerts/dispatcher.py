"""Alerts: records finding changes in the outbox and delivers them, each exactly once.

Called by the service through `run_observer.AlertsObserver` (the async adapter):
- `record(changes)`: a tenant's transitions, before its findings commit: the outbox write.
- `deliver(changes)`: after the commit: the high-severity ones go out at once (unless the run is
  already a storm). `on_changes(changes)` does both, for callers without a commit hook.
- `on_run_completed(run_id)`: once per run (twice is harmless). Sends the run's one digest, or one
  storm summary, then retries earlier failed deliveries.
- `check_stale(last_success, now)`: from the timer. One alert per quiet period; also retries.
Everything is synchronous (from async code: `await asyncio.to_thread(alerts.on_changes, changes)`).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import TYPE_CHECKING, Any

from pal_audit.alerts import outbox as ob
from pal_audit.alerts.delivery import Channel, deliver
from pal_audit.alerts.messages import (
    Message,
    alert_message,
    digest_message,
    stale_message,
    storm_message,
    with_dashboard,
)
from pal_audit.alerts.options import AlertOptions
from pal_audit.alerts.policy import Route, is_storm, opening_count, route, storm_summary
from pal_audit.alerts.present import fields_of, item_from_fields
from pal_audit.alerts.wiring import channels_from_settings, secrets_of
from pal_audit.model import FindingChange
from pal_audit.settings import Settings
from pal_audit.store.alerts_table import open_alerts_table

if TYPE_CHECKING:
    from azure.data.tables import TableClient, TableServiceClient

log = logging.getLogger("pal_audit.alerts")


def _change_key(change: FindingChange) -> str:
    return f"{change.finding.finding_id}|{change.transition.value}"


def _by_run(changes: Sequence[FindingChange]) -> list[tuple[str, list[FindingChange]]]:
    ordered = sorted(changes, key=lambda c: c.run_id)
    return [(ob.safe_key(run), list(g)) for run, g in groupby(ordered, key=lambda c: c.run_id)]


class Alerts:
    def __init__(self, outbox: ob.Outbox, channels: Sequence[Channel], *, storm_threshold: int = 25,
                 mask_tenant_ids: bool = False, stale_after_hours: int = 36,
                 options: AlertOptions | None = None, clock: Callable[[], datetime] | None = None,
                 secrets: Iterable[str] = (), dashboard_url: str | None = None):
        self.outbox, self.channels = outbox, list(channels)
        self.storm_threshold, self.mask = storm_threshold, mask_tenant_ids
        self.stale_after_hours = stale_after_hours
        self.options = options or AlertOptions()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._secrets = tuple(s for s in secrets if s)
        self._owner = uuid.uuid4().hex
        self.dashboard_url = dashboard_url     # validated by load_settings (https, no key)

    @classmethod
    def from_settings(cls, settings: Settings, tables: TableServiceClient, *, sink: Channel | None = None,
                      ca_bundle: str | None = None, options: AlertOptions | None = None,
                      clock: Callable[[], datetime] | None = None) -> Alerts:
        """Alerts on the `PalAlerts` table of `tables` (the store creates it when missing)."""
        return cls.for_table(settings, open_alerts_table(tables), sink=sink, ca_bundle=ca_bundle,
                             options=options, clock=clock)

    @classmethod
    def for_table(cls, settings: Settings, table: TableClient, *, sink: Channel | None = None,
                  ca_bundle: str | None = None, options: AlertOptions | None = None,
                  clock: Callable[[], datetime] | None = None) -> Alerts:
        """Alerts writing their outbox to `table` (the store's `PalAlerts` client)."""
        options = options or AlertOptions()
        channels = channels_from_settings(settings, options, ca_bundle=ca_bundle)
        if sink is not None:
            channels.append(sink)
        return cls(ob.Outbox(table), channels,
                   storm_threshold=settings.alert_storm_threshold, mask_tenant_ids=settings.mask_tenant_ids,
                   stale_after_hours=settings.stale_after_hours, options=options, clock=clock,
                   secrets=secrets_of(settings), dashboard_url=settings.dashboard_url)

    # -- hooks ------------------------------------------------------------------------------------
    def on_changes(self, changes: Sequence[FindingChange]) -> None:
        """Record, then deliver the high-severity changes at once (callers without a commit hook)."""
        self.record(changes)
        self.deliver(changes)

    def record(self, changes: Sequence[FindingChange]) -> None:
        """The outbox write, before the findings commit: idempotent, so replays add nothing."""
        now = self._clock()
        for pk, group in _by_run(changes):
            created = self.outbox.create_many([self._change_row(pk, c, now) for c in group])
            self.outbox.add_opening(pk, opening_count(r["Transition"] for r in created))

    def deliver(self, changes: Sequence[FindingChange]) -> None:
        """Send the high-severity ones among recorded `changes`, unless their run is already a storm."""
        for pk, group in _by_run(changes):
            storm = is_storm(self.outbox.add_opening(pk, 0), self.storm_threshold)
            for c in group:
                if route(c.finding.severity) is not Route.NOW:
                    continue
                row = self.outbox.get(pk, _change_key(c))
                if row is None:
                    continue
                if storm:   # held for the run's summary; `Held` keeps the retry pass off it
                    if row.get("Status") == ob.PENDING and not row.get("Held"):
                        self.outbox.merge_if_unchanged(row, {"Held": True})
                    continue
                self._deliver(row)

    def on_run_completed(self, run_id: str) -> None:
        self._complete(ob.safe_key(run_id))
        self.retry_pending()

    def check_stale(self, last_success: datetime | None, now: datetime | None = None) -> bool:
        """True when no run has succeeded for `stale_after_hours`; alerts once per quiet period.

        The latest success seen is remembered, so a caller that looks back only so far (and then
        passes None) does not start a second quiet period for the same silence.
        """
        now = now or self._clock()
        last_success = self._remember_success(last_success)
        if last_success is None:   # never succeeded: measure from when we first looked
            self.outbox.create({"PartitionKey": ob.STALE_PK, "RowKey": "~first-observed",
                                "Kind": "observed", "ObservedAt": now})
            since = (self.outbox.get(ob.STALE_PK, "~first-observed") or {}).get("ObservedAt", now)
            key = "never"
        else:
            since = last_success
            key = last_success.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        stale: bool = now - since >= timedelta(hours=self.stale_after_hours)
        if stale:
            unit = {"PartitionKey": ob.STALE_PK, "RowKey": key, "Kind": "stale", "Status": ob.PENDING,
                    "Attempts": 0, "Hours": self.stale_after_hours, "CheckedAt": now, "RecordedAt": now}
            if last_success is not None:
                unit["LastSuccess"] = last_success
            self.outbox.create(unit)
            if (row := self.outbox.get(ob.STALE_PK, key)) is not None:
                self._deliver(row)
        self.retry_pending()
        return stale

    def retry_pending(self) -> int:
        """Deliver units whose earlier attempt failed transiently; complete runs that never did."""
        now, tried, orphans = self._clock(), 0, set()
        for row in self.outbox.pending():
            if row.get("Held"):
                if row["RecordedAt"] < now - self.options.orphan_after:
                    orphans.add(row["PartitionKey"])
                continue
            if not row.get("Attempts") and row["RecordedAt"] > now - self.options.lease:
                continue   # just recorded: its own invocation delivers it once the findings commit
            if self._deliver(row):
                tried += 1
        for row in self.outbox.queued_before(now - self.options.orphan_after):
            orphans.add(row["PartitionKey"])
        for pk in orphans:
            log.warning("run %s never completed; sending its alerts now", pk)
            self._complete(pk)
        return tried

    # -- internals --------------------------------------------------------------------------------
    def _remember_success(self, seen: datetime | None) -> datetime | None:
        row = self.outbox.get(ob.STALE_PK, "~last-success")
        known = row.get("LastSuccess") if row else None
        if seen is not None and (known is None or seen > known):
            self.outbox.table.upsert_entity({"PartitionKey": ob.STALE_PK, "RowKey": "~last-success",
                                             "Kind": "observed", "LastSuccess": seen})
            return seen
        return known

    def _change_row(self, pk: str, change: FindingChange, now: datetime) -> dict[str, Any]:
        fields = fields_of(change)
        for name in ("Detail", "Remediation"):
            fields[name] = ob.truncate(fields[name])
        r = route(change.finding.severity)
        return {"PartitionKey": pk, "RowKey": _change_key(change),
                "Kind": "change", "Route": r.value, "Status": ob.PENDING if r is Route.NOW else ob.QUEUED,
                "Attempts": 0, "RecordedAt": now, **fields}

    def _complete(self, pk: str) -> None:
        """Put the run's queued changes (and, in a storm, its unsent high ones) into one unit; send it."""
        rows = self.outbox.run_changes(pk)
        if not rows:
            return
        total = opening_count(r["Transition"] for r in rows)
        storm = is_storm(total, self.storm_threshold)
        now = self._clock()
        take = [r for r in rows if r.get("Status") == ob.QUEUED
                or (storm and r.get("Status") == ob.PENDING and (r.get("ClaimedUntil") or now) <= now)]
        if take:
            digest = hashlib.sha256("\n".join(sorted(r["RowKey"] for r in take)).encode()).hexdigest()[:16]
            unit = ob.UNIT_PREFIX + digest
            self.outbox.create({"PartitionKey": pk, "RowKey": unit, "Kind": "storm" if storm else "digest",
                                "Status": ob.PENDING, "Attempts": 0, "RunId": rows[0]["RunId"],
                                "Opening": total, "RecordedAt": now})
            done = ob.SUMMARIZED if storm else ob.DIGESTED
            for r in take:   # conditional: a change joins exactly one unit, even under races
                self.outbox.merge_if_unchanged(r, {"Status": done, "Unit": unit})
        if not storm:   # high ones whose invocation ended before delivering them (all tenants are done)
            for r in rows:
                if r.get("Status") == ob.PENDING:
                    self._deliver(r)
        for unit_row in self.outbox.run_units(pk):
            self._deliver(unit_row)

    def _message(self, row: dict[str, Any]) -> Message | None:
        message = self._rendered(row)
        return with_dashboard(message, self.dashboard_url) if message is not None else None

    def _rendered(self, row: dict[str, Any]) -> Message | None:
        kind, pk, rk = row["Kind"], row["PartitionKey"], row["RowKey"]
        key = f"{pk}/{rk}"
        if kind == "change":
            return alert_message(key, item_from_fields(row, mask=self.mask))
        if kind == "stale":
            return stale_message(key, int(row["Hours"]), row.get("LastSuccess"), row["CheckedAt"])
        items = [item_from_fields(r, mask=self.mask) for r in self.outbox.unit_items(pk, rk)]
        if not items:
            return None
        if kind == "storm":
            sent = sum(1 for r in self.outbox.run_changes(pk) if r.get("Route") == Route.NOW
                       and r.get("Status") == ob.SENT)
            return storm_message(key, storm_summary(row["RunId"], items, self.storm_threshold,
                                                    already_sent=sent, opening=int(row["Opening"])))
        return digest_message(key, row["RunId"], items)

    def _deliver(self, row: dict[str, Any]) -> bool:
        """Claim one unit and send it to every channel; returns whether it was attempted."""
        now = self._clock()
        claimed = self.outbox.claim(row, self._owner, now, self.options.lease)
        if claimed is None:
            return False
        message = self._message(claimed)
        if message is None:
            self.outbox.merge_if_unchanged(claimed, {"Status": ob.EMPTY, "ClaimedUntil": now})
            return False
        if not self.channels:
            log.warning("alert %s not sent: no alert channel is configured", message.key)
            self.outbox.merge_if_unchanged(claimed, {"Status": ob.UNROUTED, "ClaimedUntil": now})
            return False
        attempts = int(claimed.get("Attempts") or 0) + 1
        previous = {c.name: str(state) for c in self.channels if (state := claimed.get(f"Ch_{c.name}"))}
        outcome = deliver(message, self.channels, previous,
                          last_attempt=attempts >= self.options.max_delivery_attempts, secrets=self._secrets)
        done = self._clock()
        fields: dict[str, Any] = {"Status": outcome.status, "Attempts": attempts, "ClaimedUntil": done,
                                  "LastAttemptAt": done, **{f"Ch_{k}": v for k, v in outcome.states.items()}}
        if outcome.errors:
            fields["LastError"] = "; ".join(f"{k}: {v}" for k, v in outcome.errors.items())
        if outcome.status == ob.PENDING:
            wait = max(self.options.retry_base * 2 ** (attempts - 1),
                       timedelta(seconds=outcome.retry_after or 0))
            fields["NextAttemptAt"] = done + wait
        if self.outbox.merge_if_unchanged(claimed, fields) is None:
            log.error("alert %s: delivery state could not be saved (claim lost)", message.key)
        return True
