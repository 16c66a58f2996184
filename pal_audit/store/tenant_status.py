"""PalTenantStatus: PartitionKey = tenant_id; RowKey "-" for the tenant, the identity name for each identity.

Besides last attempted / succeeded / error, the tenant row holds the claim that stops two runs
(the nightly timer and an HTTP rescan) from queuing the same tenant at once: `active_run_id` is
set If-Match when a run queues the tenant and cleared when that run has written it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pal_audit.model import IdentitySnapshot, TenantSnapshot
from pal_audit.store import entities
from pal_audit.store.tables import StoreConflict

if TYPE_CHECKING:
    from azure.data.tables.aio import TableClient

    from pal_audit.checks.credit import Credit

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


# The credit evidence of an identity row (docs/storage.md): `link_partner_id` ("" = no link), `credit`
# (JSON: the PAL-eligible active assignments held while linked to the current partner id, each with
# `since`), `credited_since` (the earliest `since`; absent without credit) and `last_verified` (the
# last audit that saw it credited). An entry's `since` is kept while the same partner id, role and
# scope hold from one audit to the next, and restarts when any of them changes or lapses.
CREDIT_FIELDS = ("link_partner_id", "credit", "credited_since", "last_verified")
# Room for about a hundred assignments; beyond it the JSON says how many were left out.
_CREDIT_BUDGET = entities.MAX_STRING_UNITS - 256


def _credit_key(entry: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(entry.get("partner_id", "")), str(entry.get("role_id", "")).lower(),
            str(entry.get("scope", "")).lower())


def parse_credit(text: object) -> list[dict[str, Any]] | None:
    """The stored credit entries, `since` as datetime; None when the row has none or it is unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        body = json.loads(text)
        roles = body["roles"]
        out = []
        for r in roles:
            entry = {k: str(r[k]) for k in ("partner_id", "role", "role_id", "scope")}
            out.append({**entry, "since": datetime.fromisoformat(str(r["since"]))})
        return out
    except (ValueError, KeyError, TypeError):
        return None


def credit_fields(ident: IdentitySnapshot, credit: Sequence[Credit], previous: Mapping[str, Any],
                  at: datetime) -> dict[str, Any]:
    """An audited identity's credit evidence, continuing the `since` of what still holds (pure)."""
    before = {_credit_key(e): e["since"] for e in parse_credit(previous.get("credit")) or []}
    entries = []
    for c in credit:
        entry = {"partner_id": c.partner_id, "role": c.role, "role_id": c.role_id, "scope": c.scope}
        entries.append({**entry, "since": before.get(_credit_key(entry), at)})
    kept: list[dict[str, Any]] = []
    for entry in entries:
        candidate = [*kept, entry]
        if entities.utf16_units(_credit_json(candidate, len(entries) - len(candidate))) > _CREDIT_BUDGET:
            break
        kept = candidate
    fields: dict[str, Any] = {
        "link_partner_id": ident.link.partner_id if ident.link is not None else "",
        "credit": _credit_json(kept, len(entries) - len(kept)),
        "credited_since": min(e["since"] for e in entries) if entries else None,
        "last_verified": at if entries else previous.get("last_verified"),
    }
    return fields


def _credit_json(entries: Sequence[Mapping[str, Any]], omitted: int) -> str:
    roles = [{**e, "since": e["since"].isoformat()} for e in entries]
    return json.dumps({"roles": roles, "omitted": omitted}, ensure_ascii=False, separators=(",", ":"))


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
                     credit: Sequence[Credit] | None = None, max_attempts: int = 6) -> None:
        """Last attempted/succeeded/error of the tenant and each identity; releases this run's claim.

        With `credit` (pal_audit.checks.credit.credited_access of this snapshot), each audited
        identity's row also gets its credit evidence (CREDIT_FIELDS); a failed identity keeps what
        it had, neither confirmed nor denied.
        """
        from azure.core import MatchConditions
        from azure.data.tables import UpdateMode

        tid, ok = snapshot.tenant_id, snapshot.fully_audited
        for _ in range(max_attempts):
            rows = {e["RowKey"]: e async for e in self.client.query_entities(
                "PartitionKey eq @pk", parameters={"pk": tid})}
            found = rows.get(TENANT_ROW)
            current: Mapping[str, Any] = found if found is not None else {}
            etag: str | None = found.metadata["etag"] if found is not None else None
            row = {"PartitionKey": tid, "RowKey": TENANT_ROW, "name": snapshot.name, "last_attempted": at,
                   "last_run_id": run_id, "last_succeeded": at if ok else None,
                   "last_error": entities.fit_text(_error_text(snapshot), 4096)}
            if current.get("active_run_id") == run_id:
                row["active_run_id"] = ""      # release our claim (merge keeps anyone else's)
            tenant_op: entities.Operation = (
                ("update", entities.encode(row), {"mode": UpdateMode.MERGE, "etag": etag,
                                                  "match_condition": MatchConditions.IfNotModified})
                if etag else ("create", entities.encode(row)))
            identity_ops = [self._identity_op(i, run_id, at, credit, rows.get(i.identity))
                            for i in snapshot.identities]
            try:
                for batch in entities.chunk([tenant_op, *identity_ops]):
                    await self.client.submit_transaction(batch)
                return
            except Exception as exc:
                if not _is_conflict(exc):
                    raise
        raise StoreConflict(f"tenant {tid}: status kept changing under us")

    @staticmethod
    def _identity_op(i: IdentitySnapshot, run_id: str, at: datetime, credit: Sequence[Credit] | None,
                     previous: Mapping[str, Any] | None) -> entities.Operation:
        from azure.data.tables import UpdateMode

        fields: dict[str, Any] = {
            "PartitionKey": i.tenant_id, "RowKey": i.identity, "identity": i.identity,
            "principal_id": i.principal_id or "", "last_attempted": at, "last_run_id": run_id,
            "last_succeeded": at if i.ok else None,
            "last_error": f"{i.error.reason}: {entities.fit_text(i.error.message, 2048)}" if i.error else ""}
        if credit is None or not i.ok:
            return ("upsert", entities.encode(fields), {"mode": UpdateMode.MERGE})
        # Replace, not merge: a credit that lapsed must take its credited_since with it.
        mine = [c for c in credit if c.identity == i.identity]
        kept = {k: v for k, v in (previous or {}).items() if k not in CREDIT_FIELDS}
        return ("upsert", entities.encode({**kept, **fields, **credit_fields(i, mine, previous or {}, at)}),
                {"mode": UpdateMode.REPLACE})

    async def get(self, tenant_id: str) -> dict[str, dict[str, Any]]:
        query = self.client.query_entities("PartitionKey eq @pk", parameters={"pk": tenant_id})
        return {e["RowKey"]: entities.decode(e) async for e in query}
