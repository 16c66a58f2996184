"""The sync client of the `PalAlerts` table, which the alerts' outbox writes.

The store owns every Table Storage client and its configuration; the alerts receive the table
client from here. It is sync because the alerts' blocking work (tables, HTTPS, SMTP) runs in a
worker thread, off the Functions event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pal_audit.store.credential import sync_storage_credential
from pal_audit.store.tables import ALERTS_TABLE, StorageConfig

if TYPE_CHECKING:
    from azure.data.tables import TableClient, TableServiceClient

# Fewer retries than azure-core's default: a failed outbox write makes the host retry the tenant.
_OPTIONS: dict[str, Any] = {"retry_total": 3, "connection_timeout": 10, "read_timeout": 30}


def alerts_service(config: StorageConfig) -> TableServiceClient:
    """A sync TableServiceClient on the store's account (connection string or the app's credential)."""
    from azure.data.tables import TableServiceClient

    if config.connection_string:
        return TableServiceClient.from_connection_string(config.connection_string, **_OPTIONS)
    if not config.table_endpoint:
        raise ValueError("storage configuration has neither a connection string nor a table endpoint")
    return TableServiceClient(config.table_endpoint, credential=sync_storage_credential(config.client_id),
                              **_OPTIONS)


def open_alerts_table(service: TableServiceClient) -> TableClient:
    """The `PalAlerts` table, created when missing: one round trip per invocation, no per-process
    cache, so a table deleted since comes back."""
    return service.create_table_if_not_exists(ALERTS_TABLE)
