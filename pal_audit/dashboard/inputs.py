"""What the dashboard is built from: plain records read from the tables or from a scan's JSON.

Both sources are reduced to these records first, so the view model (build.py) is one pure
function whatever the page was rendered from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class IdentityInput:
    identity: str
    principal_id: str
    ok: bool                            # its last audit succeeded
    last_succeeded: datetime | None
    link_partner_id: str | None = None  # None: not known (the tables do not keep the link itself)


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


@dataclass(frozen=True)
class Inputs:
    source: str                         # "tables" or the scan file's name, shown on the page
    partner_id: str                     # "" when unknown (a scan JSON does not say)
    tenants: tuple[TenantInput, ...]
    findings: tuple[FindingInput, ...]
    runs: tuple[RunInput, ...]          # oldest first
    generated_at: datetime
