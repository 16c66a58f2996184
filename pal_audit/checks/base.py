"""What every check shares: its metadata, the evidence it may read, and the Decision it returns.

Evidence or error: a check reads the snapshot only through `Evidence`, which (1) refuses an input
the check did not declare in `META.needs` (a programming error, caught by any test of the check)
and (2) raises `Undecided` when a declared input could not be read. The runner turns `Undecided`
into an *undecided* (check_id, principal) key: no finding is raised for it and the store resolves
none. So a check written naively ("read what you need, raise what you see") cannot conclude from
missing data; a check that wants to decide despite an unknown reads the known evidence first.

A check module declares `META` and `evaluate` (an IdentityCheck or a TenantCheck built from that
META); `CheckMeta` refuses malformed metadata when the module is imported, and the checks' package
registers each module once (pal_audit.checks.catalog).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Literal, get_args

from pal_audit.checks.role_rules import PEC_TABLE, CustomRolePolicy, RoleVerdict, classify_by_id
from pal_audit.model import (
    INPUTS,
    Finding,
    IdentitySnapshot,
    Input,
    Link,
    PartnerPolicy,
    RoleAssignment,
    Severity,
    TenantSnapshot,
)

TENANT_LEVEL = "-"  # principal_id and identity of tenant-level findings (docs/checks.md)


# What a check's findings are about. "identity": one finding per audited identity (or per
# assignment), and a suppression may name the identity. "tenant": at most one finding per tenant,
# principal and identity "-", and a suppression names no identity (the registry refuses one).
Scope = Literal["identity", "tenant"]
SCOPES: tuple[Scope, ...] = get_args(Scope)

_CHECK_ID = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


class CheckDefinitionError(ValueError):
    """A check module is malformed (its META or evaluate): a programming error, raised at import."""


@dataclass(frozen=True)
class CheckMeta:
    check_id: str       # a contract: stored findings, suppressions and alerts name it; never renamed
    title: str
    severity: Severity
    scope: Scope
    description: str    # when the check raises, in one or two sentences (user docs)
    remediation: str    # the fix in general terms; findings carry the concrete command
    needs: frozenset[Input]  # every input the check reads; no default, so a new check must say

    def __post_init__(self) -> None:
        problems = meta_problems(self)
        if problems:
            raise CheckDefinitionError(f"check {self.check_id!r}: " + "; ".join(problems))


def meta_problems(meta: CheckMeta) -> list[str]:
    """What is wrong with a check's metadata, each naming the field ([] when well-formed).

    The annotations promise the types, but a check author's typo runs before any type checker
    does, so the values are checked as plain objects.
    """
    check_id: object = meta.check_id
    severity: object = meta.severity
    scope: object = meta.scope
    needs: object = meta.needs
    problems = []
    if not isinstance(check_id, str) or not _CHECK_ID.fullmatch(check_id):
        problems.append("META.check_id must be a snake_case name such as 'link_missing'")
    for name in ("title", "description", "remediation"):
        value: object = getattr(meta, name)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"META.{name} must be a non-empty text")
    if not isinstance(severity, Severity):
        problems.append(f"META.severity must be a Severity ({', '.join(s.value for s in Severity)}), "
                        f"not {severity!r}")
    if scope not in SCOPES:
        problems.append(f"META.scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    if not isinstance(needs, frozenset):
        problems.append("META.needs must be a frozenset of inputs (frozenset() for none)")
    elif not needs <= set(INPUTS):
        unknown = ", ".join(sorted(str(n) for n in needs - set(INPUTS)))
        problems.append(f"META.needs names unknown inputs: {unknown} (known: {', '.join(INPUTS)})")
    return problems


class Undecided(Exception):
    """The evidence a check needs for this identity (or tenant) could not be read."""

    def __init__(self, input_name: Input, detail: str = "") -> None:
        super().__init__(f"{input_name} unknown{': ' + detail if detail else ''}")
        self.input = input_name


class UndeclaredInput(AssertionError):
    """A check read an input missing from its META.needs: fix the check, not the data."""


@dataclass(frozen=True)
class Decision:
    """What one check (or all of them) concluded about one tenant."""

    findings: tuple[Finding, ...] = ()
    undecided: frozenset[tuple[str, str]] = frozenset()   # (check_id, principal_id)

    def __add__(self, other: Decision) -> Decision:
        return Decision(self.findings + other.findings, self.undecided | other.undecided)


class Evidence:
    """One audited identity as a check may see it: declared inputs only, unknown ones raise."""

    def __init__(self, snapshot: IdentitySnapshot, needs: frozenset[Input]) -> None:
        if snapshot.error is not None:
            raise ValueError("a failed unit is no evidence; audit_error reports it")
        self.snapshot = snapshot
        self._needs = needs
        self.tenant_id = snapshot.tenant_id
        self.identity = snapshot.identity
        self.principal_id = snapshot.principal_id

    def read(self, input_name: Input) -> None:
        """Assert the check declared `input_name`; raise Undecided when it is unknown as a whole."""
        if input_name not in self._needs:
            raise UndeclaredInput(f"the check reads {input_name!r} but does not declare it in META.needs")
        if input_name == "pim" and self.snapshot.eligible is None:
            raise Undecided("pim", "PIM eligibility could not be read")
        if input_name == "assignment_schedules" and not self.snapshot.schedules_known:
            raise Undecided("assignment_schedules", "the assignment schedules could not be read")

    @property
    def link(self) -> Link | None:
        self.read("link")
        return self.snapshot.link

    @property
    def subscriptions(self) -> tuple[str, ...]:
        self.read("subscriptions")
        return self.snapshot.subscriptions

    @property
    def active(self) -> tuple[RoleAssignment, ...]:
        self.read("active")
        return self.snapshot.active

    @property
    def eligible(self) -> tuple[RoleAssignment, ...]:
        self.read("pim")
        return self.snapshot.eligible or ()

    def active_end(self, assignment: RoleAssignment) -> datetime | None:
        """When an active assignment ends (None: permanent); Undecided when schedules are unknown."""
        self.read("assignment_schedules")
        return assignment.end

    def verdict(self, role_id: str, custom_roles: CustomRolePolicy) -> RoleVerdict:
        """The classification of an assigned role; Undecided when its definition is unknown."""
        self.read("role_definitions")
        verdict = classify_by_id(role_id, self.snapshot.roles.get(role_id.lower()), custom_roles)
        if verdict is None:
            raise Undecided("role_definitions", f"role definition {role_id} could not be read")
        return verdict

    def role_name(self, role_id: str) -> str:
        role = self.snapshot.roles.get(role_id.lower())
        if role is not None:
            return role.name
        entry = PEC_TABLE.get(role_id.lower())
        return entry.name if entry else f"role {role_id}"


class TenantEvidence:
    """A tenant as a tenant-level check may see it."""

    def __init__(self, snapshot: TenantSnapshot, needs: frozenset[Input]) -> None:
        self.snapshot = snapshot
        self.tenant_id = snapshot.tenant_id
        self.expect_link = snapshot.expect_link
        self.has_customer_approval = snapshot.has_customer_approval
        self._needs = needs

    def audited(self) -> list[Evidence]:
        """The identities whose snapshot is evidence (failed ones are left to audit_error)."""
        return [Evidence(i, self._needs) for i in self.snapshot.identities if i.ok]

    def require_every_identity(self) -> None:
        """For a claim about the whole tenant: Undecided unless every identity was audited."""
        if not self.snapshot.fully_audited:
            failed = [i.identity for i in self.snapshot.identities if not i.ok]
            raise Undecided("link", f"not audited: {', '.join(failed) or 'the tenant'}")


IdentityJudge = Callable[[Evidence, TenantSnapshot, PartnerPolicy], list[Finding]]
TenantJudge = Callable[[TenantEvidence, PartnerPolicy], list[Finding]]


class Check(ABC):
    """A check's `evaluate`: its metadata and a pure decision over one tenant's snapshot."""

    def __init__(self, meta: CheckMeta) -> None:
        self.meta = meta

    @abstractmethod
    def decide(self, tenant: TenantSnapshot, policy: PartnerPolicy) -> Decision:
        """The findings the evidence proves and the (check_id, principal_id) keys left undecided."""

    def __call__(self, tenant: TenantSnapshot, policy: PartnerPolicy) -> list[Finding]:
        return list(self.decide(tenant, policy).findings)


class IdentityCheck(Check):
    """A check judged once per audited identity; `Undecided` makes that identity undecided."""

    def __init__(self, meta: CheckMeta, judge: IdentityJudge) -> None:
        super().__init__(meta)
        self._judge = judge

    def decide(self, tenant: TenantSnapshot, policy: PartnerPolicy) -> Decision:
        findings: list[Finding] = []
        undecided: set[tuple[str, str]] = set()
        for snap in tenant.identities:
            if not snap.ok:
                continue
            try:
                findings += self._judge(Evidence(snap, self.meta.needs), tenant, policy)
            except Undecided:
                undecided.add((self.meta.check_id, principal_of(snap)))
        return Decision(tuple(findings), frozenset(undecided))


class TenantCheck(Check):
    """A check judged once per tenant; `Undecided` makes its tenant-level finding undecided."""

    def __init__(self, meta: CheckMeta, judge: TenantJudge) -> None:
        super().__init__(meta)
        self._judge = judge

    def decide(self, tenant: TenantSnapshot, policy: PartnerPolicy) -> Decision:
        try:
            return Decision(tuple(self._judge(TenantEvidence(tenant, self.meta.needs), policy)))
        except Undecided:
            return Decision(undecided=frozenset({(self.meta.check_id, TENANT_LEVEL)}))


def make_finding(meta: CheckMeta, tenant_id: str, principal_id: str, identity: str, *,
                 detail: str, remediation: str, qualifier: str = "") -> Finding:
    return Finding(check_id=meta.check_id, severity=meta.severity, tenant_id=tenant_id,
                   principal_id=principal_id, identity=identity, title=meta.title, detail=detail,
                   remediation=remediation, qualifier=qualifier)


def identity_finding(meta: CheckMeta, who: Evidence | IdentitySnapshot, *, detail: str, remediation: str,
                     qualifier: str = "") -> Finding:
    """A finding about one identity (principal = its object id, or its name if sign-in failed)."""
    return make_finding(meta, who.tenant_id, who.principal_id or who.identity, who.identity,
                        detail=detail, remediation=remediation, qualifier=qualifier)


def tenant_finding(meta: CheckMeta, tenant: TenantEvidence | TenantSnapshot, *, detail: str,
                   remediation: str) -> Finding:
    return make_finding(meta, tenant.tenant_id, TENANT_LEVEL, TENANT_LEVEL,
                        detail=detail, remediation=remediation)


def principal_of(who: IdentitySnapshot) -> str:
    # docs/checks.md: an identity that could not sign in is named by its registry name.
    return who.principal_id or who.identity


def is_ours(who: Evidence, policy: PartnerPolicy) -> bool:
    """Linked to the partner's current or a previous ID."""
    return who.link is not None and policy.is_ours(who.link.partner_id)


@dataclass(frozen=True)
class Held:
    """One assignment the identity holds; its verdict is read on demand (it may be unknown)."""

    assignment: RoleAssignment
    role_name: str
    via_group: bool
    who: Evidence
    custom_roles: CustomRolePolicy

    @property
    def verdict(self) -> RoleVerdict:
        return self.who.verdict(self.assignment.role_id, self.custom_roles)

    @property
    def known(self) -> bool:
        try:
            return self.verdict is not None
        except Undecided:
            return False

    def describe(self) -> str:
        via = f" via group {self.assignment.principal_id}" if self.via_group else ""
        return f"{self.role_name} at {self.assignment.scope or '/'}{via}"


class Access:
    """What an identity holds: active assignments and PIM-eligible ones, each read on first use."""

    def __init__(self, who: Evidence, policy: PartnerPolicy) -> None:
        self._who, self._policy = who, policy

    def _held(self, assignments: tuple[RoleAssignment, ...]) -> tuple[Held, ...]:
        who = self._who
        seen: dict[str, Held] = {}
        for a in assignments:  # an MG assignment is listed once per subscription below it
            via_group = who.principal_id is not None and a.principal_id.lower() != who.principal_id.lower()
            seen.setdefault(a.assignment_id.lower(),
                            Held(a, who.role_name(a.role_id), via_group, who, self._policy.custom_roles))
        return tuple(seen.values())

    @cached_property
    def active(self) -> tuple[Held, ...]:
        return self._held(self._who.active)

    @cached_property
    def pim(self) -> tuple[Held, ...]:
        return self._held(self._who.eligible)

    @property
    def active_eligible(self) -> tuple[Held, ...]:
        return _eligible(self.active)

    @property
    def pim_eligible(self) -> tuple[Held, ...]:
        return _eligible(self.pim)


def _eligible(held: tuple[Held, ...]) -> tuple[Held, ...]:
    """The eligible ones. One known eligible role settles "has an eligible role" even if another
    role is unknown; "has none" needs every role known (else Undecided)."""
    known = [h for h in held if h.known]
    found = tuple(h for h in known if h.verdict.eligible)
    if found or len(known) == len(held):
        return found
    unknown = next(h for h in held if not h.known)
    raise Undecided("role_definitions", f"role definition {unknown.assignment.role_id} could not be read")


def access_of(who: Evidence, policy: PartnerPolicy) -> Access:
    return Access(who, policy)


def describe(held: tuple[Held, ...], limit: int = 5) -> str:
    """'Reader at /subscriptions/x (Reader is not PAL-eligible per the PEC role table); …'"""
    parts = [f"{h.describe()} ({h.verdict.explanation})" for h in held[:limit]]
    if len(held) > limit:
        parts.append(f"and {len(held) - limit} more")
    return "; ".join(parts) if parts else "none"


def utc_day(moment: datetime) -> date:
    """The UTC calendar day of an end date (a naive one is taken as UTC, as ARM means it)."""
    return (moment.astimezone(UTC) if moment.tzinfo else moment).date()


def link_text(who: Evidence) -> str:
    link = who.link
    if link is None:
        return "no link"
    name = f" ({link.partner_name})" if link.partner_name else ""
    return f"partner ID {link.partner_id}{name}"

