"""credited_access: which identity earns credit through which role and scope (pure, no I/O)."""

from __future__ import annotations

from pal_audit.checks.credit import Credit, credited_access, tenant_credited
from pal_audit.model import (
    AuditError,
    IdentitySnapshot,
    Link,
    PartnerPolicy,
    RoleAssignment,
    RoleDefinition,
    TenantSnapshot,
    Unknown,
)

T = "11111111-0000-0000-0000-000000000001"
SUB = "/subscriptions/22222222-0000-0000-0000-000000000002"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
SUPPORT = "cfd33db0-3dd1-45e3-aa9d-cdbdf3b6f24e"
CUSTOM = "99999999-9999-4999-8999-999999999999"
POLICY = PartnerPolicy("1234567", previous_partner_ids=frozenset({"7654321"}))


def held(role_id: str, scope: str = SUB, principal: str = "oid-ops", n: int = 0) -> RoleAssignment:
    assignment = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{role_id[:8]}{n}"
    return RoleAssignment(assignment, scope, role_id, principal)


def ident(name: str = "ops-app", *, link: str | None = "1234567", active: tuple[RoleAssignment, ...] = (),
          roles: dict[str, RoleDefinition] | None = None, error: AuditError | None = None,
          unknowns: tuple[Unknown, ...] = ()) -> IdentitySnapshot:
    return IdentitySnapshot(T, name, principal_id=f"oid-{name}", link=Link(link) if link else None,
                            active=active, roles=roles or {}, error=error, unknowns=unknowns)


def tenant(*identities: IdentitySnapshot, expect_link: bool = True) -> TenantSnapshot:
    return TenantSnapshot(T, "Fabrikam", expect_link, False, identities)


def test_an_identity_linked_to_the_current_id_is_credited_through_each_eligible_active_role():
    # Contributor twice at one scope (direct and via a group): one credit, not two.
    ops = ident(active=(held(READER), held(CONTRIBUTOR), held(SUPPORT, "/"),
                        held(CONTRIBUTOR, principal="oid-group", n=1)))
    credit = credited_access(tenant(ops, ident("mon-app", link=None, active=(held(CONTRIBUTOR),))), POLICY)
    assert credit == (
        Credit("ops-app", "oid-ops-app", "1234567", "Support Request Contributor", SUPPORT, "/"),
        Credit("ops-app", "oid-ops-app", "1234567", "Contributor", CONTRIBUTOR, SUB))
    assert tenant_credited(tenant(ops), credit)


def test_no_credit_without_a_link_to_the_current_id_or_an_eligible_role():
    cases = [ident(link=None, active=(held(CONTRIBUTOR),)),          # no link
             ident(link="7654321", active=(held(CONTRIBUTOR),)),     # a previous partner id earns nothing
             ident(link="5555555", active=(held(CONTRIBUTOR),)),     # someone else's
             ident(active=(held(READER),)),                          # linked, Reader only
             ident(active=())]                                       # linked, no access
    for case in cases:
        assert credited_access(tenant(case), POLICY) == (), case
        assert not tenant_credited(tenant(case), ())


def test_unknown_evidence_claims_no_credit_but_known_evidence_still_does():
    # A role whose definition could not be read is no claim; a known eligible one beside it still is.
    unread = Unknown("role_definitions", "forbidden", "refused", key=CUSTOM)
    partial = ident(active=(held(CUSTOM), held(CONTRIBUTOR)), unknowns=(unread,))
    assert [c.role for c in credited_access(tenant(partial), POLICY)] == ["Contributor"]
    only_unknown = ident(active=(held(CUSTOM),), unknowns=(unread,))
    assert credited_access(tenant(only_unknown), POLICY) == ()
    failed = ident(active=(held(CONTRIBUTOR),), error=AuditError("forbidden", "refused"))
    assert credited_access(tenant(failed), POLICY) == ()


def test_custom_roles_follow_the_policy():
    writer = RoleDefinition(CUSTOM, "Ops Writer", True, actions=("Microsoft.Compute/*",))
    snap = tenant(ident(active=(held(CUSTOM),), roles={CUSTOM: writer}))
    assert credited_access(snap, POLICY) == ()
    by_perms = PartnerPolicy("1234567", custom_roles="by_permissions")
    assert [(c.role, c.role_id) for c in credited_access(snap, by_perms)] == [("Ops Writer", CUSTOM)]


def test_a_customer_excluded_from_linking_is_never_a_credited_customer():
    snap = tenant(ident(active=(held(CONTRIBUTOR),)), expect_link=False)
    credit = credited_access(snap, POLICY)
    assert credit and not tenant_credited(snap, credit)
