"""Small builders for hand-made snapshots, so each check test reads like the situation it covers."""

from __future__ import annotations

import uuid

from pal_audit.model import (
    AuditError,
    Finding,
    IdentitySnapshot,
    Link,
    PartnerPolicy,
    RoleAssignment,
    RoleDefinition,
    TenantSnapshot,
)

TENANT = "5c1f8e2a-7b3d-4e9f-a0c6-2d8b4f1e7a93"
OID = "9e4b2c71-3f8a-4d05-b6e1-7a2c9d0f4b38"
GROUP = "c3a7d2e9-1b4f-4a86-9e05-6d8f2b1c7a40"
SUB_ID = "3b9e1c47-8d2a-4f6b-a1e3-5c7d9f0b2e84"
SUB = f"/subscriptions/{SUB_ID}"
RG = f"{SUB}/resourceGroups/rg-web"
MG = "/providers/Microsoft.Management/managementGroups/mg-prod"
ROOT = "/"

OURS, PREVIOUS, FOREIGN = "1234567", "1234560", "7654321"
POLICY = PartnerPolicy(OURS, frozenset({PREVIOUS}))

OWNER = RoleDefinition("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", False, ("*",))
CONTRIBUTOR = RoleDefinition(
    "b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor", False, ("*",),
    ("Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
     "Microsoft.Authorization/elevateAccess/Action"))
READER = RoleDefinition("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", False, ("*/read",))
UAA = RoleDefinition("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "User Access Administrator", False,
                     ("*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"))
SRC = RoleDefinition("cfd33db0-3dd1-45e3-aa9d-cdbdf3b6f24e", "Support Request Contributor", False,
                     ("Microsoft.Authorization/*/read",
                      "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"))
VM_CONTRIBUTOR = RoleDefinition("9980e02c-c2be-4d73-94e8-173b1dc7cf3c", "Virtual Machine Contributor", False,
                                ("Microsoft.Authorization/*/read", "Microsoft.Compute/virtualMachines/*"))
OPERATOR = RoleDefinition("0d7c3b5e-6a41-4f29-8e1b-2c9a7f5d3e16", "Contoso VM Operator", True,
                          ("Microsoft.Compute/*/read", "Microsoft.Compute/virtualMachines/restart/action"))
KNOWN_ROLES = {r.role_id: r for r in (OWNER, CONTRIBUTOR, READER, UAA, SRC, VM_CONTRIBUTOR, OPERATOR)}


def assign(role: RoleDefinition, scope: str = SUB, principal: str = OID) -> RoleAssignment:
    name = uuid.uuid5(uuid.NAMESPACE_URL, f"{scope}|{role.role_id}|{principal}")
    kind = "Group" if principal == GROUP else "ServicePrincipal"
    return RoleAssignment(f"{scope.rstrip('/')}/providers/Microsoft.Authorization/roleAssignments/{name}",
                          scope, role.role_id, principal, kind)


def link(partner_id: str = OURS, name: str | None = None) -> Link:
    return Link(partner_id, name)


def ident(name: str = "ops-app", *, link: Link | None = None, active=(), eligible=(),
          roles: dict[str, RoleDefinition] | None = None, oid: str | None = OID,
          error: AuditError | None = None) -> IdentitySnapshot:
    return IdentitySnapshot(
        tenant_id=TENANT, identity=name, principal_id=oid, link=link,
        subscriptions=(SUB_ID,) if active or eligible else (), active=tuple(active),
        eligible=None if eligible is None else tuple(eligible),
        roles=KNOWN_ROLES if roles is None else roles, error=error)


def failed(name: str = "ops-app", reason: str = "auth_failed", message: str = "AADSTS7000215: invalid secret",
           oid: str | None = None) -> IdentitySnapshot:
    return IdentitySnapshot(tenant_id=TENANT, identity=name, principal_id=oid,
                            error=AuditError(reason, message))  # type: ignore[arg-type]


def tenant(*identities: IdentitySnapshot, expect_link: bool = True, approval: bool = True,
           error: AuditError | None = None) -> TenantSnapshot:
    return TenantSnapshot(TENANT, "Fabrikam Retail", expect_link, approval, tuple(identities), error)


def raised(findings: list[Finding]) -> list[tuple[str, str]]:
    """(identity, principal_id) of each finding: what a user sees first in the table."""
    return [(f.identity, f.principal_id) for f in findings]
