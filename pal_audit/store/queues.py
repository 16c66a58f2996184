"""The `pal-audit-tenants` queue: one base64 JSON message per (run, tenant)."""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pal_audit.store.runs import RUN_ID, TRIGGERS

if TYPE_CHECKING:
    from azure.storage.queue.aio import QueueClient

TENANTS_QUEUE = "pal-audit-tenants"             # contract (docs/storage.md)
POISON_QUEUE = TENANTS_QUEUE + "-poison"        # the Functions host's naming
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")   # fullmatch only


class BadMessage(ValueError):
    """A queue message that can never be processed (retrying will not help)."""


@dataclass(frozen=True)
class TenantMessage:
    run_id: str
    tenant_id: str
    trigger: str

    def to_json(self) -> str:
        return json.dumps({"run_id": self.run_id, "tenant_id": self.tenant_id, "trigger": self.trigger})

    @classmethod
    def parse(cls, body: bytes | str) -> TenantMessage:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadMessage(f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise BadMessage("not a JSON object")
        run_id, tenant_id, trigger = data.get("run_id"), data.get("tenant_id"), data.get("trigger")
        if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
            raise BadMessage(f"bad run_id {run_id!r}")
        if not isinstance(tenant_id, str) or not _GUID.fullmatch(tenant_id.lower()):
            raise BadMessage(f"bad tenant_id {tenant_id!r}")
        if trigger not in TRIGGERS:
            raise BadMessage(f"bad trigger {trigger!r}")
        return cls(run_id, tenant_id.lower(), trigger)


class TenantQueue:
    """Producer side; the Functions host is the consumer (base64 bodies, its default encoding)."""

    def __init__(self, client: QueueClient) -> None:
        self.client = client        # with TextBase64EncodePolicy (the host's encoding)
        self._ensured = False

    async def ensure(self) -> None:
        from azure.core.exceptions import ResourceExistsError

        if self._ensured:
            return
        with contextlib.suppress(ResourceExistsError):
            await self.client.create_queue()
        self._ensured = True

    async def send(self, message: TenantMessage) -> None:
        await self.client.send_message(message.to_json())
