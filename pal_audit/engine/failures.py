"""Exception -> AuditError with a reason code (docs/checks.md, `audit_error`).

Messages are built from status codes and ARM/AADSTS error codes only, trimmed to one line, so
no token, secret or request body can leak into a finding or an alert.
"""

from __future__ import annotations

import asyncio
import re

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from pal_audit.engine.budget import ThrottledBeyondBudget
from pal_audit.engine.credentials import CredentialConfigError
from pal_audit.engine.errors import AssignmentsUnreadable, WrongTenant
from pal_audit.model import AuditError

_AADSTS = re.compile(r"AADSTS\d+:[^\r\n.]*\.?")
_DIRECTORY = re.compile(r"(in the directory|directory) '[^']*'", re.IGNORECASE)  # AADSTS names the tenant
_BEARERISH = re.compile(r"(eyJ[\w-]{10,}\.[\w-]+\.?[\w-]*|Bearer\s+\S+)", re.IGNORECASE)


def _one_line(text: str, limit: int = 300) -> str:
    text = _BEARERISH.sub("[redacted]", " ".join(str(text).split()))
    text = _DIRECTORY.sub(r"\1 of this tenant", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _arm_code(exc: HttpResponseError) -> str:
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    return f" {code}" if code else ""


def classify(exc: BaseException, *, step: str, throttled: bool = False) -> AuditError:
    """Map an exception raised while auditing a unit to an AuditError.

    `step` says what was being done; `throttled` says the budget ran out while waiting out a
    Retry-After, which makes a timeout a throttling problem, not a slow-service one.
    """
    if isinstance(exc, ThrottledBeyondBudget):
        return AuditError("throttled", f"{step}: {exc.message}")
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)) and throttled:
        return AuditError("throttled", f"{step}: the unit's time budget ran out while ARM throttled it")
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return AuditError("timeout", f"{step}: the unit's time budget ran out")
    if isinstance(exc, WrongTenant):
        return AuditError("auth_failed", f"{step}: {exc}")
    if isinstance(exc, AssignmentsUnreadable):
        return AuditError("forbidden", f"{step}: {exc}")
    if isinstance(exc, CredentialConfigError):
        return AuditError("auth_failed", f"{step}: {exc}")
    if isinstance(exc, ClientAuthenticationError):
        status = getattr(exc, "status_code", None)
        # The sign-in service itself throttling or failing is not a credential problem: saying
        # auth_failed would send operators to rotate a secret that is fine.
        if status == 429:
            return AuditError("throttled", _one_line(
                f"{step}: the sign-in service answered HTTP 429 (throttled); the next run retries"))
        if isinstance(status, int) and status >= 500:
            return AuditError("unexpected", _one_line(
                f"{step}: the sign-in service answered HTTP {status} (an outage on its side, not a "
                "credential problem); the next run retries"))
        found = _AADSTS.search(str(exc.message or ""))
        reason = found.group(0) if found else (f"HTTP {status}" if status else "sign-in refused")
        return AuditError("auth_failed", _one_line(f"{step}: {reason}"))
    if isinstance(exc, ResourceNotFoundError):
        return AuditError("not_found", _one_line(f"{step}: HTTP 404{_arm_code(exc)}"))
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        label = f"{step}: HTTP {status}{_arm_code(exc)}"
        if status == 403:
            return AuditError("forbidden", _one_line(label))
        if status == 429:
            return AuditError("throttled", _one_line(label + " (retries exhausted)"))
        if status == 401:
            return AuditError("auth_failed", _one_line(label))
        return AuditError("unexpected", _one_line(label))
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return AuditError("unexpected", _one_line(f"{step}: connection failed: {type(exc).__name__}"))
    return AuditError("unexpected", _one_line(f"{step}: {type(exc).__name__}"))
