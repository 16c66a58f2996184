"""E-mail delivery: SMTP (STARTTLS, then login) or Azure Communication Services Email.

SMTP never falls back to plain text: a server without STARTTLS is a permanent failure. SMTP replies
5xx fail permanently, 4xx and connection errors are transient. Reasons carry codes, never the
password or the server's text.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from collections.abc import Sequence
from typing import Any

from pal_audit.alerts.delivery import DeliveryError
from pal_audit.alerts.email_render import to_mime
from pal_audit.alerts.messages import Message


class SmtpMailer:
    name = "email"

    def __init__(self, host: str, port: int, *, sender: str, recipients: Sequence[str],
                 username: str | None = None, password: str | None = None, ca_bundle: str | None = None,
                 timeout: float = 15.0):
        self.host, self.port = host, port
        self._sender, self._recipients = sender, tuple(recipients)
        self._username, self._password = username, password
        self._ctx = ssl.create_default_context(cafile=ca_bundle)
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"SmtpMailer(host={self.host!r}, port={self.port})"

    def send(self, message: Message) -> None:
        mime = to_mime(message.mail, self._sender, self._recipients)
        where = f"{self.host}:{self.port}"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self._timeout) as smtp:
                smtp.ehlo()
                smtp.starttls(context=self._ctx)
                smtp.ehlo()
                if self._username:
                    smtp.login(self._username, self._password or "")
                smtp.send_message(mime, from_addr=self._sender, to_addrs=list(self._recipients))
        except smtplib.SMTPNotSupportedError:
            raise DeliveryError(f"SMTP server {where} does not offer STARTTLS", permanent=True) from None
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryError(f"SMTP server {where} refused the recipients", permanent=True) from None
        except smtplib.SMTPResponseException as e:
            raise DeliveryError(f"SMTP {e.smtp_code} from {where}", permanent=e.smtp_code >= 500) from None
        except ssl.SSLCertVerificationError:
            raise DeliveryError(f"TLS certificate of {where} not trusted", permanent=True) from None
        except (OSError, smtplib.SMTPException) as e:
            raise DeliveryError(f"{type(e).__name__} talking to {where}", permanent=False) from None


class AcsMailer:
    """Azure Communication Services Email; the send is idempotent per alert (Operation-Id)."""

    name = "email"

    def __init__(self, connection_string: str, *, sender: str, recipients: Sequence[str],
                 timeout: float = 120.0, **client_kwargs: Any):
        self._conn = connection_string
        self._sender, self._recipients = sender, tuple(recipients)
        self._timeout = timeout
        self._client_kwargs = client_kwargs      # e.g. connection_verify, retry_total (tests)

    def __repr__(self) -> str:
        return "AcsMailer()"

    def send(self, message: Message) -> None:
        from azure.communication.email import EmailClient  # heavy import: only when mail is sent
        from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

        mail = message.mail
        body = {"senderAddress": self._sender,
                "recipients": {"to": [{"address": a} for a in self._recipients]},
                "content": {"subject": mail.subject, "plainText": mail.text, "html": mail.html}}
        op_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"pal-audit:{message.key}"))
        try:
            client = EmailClient.from_connection_string(self._conn, **self._client_kwargs)
            with client:
                poller = client.begin_send(body, operation_id=op_id)
                poller.wait(timeout=self._timeout)
                if not poller.done():   # accepted, not finished: a retry with the same Operation-Id is safe
                    raise DeliveryError("ACS Email send still running", permanent=False)
                result = poller.result()
        except HttpResponseError as e:
            code = e.status_code or 0
            permanent = 400 <= code < 500 and code not in (408, 429)
            raise DeliveryError(f"ACS Email HTTP {code}", permanent=permanent) from None
        except (ServiceRequestError, ServiceResponseError, OSError) as e:
            raise DeliveryError(f"ACS Email {type(e).__name__}", permanent=False) from None
        except ValueError:
            raise DeliveryError("ACS Email connection string is malformed", permanent=True) from None
        status = (result or {}).get("status")
        if status != "Succeeded":
            raise DeliveryError(f"ACS Email send ended with status {status}", permanent=True)
