"""The evidence pack: per customer and identity that earns credit, what proves it (CSV and JSON).

The same rows are embedded in the page for its download buttons, so the file a partner saves
from the browser and `pal-audit report --evidence` hold the same fields in the same order.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pal_audit.dashboard.view import Dashboard, EvidenceRow
from pal_audit.textsafe import csv_cell, one_line

FIELDS = ("customer", "tenant_id", "identity", "object_id", "partner_id", "role", "scope",
          "first_verified", "last_verified")
# Said in every export, so a reader of the file alone knows what the dates and empty cells mean.
NOTE = ("One row per credited customer, identity, role and scope. first_verified: the first audit of "
        "the unbroken series of audits that saw this identity linked to partner_id holding this role at "
        "this scope; last_verified: the last audit that saw the identity credited. role and scope empty: "
        "the source did not record them (a scan's JSON, or audits stored before they were kept), and "
        "first_verified is then the earliest time the retained history shows the identity earning credit.")


def _when(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def row_dict(row: EvidenceRow) -> dict[str, str]:
    """One row as text, control characters escaped (names come from Azure and the registry)."""
    values: dict[str, Any] = {
        "customer": row.customer, "tenant_id": row.tenant_id, "identity": row.identity,
        "object_id": row.object_id, "partner_id": row.partner_id, "role": row.role, "scope": row.scope,
        "first_verified": _when(row.first_verified), "last_verified": _when(row.last_verified)}
    return {k: one_line(str(values[k])) for k in FIELDS}


def to_json(view: Dashboard, rows: Sequence[EvidenceRow] | None = None) -> str:
    body = {"partner_id": view.partner_id, "generated_at": view.generated_at.isoformat(),
            "source": view.source, "note": NOTE,
            "evidence": [row_dict(r) for r in (view.evidence if rows is None else rows)]}
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def to_csv(view: Dashboard, rows: Sequence[EvidenceRow] | None = None) -> str:
    """One row per customer and identity; cells guarded against spreadsheet formulas."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in view.evidence if rows is None else rows:
        writer.writerow({k: csv_cell(v) for k, v in row_dict(r).items()})
    return out.getvalue()
