"""The service tests drive the queue trigger, which keeps a pool per worker process."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
async def _worker_pool_closed():
    """Close the worker's pool with the loop of the test that opened it."""
    from pal_audit.service.worker import WORKER

    yield
    await WORKER.aclose()
