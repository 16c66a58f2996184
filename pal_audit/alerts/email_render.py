"""E-mail bodies, pure: an HTML part with a plain-text alternative, and the MIME message.

Every value from a finding is HTML-escaped; subjects are single-line (no header injection).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid

from pal_audit.alerts.policy import StormSummary, digest_order
from pal_audit.alerts.present import AlertItem
from pal_audit.model import Transition

MAX_DIGEST_ROWS = 500   # beyond this the mail says how many were left out


@dataclass(frozen=True)
class Mail:
    subject: str
    text: str
    html: str


def _line(s: str) -> str:
    return " ".join(s.split())[:200]


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _e(s: str) -> str:
    return html.escape(s, quote=True)


_CSS = "font-family:Segoe UI,Arial,sans-serif;font-size:14px"


_FOOTER = '<p style="color:#666;font-size:12px">Sent by pal-audit.</p></body></html>'
DASHBOARD_LABEL = "Coverage dashboard"


def _page(title: str, inner: str) -> str:
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{_e(title)}</title></head>'
            f'<body style="{_CSS}"><h2>{_e(title)}</h2>{inner}{_FOOTER}')


def with_dashboard(mail: Mail, url: str) -> Mail:
    """The mail with a link to the coverage dashboard at the end of both parts (pure)."""
    link = f'<p><a href="{_e(url)}">{DASHBOARD_LABEL}</a>: which customers earn credit, and since when.</p>'
    head, _, _ = mail.html.rpartition(_FOOTER)
    text = f"{mail.text.rstrip()}\n\n{DASHBOARD_LABEL}: {url}\n"
    return Mail(mail.subject, text, head + link + _FOOTER)


def _facts(item: AlertItem) -> list[tuple[str, str]]:
    return [("What happened", item.what_happened), ("Tenant", item.tenant),
            ("Identity", f"{item.identity} ({item.principal_id})"),
            ("Check", f"{item.title} ({item.check_id})"),
            ("Severity", item.severity.value), ("Run", f"{item.run_id}, {_when(item.at)}")]


def _fix_label(item: AlertItem) -> str:
    return "Fix" if item.opening else "Fix (for reference)"


def _item_text(item: AlertItem) -> str:
    facts = "\n".join(f"{k}: {v}" for k, v in _facts(item))
    return (f"{facts}\nWhat was seen: {item.detail}\n{_fix_label(item)}: {item.remediation}\n"
            f"Azure portal: {item.portal_url}\n")


def _item_html(item: AlertItem) -> str:
    rows = "".join(f'<tr><th align="left" style="padding-right:12px">{_e(k)}</th><td>{_e(v)}</td></tr>'
                   for k, v in _facts(item))
    return (f"<table>{rows}</table><p><b>What was seen</b><br>{_e(item.detail)}</p>"
            f"<p><b>{_fix_label(item)}</b><br>{_e(item.remediation)}</p>"
            f'<p><a href="{_e(item.portal_url)}">Open in the Azure portal</a></p>')


def alert_mail(item: AlertItem) -> Mail:
    title = f"{item.transition.value}: {item.title}"
    subject = _line(f"[pal-audit] {item.transition.value} {item.severity.value}: {item.title} "
                    f"({item.identity} in {item.tenant})")
    return Mail(subject, f"{title}\n\n{_item_text(item)}", _page(title, _item_html(item)))


def digest_mail(run_id: str, items: Sequence[AlertItem]) -> Mail:
    ordered = digest_order(items)
    counts = ", ".join(f"{n} {t.value}" for t in Transition
                       if (n := sum(1 for i in ordered if i.transition is t)))
    title = f"pal-audit digest: {len(ordered)} change(s) in run {run_id}"
    shown, rest = ordered[:MAX_DIGEST_ROWS], len(ordered) - MAX_DIGEST_ROWS
    more = f"… and {rest} more: see GET /api/findings." if rest > 0 else ""
    text = f"{title} ({counts})\n\n" + "\n".join(
        f"{i.transition.value} · {i.severity.value} · {i.title}\n{_item_text(i)}" for i in shown) + more
    inner = f"<p>{_e(counts)}</p>" + "".join(
        f"<hr><h3>{_e(f'{i.transition.value} · {i.severity.value} · {i.title}')}</h3>{_item_html(i)}"
        for i in shown) + (f"<p><b>{_e(more)}</b></p>" if more else "")
    return Mail(_line(f"[pal-audit] Digest for run {run_id}: {counts}"), text, _page(title, inner))


def storm_mail(s: StormSummary) -> Mail:
    title = f"pal-audit storm breaker: {s.opening} new findings in run {s.run_id}"
    why = (f"More than {s.threshold} findings opened in one run, so the individual alerts of this run are "
           "replaced by this one summary.")
    facts = ([(k, str(v)) for k, v in s.by_transition.items()]
             + [(f"{k} severity", str(v)) for k, v in s.by_severity.items()]
             + [("Tenants affected", str(s.tenants)), ("Already alerted individually", str(s.already_sent))]
             + [(f"Check: {title_}", str(n)) for title_, n in s.by_check]
             + [(f"Tenant: {t}", str(n)) for t, n in s.top_tenants])
    fix = ("Fix: review the list with `pal-audit scan --format csv` or `GET /api/findings?status=open`; a "
           "common cause is a changed partner ID or a new registry.")
    text = f"{title}\n\n{why}\n\n" + "\n".join(f"{k}: {v}" for k, v in facts) + f"\n\n{fix}\n"
    rows = "".join(f"<tr><th align='left'>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts)
    return Mail(_line(f"[pal-audit] Storm: {s.opening} new findings in run {s.run_id}"), text,
                _page(title, f"<p>{_e(why)}</p><table>{rows}</table><p>{_e(fix)}</p>"))


def stale_mail(hours: int, last_success: datetime | None, now: datetime) -> Mail:
    title = f"pal-audit: no successful run for {hours} hours or more"
    seen = _when(last_success) if last_success else "never (since monitoring started)"
    fix = ("Fix: check the Function App (timer trigger, the pal-audit-tenants queue and its poison queue) "
           "and Application Insights for errors; GET /api/health shows the last run.")
    text = f"{title}\n\nLast successful run: {seen}\nChecked at: {_when(now)}\n\n{fix}\n"
    inner = (f"<p>Last successful run: {_e(seen)}<br>Checked at: {_e(_when(now))}</p><p>{_e(fix)}</p>")
    return Mail(_line(f"[pal-audit] No successful run for {hours} hours"), text, _page(title, inner))


def to_mime(mail: Mail, sender: str, recipients: Sequence[str]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = mail.subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    return msg
