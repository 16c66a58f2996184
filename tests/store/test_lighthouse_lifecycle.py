"""A customer audited both directly and through Lighthouse: the two audits share the tenant's
partition in PalFindings, and each resolves only its own findings (written to Azurite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from builders import T1, finding, snapshot

from pal_audit.model import DelegatedCustomer, Status, TenantSnapshot

pytestmark = pytest.mark.azurite
DAY1 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
MANAGING = "99999999-9999-9999-9999-999999999999"
SCOPE = "/subscriptions/33333333-3333-3333-3333-333333333333"


def delegated(error: bool = False) -> TenantSnapshot:
    from pal_audit.model import AuditError

    view = DelegatedCustomer(MANAGING, "Contoso", error=AuditError("forbidden", "x") if error else None)
    return TenantSnapshot(T1, "Fabrikam via Lighthouse", True, True, (), kind="delegated", lighthouse=view)


def statuses(rows) -> dict[tuple[str, str], Status]:
    return {(r.finding.check_id, r.finding.qualifier): r.finding.status for r in rows.values()}


async def test_each_audit_resolves_only_its_own_findings(store):
    direct = [finding("link_missing"), finding("tenant_without_credited_link", "-")]
    lighthouse = [finding("lighthouse_delegation_not_credited", "-", qualifier=SCOPE),
                  finding("audit_error", "-", qualifier=f"lighthouse:{MANAGING}")]
    await store.findings.write_tenant(snapshot(), direct, "run1", at=DAY1)
    await store.findings.write_tenant(delegated(), lighthouse, "run1", at=DAY1)

    # the Lighthouse audit finds nothing: only its own findings resolve
    changes = await store.findings.write_tenant(delegated(), [], "run2", at=DAY1 + timedelta(days=1))
    assert sorted(c.finding.check_id for c in changes) == ["audit_error",
                                                           "lighthouse_delegation_not_credited"]
    rows = statuses(await store.findings.read_tenant(T1))
    assert rows[("link_missing", "")] == rows[("tenant_without_credited_link", "")] == Status.OPEN

    # the direct audit finds nothing: the Lighthouse findings, raised again, stay open
    await store.findings.write_tenant(delegated(), lighthouse, "run3", at=DAY1 + timedelta(days=2))
    changes = await store.findings.write_tenant(snapshot(), [], "run3", at=DAY1 + timedelta(days=2))
    assert sorted(c.finding.check_id for c in changes) == ["link_missing", "tenant_without_credited_link"]
    rows = statuses(await store.findings.read_tenant(T1))
    assert rows[("lighthouse_delegation_not_credited", SCOPE)] == Status.OPEN
    assert rows[("audit_error", f"lighthouse:{MANAGING}")] == Status.OPEN


async def test_a_customer_whose_delegations_could_not_be_read_resolves_nothing(store):
    await store.findings.write_tenant(delegated(), [finding("lighthouse_delegation_not_credited", "-",
                                                            qualifier=SCOPE)], "run1", at=DAY1)
    later = DAY1 + timedelta(days=1)
    assert await store.findings.write_tenant(delegated(error=True), [], "run2", at=later) == []
