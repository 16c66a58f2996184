"""Where the alerts plug into the service: the `RunObserver` protocol, passed in.

The service tells an observer what happens to a run; it never looks the alerts up. The composition
root (`composition.py`) builds the alerts' observer and hands it to `open_context`; without one,
`NO_OBSERVER` listens to nothing. The alerts' `AlertsObserver` matches the protocol structurally,
so the alerts need not import the service.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from pal_audit.model import FindingChange
from pal_audit.settings import Settings
from pal_audit.store import Store


class RunObserver(Protocol):
    async def record(self, changes: Sequence[FindingChange]) -> None:
        """A tenant's transitions, before its findings commit (the alerts' outbox write).
        Raising fails the tenant's write, so the host retries it."""

    async def on_tenant_written(self, run_id: str, tenant_id: str, changes: Sequence[FindingChange]) -> None:
        """After the tenant's findings and status are written (immediate alerts)."""

    async def on_run_completed(self, run_id: str) -> None:
        """Once per run, when its last tenant finished (the digest)."""

    async def check_stale(self, last_success: datetime | None) -> bool:
        """On every timer tick: has the auditor gone quiet? (True = stale)"""


class NoObserver:
    """Listens to nothing: no alert channel, or a caller that wants none."""

    async def record(self, changes: Sequence[FindingChange]) -> None:
        return None

    async def on_tenant_written(self, run_id: str, tenant_id: str, changes: Sequence[FindingChange]) -> None:
        return None

    async def on_run_completed(self, run_id: str) -> None:
        return None

    async def check_stale(self, last_success: datetime | None) -> bool:
        return False


NO_OBSERVER: RunObserver = NoObserver()

# Builds the observer of one invocation once its store is open (the alerts' outbox uses the store).
ObserverFactory = Callable[[Settings, Store], RunObserver]


def no_observer(settings: Settings, store: Store) -> RunObserver:
    return NO_OBSERVER
