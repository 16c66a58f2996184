"""Credited access: which identity earns the partner credit, through which role and scope (pure).

This is the evidence behind "credited": an identity audited in this run, linked to the partner's
current ID, holding an active assignment whose role is PAL-eligible. It follows the checks' rules
of evidence: a role whose definition could not be read is no claim of credit, and a failed
identity claims nothing (its previous evidence is neither confirmed nor denied).
`tenant_without_credited_link` is raised exactly when a tenant expecting a link has no credit here
and every identity was audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from pal_audit.checks.base import Evidence, access_of
from pal_audit.model import IdentitySnapshot, Input, PartnerPolicy, TenantSnapshot

# What reading the credit takes: the link, the active assignments and their roles' definitions.
CREDIT_NEEDS: frozenset[Input] = frozenset({"link", "active", "role_definitions"})


@dataclass(frozen=True)
class Credit:
    """One PAL-eligible active assignment held by an identity linked to the current partner ID."""

    identity: str               # registry name
    principal_id: str           # object id
    partner_id: str             # the link's partner id (the current one, by definition)
    role: str                   # role name
    role_id: str                # bare GUID
    scope: str                  # ARM scope of the assignment ("/" for the root)

    @property
    def key(self) -> tuple[str, str, str]:
        """What must hold unchanged for credit to be continuous: partner id, role and scope."""
        return (self.partner_id, self.role_id.lower(), self.scope.lower())


def _identity_credit(snap: IdentitySnapshot, policy: PartnerPolicy) -> tuple[Credit, ...]:
    if not snap.ok or snap.link is None or snap.link.partner_id != policy.partner_id:
        return ()
    who = Evidence(snap, CREDIT_NEEDS)
    out = []
    for held in access_of(who, policy).active:
        if not held.known or not held.verdict.eligible:
            continue        # unknown role: no claim of credit; a known non-eligible role earns none
        out.append(Credit(snap.identity, snap.principal_id or "", snap.link.partner_id, held.role_name,
                          held.assignment.role_id.lower(), held.assignment.scope or "/"))
    # Held twice (directly and via a group) is one credit.
    return tuple(sorted(set(out), key=lambda c: (c.scope.lower(), c.role.casefold(), c.role_id)))


def credited_access(snapshot: TenantSnapshot, policy: PartnerPolicy) -> tuple[Credit, ...]:
    """Every credited (identity, role, scope) of the tenant, in identity then scope order.

    A tenant that does not expect a link is still reported (its identities may hold credit);
    whether it counts as a credited customer is `tenant_credited`.
    """
    return tuple(c for snap in snapshot.identities for c in _identity_credit(snap, policy))


def tenant_credited(snapshot: TenantSnapshot, credit: tuple[Credit, ...]) -> bool:
    """The customer earns credit: it expects a link, and this audit saw at least one credited identity."""
    return snapshot.expect_link and snapshot.error is None and bool(credit)
