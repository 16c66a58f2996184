"""The checks: one module per check id (docs/checks.md), each with `META` (its id, title, severity,
scope and the inputs it `needs`) and `evaluate`, an IdentityCheck or TenantCheck whose `decide()` is
pure.

CHECK_MODULES is the only list of the checks. The check ids, the tenant-level ones (which the
registry uses to validate suppressions) and the checks by id are all derived from it, and every
module in it is validated when this package is imported (catalog).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType, ModuleType

from pal_audit.checks import (
    audit_error,
    credit_expires_soon,
    customer_approval_missing,
    eligible_role_only_via_pim,
    excessive_privilege,
    lighthouse_credit_only_via_jit,
    lighthouse_customer_not_delegated,
    lighthouse_delegation_not_credited,
    lighthouse_unaudited_principal,
    link_foreign_partner,
    link_missing,
    link_on_excluded_tenant,
    link_previous_partner_id,
    link_without_access,
    link_without_eligible_role,
    tenant_without_credited_link,
)
from pal_audit.checks.base import Check, Decision
from pal_audit.checks.catalog import registered
from pal_audit.checks.lighthouse_rules import applies
from pal_audit.model import Finding, PartnerPolicy, TenantSnapshot

# In the contract order of the check ids (the summary of docs/checks.md): findings come out in it.
CHECK_MODULES: tuple[ModuleType, ...] = (
    link_missing,
    link_foreign_partner,
    link_previous_partner_id,
    link_without_access,
    link_without_eligible_role,
    eligible_role_only_via_pim,
    link_on_excluded_tenant,
    excessive_privilege,
    customer_approval_missing,
    tenant_without_credited_link,
    credit_expires_soon,
    lighthouse_delegation_not_credited,
    lighthouse_credit_only_via_jit,
    lighthouse_customer_not_delegated,
    lighthouse_unaudited_principal,
    audit_error,
)

CHECKS: tuple[Check, ...] = registered(CHECK_MODULES)
CHECK_IDS: tuple[str, ...] = tuple(check.meta.check_id for check in CHECKS)
CHECKS_BY_ID: Mapping[str, Check] = MappingProxyType({check.meta.check_id: check for check in CHECKS})
# Checks whose findings are about the whole tenant: a suppression of one names no identity.
TENANT_LEVEL_CHECKS: frozenset[str] = frozenset(
    check.meta.check_id for check in CHECKS if check.meta.scope == "tenant")


def decide(tenant: TenantSnapshot, policy: PartnerPolicy) -> Decision:
    """Every check over one tenant's snapshot, in CHECK_IDS order: the findings the evidence proves,
    and the (check_id, principal_id) keys it could not decide. Pure: no I/O, no clock."""
    decision = Decision()
    for check in CHECKS:
        if applies(check, tenant):   # Lighthouse snapshots get their own checks (lighthouse_rules)
            decision += check.decide(tenant, policy)
    return decision


def run_checks(tenant: TenantSnapshot, policy: PartnerPolicy) -> list[Finding]:
    """The findings of `decide` alone (what a report shows)."""
    return list(decide(tenant, policy).findings)
