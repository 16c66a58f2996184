"""Shared data and builders for the alert tests (imported by conftest and the test modules)."""

from __future__ import annotations

import base64
import socket
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pal_audit.model import Finding, FindingChange, Severity, Transition

if TYPE_CHECKING:
    from conftest import Receiver, SmtpServer

DATA = Path(__file__).parent / "data"
SIG = "Zm9yLXRlc3RzLW9ubHktc2lnbmF0dXJlLXZhbHVlXzEyMzQ"   # the webhook URL's secret part
SMTP_USER, SMTP_PASSWORD = "alerts@contoso.example", "smtp-Pa55word-never-shown"
ACS_KEY = base64.b64encode(b"acs-access-key-never-shown").decode()
T1 = "22222222-2222-2222-2222-222222222222"
T2 = "33333333-3333-3333-3333-333333333333"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailBox:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.envelopes: list[Any] = []
        self.raw: list[bytes] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.envelopes.append(envelope)
        self.raw.append(envelope.original_content or envelope.content)
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content,
                                                policy=policy.default))
        return "250 OK"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


def env_for(receiver: Receiver | None = None, smtp: SmtpServer | None = None, **extra: str) -> dict[str, str]:
    env: dict[str, str] = {}
    if receiver is not None:
        env |= {"PAL_AUDIT_TEAMS_WEBHOOK_URL": receiver.webhook_url,
                "PAL_AUDIT_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}
    if smtp is not None:
        env |= {"PAL_AUDIT_SMTP_HOST": "127.0.0.1", "PAL_AUDIT_SMTP_PORT": str(smtp.port),
                "PAL_AUDIT_SMTP_USERNAME": SMTP_USER, "PAL_AUDIT_SMTP_PASSWORD": SMTP_PASSWORD}
    if smtp is not None or "PAL_AUDIT_ACS_CONNECTION_STRING" in extra:
        env |= {"PAL_AUDIT_EMAIL_SENDER": "pal-audit@contoso.example",
                "PAL_AUDIT_EMAIL_RECIPIENTS": "ops@contoso.example, pal@contoso.example"}
    return env | extra


# -- finding changes --------------------------------------------------------------------------------
CHECKS: dict[str, tuple[Severity, str]] = {
    "link_foreign_partner": (Severity.HIGH, "Identity is linked to another partner's ID (misattribution)"),
    "link_missing": (Severity.HIGH, "Identity has no Partner Admin Link"),
    "link_previous_partner_id": (Severity.MEDIUM, "Identity is linked to a previous partner ID"),
    "link_without_eligible_role": (Severity.MEDIUM, "Linked identity holds no PAL-eligible role"),
    "excessive_privilege": (Severity.LOW, "Privileged role assignment at a broad scope"),
}


def finding(check_id: str = "link_foreign_partner", tenant: str = T1, identity: str = "ops-app",
            principal: str = "44444444-4444-4444-4444-444444444444", qualifier: str = "") -> Finding:
    severity, title = CHECKS[check_id]
    return Finding(check_id=check_id, severity=severity, tenant_id=tenant, principal_id=principal,
                   identity=identity, title=title, qualifier=qualifier,
                   detail=f"Linked to 9999999 (Fabrikam Consulting) in tenant {tenant}; expected 1234567.",
                   remediation=f"Sign in as {identity} and run `az managementpartner update --partner-id "
                               f"1234567` (tenant {tenant}).")


def change(f: Finding, transition: Transition = Transition.NEW, run_id: str = "run-1",
           at: datetime | None = None) -> FindingChange:
    return FindingChange(transition, f, run_id, at or datetime(2026, 3, 2, 2, 5, tzinfo=UTC))
