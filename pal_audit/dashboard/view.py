"""The dashboard's view model: what the page shows, computed from `Inputs` (pure, no I/O).

Credit comes from the evidence each audit records per identity (PalTenantStatus: the link's
partner id and the PAL-eligible active assignments held while linked to the current partner id):
an identity earns credit when its last audit succeeded and saw such an assignment. Where that
evidence is not recorded (a scan's JSON, rows written before it was kept), it is derived from the
findings: the last audit succeeded and none of the checks that deny credit is open for it. A
customer is credited when its last audit succeeded, its `tenant_without_credited_link` finding is
not open and at least one identity earns credit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from pal_audit.dashboard.factoring import Ends, shared_ends
from pal_audit.dashboard.inputs import FindingInput, IdentityInput, Inputs, RunInput, TenantInput

SEVERITIES = ("high", "medium", "low")
# Open on an identity, each of these means it earns no credit today (docs/checks.md).
IDENTITY_NO_CREDIT = frozenset({
    "link_missing", "link_foreign_partner", "link_previous_partner_id", "link_without_access",
    "link_without_eligible_role", "eligible_role_only_via_pim", "audit_error",
})
TENANT_NO_CREDIT = "tenant_without_credited_link"
TREND_RUNS = 30
CREDITED, NOT_CREDITED, UNKNOWN, EXCLUDED = "credited", "not credited", "unknown", "excluded"


@dataclass(frozen=True)
class Headline:
    expected: int                       # customers that should earn credit (expect_link)
    credited: int
    not_credited: int
    unknown: int                        # never audited, or the last audit failed
    excluded: int
    identities_linked: int
    identities_total: int
    open_by_severity: dict[str, int]
    last_success: datetime | None
    last_success_age: str


@dataclass(frozen=True)
class TrendPoint:
    run_id: str
    at: datetime
    credited: int
    open_by_severity: dict[str, int]


@dataclass(frozen=True)
class Through:
    """An identity earning the customer's credit, and the eligible roles it holds (when recorded)."""

    identity: str
    roles: tuple[str, ...] = ()

    def text(self) -> str:
        return f"{self.identity} ({', '.join(self.roles)})" if self.roles else self.identity


@dataclass(frozen=True)
class CustomerRow:
    tenant_id: str
    name: str
    credit: str
    through: tuple[Through, ...]        # identities earning credit, with their roles
    open_by_severity: dict[str, int]
    checks: tuple[tuple[str, str], ...]  # open check ids, each with its worst finding (a link target)
    last_audited: datetime | None
    last_error: str

    @property
    def open_total(self) -> int:
        return sum(self.open_by_severity.values())

    @property
    def via(self) -> tuple[str, ...]:
        """The identities earning credit, by registry name."""
        return tuple(t.identity for t in self.through)


@dataclass(frozen=True)
class FindingRow:
    finding_id: str
    check_id: str
    severity: str
    tenant_id: str
    customer: str
    identity: str
    title: str
    detail: str
    remediation: str
    first_seen: datetime | None
    anchor: str = ""                    # the row's short id on the page (customers link to it)


@dataclass(frozen=True)
class CheckGroup:
    """A check with open findings: said once on the page, with what its findings' texts share."""

    check_id: str
    title: str
    severity: str
    general_fix: str                    # the check's remediation in general terms ("" if unknown)
    detail_ends: Ends
    fix_ends: Ends
    count: int


@dataclass(frozen=True)
class ChangeRow:
    transition: str
    check_id: str
    severity: str
    customer: str
    identity: str
    title: str


@dataclass(frozen=True)
class EvidenceRow:
    customer: str
    tenant_id: str
    identity: str
    object_id: str
    partner_id: str
    role: str
    scope: str
    first_verified: datetime | None
    last_verified: datetime | None


@dataclass(frozen=True)
class Dashboard:
    generated_at: datetime
    source: str
    partner_id: str
    headline: Headline
    trend: tuple[TrendPoint, ...]
    customers: tuple[CustomerRow, ...]
    findings: tuple[FindingRow, ...]    # open findings, worst first
    changes: tuple[ChangeRow, ...]      # what the latest run changed
    latest_run_id: str
    previous_run_id: str
    evidence: tuple[EvidenceRow, ...]
    check_ids: tuple[str, ...]          # the checks with open findings (the check filter)
    groups: tuple[CheckGroup, ...] = ()  # the same checks, each with its shared texts


def age_text(since: datetime | None, now: datetime) -> str:
    if since is None:
        return "never"
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def _open(findings: Iterable[FindingInput]) -> list[FindingInput]:
    return [f for f in findings if f.status == "open"]


def _by_severity(findings: Iterable[FindingInput]) -> dict[str, int]:
    counts = Counter(f.severity for f in findings)
    return {s: counts.get(s, 0) for s in SEVERITIES}


def _recorded_credit(ident: IdentityInput, partner_id: str) -> bool:
    """From the recorded evidence: its last audit succeeded and saw an eligible role held while
    linked to the partner id (the page's partner id, when it is known)."""
    return ident.ok and bool(ident.credit) and all(
        not partner_id or c.partner_id == partner_id for c in ident.credit or ())


def credited_identities(tenant: TenantInput, open_findings: Sequence[FindingInput],
                        partner_id: str) -> list[str]:
    """The identities of the tenant that earn credit, by registry name."""
    denied = {f.identity for f in open_findings if f.check_id in IDENTITY_NO_CREDIT}
    out = []
    for ident in tenant.identities:
        if ident.credit is not None:
            if _recorded_credit(ident, partner_id):
                out.append(ident.identity)
            continue
        if not ident.ok or ident.identity in denied:
            continue
        link = ident.link_partner_id
        if link == "" or (link is not None and partner_id and link != partner_id):
            continue        # known to have no link, or a link to someone else
        if link is None and not partner_id:
            continue        # neither the link nor the partner id is known: nothing to vouch for
        out.append(ident.identity)
    return out


def credit_state(tenant: TenantInput, open_findings: Sequence[FindingInput], via: Sequence[str]) -> str:
    if not tenant.expect_link:
        return EXCLUDED
    if not tenant.audited_ok or any(f.check_id == "audit_error" and f.identity == "-" for f in open_findings):
        return UNKNOWN
    if any(f.check_id == TENANT_NO_CREDIT for f in open_findings) or not via:
        return NOT_CREDITED
    return CREDITED


def _open_at(f: FindingInput, at: datetime) -> bool:
    """Was the finding open at `at`, as far as its first_seen / resolved_at tell (suppressed: no)."""
    if f.status == "suppressed" or f.first_seen is None or f.first_seen > at:
        return False
    return f.resolved_at is None or f.resolved_at > at


def trend(inputs: Inputs, expected: int) -> tuple[TrendPoint, ...]:
    """Per completed run: credited customers and open findings by severity, as of its end.

    Credited customers are the run's own count when it recorded one and audited every customer
    of the registry. Otherwise (runs recorded before the count existed, rescans of a few tenants)
    the count is reconstructed: expected customers minus those with `tenant_without_credited_link`
    open then, minus the run's failed tenants. Open findings are always reconstructed from the
    findings' first_seen / resolved_at, so a finding resolved and reopened in between counts as
    open since it was first seen.
    """
    runs = [r for r in inputs.runs if r.status == "completed" and r.finished is not None][-TREND_RUNS:]
    points = []
    for run in runs:
        at = run.finished or run.started
        open_then = [f for f in inputs.findings if _open_at(f, at)]
        if run.credited is not None and run.total >= len(inputs.tenants):
            credited = run.credited
        else:
            no_credit = {f.tenant_id for f in open_then if f.check_id == TENANT_NO_CREDIT}
            credited = max(0, expected - len(no_credit) - min(run.failed, expected))
        points.append(TrendPoint(run.run_id, at, credited, _by_severity(open_then)))
    return tuple(points)


def _first_verified(tenant: TenantInput, identity: str, findings: Sequence[FindingInput],
                    runs: Sequence[RunInput]) -> datetime | None:
    """Since when the retained history shows this identity earning credit: the last time a
    finding denying it was resolved, else the first retained run that audited the tenant."""
    resolved = [f.resolved_at for f in findings
                if f.tenant_id == tenant.tenant_id and f.resolved_at is not None and f.status == "resolved"
                and ((f.identity == identity and f.check_id in IDENTITY_NO_CREDIT)
                     or f.check_id == TENANT_NO_CREDIT)]
    if resolved:
        return max(resolved)
    started = [r.started for r in runs]
    first_run = min(started) if started else None
    if first_run is None:
        ident = next((i for i in tenant.identities if i.identity == identity), None)
        return ident.last_succeeded if ident else None
    return first_run


def _evidence_rows(t: TenantInput, ident: IdentityInput, inputs: Inputs) -> list[EvidenceRow]:
    """One row per credited role and scope when the audit recorded them, else one for the identity."""
    if ident.credit:
        return [EvidenceRow(t.name, t.tenant_id, ident.identity, ident.principal_id, c.partner_id, c.role,
                            c.scope, c.since, ident.last_verified) for c in ident.credit]
    return [EvidenceRow(
        t.name, t.tenant_id, ident.identity, ident.principal_id, ident.link_partner_id or inputs.partner_id,
        "", "", _first_verified(t, ident.identity, inputs.findings, inputs.runs), ident.last_succeeded)]


def _check_links(findings: Sequence[FindingInput], anchors: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Per open check of a customer, the anchor of its worst finding."""
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    first: dict[str, str] = {}
    for f in sorted(findings, key=lambda f: (rank.get(f.severity, 9), f.finding_id)):
        first.setdefault(f.check_id, anchors.get(f.finding_id, f.finding_id))
    return tuple(sorted(first.items()))


def general_fix(check_id: str) -> str:
    """The check's remediation in general terms, from its metadata ("" for an unknown check id)."""
    from pal_audit.checks import CHECKS_BY_ID

    check = CHECKS_BY_ID.get(check_id)
    return check.meta.remediation if check is not None else ""


def _groups(findings: Sequence[FindingRow]) -> tuple[CheckGroup, ...]:
    by_check: dict[str, list[FindingRow]] = {}
    for f in findings:
        by_check.setdefault(f.check_id, []).append(f)
    return tuple(CheckGroup(check, rows[0].title, rows[0].severity, general_fix(check),
                            shared_ends([r.detail for r in rows]), shared_ends([r.remediation for r in rows]),
                            len(rows))
                 for check, rows in sorted(by_check.items()))


def build(inputs: Inputs) -> Dashboard:
    names = {t.tenant_id: t.name for t in inputs.tenants}
    open_findings = _open(inputs.findings)
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    ordered = sorted(open_findings, key=lambda f: (rank.get(f.severity, 9),
                                                   names.get(f.tenant_id, "").casefold(),
                                                   f.identity, f.check_id, f.finding_id))
    # Short anchors: a finding id is 64 hex characters, and each is linked from its customer's row.
    anchors = {f.finding_id: f"f{i}" for i, f in enumerate(ordered)}
    open_by_tenant: dict[str, list[FindingInput]] = {}
    for f in open_findings:
        open_by_tenant.setdefault(f.tenant_id, []).append(f)

    customers: list[CustomerRow] = []
    evidence: list[EvidenceRow] = []
    for t in sorted(inputs.tenants, key=lambda t: (t.name.casefold(), t.tenant_id)):
        mine = open_by_tenant.get(t.tenant_id, [])
        via = credited_identities(t, mine, inputs.partner_id) if t.expect_link else []
        state = credit_state(t, mine, via)
        if state != CREDITED:
            via = []
        idents = [next(i for i in t.identities if i.identity == name) for name in via]
        customers.append(CustomerRow(
            t.tenant_id, t.name, state,
            tuple(Through(i.identity, tuple(dict.fromkeys(c.role for c in i.credit or ()))) for i in idents),
            _by_severity(mine), _check_links(mine, anchors), t.last_attempted, t.last_error))
        for ident in idents:
            evidence += _evidence_rows(t, ident, inputs)

    expected = [c for c in customers if c.credit != EXCLUDED]
    successes = [t.last_succeeded for t in inputs.tenants if t.last_succeeded is not None]
    last_success = max(successes) if successes else None
    counts = Counter(c.credit for c in customers)
    headline = Headline(
        expected=len(expected), credited=counts[CREDITED], not_credited=counts[NOT_CREDITED],
        unknown=counts[UNKNOWN], excluded=counts[EXCLUDED],
        identities_linked=sum(len(c.through) for c in customers),
        identities_total=sum(len(t.identities) for t in inputs.tenants if t.expect_link),
        open_by_severity=_by_severity(open_findings), last_success=last_success,
        last_success_age=age_text(last_success, inputs.generated_at))

    findings = tuple(
        FindingRow(f.finding_id, f.check_id, f.severity, f.tenant_id, names.get(f.tenant_id, f.tenant_id),
                   f.identity, f.title, f.detail, f.remediation, f.first_seen, anchors[f.finding_id])
        for f in ordered)

    completed = [r for r in inputs.runs if r.status == "completed"]
    latest = completed[-1].run_id if completed else ""
    previous = completed[-2].run_id if len(completed) > 1 else ""
    changes = tuple(
        ChangeRow(f.change, f.check_id, f.severity, names.get(f.tenant_id, f.tenant_id), f.identity, f.title)
        for f in sorted(inputs.findings, key=lambda f: (f.change, rank.get(f.severity, 9), f.finding_id))
        if latest and f.changed_in_run == latest and f.change)

    return Dashboard(
        generated_at=inputs.generated_at, source=inputs.source, partner_id=inputs.partner_id,
        headline=headline, trend=trend(inputs, len(expected)), customers=tuple(customers),
        findings=findings, changes=changes, latest_run_id=latest, previous_run_id=previous,
        evidence=tuple(evidence), check_ids=tuple(sorted({f.check_id for f in open_findings})),
        groups=_groups(findings))
