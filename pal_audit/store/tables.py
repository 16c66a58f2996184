"""Clients, table names and the storage error vocabulary.

Async clients (azure-data-tables `aio`, azure-storage-queue `aio`) because the audit is async and
one Functions worker runs many invocations on one event loop.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pal_audit.settings import Settings, SettingsError

FINDINGS_TABLE = "PalFindings"          # contract (docs/storage.md)
RUNS_TABLE = "PalRuns"
TENANT_STATUS_TABLE = "PalTenantStatus"
TABLES = (FINDINGS_TABLE, RUNS_TABLE, TENANT_STATUS_TABLE)
ALERTS_TABLE = "PalAlerts"              # the alerts' outbox (store/alerts_table.py); created on use

# Fail within seconds when storage is down (the queue retries the message), rather than
# azure-core's default of 10 retries with a long backoff.
DEFAULT_CLIENT_OPTIONS: dict[str, Any] = {
    "retry_total": 3, "retry_backoff_factor": 0.2, "retry_backoff_max": 4,
    "connection_timeout": 10, "read_timeout": 30,
}


class StoreError(RuntimeError):
    """Base of the store's failures."""


class StoreUnavailable(StoreError):
    """Table or Queue storage could not be reached or answered with a server error."""


class StoreConflict(StoreError):
    """Optimistic concurrency kept failing: another invocation kept writing the same entities."""


@dataclass(frozen=True)
class StorageConfig:
    """Where the tables and queues are: a connection string, or endpoints plus managed identity.

    The connection string carries the account key: it is left out of repr() (and so out of any log
    or traceback that prints the config); `describe()` says where, without the key.
    """

    connection_string: str | None = field(default=None, repr=False)
    table_endpoint: str | None = None
    queue_endpoint: str | None = None
    client_id: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, env: Mapping[str, str] | None = None) -> StorageConfig:
        """`AzureWebJobsStorage` (a connection string), else the identity-based form the infra uses:
        `AzureWebJobsStorage__tableServiceUri`, `__queueServiceUri` and optional `__clientId`.
        """
        if settings.storage_connection:
            return cls(connection_string=settings.storage_connection)
        env = os.environ if env is None else env
        prefix = "AzureWebJobsStorage__"
        tables, queues = env.get(prefix + "tableServiceUri"), env.get(prefix + "queueServiceUri")
        if tables and queues:
            return cls(table_endpoint=tables.strip(), queue_endpoint=queues.strip(),
                       client_id=(env.get(prefix + "clientId") or "").strip() or None)
        raise SettingsError("setting AzureWebJobsStorage is required (a storage connection string), or "
                            "AzureWebJobsStorage__tableServiceUri and AzureWebJobsStorage__queueServiceUri "
                            "for identity-based access")

    def describe(self) -> str:
        """Where, without the account key (safe for messages)."""
        if self.connection_string:
            parts = dict(p.split("=", 1) for p in self.connection_string.split(";") if "=" in p)
            return parts.get("TableEndpoint") or parts.get("AccountName") or "development storage"
        return self.table_endpoint or "?"


def unavailable(exc: BaseException, where: str) -> StoreUnavailable:
    return StoreUnavailable(f"table/queue storage at {where} is unavailable: "
                            f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")


def is_transport_failure(exc: BaseException) -> bool:
    """Storage down or failing (retry later), as opposed to a request we got wrong."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return True
    return isinstance(exc, HttpResponseError) and (exc.status_code or 0) >= 500
