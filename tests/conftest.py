"""Session fixtures: one Azurite (tables + queues) and one armsim for the whole run.

Each test that uses storage gets it empty (`storage` deletes every table and queue first), so
tests stay independent without paying Azurite's start-up per test.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))   # importlib mode: make tests/pal_support.py importable

from pal_audit.devstack import running_azurite


@pytest.fixture(scope="session")
def azurite():
    with running_azurite() as instance:
        yield instance


def _wipe(connection_string: str) -> None:
    from azure.data.tables import TableServiceClient
    from azure.storage.queue import QueueServiceClient

    import pal_audit.store as store_pkg

    tables = TableServiceClient.from_connection_string(connection_string)
    for t in list(tables.list_tables()):
        tables.delete_table(t.name)
    queues = QueueServiceClient.from_connection_string(connection_string)
    for q in list(queues.list_queues()):
        queues.delete_queue(q.name)
    store_pkg._ensured.clear()


@pytest.fixture
def storage(azurite):
    """An empty storage account: the connection string of the session's Azurite."""
    _wipe(azurite.connection_string)
    return azurite.connection_string


@pytest.fixture
async def store(storage):
    from pal_audit.store import Store

    async with Store.from_connection_string(storage) as s:
        await s.ensure_tables()
        yield s
