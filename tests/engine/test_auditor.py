"""The engine end to end: armsim over HTTPS, the real async SDK clients, the checks.

Each test builds the estate it needs next to its registry, so the situation under test is
visible in the test itself.
"""

from __future__ import annotations

from datetime import date

import pytest
from builders import FOREIGN, PREVIOUS, EstateBuilder
from engine_support import audit, checks_of, served

MG = "/providers/Microsoft.Management/managementGroups/mg-ops"


@pytest.fixture
def edge(tmp_path):
    """One tenant holding the edge cases of collection and classification."""
    b = EstateBuilder()
    t = b.tenant("Edge", subscriptions=2, management_groups=[{"id": "mg-ops", "parent": None}])
    for s in t["subscriptions"]:
        s["management_group"] = "mg-ops"
    ops_group = b.group(t, "MSP operators")
    ops = b.sp(t, "ops-app", member_of=(ops_group,))
    b.assign(t, ops_group, "Support Request Contributor", MG)      # via a group, inherited from the MG
    for i in range(7):                                               # enough to need several pages
        b.assign(t, ops, "Reader", f"{b.sub(t, i % 2)}/resourceGroups/rg-{'ab'[i % 2]}/providers/"
                 f"Microsoft.Compute/virtualMachines/vm{i}")
    blob = b.sp(t, "blob-app")
    b.assign(t, blob, "Storage Blob Data Reader", b.sub(t))   # has an /action, yet not eligible
    b.assign(t, blob, "Reader", b.sub(t))
    b.assign(t, b.sp(t, "blind-app"), "Storage Blob Data Contributor", b.sub(t, 1))
    t["custom_roles"].append({"role_id": "0c0c0c0c-0000-4000-8000-000000000001", "name": "VM Restarter",
                              "actions": ["Microsoft.Compute/*/read", "Microsoft.Authorization/*/read",
                                          "Microsoft.Compute/virtualMachines/restart/action"]})
    b.assign(t, b.sp(t, "custom-app"), "0c0c0c0c-0000-4000-8000-000000000001", b.sub(t, 1))
    b.assign(t, b.sp(t, "pim-app"), "Contributor", b.sub(t), eligible=True)
    b.sp(t, "nosub-app")
    rg = b.sp(t, "rg-app")
    b.assign(t, rg, "Virtual Machine Contributor", f"{b.sub(t)}/resourceGroups/rg-a")
    b.assign(t, rg, "Virtual Machine Contributor", f"{b.sub(t, 1)}/resourceGroups/rg-b")
    return b


def test_edge_tenant_classification(edge, tmp_path):
    with served(edge, tmp_path, page_size=2) as (registry, server):
        results = audit(registry, edge.env)
        stats = server.sim.stats.snapshot()
    r = results["Edge"]
    snap = {i.identity: i for i in r.snapshot.identities}
    assert all(i.ok for n, i in snap.items() if n != "blind-app"), {n: i.error for n, i in snap.items()}
    # Group-transitive and inherited from the management group: seen under both subscriptions, once.
    ops = snap["ops-app"]
    src = [a for a in ops.active if ops.roles[a.role_id].name == "Support Request Contributor"]
    assert len(src) == 1 and src[0].scope_kind == "management_group"
    assert len(ops.subscriptions) == 2
    # Assignments below the subscription, across several pages of 2.
    assert sum(1 for a in ops.active if a.scope_kind == "resource") == 7
    assert checks_of(r, "ops-app") == []
    # The PEC table wins over the permission rule: Storage Blob Data Reader earns nothing.
    assert checks_of(r, "blob-app") == ["link_without_eligible_role"]
    # A data-plane-only identity cannot read its own assignments: an audit error, never "no access".
    assert snap["blind-app"].error.reason == "forbidden"
    assert "assignments_via" in snap["blind-app"].error.message
    # Custom roles are not eligible by default, and the detail says why.
    custom = [f for f in r.findings if f.identity == "custom-app"]
    assert [f.check_id for f in custom] == ["link_without_eligible_role"]
    assert "custom role" in custom[0].detail
    assert checks_of(r, "pim-app") == ["eligible_role_only_via_pim"]
    # An identity with no subscription at all: linked, but no access.
    assert snap["nosub-app"].subscriptions == ()
    assert checks_of(r, "nosub-app") == ["link_without_access"]
    # Resource-group-only identity: refused at subscription scope, audited per resource group.
    rg = snap["rg-app"]
    assert {a.scope_kind for a in rg.active} == {"resource_group"} and len(rg.active) == 2
    assert checks_of(r, "rg-app") == []
    assert stats["by_operation"].get("resource_groups.list", 0) >= 2
    assert not r.snapshot.fully_audited


def test_custom_roles_by_permissions_policy(edge, tmp_path):
    edge.policy = {"custom_roles": "by_permissions"}
    with served(edge, tmp_path) as (registry, _):
        r = audit(registry, edge.env)["Edge"]
    assert checks_of(r, "custom-app") == []
    assert checks_of(r, "blob-app") == ["link_without_eligible_role"]   # the table still wins


def test_builtin_definitions_fetched_once_across_tenants(tmp_path):
    b = EstateBuilder()
    for n in range(6):
        t = b.tenant(f"T{n}", subscriptions=2)
        oid = b.sp(t, "ops-app")
        b.assign(t, oid, "Support Request Contributor", b.sub(t))
        b.assign(t, oid, "Reader", b.sub(t, 1))
    with served(b, tmp_path) as (registry, server):
        results = audit(registry, b.env, concurrency=6)
        stats = server.sim.stats.snapshot()
    assert all(r.ok and not r.findings for r in results.values())
    assert stats["by_operation"]["role_definitions.get"] == 2          # two built-ins, six tenants
    per_identity = stats["total"] / 6
    assert per_identity <= 3 + 2 * 2 + 1     # §12 budget, plus the first tenant's definitions


def test_link_situations(tmp_path):
    b = EstateBuilder()
    t = b.tenant("Links", approval=False)
    b.assign(t, b.sp(t, "ok-app"), "Contributor", b.sub(t))
    b.assign(t, b.sp(t, "foreign-app", link=FOREIGN), "Contributor", b.sub(t))
    b.assign(t, b.sp(t, "old-app", link=PREVIOUS), "Contributor", b.sub(t))
    b.assign(t, b.sp(t, "unlinked-app", link=None), "Owner", b.sub(t))
    x = b.tenant("Short project", expect_link=False)
    b.assign(x, b.sp(x, "ok-app"), "Contributor", b.sub(x))
    with served(b, tmp_path) as (registry, _):
        results = audit(registry, b.env)
    r = results["Links"]
    assert checks_of(r, "foreign-app") == ["link_foreign_partner"]
    assert checks_of(r, "old-app") == ["link_previous_partner_id"]
    assert checks_of(r, "unlinked-app") == ["excessive_privilege", "link_missing"]
    assert checks_of(r, "-") == ["customer_approval_missing"]
    assert checks_of(results["Short project"]) == ["link_on_excluded_tenant"]


def test_suppressions_live_and_expired(tmp_path):
    b = EstateBuilder()
    t = b.tenant("Owners")
    b.assign(t, b.sp(t, "ops-app"), "Owner", b.sub(t))
    tid = t["tenant_id"]
    b.suppressions = [{"check": "excessive_privilege", "tenant_id": tid, "identity": "ops-app",
                       "reason": "landing zone", "owner": "lead@contoso.example", "expires": "2026-12-31"}]
    with served(b, tmp_path) as (registry, _):
        live = audit(registry, b.env, today=date(2026, 12, 1))["Owners"]
        expired = audit(registry, b.env, today=date(2027, 1, 1))["Owners"]
    assert [(f.check_id, f.status.value) for f in live.findings] == [("excessive_privilege", "suppressed")]
    assert "landing zone" in (live.findings[0].suppression or "")
    assert [(f.check_id, f.status.value) for f in expired.findings] == [("excessive_privilege", "open")]


def test_assignments_via_a_reader_identity(tmp_path):
    b = EstateBuilder()
    t = b.tenant("Via reader", subscriptions=2, assignments_via="reader-app")
    # ops-app may not read role assignments at all (a data-plane-only role), the reader lists them.
    ops = b.sp(t, "ops-app")
    b.assign(t, ops, "Storage Blob Data Contributor", b.sub(t, 1))
    reader = b.sp(t, "reader-app", link=None, audited=False)
    b.assign(t, reader, "Reader", "/")
    with served(b, tmp_path) as (registry, server):
        r = audit(registry, b.env)["Via reader"]
        calls = server.sim.stats.recent
    snap = r.snapshot.identities[0]
    assert snap.ok and [a.role_id for a in snap.active] == ["ba92f5b4-2d11-453d-a403-e96b0029c9fe"]
    assert checks_of(r) == []
    listed_by = {c["principal_id"] for c in calls if c["operation"] == "role_assignments.list"}
    assert listed_by == {reader}


def test_every_failure_is_one_units_audit_error_with_its_reason(tmp_path):
    b = EstateBuilder()
    t = b.tenant("Faults")
    names = ("forbidden-app", "notfound-app", "unexpected-app", "throttled-app", "slow-app",
             "wrongsecret-app", "disabled-app", "healthy-app")
    oids = {}
    for name in names:
        oids[name] = b.sp(t, name, enabled=name != "disabled-app")
        b.assign(t, oids[name], "Contributor", b.sub(t))
    b.fail = [
        {"match": "partners.get", "status": 403, "principal": oids["forbidden-app"]},
        {"match": "subscriptions.list", "status": 404, "principal": oids["notfound-app"]},
        {"match": "role_assignments.list", "status": 400, "principal": oids["unexpected-app"]},
        {"match": "role_assignments.list", "status": 429, "retry_after": 1,
         "principal": oids["throttled-app"]},
        {"match": "subscriptions.list", "status": 500, "delay_ms": 6000, "principal": oids["slow-app"]},
    ]
    env = dict(b.env, WRONGSECRET_APP_SECRET="not-the-secret")
    with served(b, tmp_path) as (registry, _):
        r = audit(registry, env, unit_budget_seconds=2.5)["Faults"]
    errors = {i.identity: i.error for i in r.snapshot.identities}
    assert {n: (e.reason if e else None) for n, e in errors.items()} == {
        "forbidden-app": "forbidden", "notfound-app": "not_found", "unexpected-app": "unexpected",
        "throttled-app": "throttled", "slow-app": "timeout", "wrongsecret-app": "auth_failed",
        "disabled-app": "auth_failed", "healthy-app": None}
    audit_errors = {f.identity: f for f in r.findings if f.check_id == "audit_error"}
    assert set(audit_errors) == set(names) - {"healthy-app"}
    assert audit_errors["wrongsecret-app"].principal_id == "wrongsecret-app"   # no oid without a token
    assert audit_errors["forbidden-app"].principal_id == oids["forbidden-app"]
    assert all(f.detail.startswith(f"{errors[n].reason}:") for n, f in audit_errors.items())
    assert "not-the-secret" not in repr(r)
    # One failing identity: the tenant is not fully audited, so no tenant-level verdict on credit.
    assert "tenant_without_credited_link" not in checks_of(r)
    assert checks_of(r, "healthy-app") == []


def test_short_retry_after_is_honoured_within_the_budget(tmp_path):
    b = EstateBuilder()
    t = b.tenant("Throttled once")
    oid = b.sp(t, "ops-app")
    b.assign(t, oid, "Contributor", b.sub(t))
    b.fail = [{"match": "role_assignments.list", "status": 429, "retry_after": 1, "times": 2}]
    with served(b, tmp_path) as (registry, server):
        r = audit(registry, b.env, unit_budget_seconds=10)["Throttled once"]
        statuses = [c["status"] for c in server.sim.stats.recent if c["operation"] == "role_assignments.list"]
    assert r.ok and checks_of(r) == []
    assert statuses == [429, 429, 200]


def test_a_bug_in_one_tenant_fails_that_tenant_loudly_and_the_run_goes_on(tmp_path, monkeypatch):
    import pal_audit.engine.auditor as audit_module

    b = EstateBuilder()
    for name in ("Good", "Cursed"):
        t = b.tenant(name)
        b.assign(t, b.sp(t, "ops-app"), "Contributor", b.sub(t))
    cursed = b.tenants[1]["tenant_id"]
    real = audit_module.decide

    def flaky_checks(snapshot, policy):
        if snapshot.tenant_id == cursed:
            raise ZeroDivisionError("a bug")
        return real(snapshot, policy)

    monkeypatch.setattr(audit_module, "decide", flaky_checks)
    with served(b, tmp_path) as (registry, _):
        results = audit(registry, b.env)
    assert results["Good"].ok and checks_of(results["Good"]) == []
    bad = results["Cursed"]
    assert not bad.ok and [(f.check_id, f.principal_id) for f in bad.findings] == [("audit_error", "-")]
    assert bad.findings[0].detail == "unexpected: the audit itself failed: ZeroDivisionError"


def test_a_failed_role_definition_read_is_not_remembered(tmp_path):
    """The cache is shared by a whole run (the Functions app keeps one per run): a failed read
    must stay this unit's unknown, not become every later unit's "role does not exist"."""
    from pal_audit.engine.role_definitions import RoleDefinitionCache

    b = EstateBuilder()
    t = b.tenant("Custom")
    role = "0c0c0c0c-0000-4000-8000-0000000000aa"
    t["custom_roles"].append({"role_id": role, "name": "Runbook Operator",
                              "actions": ["Microsoft.Authorization/*/read",
                                          "Microsoft.Automation/automationAccounts/jobs/write"]})
    b.assign(t, b.sp(t, "runbook-app"), role, b.sub(t))
    b.fail.append({"match": "role_definitions.get", "status": 404, "times": 1})
    cache = RoleDefinitionCache()
    with served(b, tmp_path) as (registry, _):
        first = audit(registry, b.env, roles=cache)["Custom"]
        second = audit(registry, b.env, roles=cache)["Custom"]
    [unit] = first.snapshot.identities
    assert unit.ok and [(u.input, u.reason, u.key) for u in unit.unknowns] == [
        ("role_definitions", "not_found", role)]
    assert ("link_without_eligible_role", unit.principal_id) in first.undecided
    assert checks_of(first) == ["audit_error"]
    assert second.snapshot.identities[0].unknowns == () and second.undecided == frozenset()
    assert checks_of(second) == ["link_without_eligible_role", "tenant_without_credited_link"]


def test_a_tenants_custom_roles_are_forgotten_when_its_audit_ends_and_built_ins_kept(tmp_path):
    """What the cache holds does not grow with the estate: custom roles serve only their tenant."""
    from pal_audit.engine.role_definitions import RoleDefinitionCache

    b = EstateBuilder()
    for n in range(4):
        t = b.tenant(f"T{n}")
        role = f"0c0c0c0c-0000-4000-8000-00000000000{n}"
        t["custom_roles"].append({"role_id": role, "name": "Runbook Operator",
                                  "actions": ["Microsoft.Automation/automationAccounts/jobs/write"]})
        oid = b.sp(t, "runbook-app")
        b.assign(t, oid, role, b.sub(t))
        b.assign(t, oid, "Support Request Contributor", b.sub(t))
    cache = RoleDefinitionCache()
    with served(b, tmp_path) as (registry, server):
        results = audit(registry, b.env, roles=cache)
        stats = server.sim.stats.snapshot()
    assert all(r.ok for r in results.values())
    assert stats["by_operation"]["role_definitions.get"] == 4 + 1      # each custom role once, one built-in
    assert cache.custom_count == 0 and cache.builtin_count == 1
