"""Time-bound access through armsim and the real SDK: end dates reach credit_expires_soon.

armsim lists a time-bound role assignment as an assignment schedule instance with `endDateTime`
(relative dates such as `+5d` count from when it loads the estate), and a time-bound eligibility
as an eligibility instance with its end. The engine reads both at the tenant root (asTarget()).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from builders import EstateBuilder
from engine_support import audit, checks_of, served

TODAY = datetime.now(UTC).date()   # armsim resolves `+5d` from its own start, i.e. now


def on(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


def grant(tenant: dict[str, Any], principal: str, role: str, scope: str, *, eligible: bool = False,
          end: str | None = None) -> None:
    item: dict[str, Any] = {"principal": principal, "role": role, "scope": scope}
    if end is not None:
        item["end"] = end
    tenant["eligible_assignments" if eligible else "role_assignments"].append(item)


def finding(result: Any, check_id: str) -> Any:
    [found] = [f for f in result.findings if f.check_id == check_id]
    return found


def test_credit_ending_within_the_window_is_raised_naming_the_date(tmp_path: Path) -> None:
    b = EstateBuilder()
    ending = b.tenant("Ending", subscriptions=2)
    oid = b.sp(ending, "ops-app")
    grant(ending, oid, "Support Request Contributor", b.sub(ending), end="+5d")
    grant(ending, oid, "Contributor", b.sub(ending, 1), end="+3d")
    grant(ending, oid, "Reader", b.sub(ending, 1))                        # permanent but not eligible
    mixed = b.tenant("Mixed")
    oid = b.sp(mixed, "ops-app")
    grant(mixed, oid, "Support Request Contributor", b.sub(mixed), end="+5d")
    grant(mixed, oid, "Contributor", b.sub(mixed))                       # permanent eligible role
    later = b.tenant("Later")
    oid = b.sp(later, "ops-app")
    grant(later, oid, "Support Request Contributor", b.sub(later), end="+30d")
    with served(b, tmp_path) as (registry, _):
        results = audit(registry, b.env, today=TODAY)
    found = finding(results["Ending"], "credit_expires_soon")
    assert found.severity == "medium" and found.identity == "ops-app"
    assert f"ends by {on(5)}" in found.detail
    assert f"Contributor at {b.sub(ending, 1)} until {on(3)}" in found.detail
    assert f"Support Request Contributor at {b.sub(ending)} until {on(5)}" in found.detail
    assert checks_of(results["Mixed"]) == []
    assert checks_of(results["Later"]) == []
    assert all(r.undecided == frozenset() for r in results.values())


def test_group_held_assignment_at_a_management_group_is_matched_to_its_end(tmp_path: Path) -> None:
    # The assignment is listed once per subscription below the group; its schedule once, at the root.
    b = EstateBuilder()
    t = b.tenant("Groups", subscriptions=2, management_groups=[{"id": "mg-x", "parent": None}])
    for s in t["subscriptions"]:
        s["management_group"] = "mg-x"
    team = b.group(t, "Contoso Operators")
    b.sp(t, "ops-app", member_of=(team,))
    mg = "/providers/Microsoft.Management/managementGroups/mg-x"
    grant(t, team, "Support Request Contributor", mg, end="+2d")
    with served(b, tmp_path) as (registry, _):
        result = audit(registry, b.env, today=TODAY)["Groups"]
    found = finding(result, "credit_expires_soon")
    assert f"Support Request Contributor at {mg} via group {team} until {on(2)}" in found.detail


def test_pim_eligibility_end_is_named_in_eligible_role_only_via_pim(tmp_path: Path) -> None:
    b = EstateBuilder()
    t = b.tenant("Pim")
    oid = b.sp(t, "ops-app")
    grant(t, oid, "Reader", b.sub(t))
    grant(t, oid, "Contributor", b.sub(t), eligible=True, end="+20d")
    with served(b, tmp_path) as (registry, _):
        result = audit(registry, b.env, today=TODAY)["Pim"]
    found = finding(result, "eligible_role_only_via_pim")
    assert f"Contributor at {b.sub(t)}, eligible until {on(20)} (" in found.detail


def test_unreadable_schedules_leave_expiry_undecided_never_permanent(tmp_path: Path) -> None:
    b = EstateBuilder()
    refused = b.tenant("Refused")
    oid = b.sp(refused, "ops-app")
    grant(refused, oid, "Support Request Contributor", b.sub(refused), end="+5d")
    broken = b.tenant("Broken")
    oid_broken = b.sp(broken, "ops-app")
    grant(broken, oid_broken, "Support Request Contributor", b.sub(broken), end="+5d")
    schedules = "role_assignment_schedule_instances.list"
    b.fail = [{"match": schedules, "status": 403, "code": "AuthorizationFailed",
               "tenant_id": refused["tenant_id"]},
              {"match": schedules, "status": 500, "tenant_id": broken["tenant_id"]}]
    with served(b, tmp_path) as (registry, _):
        results = audit(registry, b.env, today=TODAY)
    refused_result = results["Refused"]
    assert checks_of(refused_result) == []                       # a 403 is no audit_error ...
    assert ("credit_expires_soon", oid) in refused_result.undecided   # ... and decides nothing
    [unit] = refused_result.snapshot.identities
    assert unit.ok and "assignment_schedules unknown (forbidden" in unit.partial_detail()
    broken_result = results["Broken"]
    assert ("credit_expires_soon", oid_broken) in broken_result.undecided
    error = finding(broken_result, "audit_error")
    assert error.detail.startswith("unexpected: listing role assignment schedules: HTTP 500")
    assert broken_result.ok                                       # partially audited, not failed


def test_every_list_pages_to_its_end_with_small_pages(tmp_path: Path) -> None:
    # Role assignments, eligibility and assignment schedules all page at once (page size 2): every
    # end date is matched, no next page is refused.
    b = EstateBuilder()
    t = b.tenant("Pages", subscriptions=3)
    oid = b.sp(t, "ops-app")
    for i in range(3):
        scope = b.sub(t, i)
        for rg in ("rg-a", "rg-b"):
            grant(t, oid, "Reader", f"{scope}/resourceGroups/{rg}")
            grant(t, oid, "Contributor", f"{scope}/resourceGroups/{rg}", eligible=True, end="+40d")
        grant(t, oid, "Support Request Contributor", scope, end=f"+{i + 4}d")
    with served(b, tmp_path, page_size=2) as (registry, server):
        result = audit(registry, b.env, today=TODAY)["Pages"]
        stats = server.sim.stats.snapshot()
    assert result.ok and result.undecided == frozenset(), [f.detail for f in result.findings]
    assert stats["by_status"].get("400", 0) == 0
    assert stats["by_operation"]["role_assignment_schedule_instances.list"] >= 3   # it paged
    found = finding(result, "credit_expires_soon")
    assert f"ends by {on(6)}" in found.detail
    [unit] = result.snapshot.identities
    assert unit.eligible is not None and {a.end.date() for a in unit.eligible if a.end} == {
        date.fromisoformat(on(40))}


def test_one_schedule_list_per_identity(tmp_path: Path) -> None:
    b = EstateBuilder()
    for n in range(3):
        t = b.tenant(f"T{n}", subscriptions=2)
        oid = b.sp(t, "ops-app")
        grant(t, oid, "Support Request Contributor", b.sub(t), end="+60d")
    with served(b, tmp_path) as (registry, server):
        audit(registry, b.env, today=TODAY)
        stats = server.sim.stats.snapshot()
    assert stats["by_operation"]["role_assignment_schedule_instances.list"] == 3
    assert stats["by_operation"]["role_eligibility_schedule_instances.list"] == 3


async def test_pim_pages_keep_their_api_version_when_role_assignments_are_listed_midway(tmp_path: Path
                                                                                      ) -> None:
    # A PIM list (2020-10-01) between pages while a role-assignment list (2022-04-01) runs must
    # page with its own version: armsim, like ARM, answers a PIM instance list with 2022-04-01 by
    # 400 NoRegisteredProviderFound (the SDK's multi-api client once sent whichever was set last).
    from azure.core.pipeline.transport import AioHttpTransport

    from pal_audit.engine.collect import ArmSession, list_active, list_eligible, list_schedule_ends
    from pal_audit.engine.credentials import make_credential

    b = EstateBuilder()
    t = b.tenant("Midway")
    oid = b.sp(t, "ops-app")
    sub_id = t["subscriptions"][0]["subscription_id"]
    for rg in ("rg-a", "rg-b", "rg-c"):
        grant(t, oid, "Reader", f"{b.sub(t)}/resourceGroups/{rg}", end="+10d")
        grant(t, oid, "Contributor", f"{b.sub(t)}/resourceGroups/{rg}", eligible=True, end="+40d")
    with served(b, tmp_path, page_size=1) as (registry, _):
        transport = AioHttpTransport(connection_verify=str(registry.cloud.ca_bundle))
        credential = make_credential(tenant_id=t["tenant_id"], identity_name="ops-app",
                                     identity=registry.identity("ops-app"), cloud=registry.cloud,
                                     env=b.env, transport=transport)
        session = ArmSession(credential, registry.cloud, {"transport": transport})
        try:
            active, eligible, schedules = await asyncio.gather(
                list_active(session, sub_id, oid), list_eligible(session), list_schedule_ends(session))
            assert len(active) == 3
            assert isinstance(eligible, list) and len(eligible) == 3
            assert isinstance(schedules, list) and len(schedules) == 3
        finally:
            await session.close()
            await transport.close()


def test_assignments_are_matched_to_their_schedule_by_origin_id_then_name_then_scope_role_principal() -> None:
    # Pure matching, on the JSON of the SDK's own model: real instances carry the origin id in the
    # service's casing, and the schedule is named after the assignment.
    from azure.mgmt.authorization.v2020_10_01.models import RoleAssignmentScheduleInstance

    from pal_audit.engine.collect import ScheduleEnd, with_end_dates
    from pal_audit.model import RoleAssignment

    sub, role, who = "/subscriptions/s1", "cfd33db0-3dd1-45e3-aa9d-cdbdf3b6f24e", "p1"
    base = f"{sub}/providers/Microsoft.Authorization"
    end1, end2, end3 = (datetime(2026, 12, d, tzinfo=UTC) for d in (1, 2, 3))
    def wire(**kw: object) -> dict:
        return RoleAssignmentScheduleInstance(**kw).serialize(keep_readonly=True)

    schedules = [ScheduleEnd(wire(origin_role_assignment_id=f"{base.upper()}/ROLEASSIGNMENTS/A1",
                                  end_date_time=end1)),
                 ScheduleEnd(wire(role_assignment_schedule_id=f"{base}/roleAssignmentSchedules/a2",
                                  end_date_time=end2)),
                 ScheduleEnd(wire(scope=f"{sub}/resourceGroups/RG", principal_id=who, end_date_time=end3,
                                  role_definition_id=f"{base}/roleDefinitions/{role.upper()}"))]
    active = [RoleAssignment(f"{base}/roleAssignments/a1", sub, role, who),
              RoleAssignment(f"{base}/roleAssignments/a2", sub, role, who),
              RoleAssignment(f"{sub}/resourceGroups/rg/x/a3", f"{sub}/resourceGroups/rg", role, who),
              RoleAssignment(f"{base}/roleAssignments/a4", sub, "other-role", who)]
    assert [a.end for a in with_end_dates(active, schedules)] == [end1, end2, end3, None]
