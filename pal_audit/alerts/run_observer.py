"""The alerts as the service's async hooks (`pal_audit.service.Hooks.from_alerts`).

`build_alerts(settings, store)` is the factory the service looks up. The blocking work (Table
Storage, HTTPS, SMTP) runs in a worker thread so the Functions event loop stays free.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pal_audit.alerts.delivery import Channel
from pal_audit.alerts.dispatcher import AlertOptions, Alerts
from pal_audit.model import FindingChange

log = logging.getLogger("pal_audit.alerts")


class ServiceAlerts:
    def __init__(self, alerts: Alerts):
        self.alerts = alerts

    async def record(self, changes: list[FindingChange]) -> None:
        """Before the commit. Raises if the outbox cannot be written, so the tenant is retried."""
        await asyncio.to_thread(self.alerts.record, changes)

    async def on_tenant_written(self, run_id: str, tenant_id: str, changes: Sequence[FindingChange]) -> None:
        """After the commit. Never fails the tenant: what is not sent now is retried from the outbox."""
        try:
            await asyncio.to_thread(self.alerts.deliver, list(changes))
        except Exception as exc:
            log.error("run %s, tenant %s: immediate alerts deferred (%s)", run_id, tenant_id,
                      type(exc).__name__)

    async def on_run_completed(self, run_id: str) -> None:
        await asyncio.to_thread(self.alerts.on_run_completed, run_id)

    async def check_stale(self, last_success: datetime | None, now: datetime | None = None) -> bool:
        return await asyncio.to_thread(self.alerts.check_stale, last_success, now)


def table_service_for(config: Any) -> Any:
    """A sync TableServiceClient on the store's account (connection string or managed identity)."""
    from azure.data.tables import TableServiceClient

    options = {"retry_total": 3, "connection_timeout": 10, "read_timeout": 30}
    if config.connection_string:
        return TableServiceClient.from_connection_string(config.connection_string, **options)
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    credential = (ManagedIdentityCredential(client_id=config.client_id) if config.client_id
                  else DefaultAzureCredential())
    return TableServiceClient(config.table_endpoint, credential=credential, **options)


def build_alerts(settings: Any, store: Any, *, sink: Channel | None = None, ca_bundle: str | None = None,
                 options: AlertOptions | None = None) -> ServiceAlerts | None:
    """None when no alert channel is configured (nothing to record for)."""
    if not (settings.teams_webhook_url or settings.smtp_host or settings.acs_connection_string or sink):
        log.warning("no alert channel configured (PAL_AUDIT_TEAMS_WEBHOOK_URL, SMTP or ACS): alerts are off")
        return None
    alerts = Alerts.from_settings(settings, table_service_for(store.config), sink=sink, ca_bundle=ca_bundle,
                                  options=options)
    return ServiceAlerts(alerts)
