"""The checks: one module per check id (docs/checks.md), each with `META` (including the inputs it
`needs`) and `evaluate`, an IdentityCheck or TenantCheck whose `decide()` is pure."""

from __future__ import annotations

from types import ModuleType

from pal_audit.checks import (
    audit_error,
    credit_expires_soon,
    customer_approval_missing,
    eligible_role_only_via_pim,
    excessive_privilege,
    link_foreign_partner,
    link_missing,
    link_on_excluded_tenant,
    link_previous_partner_id,
    link_without_access,
    link_without_eligible_role,
    tenant_without_credited_link,
)
from pal_audit.checks.base import Decision
from pal_audit.model import CHECK_IDS, Finding, PartnerPolicy, TenantSnapshot

_MODULES: dict[str, ModuleType] = {m.META.check_id: m for m in (
    link_missing, link_foreign_partner, link_previous_partner_id, link_without_access,
    link_without_eligible_role, eligible_role_only_via_pim, link_on_excluded_tenant,
    excessive_privilege, customer_approval_missing, tenant_without_credited_link, credit_expires_soon,
    audit_error,
)}
ALL_CHECKS: tuple[ModuleType, ...] = tuple(_MODULES[check_id] for check_id in CHECK_IDS)
CHECKS_BY_ID: dict[str, ModuleType] = {m.META.check_id: m for m in ALL_CHECKS}


def decide(tenant: TenantSnapshot, policy: PartnerPolicy) -> Decision:
    """Every check over one tenant's snapshot, in CHECK_IDS order: the findings the evidence proves,
    and the (check_id, principal_id) keys it could not decide. Pure: no I/O, no clock."""
    decision = Decision()
    for check in ALL_CHECKS:
        decision += check.evaluate.decide(tenant, policy)
    return decision


def run_checks(tenant: TenantSnapshot, policy: PartnerPolicy) -> list[Finding]:
    """The findings of `decide` alone (what a report shows)."""
    return list(decide(tenant, policy).findings)
