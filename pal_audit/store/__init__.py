"""Table Storage (findings lifecycle, runs, tenant status) and the tenants queue.

`Store` is the one object the service and the CLI hold: `async with Store.open(config) as store:`.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from pal_audit.store.alerts_table import alerts_service, open_alerts_table
from pal_audit.store.credential import async_storage_credential
from pal_audit.store.findings import FindingsTable
from pal_audit.store.queues import POISON_QUEUE, TENANTS_QUEUE, BadMessage, TenantMessage, TenantQueue
from pal_audit.store.runs import RunRecord, RunsTable, UnknownRun, new_run_id
from pal_audit.store.tables import (
    ALERTS_TABLE,
    DEFAULT_CLIENT_OPTIONS,
    FINDINGS_TABLE,
    RUNS_TABLE,
    TABLES,
    TENANT_STATUS_TABLE,
    StorageConfig,
    StoreConflict,
    StoreError,
    StoreUnavailable,
    is_transport_failure,
    unavailable,
)
from pal_audit.store.tenant_status import TenantStatusTable

if TYPE_CHECKING:
    from azure.data.tables import TableClient

__all__ = [
    "ALERTS_TABLE", "FINDINGS_TABLE", "POISON_QUEUE", "RUNS_TABLE", "TENANTS_QUEUE", "TENANT_STATUS_TABLE",
    "BadMessage",
    "RunRecord", "StorageConfig", "Store", "StoreConflict", "StoreError", "StoreUnavailable",
    "TenantMessage", "UnknownRun", "new_run_id",
]

_ensured: set[str] = set()      # accounts whose tables this process has already created


class Store:
    """The three tables and the queue over one storage account."""

    def __init__(self, config: StorageConfig, **client_options: Any) -> None:
        from azure.data.tables.aio import TableServiceClient
        from azure.storage.queue import TextBase64DecodePolicy, TextBase64EncodePolicy
        from azure.storage.queue.aio import QueueClient

        self.config = config
        options = {**DEFAULT_CLIENT_OPTIONS, **client_options}
        # The queue SDK has its own retry (15 s, then +3^n s: about a minute per failed send while
        # storage is down); the same few seconds as the tables instead.
        queue_options = {"initial_backoff": 1, "increment_base": 2, **options,
                         "message_encode_policy": TextBase64EncodePolicy(),
                         "message_decode_policy": TextBase64DecodePolicy()}
        if config.connection_string:
            self.service = TableServiceClient.from_connection_string(config.connection_string, **options)
            queue = QueueClient.from_connection_string(config.connection_string, TENANTS_QUEUE,
                                                       **queue_options)
        elif config.table_endpoint and config.queue_endpoint:
            credential = async_storage_credential(config.client_id)     # the process's one credential
            self.service = TableServiceClient(config.table_endpoint, credential=credential, **options)
            queue = QueueClient(config.queue_endpoint, TENANTS_QUEUE, credential=credential,
                                **queue_options)
        else:
            raise StoreError("storage configuration has neither a connection string nor both endpoints")
        self.findings = FindingsTable(self.service.get_table_client(FINDINGS_TABLE))
        self.runs = RunsTable(self.service.get_table_client(RUNS_TABLE))
        self.status = TenantStatusTable(self.service.get_table_client(TENANT_STATUS_TABLE))
        self.queue = TenantQueue(queue)

    @classmethod
    def from_connection_string(cls, connection_string: str, **client_options: Any) -> Store:
        return cls(StorageConfig(connection_string=connection_string), **client_options)

    async def ensure_tables(self) -> None:
        """Create the tables once per process (a create costs a round trip even when they exist).

        Storage that is down raises StoreUnavailable, so every caller can tell it from a bug.
        """
        from azure.core.exceptions import ResourceExistsError

        key = self.service.url
        if key in _ensured:
            return
        try:
            for name in TABLES:
                with contextlib.suppress(ResourceExistsError):
                    await self.service.create_table(name)
        except Exception as exc:
            if is_transport_failure(exc):
                raise unavailable(exc, self.config.describe()) from exc
            raise
        _ensured.add(key)

    def alerts_table(self) -> TableClient:
        """The sync `PalAlerts` client the alerts' outbox writes (created when missing)."""
        return open_alerts_table(alerts_service(self.config))

    async def close(self) -> None:
        # the credential is the process's (store/credential.py), not this store's: it stays open
        await self.service.close()
        await self.queue.client.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
