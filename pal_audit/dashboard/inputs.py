"""What the dashboard is built from: plain records read from the tables or from a scan's JSON.

Both sources are reduced to these records first, so the view model (build.py) is one pure
function whatever the page was rendered from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class CreditInput:
    """One PAL-eligible active assignment an identity held while linked to the current partner id."""

    partner_id: str
    role: str
    role_id: str
    scope: str
    since: datetime | None              # first audit of the unbroken run that saw it


@dataclass(frozen=True)
class IdentityInput:
    identity: str
    principal_id: str
    ok: bool                            # its last audit succeeded
    last_succeeded: datetime | None
    link_partner_id: str | None = None  # "": no link; None: not known (rows written before it was kept)
    # The credit its last successful audit saw (empty: none); None when not recorded (a scan's JSON,
    # rows from before the evidence was kept): credit is then derived from the open findings.
    credit: tuple[CreditInput, ...] | None = None
    last_verified: datetime | None = None   # the last audit that saw it credited


@dataclass(frozen=True)
class TenantInput:
    tenant_id: str
    name: str
    expect_link: bool
    last_attempted: datetime | None
    last_succeeded: datetime | None
    last_error: str
    identities: tuple[IdentityInput, ...] = ()

    @property
    def audited_ok(self) -> bool:
        """Its last audit succeeded as a whole (a never-audited tenant is not ok)."""
        return (self.last_succeeded is not None and self.last_attempted is not None
                and self.last_succeeded >= self.last_attempted)


@dataclass(frozen=True)
class FindingInput:
    finding_id: str
    check_id: str
    severity: str
    tenant_id: str
    principal_id: str
    identity: str
    title: str
    detail: str
    remediation: str
    status: str                         # open | resolved | suppressed
    first_seen: datetime | None = None
    resolved_at: datetime | None = None
    changed_in_run: str = ""            # the run of its last transition, and which one
    change: str = ""


@dataclass(frozen=True)
class RunInput:
    run_id: str
    started: datetime
    finished: datetime | None
    status: str                         # running | completed
    total: int
    done: int
    failed: int
    transitions: dict[str, int] = field(default_factory=dict)
    credited: int | None = None         # customers credited in the run; None: not recorded


@dataclass(frozen=True)
class Inputs:
    source: str                         # "tables" or the scan file's name, shown on the page
    partner_id: str                     # "" when unknown (a scan JSON does not say)
    tenants: tuple[TenantInput, ...]
    findings: tuple[FindingInput, ...]
    runs: tuple[RunInput, ...]          # oldest first
    generated_at: datetime
