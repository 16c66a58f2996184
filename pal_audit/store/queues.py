"""The `pal-audit-tenants` queue: one base64 JSON message per (run, unit).

A unit is a registry tenant (`{"run_id", "tenant_id", "trigger"}`) or a Lighthouse managing tenant
with all its delegated customers (`{"run_id", "lighthouse": "<managing tenant id>", "trigger"}`).
"""

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
    tenant_id: str                  # the registry tenant, or the managing tenant when `lighthouse`
    trigger: str
    lighthouse: bool = False        # a `lighthouse:` entry: its managing tenant and every customer

    def to_json(self) -> str:
        key = "lighthouse" if self.lighthouse else "tenant_id"
        return json.dumps({"run_id": self.run_id, key: self.tenant_id, "trigger": self.trigger})

    @classmethod
    def parse(cls, body: bytes | str) -> TenantMessage:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadMessage(f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise BadMessage("not a JSON object")
        lighthouse = "lighthouse" in data
        run_id, trigger = data.get("run_id"), data.get("trigger")
        tenant_id = data.get("lighthouse") if lighthouse else data.get("tenant_id")
        if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
            raise BadMessage(f"bad run_id {run_id!r}")
        if not isinstance(tenant_id, str) or not _GUID.fullmatch(tenant_id.lower()):
            raise BadMessage(f"bad {'lighthouse' if lighthouse else 'tenant_id'} {tenant_id!r}")
        if trigger not in TRIGGERS:
            raise BadMessage(f"bad trigger {trigger!r}")
        return cls(run_id, tenant_id.lower(), trigger, lighthouse)


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
