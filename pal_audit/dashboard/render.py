"""The dashboard page: Jinja2 (autoescaped) over the view model, one self-contained HTML file.

Server-side templates keep the page readable without JavaScript and testable as text; the only
script is the filters and the evidence download, inline under a per-render nonce. Charts are
inline SVG. The Content-Security-Policy forbids every fetch, so nothing leaves the page.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from pal_audit.dashboard.charts import trend_svg
from pal_audit.dashboard.evidence import FIELDS, NOTE, row_dict
from pal_audit.dashboard.factoring import Ends
from pal_audit.dashboard.view import SEVERITIES, Dashboard
from pal_audit.textsafe import multi_line, one_line

TEMPLATE = "dashboard.html.j2"


def csp(nonce: str) -> str:
    """No fetch of any kind; only our inline style and script (by nonce) and data: images."""
    return (f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; img-src data:; "
            "base-uri 'none'; form-action 'none'")


@dataclass(frozen=True)
class Page:
    html: str
    nonce: str

    @property
    def csp(self) -> str:
        return csp(self.nonce)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "never"


def _cut(ends: Ends) -> str:
    """The class of a finding's text: which shared end the page's script puts back (see the CSS)."""
    return "pre" + (" p" if ends.prefix else "") + (" s" if ends.suffix else "")


@cache
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("pal_audit.dashboard", "templates"),
                      autoescape=select_autoescape(["html", "j2"], default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    # Azure and registry text: control and direction characters made visible, then autoescaped.
    env.filters["t"] = lambda v: one_line(str(v))
    env.filters["tm"] = lambda v: multi_line(str(v))
    env.filters["when"] = _when
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "separators": (",", ":")}   # compact data
    return env


def render(view: Dashboard, *, nonce: str | None = None) -> Page:
    nonce = nonce or secrets.token_urlsafe(18)
    # Rows as lists in FIELDS order, without customer and tenant id (said once per tenant), each
    # value an index into one list of the distinct strings: partner ids, roles, identity names and
    # verification times repeat on most rows. The page's script puts the rows back together.
    strings: dict[str, int] = {}

    def ref(value: str) -> int:
        return strings.setdefault(value, len(strings))

    evidence: dict[str, tuple[int, list[list[int]]]] = {}
    for row in view.evidence:
        values = list(row_dict(row).values())
        evidence.setdefault(row.tenant_id, (ref(values[0]), []))[1].append([ref(v) for v in values[2:]])
    # Per check, for the page's script: its id and severity (the filters) and its shared texts.
    groups = [{"check": one_line(g.check_id), "severity": one_line(g.severity),
               "ends": [multi_line(e) for e in (g.detail_ends.prefix, g.detail_ends.suffix,
                                                g.fix_ends.prefix, g.fix_ends.suffix)]} for g in view.groups]
    html = _environment().get_template(TEMPLATE).render(
        view=view, nonce=nonce, csp=csp(nonce), severities=SEVERITIES, chart=trend_svg(view.trend),
        group_index={g.check_id: i for i, g in enumerate(view.groups)}, cut=_cut,
        customer_index={c.tenant_id: i for i, c in enumerate(view.customers)},
        evidence_data={"partner_id": one_line(view.partner_id), "generated_at": view.generated_at.isoformat(),
                       "source": one_line(view.source), "note": NOTE, "fields": list(FIELDS),
                       "by_tenant": evidence, "strings": list(strings), "groups": groups})
    return Page(html, nonce)
