"""Suppressions: registry rules that silence a finding for a reason, an owner and a limited time.

Every rule names its check id (there is no wildcard), so an `audit_error` is suppressed only by a rule
written for `audit_error`, e.g. for a tenant being decommissioned.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from pal_audit.model import Finding, Status, Suppression


def is_live(rule: Suppression, today: date) -> bool:
    """A rule holds up to and including its `expires` day."""
    return rule.expires >= today


def suppression_text(rule: Suppression) -> str:
    return f"{rule.reason} ({rule.owner}, until {rule.expires.isoformat()})"


def apply_suppressions(
    findings: Iterable[Finding], rules: Iterable[Suppression], today: date,
) -> list[Finding]:
    """Mark findings that match a live rule as suppressed; expired rules do nothing.

    When several live rules match, the one that lasts longest is reported. Pure: `today` is an argument.
    """
    live = [r for r in rules if is_live(r, today)]
    out = []
    for finding in findings:
        matching = [r for r in live if r.matches(finding)]
        if not matching:
            out.append(finding)
            continue
        rule = max(matching, key=lambda r: r.expires)
        out.append(replace(finding, status=Status.SUPPRESSED, suppression=suppression_text(rule)))
    return out
