"""The app's own storage credential is built once per process and shared by every storage client."""

from __future__ import annotations

from pal_audit.store import StorageConfig, Store
from pal_audit.store.alerts_table import alerts_service
from pal_audit.store.credential import async_storage_credential, sync_storage_credential

IDENTITY = StorageConfig(table_endpoint="https://acct.table.core.windows.net",
                         queue_endpoint="https://acct.queue.core.windows.net", client_id="11111111-aaaa")


async def test_every_store_of_the_process_signs_in_with_the_same_credential():
    first, second = Store(IDENTITY), Store(IDENTITY)
    try:
        shared = async_storage_credential(IDENTITY.client_id)
        assert first.service.credential is shared and second.service.credential is shared
        assert first.queue.client.credential is shared
    finally:
        await first.close()
        await second.close()
    # closing a store leaves the process's credential to the next invocation
    third = Store(IDENTITY)
    assert third.service.credential is shared
    await third.close()


def test_the_alerts_table_client_uses_the_process_sync_credential():
    client = alerts_service(IDENTITY)
    assert client.credential is sync_storage_credential(IDENTITY.client_id)
    assert alerts_service(IDENTITY).credential is client.credential


def test_a_connection_string_needs_no_credential():
    conn = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
            "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;")
    assert alerts_service(StorageConfig(connection_string=conn)).url.startswith("http://127.0.0.1:10002")
