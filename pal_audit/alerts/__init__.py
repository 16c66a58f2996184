"""Alerts on finding changes: Teams (Workflows webhook + Adaptive Cards) and e-mail (SMTP or ACS).

Service hooks: `build_alerts(settings, store)` (async adapter the service uses), or
`Alerts.from_settings(settings, table_service_client, sink=...)` with `on_changes` (= `record` + `deliver`),
`on_run_completed`, `check_stale`. Demo / dry run: `preview(changes)` and `FileSink(folder)`.
"""

from pal_audit.alerts.delivery import DeliveryError
from pal_audit.alerts.dispatcher import AlertOptions, Alerts
from pal_audit.alerts.messages import Message
from pal_audit.alerts.preview import preview
from pal_audit.alerts.run_observer import ServiceAlerts, build_alerts
from pal_audit.alerts.sinks import FileSink
from pal_audit.alerts.webhook_url import WebhookUrlError, validate_webhook_url

__all__ = ["AlertOptions", "Alerts", "DeliveryError", "FileSink", "Message", "ServiceAlerts",
           "WebhookUrlError", "build_alerts", "preview", "validate_webhook_url"]
