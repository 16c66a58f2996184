"""credit_expires_soon: every PAL-eligible active assignment of a linked identity ends within the window."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from builders import CONTRIBUTOR, GROUP, OID, OPERATOR, POLICY, READER, SRC, SUB, assign, ident, link, tenant

from pal_audit.checks import audit_error, credit_expires_soon, decide, eligible_role_only_via_pim
from pal_audit.model import IdentitySnapshot, PartnerPolicy, RoleAssignment, RoleDefinition, Unknown

TODAY = date(2026, 11, 30)
AT_TODAY = replace(POLICY, today=TODAY)
KEY = ("credit_expires_soon", OID)
SCHEDULES_FORBIDDEN = Unknown("assignment_schedules", "forbidden",
                              "listing role assignment schedules: HTTP 403")


def ending(role: RoleDefinition, days: int, scope: str = SUB, principal: str = OID) -> RoleAssignment:
    """An active assignment that ends `days` after TODAY, mid-morning UTC."""
    end = datetime(TODAY.year, TODAY.month, TODAY.day, 9, 30, tzinfo=UTC) + timedelta(days=days)
    return replace(assign(role, scope, principal), end=end)


def linked(*active: RoleAssignment, **kw) -> IdentitySnapshot:
    return ident(link=link(), active=active, **kw)


def test_raises_naming_the_date_and_the_roles():
    [finding] = credit_expires_soon.evaluate(tenant(linked(ending(SRC, 5), assign(READER))), AT_TODAY)
    assert finding.check_id == "credit_expires_soon" and finding.severity == "medium"
    assert finding.principal_id == OID and finding.identity == "ops-app"
    assert "ends by 2026-12-05" in finding.detail
    assert f"Support Request Contributor at {SUB} until 2026-12-05" in finding.detail
    assert "Reader" not in finding.detail                                  # not eligible: irrelevant
    assert "Privileged Identity Management" in finding.remediation
    assert f"--assignee {OID}" in finding.remediation and f"--scope {SUB}" in finding.remediation


def test_the_date_named_is_the_latest_end_among_the_eligible_roles():
    [finding] = credit_expires_soon.evaluate(tenant(linked(ending(SRC, 3), ending(CONTRIBUTOR, 10))),
                                             AT_TODAY)
    assert "ends by 2026-12-10" in finding.detail
    assert "Support Request Contributor" in finding.detail and "Contributor at" in finding.detail


def test_not_raised_when_one_eligible_assignment_is_permanent():
    who = linked(ending(SRC, 3), assign(CONTRIBUTOR))
    decision = credit_expires_soon.evaluate.decide(tenant(who), AT_TODAY)
    assert decision.findings == () and decision.undecided == frozenset()


def test_not_raised_outside_the_window_and_raised_on_its_last_day():
    outside = credit_expires_soon.evaluate.decide(tenant(linked(ending(SRC, 15))), AT_TODAY)
    assert outside.findings == () and outside.undecided == frozenset()
    assert len(credit_expires_soon.evaluate(tenant(linked(ending(SRC, 14))), AT_TODAY)) == 1


def test_the_window_is_the_policys_expiry_warning_days():
    same_day = replace(AT_TODAY, expiry_warning_days=0)
    assert len(credit_expires_soon.evaluate(tenant(linked(ending(SRC, 0))), same_day)) == 1
    assert credit_expires_soon.evaluate(tenant(linked(ending(SRC, 1))), same_day) == []
    wide = replace(AT_TODAY, expiry_warning_days=30)
    assert len(credit_expires_soon.evaluate(tenant(linked(ending(SRC, 30))), wide)) == 1


def test_an_end_late_in_the_utc_day_counts_on_that_day():
    late = replace(assign(SRC), end=datetime(2026, 12, 14, 23, 59, tzinfo=UTC))
    assert len(credit_expires_soon.evaluate(tenant(linked(late)), AT_TODAY)) == 1
    next_day = replace(assign(SRC), end=datetime(2026, 12, 15, 0, 1, tzinfo=UTC))
    assert credit_expires_soon.evaluate(tenant(linked(next_day)), AT_TODAY) == []


def test_undecided_when_the_end_dates_could_not_be_read():
    who = replace(linked(assign(SRC)), unknowns=(SCHEDULES_FORBIDDEN,))   # SRC looks permanent
    decision = credit_expires_soon.evaluate.decide(tenant(who), AT_TODAY)
    assert decision.findings == () and decision.undecided == {KEY}


def test_undecided_without_an_audit_date():
    decision = credit_expires_soon.evaluate.decide(tenant(linked(ending(SRC, 5))), POLICY)
    assert decision.findings == () and decision.undecided == {KEY}


def test_undecided_when_an_active_role_is_unknown_and_might_be_a_permanent_eligible_one():
    roles = {r.role_id: r for r in (SRC, READER)}                  # OPERATOR's definition unread
    unread = Unknown("role_definitions", "not_found", "HTTP 404", OPERATOR.role_id)
    who = replace(linked(ending(SRC, 5), assign(OPERATOR), roles=roles), unknowns=(unread,))
    assert credit_expires_soon.evaluate.decide(tenant(who), AT_TODAY).undecided == {KEY}
    # ... but a known permanent eligible role settles it whatever the unknown one is.
    who = replace(linked(assign(SRC), assign(OPERATOR), roles=roles), unknowns=(unread,))
    assert credit_expires_soon.evaluate.decide(tenant(who), AT_TODAY).undecided == frozenset()


def test_no_eligible_active_role_is_left_to_the_other_checks():
    for who in (linked(ending(READER, 2)), linked(), linked(ending(READER, 2), eligible=None)):
        decision = credit_expires_soon.evaluate.decide(tenant(who), AT_TODAY)
        assert decision.findings == () and decision.undecided == frozenset()


def test_only_for_identities_linked_to_us_where_a_link_is_expected():
    active = [ending(SRC, 5)]
    for t in (tenant(linked(*active), expect_link=False),            # link advice rule
              tenant(ident(active=active)),                          # not linked: link_missing
              tenant(ident(link=link("7654321"), active=active))):   # foreign: link_foreign_partner
        assert credit_expires_soon.evaluate(t, AT_TODAY) == []
    previous = tenant(ident(link=link("1234560"), active=active))
    assert len(credit_expires_soon.evaluate(previous, AT_TODAY)) == 1


def test_an_eligible_role_held_through_a_group_counts():
    [finding] = credit_expires_soon.evaluate(tenant(linked(ending(SRC, 4, principal=GROUP))), AT_TODAY)
    assert f"via group {GROUP}" in finding.detail


def test_the_engine_passes_the_audit_date_and_the_registry_window():
    policy = PartnerPolicy("1234567", expiry_warning_days=3, today=TODAY)
    assert [f.check_id for f in decide(tenant(linked(ending(SRC, 5))), policy).findings] == []
    found = decide(tenant(linked(ending(SRC, 3))), policy).findings
    assert "credit_expires_soon" in [f.check_id for f in found]


def test_pim_eligibility_that_ends_is_named_in_eligible_role_only_via_pim():
    eligibility = replace(assign(CONTRIBUTOR), end=datetime(2026, 12, 5, 8, 0, tzinfo=UTC))
    who = ident(link=link(), active=[assign(READER)], eligible=[eligibility])
    [finding] = eligible_role_only_via_pim.evaluate(tenant(who), AT_TODAY)
    assert f"Contributor at {SUB}, eligible until 2026-12-05 (Contributor is PAL-eligible" in finding.detail
    permanent = ident(link=link(), active=[assign(READER)], eligible=[assign(CONTRIBUTOR)])
    [finding] = eligible_role_only_via_pim.evaluate(tenant(permanent), AT_TODAY)
    assert "eligible until" not in finding.detail


def test_unreadable_schedules_are_an_error_only_when_not_a_refusal():
    # 403/404 is a normal state (like PIM): a partial-audit detail; a 500 is reported.
    refused = replace(linked(assign(SRC)), unknowns=(SCHEDULES_FORBIDDEN,))
    assert audit_error.evaluate(tenant(refused), AT_TODAY) == []
    assert "assignment_schedules unknown (forbidden" in refused.partial_detail()
    broken = replace(linked(assign(SRC)), unknowns=(
        Unknown("assignment_schedules", "unexpected", "listing role assignment schedules: HTTP 500"),))
    [finding] = audit_error.evaluate(tenant(broken), AT_TODAY)
    assert finding.detail.startswith("unexpected: listing role assignment schedules: HTTP 500")
