"""Plain data shared by collection, checks, storage and alerts.

Collection produces snapshots; checks turn snapshots into findings. Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

ErrorReason = Literal["auth_failed", "forbidden", "throttled", "timeout", "not_found", "unexpected"]

# The inputs a check can rely on, one per thing collection reads for an identity. A check declares
# the ones it reads (CheckMeta.needs); an input that could not be read is an `Unknown`, never "none".
# `assignment_schedules` is the end dates of active assignments (PIM assignment schedule instances).
# `delegations` and `group_members` are what the Lighthouse audit reads from a managing tenant: the
# registration assignments of a customer, and the transitive members of the groups they name.
Input = Literal["link", "subscriptions", "active", "pim", "role_definitions", "assignment_schedules",
                "delegations", "group_members"]
INPUTS: tuple[Input, ...] = ("link", "subscriptions", "active", "pim", "role_definitions",
                             "assignment_schedules", "delegations", "group_members")


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return {"high": 3, "medium": 2, "low": 1}[self.value]


class Status(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    SUPPRESSED = "suppressed"


class Transition(StrEnum):
    """What happened to a finding in one write (docs/storage.md)."""

    NEW = "NEW"
    REOPENED = "REOPENED"
    RESOLVED = "RESOLVED"
    UNSUPPRESSED = "UNSUPPRESSED"


@dataclass(frozen=True)
class RoleDefinition:
    """A role definition as ARM serves it; `role_id` is the bare GUID (lower case)."""

    role_id: str
    name: str
    is_custom: bool
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoleAssignment:
    """An active or PIM-eligible assignment held by the identity (directly or via a group)."""

    assignment_id: str          # full ARM id of the assignment (or eligibility instance)
    scope: str                  # "/", managementGroups/x, /subscriptions/.., .../resourceGroups/..
    role_id: str                # bare GUID (lower case), key into IdentitySnapshot.roles
    principal_id: str           # who holds it: the identity itself or a group it belongs to
    principal_type: str = "ServicePrincipal"
    # When it stops granting access (UTC); None = permanent. For active assignments this is only
    # evidence when the snapshot's assignment schedules were read (see IdentitySnapshot).
    end: datetime | None = None

    @property
    def scope_kind(self) -> Literal["root", "management_group", "subscription", "resource_group", "resource"]:
        s = self.scope.rstrip("/").lower()
        if s == "":
            return "root"
        if s.startswith("/providers/microsoft.management/managementgroups/"):
            return "management_group"
        parts = s.split("/")  # ["", "subscriptions", id, "resourcegroups", rg, ...]
        if len(parts) <= 3:
            return "subscription"
        if len(parts) <= 5:
            return "resource_group"
        return "resource"


@dataclass(frozen=True)
class Link:
    """The identity's own Partner Admin Link as read from Microsoft.ManagementPartner."""

    partner_id: str
    partner_name: str | None = None
    updated_time: datetime | None = None


@dataclass(frozen=True)
class AuditError:
    reason: ErrorReason
    message: str                # safe for logs and alerts: never a secret or token


@dataclass(frozen=True)
class Unknown:
    """One input of a unit that could not be read, and why; the unit is then partially audited."""

    input: Input
    reason: ErrorReason
    message: str                # safe for logs and alerts, like AuditError.message
    key: str = ""               # which item, e.g. the role id of an unreadable role definition

    @property
    def reported_as_error(self) -> bool:
        """Whether the unit reports it as an `audit_error`.

        Unreadable PIM eligibility is a normal state for an identity without the right to read it
        (the contract calls it "unknown", not an error), so it is only a partial-audit detail. So
        is an assignment schedule list refused (403) or not served (404): it only leaves the end
        dates of active assignments unknown. Any other failure there is reported.
        """
        if self.input == "assignment_schedules":
            return self.reason not in ("forbidden", "not_found")
        return self.input != "pim"


@dataclass(frozen=True)
class IdentitySnapshot:
    """Everything observed while signed in as one registry identity in one tenant.

    When `error` is set, the identity could not be audited and the other fields are not evidence.
    Otherwise every field is evidence except what `unknowns` names: `eligible` is None when PIM
    eligibility could not be read (unknown, not "none"), and a role id missing from `roles` whose
    definition could not be read is listed there with its reason. The `end` of an active
    assignment is evidence only while `schedules_known`: when the assignment schedule list could
    not be read, every end date is unknown (an `Unknown("assignment_schedules", ...)`), never
    "permanent". A unit with unknowns is
    *partially audited*: checks decide what its evidence decides and leave the rest undecided.
    """

    tenant_id: str
    identity: str                               # registry name, e.g. "ops-app"
    principal_id: str | None = None             # `oid` from its token; None if sign-in failed
    link: Link | None = None
    subscriptions: tuple[str, ...] = ()
    active: tuple[RoleAssignment, ...] = ()
    eligible: tuple[RoleAssignment, ...] | None = ()
    roles: dict[str, RoleDefinition] = field(default_factory=dict)  # role_id -> definition
    error: AuditError | None = None
    unknowns: tuple[Unknown, ...] = ()

    @property
    def schedules_known(self) -> bool:
        """Whether the end dates of the active assignments were read."""
        return not any(u.input == "assignment_schedules" for u in self.unknowns)

    @property
    def ok(self) -> bool:
        """Audited: its own link, subscriptions and active assignments were read (maybe partially)."""
        return self.error is None

    @property
    def partial(self) -> bool:
        return self.error is None and bool(self.unknowns)

    def partial_detail(self) -> str:
        """What this unit could not see, in one line ("" when it saw everything)."""
        return "; ".join(f"{u.input}{' ' + u.key if u.key else ''} unknown ({u.reason}: {u.message})"
                         for u in self.unknowns)


# ---------------------------------------------------------------- Azure Lighthouse

# What a TenantSnapshot stands for: a tenant audited by signing in there, a Lighthouse managing
# tenant (its identities' own links), or a customer seen through its delegations to one.
TenantKind = Literal["tenant", "managing", "delegated"]
LIGHTHOUSE_QUALIFIER = "lighthouse:"   # + managing tenant id: qualifier of a delegated customer's audit_error


@dataclass(frozen=True)
class Authorization:
    """One authorization of a Lighthouse delegation: a managing-tenant principal and a built-in role."""

    principal_id: str           # object id in the managing tenant (lower case)
    role_id: str                # bare role GUID (lower case)
    display_name: str = ""


@dataclass(frozen=True)
class Delegation:
    """A succeeded registration assignment (subscription or resource group) to the managing tenant."""

    scope: str                  # /subscriptions/<id> or /subscriptions/<id>/resourceGroups/<name>
    definition_name: str
    authorizations: tuple[Authorization, ...]           # permanent
    eligible_authorizations: tuple[Authorization, ...] = ()   # just in time

    @property
    def subscription_id(self) -> str:
        return self.scope.split("/")[2].lower()


@dataclass(frozen=True)
class Members:
    """A managing-tenant group's transitive members; `unknown` says why they could not be read."""

    members: frozenset[str] = frozenset()   # object ids (users, service principals, groups)
    unknown: AuditError | None = None


@dataclass(frozen=True)
class DelegatedCustomer:
    """One customer as the Lighthouse audit sees it from one managing tenant.

    `delegations` are evidence unless `error` is set (they could not be read: nothing about this
    customer is concluded). `links` holds the links of the registry identities that signed in in
    the managing tenant, by object id; a principal not in it has a link pal-audit cannot read.
    `kinds` is the Graph type of each principal named in an authorization ("user",
    "servicePrincipal", "group"); `groups` the members of each group named there.
    """

    managing_tenant_id: str
    managing_name: str
    delegations: tuple[Delegation, ...] = ()
    expected_subscriptions: tuple[str, ...] | None = None   # None: the registry lists no customers entry
    listed_subscriptions: tuple[str, ...] = ()              # customers[].subscriptions (may be empty)
    links: dict[str, Link | None] = field(default_factory=dict)
    identity_names: dict[str, str] = field(default_factory=dict)   # object id -> registry identity name
    unsigned_identities: tuple[str, ...] = ()   # registry identities that could not sign in (oid unknown)
    kinds: dict[str, str] = field(default_factory=dict)
    groups: dict[str, Members] = field(default_factory=dict)
    error: AuditError | None = None


@dataclass(frozen=True)
class TenantSnapshot:
    """One managed tenant: its registry settings plus what each identity saw."""

    tenant_id: str
    name: str
    expect_link: bool
    has_customer_approval: bool
    identities: tuple[IdentitySnapshot, ...]
    error: AuditError | None = None             # the whole tenant failed (e.g. poison message)
    # (check_id, principal_id) pairs the checks could not decide from this evidence, filled in by
    # evaluation (pal_audit.engine.auditor.assess). Findings with such a key must be neither created nor
    # resolved: the store leaves them exactly as stored (see `may_resolve`).
    undecided: frozenset[tuple[str, str]] = frozenset()
    kind: TenantKind = "tenant"
    lighthouse: DelegatedCustomer | None = None    # set when kind == "delegated"

    @property
    def fully_audited(self) -> bool:
        """No unit failed (a partially audited unit counts; its gaps are in `undecided`)."""
        lighthouse_ok = self.lighthouse is None or self.lighthouse.error is None
        return self.error is None and lighthouse_ok and all(i.ok for i in self.identities)

    def owns(self, finding: Finding) -> bool:
        """Whether this audit decides `finding`: a customer may be audited both directly and
        through Lighthouse, and each audit resolves only its own findings in the tenant's rows."""
        from_lighthouse = (finding.check_id.startswith("lighthouse_")
                           or finding.qualifier.startswith(LIGHTHOUSE_QUALIFIER))
        return from_lighthouse == (self.kind == "delegated")

    def may_resolve(self, check_id: str, principal_id: str) -> bool:
        """False when the evidence of this run cannot tell whether that finding still holds."""
        return (check_id, principal_id) not in self.undecided


@dataclass(frozen=True)
class PartnerPolicy:
    """What the checks compare against: the partner's ids and the role policy."""

    partner_id: str
    previous_partner_ids: frozenset[str] = frozenset()
    custom_roles: Literal["not_eligible", "by_permissions"] = "not_eligible"
    # Warn when the last PAL-eligible active assignment ends within this many days of `today`.
    expiry_warning_days: int = 14
    # The audit's day (UTC), set per evaluation (pal_audit.engine.auditor.assess) so the checks never read
    # the clock; None means no date was given and expiry cannot be judged.
    today: date | None = None

    def is_ours(self, partner_id: str) -> bool:
        return partner_id == self.partner_id or partner_id in self.previous_partner_ids


@dataclass(frozen=True)
class Suppression:
    check: str
    tenant_id: str
    identity: str | None
    reason: str
    owner: str
    expires: date

    def matches(self, finding: Finding) -> bool:
        return (
            finding.check_id == self.check
            and finding.tenant_id == self.tenant_id
            and (self.identity is None or self.identity == finding.identity)
        )


def finding_id(tenant_id: str, principal_id: str, check_id: str, qualifier: str = "") -> str:
    """Stable id (docs/checks.md): hex digest of `tenant_id|principal_id|check_id|qualifier`."""
    raw = f"{tenant_id}|{principal_id}|{check_id}|{qualifier}"
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Finding:
    check_id: str
    severity: Severity
    tenant_id: str
    principal_id: str           # object id; "-" for tenant-level; registry name if sign-in failed
    identity: str               # registry identity name; "-" for tenant-level
    title: str
    detail: str
    remediation: str
    qualifier: str = ""
    status: Status = Status.OPEN
    suppression: str | None = None   # "reason (owner, until date)" when suppressed

    @property
    def finding_id(self) -> str:
        return finding_id(self.tenant_id, self.principal_id, self.check_id, self.qualifier)

    def to_dict(self) -> dict[str, str]:
        return {
            "finding_id": self.finding_id,
            "check_id": self.check_id,
            "severity": self.severity.value,
            "tenant_id": self.tenant_id,
            "principal_id": self.principal_id,
            "identity": self.identity,
            "title": self.title,
            "detail": self.detail,
            "remediation": self.remediation,
            "status": self.status.value,
        }


@dataclass(frozen=True)
class FindingChange:
    """One lifecycle transition produced by a store write; the input of the alerts."""

    transition: Transition
    finding: Finding
    run_id: str
    at: datetime
