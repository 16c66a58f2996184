"""What storing one unit of a run gives back (`TenantOutcome`), shared by the tenant and the
Lighthouse writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pal_audit.model import FindingChange, TenantSnapshot

if TYPE_CHECKING:
    from pal_audit.engine.auditor import TenantResult


@dataclass(frozen=True)
class TenantOutcome:
    run_id: str
    tenant_id: str
    result: TenantResult | None         # None when nothing was audited (a replay)
    changes: tuple[FindingChange, ...] = ()
    replay: bool = False                # already finished in this run: nothing written
    run_completed: bool = False         # this call completed the run


def _error_summary(snap: TenantSnapshot) -> str | None:
    if snap.error is not None:
        return f"{snap.error.reason}: {snap.error.message}"
    failed = [f"{i.identity}: {i.error.reason}" for i in snap.identities if i.error is not None]
    return "; ".join(failed) or None
