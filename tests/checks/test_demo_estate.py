"""The demo estate stages what examples/README.md promises: every check id, in the listed tenants.

Snapshots are derived straight from the estate file (what a correct collector would observe:
assignments held directly or through groups, the principal's own link, sign-in failing for a
disabled or absent principal), so this runs in milliseconds; the demo itself covers the wire.
"""

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from armsim.builtin_roles import BUILTIN_BY_ID
from armsim.estate import load_estate
from pal_audit.checks import CHECK_IDS, run_checks
from pal_audit.checks.suppressions import apply_suppressions
from pal_audit.model import (
    AuditError,
    IdentitySnapshot,
    Link,
    RoleAssignment,
    RoleDefinition,
    Status,
    TenantSnapshot,
)
from pal_audit.registry import load_registry

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TODAY = date(2026, 11, 27)   # the estate's relative dates (`end: +5d`) count from this day

EXPECTED = {  # tenant -> sorted (check_id, identity, status); the table in examples/README.md
    "Fabrikam Retail": [],
    "Tailwind Traders": [("credit_expires_soon", "ops-app", "open"),
                         ("link_foreign_partner", "contractor-app", "open")],
    "Woodgrove Bank": [],
    "Adatum Health": [("excessive_privilege", "ops-app", "open"),
                      ("link_without_eligible_role", "monitor-app", "open")],
    "Litware Labs": [("link_on_excluded_tenant", "ops-app", "open")],
    "Proseware Inc": [("link_without_access", "ops-app", "open"),
                      ("tenant_without_credited_link", "-", "open")],
    "Wide World Importers": [("eligible_role_only_via_pim", "oncall-app", "open"),
                             ("link_previous_partner_id", "legacy-app", "open"),
                             ("tenant_without_credited_link", "-", "open")],
    "Alpine Ski House": [("customer_approval_missing", "-", "open"),
                         ("excessive_privilege", "ops-app", "suppressed"),
                         ("link_without_eligible_role", "runbook-app", "open")],
    "Coho Winery": [("audit_error", "monitor-app", "open"), ("audit_error", "ops-app", "open")],
    "Margie's Travel": [("link_missing", "ops-app", "open"), ("tenant_without_credited_link", "-", "open")],
}


def _definition(role, custom: bool) -> RoleDefinition:
    return RoleDefinition(role.role_id, role.name, custom, tuple(role.actions), tuple(role.not_actions),
                          tuple(role.data_actions), tuple(role.not_data_actions))


def _snapshots():
    estate = load_estate(EXAMPLES / "estate.yaml", now=datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    registry = load_registry(EXAMPLES / "registry.yaml", check_secrets=False)
    for tc in registry.tenants:
        et = next(t for t in estate.tenants if t.tenant_id == tc.tenant_id)
        roles = {rid: _definition(r, False) for rid, r in BUILTIN_BY_ID.items()}
        roles |= {r.role_id: _definition(r, True) for r in et.custom_roles}
        identities = []
        for name in tc.identities:
            p = next((p for p in et.principals if p.app_id == registry.identity(name).client_id), None)
            if p is None or not p.enabled:
                identities.append(IdentitySnapshot(tc.tenant_id, name,
                                                   error=AuditError("auth_failed", "cannot sign in")))
                continue
            holders = {p.object_id, *p.member_of}

            def held(assignments, holders=holders):
                return tuple(RoleAssignment(f"{a.scope.rstrip('/')}/x/{a.assignment_id}", a.scope, a.role_id,
                                            a.principal_id, end=a.end)
                             for a in assignments if a.principal_id in holders)

            link = Link(p.link_partner_id, estate.partners[p.link_partner_id].name) if p.link_partner_id \
                else None
            identities.append(IdentitySnapshot(
                tc.tenant_id, name, p.object_id, link, tuple(s.subscription_id for s in et.subscriptions),
                held(et.role_assignments), held(et.eligible_assignments), roles))
        yield TenantSnapshot(tc.tenant_id, tc.name, tc.expect_link, tc.has_customer_approval,
                             tuple(identities)), registry


def test_demo_shows_the_documented_findings_and_every_check():
    seen, ids = {}, set()
    for snapshot, registry in _snapshots():
        findings = apply_suppressions(run_checks(snapshot, replace(registry.partner_policy(), today=TODAY)),
                                      registry.suppression_rules(), TODAY)
        seen[snapshot.name] = sorted((f.check_id, f.identity, f.status.value) for f in findings)
        ids |= {f.check_id for f in findings if f.status == Status.OPEN}
    assert seen == EXPECTED
    # excessive_privilege is also open at Adatum. The Lighthouse checks are raised by the demo's
    # managing tenant, through armsim: tests/engine/test_lighthouse_demo.py.
    assert ids == {c for c in CHECK_IDS if not c.startswith("lighthouse_")}


def test_every_link_in_the_estate_uses_a_listed_partner():
    estate = load_estate(EXAMPLES / "estate.yaml")
    assert {"1234567", "1234560", "7654321"} <= set(estate.partners)
    for tenant in estate.tenants:
        for p in tenant.principals:
            assert p.link_partner_id is None or p.link_partner_id in estate.partners
