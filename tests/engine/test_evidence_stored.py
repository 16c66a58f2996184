"""Evidence or error, end to end: a transient fault never creates or resolves a stored finding.

The demo estate (examples/estate.yaml, examples/registry.yaml) is served by armsim with scripted
faults, audited by the real engine and SDKs, and written through the real findings store on
Azurite, night after night: clean, faulty, clean.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from engine_support import ADATUM, PROSEWARE, WIDE_WORLD, audit_demo, demo_served

from pal_audit.engine.auditor import TenantResult
from pal_audit.model import FindingChange

ALPINE = "495a38d0-9ce6-481b-b615-4826b1548e26"
Nights = list[list[dict[str, Any]] | None]


async def stored_nights(store: Any, tmp: Path, nights: Nights, **auditor_kw: Any
                        ) -> tuple[list[list[FindingChange]], list[list[TenantResult]]]:
    """Audit and store the demo estate once per night (each with its own fault rules);
    returns every night's committed transitions and its results."""
    changes: list[list[FindingChange]] = []
    results: list[list[TenantResult]] = []
    for n, fail in enumerate(nights):
        at = datetime(2026, 11, 1, 2, tzinfo=UTC) + timedelta(days=n)
        night: list[FindingChange] = []
        (tmp / str(n)).mkdir()
        with demo_served(tmp / str(n), fail) as served:
            audited = await audit_demo(served, **auditor_kw)
        for r in audited:
            night += await store.findings.write_tenant(r.snapshot, r.findings, f"night-{n}", at=at)
        changes.append(night)
        results.append(audited)
    return changes, results


def moves(changes: list[FindingChange]) -> list[tuple[str, str, str]]:
    """(transition, check_id, identity) of each change, audit_error aside: it reports the fault itself."""
    return sorted((c.transition.value, c.finding.check_id, c.finding.identity) for c in changes
                  if c.finding.check_id != "audit_error")


def by_name(results: list[TenantResult], name: str) -> TenantResult:
    return next(r for r in results if r.snapshot.name == name)


async def test_one_404_on_a_role_definition_changes_no_finding(store, tmp_path):
    """Reproduction 1: one 404 on a role-definition GET in Adatum used to resolve its
    excessive_privilege and raise link_without_eligible_role and tenant_without_credited_link."""
    fault = [{"match": "role_definitions.get", "status": 404, "tenant_id": ADATUM, "times": 1}]
    changes, results = await stored_nights(store, tmp_path, [None, fault, None])
    assert moves(changes[1]) == [] and moves(changes[2]) == []
    # Owner and Reader are in the PEC table: classified from it, so the unit saw everything.
    adatum = by_name(results[1], "Adatum Health")
    assert adatum.ok and adatum.undecided == frozenset()
    assert sorted(f.check_id for f in adatum.findings) == ["excessive_privilege",
                                                          "link_without_eligible_role"]


async def test_unreadable_custom_role_is_reported_and_decides_nothing(store, tmp_path):
    """A custom role's definition (not in the table) failing: an audit_error names it (not_found),
    the checks that need it are undecided, and nothing else moves."""
    fault = [{"match": "role_definitions.get", "status": 404, "tenant_id": ALPINE}]
    changes, results = await stored_nights(store, tmp_path, [None, fault, None])
    assert moves(changes[1]) == [] and moves(changes[2]) == []
    alpine = by_name(results[1], "Alpine Ski House")
    [error] = [f for f in alpine.findings if f.check_id == "audit_error"]
    assert error.identity == "runbook-app" and error.detail.startswith("not_found: reading role definition")
    assert "Partially audited" in error.detail
    runbook = next(i for i in alpine.snapshot.identities if i.identity == "runbook-app")
    assert runbook.ok and runbook.partial
    assert ("link_without_eligible_role", runbook.principal_id) in alpine.undecided
    assert not alpine.may_resolve(_finding("link_without_eligible_role", runbook.principal_id))
    assert [c.transition.value for c in changes[2] if c.finding.check_id == "audit_error"] == ["RESOLVED"]


def _finding(check_id: str, principal_id: str) -> Any:
    from pal_audit.model import Finding, Severity

    return Finding(check_id, Severity.LOW, "t", principal_id, "x", "t", "d", "r")


@pytest.mark.parametrize("status", [403, 404])
async def test_unreadable_pim_creates_and_resolves_nothing(store, tmp_path, status):
    """Reproduction 2: PIM answering 403/404 stays "unknown" (no audit_error), and every finding
    whose truth depends on PIM is left as stored."""
    fault = [{"match": "role_eligibility_schedule_instances.list", "status": status}]
    changes, results = await stored_nights(store, tmp_path, [None, fault, None])
    assert moves(changes[1]) == [] and moves(changes[2]) == []
    assert [c for c in changes[1] if c.finding.check_id == "audit_error"] == []
    wwi, proseware = by_name(results[1], "Wide World Importers"), by_name(results[1], "Proseware Inc")
    assert wwi.ok and proseware.ok
    oncall = next(i for i in wwi.snapshot.identities if i.identity == "oncall-app")
    assert oncall.eligible is None and oncall.partial and "pim unknown" in oncall.partial_detail()
    assert {("eligible_role_only_via_pim", oncall.principal_id),
            ("link_without_eligible_role", oncall.principal_id)} <= wwi.undecided
    ops = proseware.snapshot.identities[0]
    assert ("link_without_access", ops.principal_id) in proseware.undecided
    assert {f.tenant_id for f in _stored_open(changes[0])} >= {WIDE_WORLD, PROSEWARE}


def _stored_open(changes: list[FindingChange]) -> list[Any]:
    return [c.finding for c in changes if c.transition.value == "NEW"]
