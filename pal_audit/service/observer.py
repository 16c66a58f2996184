"""Where alerts plug into the service: `Hooks`, and `NO_HOOKS` when nothing listens."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pal_audit.model import FindingChange
from pal_audit.store.findings import OnChanges


@dataclass(frozen=True)
class Hooks:
    """Where alerts plug in; every hook is optional and may be sync or async."""

    on_changes: OnChanges | None = None                 # before the findings are committed (outbox)
    on_tenant_written: Callable[[str, str, list[FindingChange]], Awaitable[None] | None] | None = None
    on_run_completed: Callable[[str], Awaitable[None] | None] | None = None   # once per run
    check_stale: Callable[[datetime | None], Awaitable[Any] | Any] | None = None  # on every timer tick

    @classmethod
    def from_alerts(cls, alerts: Any | None) -> Hooks:
        """Adapt an alerts object: `record`, `on_tenant_written`, `on_run_completed`, `check_stale`."""
        if alerts is None:
            return cls()
        return cls(on_changes=getattr(alerts, "record", None),
                   on_tenant_written=getattr(alerts, "on_tenant_written", None),
                   on_run_completed=getattr(alerts, "on_run_completed", None),
                   check_stale=getattr(alerts, "check_stale", None))


NO_HOOKS = Hooks()
