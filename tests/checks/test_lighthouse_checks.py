"""The Lighthouse checks as pure functions of a delegated customer's snapshot: which of them raises,
and when a delegation is left undecided rather than judged."""

from __future__ import annotations

from pal_audit.checks import decide
from pal_audit.model import (
    AuditError,
    Authorization,
    DelegatedCustomer,
    Delegation,
    IdentitySnapshot,
    Link,
    Members,
    PartnerPolicy,
    TenantSnapshot,
)

POLICY = PartnerPolicy(partner_id="1234567", previous_partner_ids=frozenset({"1234560"}))
SCOPE = "/subscriptions/33333333-3333-3333-3333-333333333333"
APP, GROUP, USER = "app-oid", "group-oid", "user-oid"
CONTRIBUTOR, READER, SRC = ("b24988ac-6180-42a0-ab88-20f7382dd24c", "acdd72a7-3385-48ef-bd42-f606fba81ae7",
                            "cfd33db0-3dd1-45e3-aa9d-cdbdf3b6f24e")


OURS = Link("1234567")


def customer(*delegations: Delegation, link: Link | None = OURS, **kw: object) -> TenantSnapshot:
    view = DelegatedCustomer("managing", "Contoso", delegations=delegations, links={APP: link},
                             identity_names={APP: "automation-sp"},
                             kinds={APP: "servicePrincipal", GROUP: "group", USER: "user"},
                             groups={GROUP: Members(frozenset({APP}))}, **kw)  # type: ignore[arg-type]
    return TenantSnapshot("customer", "Fabrikam via Lighthouse", True, True, (), kind="delegated",
                          lighthouse=view)


def delegation(permanent: list[tuple[str, str]], jit: list[tuple[str, str]] | None = None) -> Delegation:
    return Delegation(SCOPE, "Contoso", tuple(Authorization(p, r) for p, r in permanent),
                      tuple(Authorization(p, r) for p, r in jit or []))


def checks(snapshot: TenantSnapshot) -> list[str]:
    return sorted(f.check_id for f in decide(snapshot, POLICY).findings)


def test_credited_directly_or_through_a_group_raises_nothing() -> None:
    assert checks(customer(delegation([(APP, SRC)]))) == []
    assert checks(customer(delegation([(GROUP, CONTRIBUTOR)]))) == []


def test_jit_only_replaces_not_credited() -> None:
    assert checks(customer(delegation([(APP, READER)], jit=[(GROUP, CONTRIBUTOR)]))) == [
        "lighthouse_credit_only_via_jit"]


def test_a_previous_or_foreign_link_does_not_credit() -> None:
    for link in (Link("1234560"), Link("7654321"), None):
        [f] = decide(customer(delegation([(APP, CONTRIBUTOR)]), link=link), POLICY).findings
        assert f.check_id == "lighthouse_delegation_not_credited" and f.qualifier == SCOPE


def test_a_registry_identity_that_could_not_sign_in_leaves_it_undecided() -> None:
    decision = decide(customer(delegation([(USER, CONTRIBUTOR)]), unsigned_identities=("ops-app",)), POLICY)
    assert decision.findings == ()
    assert {("lighthouse_delegation_not_credited", "-"), ("lighthouse_unaudited_principal", "-")} <= \
        decision.undecided


def test_an_unresolved_group_leaves_it_undecided() -> None:
    snap = customer(delegation([(GROUP, CONTRIBUTOR)]))
    assert snap.lighthouse is not None
    snap.lighthouse.groups[GROUP] = Members(unknown=AuditError("forbidden", "HTTP 403"))
    decision = decide(snap, POLICY)
    assert decision.findings == () and ("lighthouse_delegation_not_credited", "-") in decision.undecided


def test_unreadable_delegations_decide_nothing() -> None:
    decision = decide(customer(error=AuditError("forbidden", "HTTP 403")), POLICY)
    assert decision.findings == ()
    assert ("lighthouse_delegation_not_credited", "-") in decision.undecided


def test_customer_checks_never_run_on_a_delegated_or_managing_snapshot() -> None:
    managing = TenantSnapshot("managing", "Contoso", True, False, (
        IdentitySnapshot("managing", "automation-sp", APP, link=Link("1234567")),), kind="managing")
    assert checks(managing) == []   # no customer_approval_missing, no tenant_without_credited_link
    assert checks(customer()) == []  # no tenant_without_credited_link for a customer with no identity
