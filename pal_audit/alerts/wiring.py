"""Settings -> channels, and the list of secrets that must never appear in a recorded error."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pal_audit.alerts.delivery import Channel, RefusedChannel
from pal_audit.alerts.email import AcsMailer, SmtpMailer
from pal_audit.alerts.options import AlertOptions
from pal_audit.alerts.teams import TeamsWebhook
from pal_audit.alerts.webhook_url import WebhookUrlError
from pal_audit.settings import Settings

log = logging.getLogger("pal_audit.alerts")


def channels_from_settings(settings: Settings, options: AlertOptions, *, ca_bundle: str | None = None
                           ) -> list[Channel]:
    """Teams when a webhook URL is set; e-mail through ACS when its connection string is set, else SMTP."""
    channels: list[Channel] = []
    if settings.teams_webhook_url:
        try:
            channels.append(TeamsWebhook(
                settings.teams_webhook_url, allowed_hosts=settings.webhook_allowed_hosts, ca_bundle=ca_bundle,
                timeout=options.webhook_timeout, attempts=options.webhook_attempts,
                max_retry_after=options.max_retry_after, backoff=options.backoff, sleep=options.sleep))
        except WebhookUrlError as e:   # the audit goes on; every alert records the refusal
            log.error("PAL_AUDIT_TEAMS_WEBHOOK_URL refused: %s", e)
            channels.append(RefusedChannel("teams", f"webhook URL refused: {e}"))
    sender, recipients = settings.email_sender, settings.email_recipients
    if settings.acs_connection_string and sender and recipients:
        extra: dict[str, Any] = {"polling_interval": options.acs_polling_interval}
        if ca_bundle:
            extra["connection_verify"] = ca_bundle
        channels.append(AcsMailer(settings.acs_connection_string, sender=sender, recipients=recipients,
                                  **extra))
    elif settings.smtp_host and sender and recipients:
        channels.append(SmtpMailer(
            settings.smtp_host, settings.smtp_port, sender=sender, recipients=recipients,
            username=settings.smtp_username, password=settings.smtp_password, ca_bundle=ca_bundle,
            timeout=options.smtp_timeout))
    return channels


def secrets_of(settings: Settings) -> list[str]:
    """Values to scrub from any recorded error: the webhook URL and its signature, passwords, keys."""
    out = [settings.smtp_password or "", settings.acs_connection_string or ""]
    if url := settings.teams_webhook_url:
        out += [url, urlsplit(url).query] + [v for _, v in parse_qsl(urlsplit(url).query) if len(v) >= 8]
    if conn := settings.acs_connection_string:
        out += re.findall(r"(?i)accesskey=([^;]+)", conn)
    return [s for s in out if s]
