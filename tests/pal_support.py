"""The Functions app as the host would run it (settings, function objects, a queue host) and
readers of Azurite's tables (tests only)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
T1 = "22222222-2222-2222-2222-222222222222"
T2 = "33333333-3333-3333-3333-333333333333"


def demo_secrets() -> dict[str, str]:
    """PAL_DEMO_*_SECRET for the example registry, from the estate (matched by client id)."""
    estate = yaml.safe_load((EXAMPLES / "estate.yaml").read_text())
    registry = yaml.safe_load((EXAMPLES / "registry.yaml").read_text())
    by_app = {p["app_id"]: p["secret"] for t in estate["tenants"] for p in t.get("principals", [])
              if p.get("app_id") and p.get("secret")}
    return {i["auth"]["secret_env"]: by_app[i["client_id"]] for i in registry["identities"].values()
            if i["auth"].get("secret_env") and i["client_id"] in by_app}


def set_app_env(monkeypatch, storage: str, cloud_file: Path) -> None:
    """The app settings the Functions host would pass (docs/deploy.md), for the example registry."""
    import pal_audit.service as service

    monkeypatch.setenv("AzureWebJobsStorage", storage)
    monkeypatch.setenv("PAL_AUDIT_REGISTRY", str(EXAMPLES / "registry.yaml"))
    monkeypatch.setenv("PAL_AUDIT_CLOUD", str(cloud_file))
    monkeypatch.setenv("PAL_AUDIT_SCHEDULE", "0 0 2 * * *")
    for name, value in demo_secrets().items():
        monkeypatch.setenv(name, value)
    service._registry_cache.clear()


def table_rows(connection_string: str, table: str) -> list[dict[str, Any]]:
    """Every entity of a table, sorted, without the service's Timestamp/etag (for equality checks)."""
    from azure.core.exceptions import ResourceNotFoundError
    from azure.data.tables import TableServiceClient

    client = TableServiceClient.from_connection_string(connection_string).get_table_client(table)
    try:
        rows = [dict(e.items()) for e in client.list_entities()]
    except ResourceNotFoundError:
        return []
    return sorted(rows, key=lambda r: (r["PartitionKey"], r["RowKey"]))


def all_tables(connection_string: str) -> dict[str, list[dict[str, Any]]]:
    return {t: table_rows(connection_string, t) for t in ("PalFindings", "PalRuns", "PalTenantStatus")}


# ---------------------------------------------------------------- the Functions host, by hand


class QueueHost:
    """Does what the Functions host does with the tenants queue: hand each message to the queue
    function, delete it on success, make it visible again on failure, and after `max_dequeue`
    failed deliveries move it to the poison queue (host.json `maxDequeueCount`)."""

    def __init__(self, connection_string: str, max_dequeue: int = 5) -> None:
        from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

        opts = {"message_encode_policy": TextBase64EncodePolicy(),
                "message_decode_policy": TextBase64DecodePolicy()}
        self.queue = QueueClient.from_connection_string(connection_string, "pal-audit-tenants", **opts)
        self.poison = QueueClient.from_connection_string(connection_string, "pal-audit-tenants-poison",
                                                         **opts)
        self.raw = QueueClient.from_connection_string(connection_string, "pal-audit-tenants")
        self.max_dequeue = max_dequeue
        self.failures: list[BaseException] = []

    def bodies(self) -> list[str]:
        """Message bodies waiting on the queue (decoded), without taking them."""
        return [m.content for m in self.queue.peek_messages(max_messages=32)]

    def raw_bodies(self) -> list[str]:
        return [m.content for m in self.raw.peek_messages(max_messages=32)]

    def send(self, body: str) -> None:
        self.queue.send_message(body)

    async def drain(self, function: Any, *, queue: Any = None) -> int:
        import azure.functions as func
        from azure.core.exceptions import ResourceExistsError

        queue = queue or self.queue
        delivered = 0
        while True:
            batch = list(queue.receive_messages(max_messages=32, visibility_timeout=60))
            if not batch:
                return delivered
            for m in batch:
                delivered += 1
                try:
                    msg = func.QueueMessage(id=m.id, body=m.content.encode(), pop_receipt=m.pop_receipt)
                    await function(msg)
                except Exception as exc:
                    self.failures.append(exc)
                    if queue is self.queue and m.dequeue_count >= self.max_dequeue:
                        with contextlib.suppress(ResourceExistsError):   # the host creates it
                            self.poison.create_queue()
                        self.poison.send_message(m.content)
                        queue.delete_message(m)
                    else:
                        queue.update_message(m, visibility_timeout=0)   # host.json visibilityTimeout
                    continue
                queue.delete_message(m)

    async def drain_poison(self, function: Any) -> int:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return await self.drain(function, queue=self.poison)
        except ResourceNotFoundError:
            return 0


def functions() -> dict[str, Any]:
    """The app's functions by name; get_functions() may be called only once per app (azure-functions)."""
    global _FUNCTIONS
    if _FUNCTIONS is None:
        import function_app

        _FUNCTIONS = {f.get_function_name(): f for f in function_app.app.get_functions()}
    return _FUNCTIONS


_FUNCTIONS: dict[str, Any] | None = None


def call(name: str) -> Any:
    return functions()[name].get_user_function()
