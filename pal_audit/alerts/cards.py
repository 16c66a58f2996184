"""Adaptive Cards (schema 1.5) for Teams, pure.

Teams Workflows ("Send webhook alerts to a channel") posts `attachments[0].content` as the card. Not
the retired Office 365 connector MessageCard format. Only standard 1.5 elements are used (no `msteams`
host extension), so every card validates against the Adaptive Card schema the tests keep.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pal_audit.alerts.policy import StormSummary, digest_order
from pal_audit.alerts.present import AlertItem
from pal_audit.model import Severity, Transition

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
# Teams refuses messages above ~28 KB; stay clear of it and say what was left out.
MAX_CARD_BYTES = 24_000

Card = dict[str, Any]


def teams_payload(card: Card) -> dict[str, Any]:
    """The body a Workflows webhook expects."""
    return {"type": "message",
            "attachments": [{"contentType": CONTENT_TYPE, "contentUrl": None, "content": card}]}


def _card(body: list[Card], fallback: str, actions: list[Card] | None = None) -> Card:
    card: Card = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION,
                  "fallbackText": fallback, "body": body}
    if actions:
        card["actions"] = actions
    return card


def _text(text: str, **style: Any) -> Card:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _facts(pairs: Sequence[tuple[str, str]]) -> Card:
    return {"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in pairs]}


def _open(url: str) -> Card:
    return {"type": "Action.OpenUrl", "title": "Open in the Azure portal", "url": url}


DASHBOARD_TITLE = "Open the coverage dashboard"


def with_dashboard(card: Card, url: str) -> Card:
    """The card with a link to the coverage dashboard as its last action (a new card; pure)."""
    action = {"type": "Action.OpenUrl", "title": DASHBOARD_TITLE, "url": url}
    return {**card, "actions": [*card.get("actions", []), action]}


def _color(item: AlertItem) -> str:
    if item.transition is Transition.RESOLVED:
        return "Good"
    return {Severity.HIGH: "Attention", Severity.MEDIUM: "Warning", Severity.LOW: "Accent"}[item.severity]


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _item_blocks(item: AlertItem) -> list[Card]:
    return [
        _facts([("What happened", item.what_happened), ("Tenant", item.tenant),
                ("Identity", f"{item.identity} ({item.principal_id})"),
                ("Check", f"{item.title} ({item.check_id})"), ("Severity", item.severity.value),
                ("Run", f"{item.run_id}, {_when(item.at)}")]),
        _text("**What was seen**", spacing="Medium"),
        _text(item.detail),
        _text("**Fix**" if item.opening else "**Fix (for reference)**", spacing="Medium"),
        _text(item.remediation),
    ]


def alert_card(item: AlertItem) -> Card:
    head = f"{item.transition.value}: {item.title}"
    return _card(
        [_text(head, size="Large", weight="Bolder", style="heading", color=_color(item)),
         _text(f"{item.severity.value.upper()} severity · pal-audit", isSubtle=True, spacing="None"),
         *_item_blocks(item)],
        fallback=f"pal-audit {head} ({item.identity} in tenant {item.tenant})",
        actions=[_open(item.portal_url)])


def _size(card: Card) -> int:
    return len(json.dumps(teams_payload(card)).encode())


def digest_card(run_id: str, items: Sequence[AlertItem]) -> Card:
    ordered = digest_order(items)
    counts = " · ".join(f"{n} {t.value}" for t in Transition
                        if (n := sum(1 for i in ordered if i.transition is t)))
    head = f"pal-audit digest: {len(ordered)} change{'s' if len(ordered) != 1 else ''} in run {run_id}"
    card = _card([_text(head, size="Large", weight="Bolder", style="heading"),
                  _text(counts, isSubtle=True, spacing="None")], fallback=f"{head} ({counts})")
    for shown, item in enumerate(ordered):
        block = {"type": "Container", "separator": True, "spacing": "Large", "items": [
            _text(f"{item.transition.value} · {item.severity.value} · {item.title}", weight="Bolder",
                  color=_color(item)),
            *_item_blocks(item),
            {"type": "ActionSet", "actions": [_open(item.portal_url)]}]}
        card["body"].append(block)
        if _size(card) > MAX_CARD_BYTES:
            card["body"].pop()
            card["body"].append(_text(
                f"… and {len(ordered) - shown} more change(s) not shown here: see the e-mail digest or "
                "`GET /api/findings`.", weight="Bolder", spacing="Large"))
            break
    return card


def storm_card(s: StormSummary) -> Card:
    head = f"pal-audit storm breaker: {s.opening} new findings in run {s.run_id}"
    body = [
        _text(head, size="Large", weight="Bolder", style="heading", color="Attention"),
        _text(f"More than {s.threshold} findings opened in one run, so the individual alerts of this run "
              "are replaced by this one summary.", spacing="None"),
        _facts([(k, str(v)) for k, v in s.by_transition.items()]
               + [(f"{k} severity", str(v)) for k, v in s.by_severity.items()]
               + [("Tenants affected", str(s.tenants)),
                  ("Already alerted individually", str(s.already_sent))]),
        _text("**Most frequent checks**", spacing="Medium"),
        _facts([(str(n), title) for title, n in s.by_check]),
    ]
    if s.top_tenants:
        body += [_text("**Tenants with most changes**", spacing="Medium"),
                 _facts([(str(n), tenant) for tenant, n in s.top_tenants])]
    body.append(_text("**Fix**: review the list with `pal-audit scan --format csv` or "
                      "`GET /api/findings?status=open`; a common cause is a changed partner ID or a new "
                      "registry.", spacing="Medium"))
    return _card(body, fallback=head)


def stale_card(hours: int, last_success: datetime | None, now: datetime) -> Card:
    head = f"pal-audit: no successful run for {hours} hours or more"
    seen = _when(last_success) if last_success else "never (since monitoring started)"
    return _card([
        _text(head, size="Large", weight="Bolder", style="heading", color="Attention"),
        _facts([("Last successful run", seen), ("Checked at", _when(now)),
                ("Threshold", f"{hours} hours")]),
        _text("**Fix**: check the Function App (timer trigger, the `pal-audit-tenants` queue and its "
              "poison queue) and Application Insights for errors; `GET /api/health` shows the last run.",
              spacing="Medium"),
    ], fallback=head)
