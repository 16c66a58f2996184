"""PalActions: one row per link change that `pal-audit fix` tried, whatever its result.

PartitionKey = tenant_id; RowKey = `<when, ISO UTC>|<identity>|<kind>`, so a tenant's history
reads in time order. The row says when, by whom (the account that ran the command), which
identity, before, after, the finding that asked for it and the result. Rows are only added:
the table is the record of what was changed, never rewritten.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from azure.data.tables.aio import TableClient, TableServiceClient

ACTIONS_TABLE = "PalActions"


@dataclass(frozen=True)
class ActionRecord:
    """What the table keeps of one action (plain values: the store knows nothing of the engine)."""

    at: datetime
    by: str                 # who ran `pal-audit fix` (the OS account, or a pipeline's name)
    tenant_id: str
    tenant_name: str
    identity: str
    principal_id: str
    kind: str               # create | update | delete
    before: str | None
    after: str | None
    check_id: str
    finding_id: str
    result: str             # applied | unchanged | skipped | failed
    detail: str
    found: str | None = None    # the partner id read right before writing

    def to_entity(self) -> dict[str, str]:
        return {
            "PartitionKey": self.tenant_id,
            "RowKey": f"{self.at.isoformat()}|{self.identity}|{self.kind}",
            "At": self.at.isoformat(), "By": self.by, "TenantName": self.tenant_name,
            "Identity": self.identity, "PrincipalId": self.principal_id, "Kind": self.kind,
            "Before": self.before or "", "After": self.after or "", "Found": self.found or "",
            "CheckId": self.check_id, "FindingId": self.finding_id, "Result": self.result,
            "Detail": self.detail,
        }


class ActionsTable:
    def __init__(self, client: TableClient) -> None:
        self.client = client

    @classmethod
    def of(cls, service: TableServiceClient) -> ActionsTable:
        return cls(service.get_table_client(ACTIONS_TABLE))

    async def ensure(self) -> None:
        from azure.core.exceptions import ResourceExistsError

        with contextlib.suppress(ResourceExistsError):
            await self.client.create_table()

    async def record(self, records: Iterable[ActionRecord]) -> int:
        """Add the rows (upsert: a retried write of the same row stays one row); returns how many."""
        n = 0
        for r in records:
            await self.client.upsert_entity(r.to_entity())
            n += 1
        return n
