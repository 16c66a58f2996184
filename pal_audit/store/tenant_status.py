"""PalTenantStatus: PartitionKey = tenant_id; RowKey "-" for the tenant, the identity name for each identity.

Besides last attempted / succeeded / error, the tenant row holds the claim that stops two runs
(the nightly timer and an HTTP rescan) from queuing the same tenant at once: `active_run_id` is
set If-Match when a run queues the tenant and cleared when that run has written it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pal_audit.model import TenantSnapshot
from pal_audit.store import entities
from pal_audit.store.tables import StoreConflict

if TYPE_CHECKING:
    from azure.data.tables.aio import TableClient

TENANT_ROW = "-"
# A claim older than this is void whatever its run says, so a run that died without releasing its
# claims (storage down while it cleaned up, a process killed outright) blocks a tenant only this long.
# It must outlast the slowest legitimate life of a queued message, from host.json: maxDequeueCount 5
# deliveries x functionTimeout 15 min + 5 x visibilityTimeout 1 min = 80 min before the poison
# trigger finishes the tenant, plus 40 min for the message to wait its turn in the queue. Past that,
# a second run may queue the tenant again; that is harmless (writes are idempotent, docs/storage.md),
# only no longer deduplicated. tests/store/test_runs_and_claims.py checks it against host.json.
CLAIM_TTL = timedelta(hours=2)


@dataclass(frozen=True)
class Claim:
    claimed: bool
    holder: str | None = None       # the run that holds the tenant when not claimed


def _is_conflict(exc: BaseException) -> bool:
    from azure.core.exceptions import HttpResponseError

    return isinstance(exc, HttpResponseError) and exc.status_code in (404, 409, 412)


def _error_text(snapshot: TenantSnapshot) -> str:
    if snapshot.error is not None:
        return f"{snapshot.error.reason}: {snapshot.error.message}"
    failed = [i for i in snapshot.identities if not i.ok]
    if not failed:
        return ""
    return "; ".join(f"{i.identity}: {i.error.reason}" for i in failed if i.error)


class TenantStatusTable:
    def __init__(self, client: TableClient) -> None:
        self.client = client

    async def claim(self, tenant_id: str, run_id: str, *, at: datetime,
                    holder_active: Callable[[str, str, datetime], Awaitable[bool]]) -> Claim:
        """Mark the tenant as queued by `run_id`, unless an unfinished run already holds it."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        fresh = {"PartitionKey": tenant_id, "RowKey": TENANT_ROW, "active_run_id": run_id, "active_since": at}
        for _ in range(10):
            try:
                row = await self.client.get_entity(tenant_id, TENANT_ROW)
            except ResourceNotFoundError:
                try:
                    await self.client.create_entity(entities.encode(fresh))
                    return Claim(True)
                except ResourceExistsError:
                    continue            # created by a concurrent claim: look again
            holder, since = row.get("active_run_id") or None, row.get("active_since")
            if holder == run_id:
                return Claim(True)
            if holder and since and since > at - CLAIM_TTL and await holder_active(holder, tenant_id, since):
                return Claim(False, holder)
            try:
                await self.client.update_entity(entities.encode(fresh), mode=UpdateMode.MERGE,
                                                etag=row.metadata["etag"],
                                                match_condition=MatchConditions.IfNotModified)
                return Claim(True)
            except Exception as exc:
                if not _is_conflict(exc):
                    raise
        raise StoreConflict(f"tenant {tenant_id}: the claim kept changing under us")

    async def release(self, tenant_id: str, run_id: str, *, max_attempts: int = 6) -> bool:
        """Clear the claim if `run_id` still holds it (a run giving up the tenant); False otherwise."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceNotFoundError
        from azure.data.tables import UpdateMode

        for _ in range(max_attempts):
            try:
                row = await self.client.get_entity(tenant_id, TENANT_ROW)
            except ResourceNotFoundError:
                return False
            if row.get("active_run_id") != run_id:
                return False
            try:
                await self.client.update_entity(
                    {"PartitionKey": tenant_id, "RowKey": TENANT_ROW, "active_run_id": ""},
                    mode=UpdateMode.MERGE, etag=row.metadata["etag"],
                    match_condition=MatchConditions.IfNotModified)
                return True
            except Exception as exc:
                if not _is_conflict(exc):
                    raise
        raise StoreConflict(f"tenant {tenant_id}: the claim kept changing under us")

    async def record(self, snapshot: TenantSnapshot, run_id: str, *, at: datetime,
                     max_attempts: int = 6) -> None:
        """Last attempted/succeeded/error of the tenant and each identity; releases this run's claim."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceNotFoundError
        from azure.data.tables import UpdateMode

        tid, ok = snapshot.tenant_id, snapshot.fully_audited
        identity_ops = [("upsert", entities.encode({
            "PartitionKey": tid, "RowKey": i.identity, "identity": i.identity,
            "principal_id": i.principal_id or "", "last_attempted": at, "last_run_id": run_id,
            "last_succeeded": at if i.ok else None,
            "last_error": f"{i.error.reason}: {entities.fit_text(i.error.message, 2048)}" if i.error else "",
        }), {"mode": UpdateMode.MERGE}) for i in snapshot.identities]
        for _ in range(max_attempts):
            try:
                found = await self.client.get_entity(tid, TENANT_ROW)
                current: Mapping[str, Any] = found
                etag: str | None = found.metadata["etag"]
            except ResourceNotFoundError:
                current, etag = {}, None
            row = {"PartitionKey": tid, "RowKey": TENANT_ROW, "name": snapshot.name, "last_attempted": at,
                   "last_run_id": run_id, "last_succeeded": at if ok else None,
                   "last_error": entities.fit_text(_error_text(snapshot), 4096)}
            if current.get("active_run_id") == run_id:
                row["active_run_id"] = ""      # release our claim (merge keeps anyone else's)
            tenant_op: entities.Operation = (
                ("update", entities.encode(row), {"mode": UpdateMode.MERGE, "etag": etag,
                                                  "match_condition": MatchConditions.IfNotModified})
                if etag else ("create", entities.encode(row)))
            try:
                for batch in entities.chunk([tenant_op, *identity_ops]):
                    await self.client.submit_transaction(batch)
                return
            except Exception as exc:
                if not _is_conflict(exc):
                    raise
        raise StoreConflict(f"tenant {tid}: status kept changing under us")

    async def get(self, tenant_id: str) -> dict[str, dict[str, Any]]:
        query = self.client.query_entities("PartitionKey eq @pk", parameters={"pk": tenant_id})
        return {e["RowKey"]: entities.decode(e) async for e in query}
