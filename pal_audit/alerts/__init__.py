"""Alerts on finding changes: Teams (Workflows webhook + Adaptive Cards) and e-mail (SMTP or ACS).

The service's observer of runs: `build_alerts(settings, store)` gives an `AlertsObserver` (async,
it matches the service's `RunObserver` protocol), which the composition root passes in. Underneath,
`Alerts` (sync) with `on_changes` (= `record` + `deliver`), `on_run_completed`, `check_stale`, built
by `Alerts.for_table(settings, table)` on the store's `PalAlerts` client. Demo / dry run:
`preview(changes)` and `FileSink(folder)`.
"""

from pal_audit.alerts.delivery import DeliveryError
from pal_audit.alerts.dispatcher import Alerts
from pal_audit.alerts.messages import Message
from pal_audit.alerts.options import AlertOptions
from pal_audit.alerts.preview import preview
from pal_audit.alerts.run_observer import AlertsObserver, build_alerts
from pal_audit.alerts.sinks import FileSink
from pal_audit.alerts.webhook_url import WebhookUrlError, validate_webhook_url

__all__ = ["AlertOptions", "Alerts", "AlertsObserver", "DeliveryError", "FileSink", "Message",
           "WebhookUrlError", "build_alerts", "preview", "validate_webhook_url"]
