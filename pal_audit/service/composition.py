"""The composition root: the one place that puts the alerts into the service.

The Functions triggers (`function_app.py`) open their context through `APP`, the CLI through
`alerts_observer`. Everything else in the service takes its `RunObserver` as an argument and never
looks the alerts up; this module is the only one in `service/` that imports `pal_audit.alerts`
(the layer below), and only when an invocation opens its context, so indexing the app at cold
start loads none of it.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from pal_audit.service.context import AppContext, open_context
from pal_audit.service.observer import NO_OBSERVER, ObserverFactory, RunObserver
from pal_audit.settings import Settings
from pal_audit.store import Store


def alerts_observer(settings: Settings, store: Store) -> RunObserver:
    """The alerts (Teams, e-mail) as the observer of runs; no channel configured: none."""
    from pal_audit.alerts import build_alerts

    return build_alerts(settings, store) or NO_OBSERVER


@dataclass
class AppRoot:
    """How the Functions app's invocations are wired: which observer watches their runs."""

    observer: ObserverFactory = alerts_observer

    def open(self, settings: Settings | None = None, **client_options: Any
             ) -> AbstractAsyncContextManager[AppContext]:
        """An invocation's context (`open_context`) with this root's observer."""
        return open_context(settings, observer=self.observer, **client_options)


# The Functions app's root. A test that drives the triggers gives it its own observer
# (`AppRoot(observer=...)` swapped in for APP, or APP.observer set for the test).
APP = AppRoot()
