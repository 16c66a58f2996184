"""The coverage dashboard and evidence pack (docs/dashboard.md).

inputs (plain records) -> view (pure view model) -> render (Jinja2 + inline SVG, one HTML file);
evidence (CSV/JSON); sources (the tables or a scan's JSON -> inputs).
"""

from __future__ import annotations

from pal_audit.dashboard import evidence
from pal_audit.dashboard.inputs import Inputs
from pal_audit.dashboard.render import Page, csp, render
from pal_audit.dashboard.sources import SourceError, from_scan_file, from_store, parse_scan
from pal_audit.dashboard.view import Dashboard, build

__all__ = ["Dashboard", "Inputs", "Page", "SourceError", "build", "csp", "evidence", "from_scan_file",
           "from_store", "parse_scan", "render"]
