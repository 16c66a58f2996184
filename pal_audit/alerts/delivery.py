"""Channels and the delivery of one message to all of them, recording each channel's outcome.

A channel raises `DeliveryError` (transient or permanent) and nothing else on a failed delivery; its
reason is short and never contains a secret (callers still pass it through `redact`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from pal_audit.alerts.messages import Message

log = logging.getLogger("pal_audit.alerts")

SENT, FAILED, PENDING = "sent", "failed", "pending"


class DeliveryError(Exception):
    def __init__(self, reason: str, *, permanent: bool, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after     # seconds the receiver asked us to wait, if it said


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> None: ...


class RefusedChannel:
    """A channel whose configuration was refused (e.g. a webhook host not allowed): every delivery
    fails permanently with the reason, so the refusal is recorded on each alert, not silently ignored."""

    def __init__(self, name: str, reason: str):
        self.name, self.reason = name, reason

    def send(self, message: Message) -> None:
        raise DeliveryError(self.reason, permanent=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return text[:500]


@dataclass(frozen=True)
class Outcome:
    states: dict[str, str]           # channel name -> sent | failed | pending
    errors: dict[str, str]           # channel name -> reason (redacted)
    retry_after: float | None

    @property
    def status(self) -> str:
        if all(s == SENT for s in self.states.values()):
            return SENT
        return PENDING if PENDING in self.states.values() else FAILED


def deliver(message: Message, channels: Sequence[Channel], previous: Mapping[str, str], *,
            last_attempt: bool, secrets: Iterable[str] = ()) -> Outcome:
    """Send to every channel that has not yet succeeded or failed for good."""
    secrets = tuple(secrets)
    states, errors, hint = dict(previous), {}, None
    for ch in channels:
        if states.get(ch.name) in (SENT, FAILED):
            continue
        try:
            ch.send(message)
            states[ch.name] = SENT
            log.info("alert %s sent via %s", message.key, ch.name)
        except DeliveryError as e:
            final = e.permanent or last_attempt
            states[ch.name] = FAILED if final else PENDING
            errors[ch.name] = redact(e.reason, secrets)
            if e.retry_after:
                hint = max(hint or 0.0, e.retry_after)
            (log.error if final else log.warning)("alert %s via %s %s: %s", message.key, ch.name,
                                                  "failed" if final else "will be retried", errors[ch.name])
        except Exception as e:  # a bug in a channel must not lose the alert: retry, then record
            states[ch.name] = FAILED if last_attempt else PENDING
            errors[ch.name] = f"unexpected {type(e).__name__}"
            # no traceback: exception texts of HTTP/SMTP libraries may quote URLs or server replies
            log.error("alert %s via %s: unexpected %s", message.key, ch.name, type(e).__name__)
    return Outcome(states, errors, hint)
