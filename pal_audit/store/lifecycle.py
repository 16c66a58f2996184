"""The findings lifecycle as a pure function: stored rows + one tenant's audit -> writes + transitions.

Rules (docs/storage.md):
- detected, never stored        -> open (NEW) or suppressed (no transition: suppressed means silent)
- detected, stored resolved     -> open again, reopened_count + 1 (REOPENED; silent if suppressed)
- detected open, stored suppressed -> open (UNSUPPRESSED: the suppression expired or was removed)
- detected, stored open/suppressed -> last_seen moves, text refreshed
- not detected, stored open     -> resolved (RESOLVED) only if its unit was audited in this run;
  stored suppressed -> resolved silently. A failed unit never resolves anything; tenant-level
  findings (identity "-") resolve only when every identity succeeded; a finding whose
  (check_id, principal_id) is in `snapshot.undecided` is never resolved.
Because the plan depends only on the stored state, replaying it is a no-op: no second transition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from pal_audit.model import Finding, FindingChange, Status, TenantSnapshot, Transition

TENANT_LEVEL = "-"


@dataclass(frozen=True)
class Row:
    """One PalFindings entity as the lifecycle sees it."""

    finding: Finding                 # finding.status is the stored status
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    reopened_count: int
    last_run_id: str
    etag: str | None = None          # of the stored entity; None for a row not yet stored

    def same_state(self, other: Row) -> bool:
        return replace(self, etag=None) == replace(other, etag=None)


@dataclass(frozen=True)
class Write:
    finding_id: str                  # the RowKey
    row: Row
    etag: str | None                 # expected etag of the stored entity; None = must not exist yet
    change: FindingChange | None


def unit_ok(finding: Finding, snapshot: TenantSnapshot) -> bool:
    """Was the unit this finding belongs to audited successfully in this run?"""
    if snapshot.error is not None or not snapshot.owns(finding):
        return False   # owns: a customer audited directly and through Lighthouse keeps both sets
    if not snapshot.may_resolve(finding.check_id, finding.principal_id):
        return False  # the checks could not decide it from this run's evidence (an input was unknown)
    if finding.identity == TENANT_LEVEL:
        return snapshot.fully_audited
    for ident in snapshot.identities:
        if ident.identity == finding.identity:
            return ident.ok
    # The identity is no longer audited in this tenant: its findings go only on a full success.
    return snapshot.fully_audited


def plan(snapshot: TenantSnapshot, detected: Sequence[Finding], stored: Mapping[str, Row],
         run_id: str, at: datetime) -> list[Write]:
    writes: list[Write] = []
    seen: set[str] = set()
    for f in detected:
        fid = f.finding_id
        if fid in seen:         # a finding reported twice is one finding (and one batch row)
            continue
        seen.add(fid)
        writes.append(_detected(fid, f, stored.get(fid), run_id, at))
    for fid, old in stored.items():
        if fid in seen or old.finding.status == Status.RESOLVED or not unit_ok(old.finding, snapshot):
            continue
        row = replace(old, finding=replace(old.finding, status=Status.RESOLVED), resolved_at=at,
                      last_run_id=run_id, etag=None)
        change = (FindingChange(Transition.RESOLVED, row.finding, run_id, at)
                  if old.finding.status == Status.OPEN else None)
        writes.append(Write(fid, row, old.etag, change))
    return [w for w in writes if w.change is not None or w.etag is None
            or not w.row.same_state(stored[w.finding_id])]


def _detected(fid: str, f: Finding, old: Row | None, run_id: str, at: datetime) -> Write:
    is_open = f.status == Status.OPEN
    if old is None:
        row = Row(f, first_seen=at, last_seen=at, resolved_at=None, reopened_count=0, last_run_id=run_id)
        return Write(fid, row, None, FindingChange(Transition.NEW, f, run_id, at) if is_open else None)
    was = old.finding.status
    reopened = was == Status.RESOLVED
    row = Row(f, first_seen=old.first_seen, last_seen=at, resolved_at=None,
              reopened_count=old.reopened_count + (1 if reopened else 0), last_run_id=run_id)
    transition = None
    if is_open and reopened:
        transition = Transition.REOPENED
    elif is_open and was == Status.SUPPRESSED:
        transition = Transition.UNSUPPRESSED
    return Write(fid, row, old.etag, FindingChange(transition, f, run_id, at) if transition else None)
