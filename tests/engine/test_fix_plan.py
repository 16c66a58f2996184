"""The pure planner: which finding asks for which link change, and what the flags allow."""

from __future__ import annotations

import pytest

from pal_audit.engine.plan import FixFlags, PlanFileError, plan_fixes, plan_from_json, plan_to_json
from pal_audit.model import AuditError, Finding, IdentitySnapshot, Link, Severity, Status, TenantSnapshot

PARTNER, PREVIOUS, FOREIGN = "1234567", "1234560", "7654321"


def unit(name: str, link: str | None, *, failed: bool = False) -> IdentitySnapshot:
    return IdentitySnapshot("t1", name, principal_id=f"oid-{name}", link=Link(link) if link else None,
                            error=AuditError("forbidden", "no") if failed else None)


def tenant(*units: IdentitySnapshot, expect_link: bool = True) -> TenantSnapshot:
    return TenantSnapshot("t1", "Fabrikam", expect_link, True, units)


def finding(check: str, identity: str, status: Status = Status.OPEN) -> Finding:
    return Finding(check, Severity.HIGH, "t1", f"oid-{identity}", identity, "t", "d", "r", status=status)


def test_safe_actions_are_planned_and_risky_ones_held_without_their_flag() -> None:
    snap = tenant(unit("a", None), unit("b", PREVIOUS), unit("c", FOREIGN), unit("d", PARTNER))
    findings = [finding("link_missing", "a"), finding("link_previous_partner_id", "b"),
                finding("link_foreign_partner", "c"), finding("link_without_access", "d")]
    plan = plan_fixes([(snap, findings)], PARTNER)
    assert [(a.identity, a.kind, a.before, a.after) for a in plan.actions] == [
        ("a", "create", None, PARTNER), ("b", "update", PREVIOUS, PARTNER)]
    assert [(a.identity, a.kind, a.needs) for a in plan.held] == [
        ("c", "update", ("--overwrite-foreign",)), ("d", "delete", ("--delete-stale",))]
    assert plan.actions[0].finding_id == findings[0].finding_id
    flagged = plan_fixes([(snap, findings)], PARTNER, FixFlags(overwrite_foreign=True, delete_stale=True))
    assert [a.identity for a in flagged.actions] == ["a", "b", "c", "d"] and flagged.held == ()


def test_a_foreign_link_on_an_excluded_tenant_needs_both_flags_to_be_deleted() -> None:
    snap = tenant(unit("c", FOREIGN), unit("d", PARTNER), expect_link=False)
    findings = [finding("link_foreign_partner", "c"), finding("link_on_excluded_tenant", "d")]
    assert [a.kind for a in plan_fixes([(snap, findings)], PARTNER, FixFlags(delete_excluded=True)).actions] \
        == ["delete"]     # only d
    both = plan_fixes([(snap, findings)], PARTNER, FixFlags(overwrite_foreign=True, delete_excluded=True))
    assert [(a.identity, a.kind, a.after) for a in both.actions] == [("c", "delete", None),
                                                                     ("d", "delete", None)]


def test_suppressed_findings_failed_units_and_other_checks_plan_nothing() -> None:
    snap = tenant(unit("a", None), unit("b", None, failed=True), unit("c", PARTNER))
    findings = [finding("link_missing", "a", Status.SUPPRESSED), finding("audit_error", "b"),
                finding("excessive_privilege", "c"), finding("link_missing", "b")]
    plan = plan_fixes([(snap, findings)], PARTNER, FixFlags(True, True, True))
    assert plan.actions == () and plan.held == ()


def test_one_action_per_identity_an_allowed_delete_before_an_update() -> None:
    snap = tenant(unit("b", PREVIOUS))
    findings = [finding("link_without_access", "b"), finding("link_previous_partner_id", "b")]
    assert [(a.kind, a.check_id) for a in plan_fixes([(snap, findings)], PARTNER).actions] == [
        ("update", "link_previous_partner_id")]
    stale = plan_fixes([(snap, findings)], PARTNER, FixFlags(delete_stale=True))
    assert [(a.kind, a.check_id) for a in stale.actions] == [("delete", "link_without_access")]


def test_the_plan_file_round_trips() -> None:
    snap = tenant(unit("a", None), unit("c", FOREIGN))
    plan = plan_fixes([(snap, [finding("link_missing", "a"), finding("link_foreign_partner", "c")])], PARTNER)
    assert plan_from_json(plan_to_json(plan), "plan.json") == plan


@pytest.mark.parametrize(("text", "message"), [
    ("[]", "plan.json: a plan file is a JSON object"),
    ('{"version": 2, "partner_id": "1"}', "plan.json: version: expected 1, got 2"),
    ('{"version": 1, "partner_id": "1", "flags": {"yolo": true}}', "plan.json: flags: unknown key"),
    ('{"version": 1, "partner_id": "1", "actions": [{"tenant_id": "t", "tenant_name": "n", "identity": "i", '
     '"principal_id": "p", "check_id": "c", "finding_id": "f", "kind": "create", "before": "1", '
     '"after": "2"}]}', "plan.json: actions[0]: a create needs before null and after set"),
])
def test_a_bad_plan_file_names_the_key(text: str, message: str) -> None:
    with pytest.raises(PlanFileError, match="^" + message.replace("[", r"\[").replace("]", r"\]")):
        plan_from_json(text, "plan.json")
