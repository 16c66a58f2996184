"""Test data builders, in one place: snapshots and findings for the pure checks and the store,
and `EstateBuilder` for an armsim estate with the registry that audits it (built side by side so
they cannot disagree)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from pal_audit.model import (
    AuditError,
    Finding,
    IdentitySnapshot,
    Link,
    PartnerPolicy,
    RoleAssignment,
    RoleDefinition,
    Severity,
    Status,
    TenantSnapshot,
)
from pal_audit.registry import Registry, parse_registry

# ---------------------------------------------------------------- snapshots for the checks
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


# ---------------------------------------------------------------- snapshots and findings for the store

T1 = "22222222-2222-2222-2222-222222222222"
T2 = "33333333-3333-3333-3333-333333333333"


def snapshot(tenant_id: str = T1, *, ok: dict[str, bool] | None = None,
             tenant_error: bool = False) -> TenantSnapshot:
    """A tenant with identities ops-app and mon-app (both succeeded unless `ok` says otherwise)."""
    ok = {"ops-app": True, "mon-app": True, **(ok or {})}
    idents = tuple(
        IdentitySnapshot(tenant_id, name, principal_id=f"oid-{name}",
                         error=None if good else AuditError("forbidden", f"{name} was refused"))
        for name, good in ok.items())
    return TenantSnapshot(tenant_id, "Fabrikam", True, False, idents,
                          error=AuditError("unexpected", "crashed") if tenant_error else None)


def finding(check_id: str = "link_missing", identity: str = "ops-app", *, tenant_id: str = T1,
            qualifier: str = "", status: Status = Status.OPEN, severity: Severity = Severity.HIGH,
            detail: str = "seen") -> Finding:
    principal = "-" if identity == "-" else f"oid-{identity}"
    return Finding(check_id, severity, tenant_id, principal, identity, f"{check_id} title", detail,
                   "do this", qualifier=qualifier, status=status,
                   suppression="reason (owner, until 2030-01-01)" if status == Status.SUPPRESSED else None)


# ---------------------------------------------------------------- estates for armsim and the engine

PARTNER = OURS       # the partner id of the estates the EstateBuilder writes


def guid(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "pal-audit-tests/" + "/".join(map(str, parts))))


class EstateBuilder:
    """A small estate and the registry that audits it, built side by side so they cannot disagree."""

    def __init__(self) -> None:
        self.tenants: list[dict[str, Any]] = []
        self.identities: dict[str, dict[str, Any]] = {}
        self.registry_tenants: list[dict[str, Any]] = []
        self.env: dict[str, str] = {}
        self.fail: list[dict[str, Any]] = []
        self.suppressions: list[dict[str, Any]] = []
        self.policy: dict[str, Any] | None = None

    def identity(self, name: str) -> str:
        """Define a registry identity (a multi-tenant app); returns its client id."""
        if name not in self.identities:
            env = name.upper().replace("-", "_") + "_SECRET"
            self.identities[name] = {"kind": "service_principal", "client_id": guid("app", name),
                                     "auth": {"method": "client_secret", "secret_env": env}}
            self.env[env] = f"sim-only-{name}"
        return self.identities[name]["client_id"]

    def tenant(self, name: str, *, subscriptions: int = 1, expect_link: bool = True,
               approval: bool = True, management_groups: list[dict[str, Any]] | None = None,
               **registry_extra: Any) -> dict[str, Any]:
        tid = guid("tenant", name)
        t = {"tenant_id": tid, "name": name, "management_groups": management_groups or [],
             "subscriptions": [{"subscription_id": guid("sub", name, i), "name": f"{name}-{i}",
                                "resource_groups": ["rg-a", "rg-b"]} for i in range(subscriptions)],
             "principals": [], "custom_roles": [], "role_assignments": [], "eligible_assignments": []}
        self.tenants.append(t)
        reg = {"tenant_id": tid, "name": name, "identities": [], "expect_link": expect_link, **registry_extra}
        if approval:
            reg["customer_approval"] = {"by": "it@customer.example", "on": "2026-01-01"}
        self.registry_tenants.append(reg)
        return t

    def sp(self, tenant: dict[str, Any], name: str, *, link: str | None = PARTNER, audited: bool = True,
           enabled: bool = True, member_of: tuple[str, ...] = ()) -> str:
        """A service principal of identity `name` in `tenant`; returns its object id."""
        oid = guid("sp", tenant["name"], name)
        p: dict[str, Any] = {"object_id": oid, "type": "ServicePrincipal", "app_id": self.identity(name),
                             "secret": f"sim-only-{name}", "enabled": enabled, "member_of": list(member_of)}
        if link:
            p["pal"] = {"partner_id": link}
        tenant["principals"].append(p)
        if audited:
            reg = next(r for r in self.registry_tenants if r["tenant_id"] == tenant["tenant_id"])
            reg["identities"].append(name)
        return oid

    def group(self, tenant: dict[str, Any], name: str) -> str:
        oid = guid("group", tenant["name"], name)
        tenant["principals"].append({"object_id": oid, "type": "Group", "name": name})
        return oid

    @staticmethod
    def sub(tenant: dict[str, Any], i: int = 0) -> str:
        return "/subscriptions/" + tenant["subscriptions"][i]["subscription_id"]

    @staticmethod
    def assign(tenant: dict[str, Any], principal: str, role: str, scope: str, *,
               eligible: bool = False) -> None:
        key = "eligible_assignments" if eligible else "role_assignments"
        tenant[key].append({"principal": principal, "role": role, "scope": scope})

    def estate(self) -> dict[str, Any]:
        faults: dict[str, Any] = {"throttle": False}
        if self.fail:
            faults["fail"] = self.fail
        return {"partners": [{"partner_id": PARTNER, "name": "Contoso"},
                             {"partner_id": PREVIOUS, "name": "Contoso (old)"},
                             {"partner_id": FOREIGN, "name": "Northwind Contractors"}],
                "tenants": self.tenants, "faults": faults}

    def registry(self, cloud: dict[str, Any], base_dir: Path) -> Registry:
        data: dict[str, Any] = {
            "partner": {"partner_id": PARTNER, "previous_partner_ids": [PREVIOUS]},
            "cloud": cloud, "identities": self.identities, "tenants": self.registry_tenants,
        }
        if self.suppressions:
            data["suppressions"] = self.suppressions
        if self.policy:
            data["policy"] = self.policy
        return parse_registry(data, env=self.env, base_dir=base_dir)
