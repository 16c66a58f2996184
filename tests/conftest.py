"""Session fixtures: one Azurite (tables + queues) and one armsim for the whole run.

Each test that uses storage gets it empty (`storage` deletes every table and queue first), so
tests stay independent without paying Azurite's start-up per test.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import pytest
from pal_support import EXAMPLES, set_app_env

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


# ---------------------------------------------------------------- armsim + the Functions app settings


@contextmanager
def _armsim(estate_path: Path, tmp: Path):
    """armsim.testing.running_armsim when present; the same handle built on ArmSimServer otherwise."""
    try:
        from armsim.testing import running_armsim
    except ImportError:
        running_armsim = None
    if running_armsim is not None:
        with running_armsim(estate_path) as handle:
            yield handle.cloud if isinstance(handle.cloud, dict) else handle.cloud.to_dict()
        return
    from armsim import ArmSimServer, load_estate

    with ArmSimServer(load_estate(estate_path)) as cloud:
        yield cloud.to_dict()


def _cloud_file(cloud: dict, tmp: Path) -> Path:
    path = tmp / "cloud.json"
    path.write_text(json.dumps(cloud))
    return path


@pytest.fixture(scope="session")
def armsim_cloud(tmp_path_factory):
    """The demo estate served once for the session (tests that change its state use `fresh_armsim`)."""
    tmp = tmp_path_factory.mktemp("armsim")
    with _armsim(EXAMPLES / "estate.yaml", tmp) as cloud:
        yield _cloud_file(cloud, tmp)


@pytest.fixture
def fresh_armsim(tmp_path):
    with _armsim(EXAMPLES / "estate.yaml", tmp_path) as cloud:
        yield cloud, _cloud_file(cloud, tmp_path)


@pytest.fixture
def app_env(monkeypatch, storage, armsim_cloud):
    set_app_env(monkeypatch, storage, armsim_cloud)
    return storage


@pytest.fixture
def app_env_fresh(monkeypatch, storage, fresh_armsim):
    """Like app_env, on an armsim of its own: for tests that change the estate (links)."""
    cloud, cloud_file = fresh_armsim
    set_app_env(monkeypatch, storage, cloud_file)
    return cloud, storage


class AlertsSpy:
    """Stands in for the alerts: a RunObserver that records what the service tells it."""

    def __init__(self) -> None:
        self.recorded: list = []
        self.written: list = []
        self.completed: list[str] = []
        self.stale_checks: list = []

    async def record(self, changes) -> None:
        self.recorded.extend(changes)

    async def on_tenant_written(self, run_id, tenant_id, changes) -> None:
        self.written.append((run_id, tenant_id, len(changes)))

    async def on_run_completed(self, run_id: str) -> None:
        self.completed.append(run_id)

    async def check_stale(self, last_success) -> bool:
        self.stale_checks.append(last_success)
        return False

    def factory(self, settings, store) -> AlertsSpy:
        """As an ObserverFactory: what open_context, table_result_sink and AppRoot take."""
        return self


@pytest.fixture
def alerts(monkeypatch):
    """The spy, given to the Functions app's composition root for this test (the triggers open
    their context through pal_audit.service.APP); other callers pass `alerts.factory` in."""
    from pal_audit.service import APP

    spy = AlertsSpy()
    monkeypatch.setattr(APP, "observer", spy.factory)
    return spy
