"""Webhook URL safety: findings may only go to Teams Workflows / Power Automate, over https.

A mistyped or malicious `PAL_AUDIT_TEAMS_WEBHOOK_URL` must not send findings to an arbitrary address.
Allowed by default (suffix match on a dot boundary, port 443 only):
- `*.logic.azure.com`: Workflows / Logic Apps request-trigger URLs
  (`https://prod-NN.<region>.logic.azure.com:443/workflows/<id>/triggers/manual/paths/invoke?...&sig=...`);
- `*.api.powerplatform.com`: Workflows URLs of Power Platform environments
  (`https://<env>.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/...`).
Not allowed by default: `*.webhook.office.com` / `outlook.office.com`, the retired Office 365 connector
hosts. Anything else (sovereign clouds, a proxy, a local test receiver) must be listed in
`PAL_AUDIT_WEBHOOK_ALLOWED_HOSTS` (exact names, or `*.suffix`); listed hosts may use any port.
The URL's query carries the `sig` secret: errors and logs name the host only, never the URL.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

DEFAULT_HOST_SUFFIXES: tuple[str, ...] = ("logic.azure.com", "api.powerplatform.com")


class WebhookUrlError(ValueError):
    """The URL is refused; the message never contains the URL itself."""


def _matches(host: str, pattern: str) -> bool:
    pattern = pattern.strip().lower().rstrip(".")
    if pattern.startswith("*."):
        suffix = pattern[2:]
        return host.endswith("." + suffix)
    return host == pattern


def validate_webhook_url(url: str, extra_hosts: Iterable[str] = ()) -> str:
    """Return the URL when it may be used, else raise WebhookUrlError naming the reason."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise WebhookUrlError("webhook URL is malformed") from None
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme.lower() != "https":
        raise WebhookUrlError(f"webhook URL must use https (host {host or '?'})")
    if not host:
        raise WebhookUrlError("webhook URL has no host")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlError(f"webhook URL must not carry credentials before the host ({host})")
    if any(_matches(host, p) for p in extra_hosts if p.strip()):
        return url.strip()
    if any(host == s or host.endswith("." + s) for s in DEFAULT_HOST_SUFFIXES):
        if port not in (None, 443):
            raise WebhookUrlError(f"webhook URL must use port 443 (host {host})")
        return url.strip()
    raise WebhookUrlError(f"webhook host {host} is not a Teams Workflows / Power Automate host; add it to "
                          "PAL_AUDIT_WEBHOOK_ALLOWED_HOSTS if it is trusted")
