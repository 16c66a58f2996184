"""Teams delivery: POST an Adaptive Card to a Workflows webhook.

Responses: 2xx delivered; 429 waits `Retry-After` (capped) and retries; 408 and 5xx retry with
exponential backoff; other 4xx (and 3xx: redirects are never followed, so the message cannot be bounced
to another host) fail permanently. A Retry-After above the cap ends this invocation's attempts. When
retries run out the failure is transient: the outbox retries it in a later invocation (not before the
Retry-After) and finally records it as failed.
"""

from __future__ import annotations

import http.client
import json
import ssl
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from pal_audit.alerts.cards import teams_payload
from pal_audit.alerts.delivery import DeliveryError
from pal_audit.alerts.messages import Message
from pal_audit.alerts.webhook_url import validate_webhook_url


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class TeamsWebhook:
    name = "teams"

    def __init__(self, url: str, *, allowed_hosts: Iterable[str] = (), ca_bundle: str | None = None,
                 timeout: float = 10.0, attempts: int = 3, max_retry_after: float = 10.0,
                 backoff: float = 1.0, sleep: Callable[[float], None] = time.sleep):
        self._url = validate_webhook_url(url, allowed_hosts)
        parts = urlsplit(self._url)
        self.host = parts.hostname or ""
        self._port = parts.port or 443
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # production verifies against the system CAs; tests pass their own CA, never "no verification"
        self._ctx = ssl.create_default_context(cafile=ca_bundle)
        self._timeout, self._attempts = timeout, max(1, attempts)
        self._max_wait, self._backoff, self._sleep = max_retry_after, backoff, sleep

    def __repr__(self) -> str:        # the URL's query is a secret
        return f"TeamsWebhook(host={self.host!r})"

    def _post(self, body: bytes) -> tuple[int, str | None]:
        conn = http.client.HTTPSConnection(self.host, self._port, timeout=self._timeout, context=self._ctx)
        try:
            conn.request("POST", self._path, body=body,
                         headers={"Content-Type": "application/json", "User-Agent": "pal-audit"})
            resp = conn.getresponse()
            resp.read(65536)
            return resp.status, resp.getheader("Retry-After")
        finally:
            conn.close()

    def post(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        reason, hint = "no attempt", None
        for attempt in range(self._attempts):
            wait = self._backoff * 2 ** attempt
            try:
                status, retry_after = self._post(body)
            except ssl.SSLCertVerificationError:
                raise DeliveryError(f"TLS certificate of {self.host} not trusted", permanent=True) from None
            except (OSError, http.client.HTTPException) as e:
                reason = f"{type(e).__name__} talking to {self.host}"
            else:
                if 200 <= status < 300:
                    return
                reason = f"HTTP {status} from {self.host}"
                if status == 429:
                    hint = parse_retry_after(retry_after)
                    if hint is not None and hint > self._max_wait:
                        break   # longer than this invocation may wait: a later one retries after `hint`
                    wait = hint if hint is not None else wait
                elif status != 408 and status < 500:
                    raise DeliveryError(reason, permanent=True)
            if attempt + 1 < self._attempts:
                self._sleep(min(wait, self._max_wait))
        raise DeliveryError(reason, permanent=False, retry_after=hint)

    def send(self, message: Message) -> None:
        self.post(teams_payload(message.card))
