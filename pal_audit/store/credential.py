"""The app's own storage credential: built once per process, in this one place.

With identity-based storage (`AzureWebJobsStorage__tableServiceUri` and friends) every storage
client of the process (the async tables and queue of `Store`, the sync `PalAlerts` client of the
alerts) signs in with the Function's managed identity, or `DefaultAzureCredential` when no client
id is set. azure-identity caches tokens per credential object, so one object per process means
one token per process rather than one per invocation. The SDKs need an async credential for the
`aio` clients and a sync one for the sync client: one of each, keyed by the client id.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential


@functools.cache
def async_storage_credential(client_id: str | None) -> AsyncTokenCredential:
    """The async credential of the storage clients (never closed: it lives as long as the process)."""
    from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

    if client_id:
        return ManagedIdentityCredential(client_id=client_id)
    return DefaultAzureCredential()


@functools.cache
def sync_storage_credential(client_id: str | None) -> TokenCredential:
    """The sync twin, for the alerts' `PalAlerts` client (the alerts run in a worker thread)."""
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    if client_id:
        return ManagedIdentityCredential(client_id=client_id)
    return DefaultAzureCredential()
