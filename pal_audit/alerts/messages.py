"""One outgoing alert rendered for every channel: the Teams card and the e-mail, pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pal_audit.alerts import cards, email_render
from pal_audit.alerts.cards import Card
from pal_audit.alerts.email_render import Mail
from pal_audit.alerts.policy import StormSummary
from pal_audit.alerts.present import AlertItem


@dataclass(frozen=True)
class Message:
    key: str            # stable name, e.g. "<run>/<finding_id>|NEW" or "<run>/digest"
    kind: str           # alert | digest | storm | stale
    card: Card
    mail: Mail


def with_dashboard(message: Message, url: str | None) -> Message:
    """The message linking to the coverage dashboard when its address is configured."""
    if not url:
        return message
    return Message(message.key, message.kind, cards.with_dashboard(message.card, url),
                   email_render.with_dashboard(message.mail, url))


def alert_message(key: str, item: AlertItem) -> Message:
    return Message(key, "alert", cards.alert_card(item), email_render.alert_mail(item))


def digest_message(key: str, run_id: str, items: Sequence[AlertItem]) -> Message:
    return Message(key, "digest", cards.digest_card(run_id, items), email_render.digest_mail(run_id, items))


def storm_message(key: str, summary: StormSummary) -> Message:
    return Message(key, "storm", cards.storm_card(summary), email_render.storm_mail(summary))


def stale_message(key: str, hours: int, last_success: datetime | None, now: datetime) -> Message:
    return Message(key, "stale", cards.stale_card(hours, last_success, now),
                   email_render.stale_mail(hours, last_success, now))
