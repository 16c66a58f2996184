"""The alerts as an observer of runs: `AlertsObserver`, and `build_alerts`, its factory.

`AlertsObserver` has the methods of the service's `RunObserver` protocol (record,
on_tenant_written, on_run_completed, check_stale); it matches it structurally, so the alerts never
import the service (which sits above them). The composition root (`pal_audit.service.composition`)
builds it and passes it in. The blocking work (Table Storage, HTTPS, SMTP) runs in a worker thread
so the Functions event loop stays free.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime

from pal_audit.alerts.delivery import Channel
from pal_audit.alerts.dispatcher import Alerts
from pal_audit.alerts.options import AlertOptions
from pal_audit.model import FindingChange
from pal_audit.settings import Settings
from pal_audit.store import Store

log = logging.getLogger("pal_audit.alerts")


class AlertsObserver:
    def __init__(self, alerts: Alerts):
        self.alerts = alerts

    async def record(self, changes: Sequence[FindingChange]) -> None:
        """Before the commit. Raises if the outbox cannot be written, so the tenant is retried."""
        await asyncio.to_thread(self.alerts.record, list(changes))

    async def on_tenant_written(self, run_id: str, tenant_id: str, changes: Sequence[FindingChange]) -> None:
        """After the commit. Never fails the tenant: what is not sent now is retried from the outbox."""
        try:
            await asyncio.to_thread(self.alerts.deliver, list(changes))
        except Exception as exc:
            log.error("run %s, tenant %s: immediate alerts deferred (%s)", run_id, tenant_id,
                      type(exc).__name__)

    async def on_run_completed(self, run_id: str) -> None:
        await asyncio.to_thread(self.alerts.on_run_completed, run_id)

    async def check_stale(self, last_success: datetime | None) -> bool:
        return await asyncio.to_thread(self.alerts.check_stale, last_success)


def build_alerts(settings: Settings, store: Store, *, sink: Channel | None = None,
                 ca_bundle: str | None = None, options: AlertOptions | None = None) -> AlertsObserver | None:
    """None when no alert channel is configured (nothing to record for): the caller then passes
    the service's no-op observer. The outbox's table client comes from the store."""
    if not (settings.teams_webhook_url or settings.smtp_host or settings.acs_connection_string or sink):
        log.warning("no alert channel configured (PAL_AUDIT_TEAMS_WEBHOOK_URL, SMTP or ACS): alerts are off")
        return None
    alerts = Alerts.for_table(settings, store.alerts_table(), sink=sink, ca_bundle=ca_bundle, options=options)
    return AlertsObserver(alerts)
