"""Reading a customer tenant's Azure Lighthouse `delegations:` and the Microsoft Graph permissions
of a tenant's principals.

A delegation is checked in two passes: its own fields and scope while its tenant is read, then
(once every tenant is known) that its managing tenant exists and its principals belong there.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from armsim.builtin_roles import BUILTIN_BY_ID, BUILTIN_BY_NAME
from armsim.estate.fields import GUID, FieldReader
from armsim.estate.model import Authorization, Delegation, Tenant
from armsim.estate.rbac import TenantContext

_DELEGATION_NS = uuid.UUID("0d7f3c5e-2b8a-4c61-9e4d-5a1b7c3e9f20")
OWNER_ROLE_ID = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
# Every provisioningState ManagedServices reports; only Succeeded grants anything.
PROVISIONING_STATES = (
    "NotSpecified", "Accepted", "Running", "Ready", "Creating", "Created", "Deleting", "Deleted",
    "Canceled", "Failed", "Succeeded", "Updating",
)  # fmt: skip
GRAPH_PERMISSIONS = ("GroupMember.Read.All", "Group.Read.All", "Directory.Read.All")
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?$")


def read_delegations(reader: FieldReader, raw: Any, path: str, ctx: TenantContext) -> tuple[Delegation, ...]:
    out: list[Delegation] = []
    seen: dict[tuple[str, str, str], int] = {}
    for i, r in enumerate(reader.seq(raw, path)):
        d = _read_delegation(reader, r, f"{path}[{i}]", ctx)
        key = (d.managed_by, d.scope.lower(), d.name)
        if key in seen:
            raise reader.fail(
                f"{path}[{i}]",
                f"duplicate delegation (same managed_by, scope and name as {path}[{seen[key]}])",
            )
        seen[key] = i
        out.append(d)
    return tuple(out)


def _read_delegation(reader: FieldReader, raw: Any, path: str, ctx: TenantContext) -> Delegation:
    m = reader.mapping(
        raw,
        path,
        ("managed_by", "scope", "name"),
        ("state", "assigned", "authorizations", "eligible_authorizations"),
    )
    managed_by = reader.guid(m["managed_by"], f"{path}.managed_by")
    if managed_by == ctx.tenant_id:
        raise reader.fail(f"{path}.managed_by", "a tenant cannot delegate to itself")
    scope = _read_scope(reader, m["scope"], f"{path}.scope", ctx)
    name = reader.text(m["name"], f"{path}.name")
    state = m.get("state", "Succeeded")
    if state not in PROVISIONING_STATES:
        raise reader.fail(f"{path}.state", f"expected one of {', '.join(PROVISIONING_STATES)}, got {state!r}")
    auths = tuple(
        _read_authorization(reader, a, f"{path}.authorizations[{j}]", eligible=False)
        for j, a in enumerate(reader.seq(m.get("authorizations"), f"{path}.authorizations"))
    )
    if not auths:
        raise reader.fail(f"{path}.authorizations", "a delegation needs at least one permanent authorization")
    eligible = tuple(
        _read_authorization(reader, a, f"{path}.eligible_authorizations[{j}]", eligible=True)
        for j, a in enumerate(reader.seq(m.get("eligible_authorizations"), f"{path}.eligible_authorizations"))
    )
    seed = f"{ctx.tenant_id}|{managed_by}|{scope.lower()}|{name}"
    return Delegation(
        managed_by=managed_by,
        scope=scope,
        name=name,
        state=state,
        assigned=reader.boolean(m.get("assigned", True), f"{path}.assigned"),
        authorizations=auths,
        eligible_authorizations=eligible,
        definition_id=str(uuid.uuid5(_DELEGATION_NS, f"definition|{seed}")),
        assignment_id=str(uuid.uuid5(_DELEGATION_NS, f"assignment|{seed}")),
    )


def _read_scope(reader: FieldReader, v: Any, path: str, ctx: TenantContext) -> str:
    s = reader.text(v, path).rstrip("/")
    parts = s.split("/")
    low = [x.lower() for x in parts]
    if len(parts) in (3, 5) and low[0] == "" and low[1] == "subscriptions":
        sid = low[2]
        if sid not in ctx.subs:
            raise reader.fail(path, f"subscription {parts[2]} is not a subscription of this tenant")
        if len(parts) == 3:
            return f"/subscriptions/{sid}"
        if low[3] == "resourcegroups" and parts[4]:
            ctx.rgs_seen.setdefault(sid, set()).add(parts[4])
            return f"/subscriptions/{sid}/resourceGroups/{parts[4]}"
    raise reader.fail(
        path,
        f"not a delegable scope: {s!r} (Lighthouse delegates a subscription, /subscriptions/{{id}}, "
        "or a resource group, /subscriptions/{id}/resourceGroups/{name})",
    )


def _read_authorization(reader: FieldReader, raw: Any, path: str, *, eligible: bool) -> Authorization:
    optional = ("display_name", "max_activation") if eligible else ("display_name",)
    m = reader.mapping(raw, path, ("principal", "role"), optional)
    principal = reader.guid(m["principal"], f"{path}.principal")
    role_id = _read_builtin_role(reader, m["role"], f"{path}.role")
    display = reader.text(m["display_name"], f"{path}.display_name") if "display_name" in m else None
    activation = None
    if eligible:
        activation = _read_activation(reader, m.get("max_activation", "PT8H"), f"{path}.max_activation")
    return Authorization(principal, role_id, display, activation)


def _read_builtin_role(reader: FieldReader, v: Any, path: str) -> str:
    s = reader.text(v, path)
    role = BUILTIN_BY_ID.get(s.lower()) if GUID.fullmatch(s) else BUILTIN_BY_NAME.get(s.lower())
    if role is None:
        raise reader.fail(
            path, f"unknown built-in role {s!r} (Lighthouse delegates built-in roles only: a name or a GUID)"
        )
    if role.role_id == OWNER_ROLE_ID:
        raise reader.fail(path, "Lighthouse does not support the Owner role")
    return role.role_id


def _read_activation(reader: FieldReader, v: Any, path: str) -> str:
    s = reader.text(v, path)
    m = _DURATION.fullmatch(s)
    minutes = int(m[1] or 0) * 60 + int(m[2] or 0) if m and (m[1] or m[2]) else -1
    if not 30 <= minutes <= 480:
        raise reader.fail(path, f"expected an ISO 8601 duration from PT30M to PT8H, got {s!r}")
    return s


def check_delegations(reader: FieldReader, tenants: list[Tenant]) -> None:
    """Each delegation's managing tenant is in the estate and its principals are principals there;
    just-in-time authorizations name users or groups only, as Azure requires."""
    by_id = {t.tenant_id: t for t in tenants}
    for i, t in enumerate(tenants):
        for k, d in enumerate(t.delegations):
            path = f"tenants[{i}].delegations[{k}]"
            managing = by_id.get(d.managed_by)
            if managing is None:
                raise reader.fail(f"{path}.managed_by", f"{d.managed_by} is not a tenant of the estate")
            principals = {p.object_id: p for p in managing.principals}
            for key, auths in (
                ("authorizations", d.authorizations),
                ("eligible_authorizations", d.eligible_authorizations),
            ):
                for j, a in enumerate(auths):
                    p = principals.get(a.principal_id)
                    if p is None:
                        raise reader.fail(
                            f"{path}.{key}[{j}].principal",
                            f"{a.principal_id} is not a principal of the managing tenant {d.managed_by}",
                        )
                    if key == "eligible_authorizations" and p.type == "ServicePrincipal":
                        raise reader.fail(
                            f"{path}.{key}[{j}].principal",
                            "a just-in-time authorization cannot name a service principal "
                            "(users and groups only)",
                        )


def read_graph_permissions(
    reader: FieldReader, raw: Any, path: str, ctx: TenantContext
) -> dict[str, tuple[str, ...]]:
    """`graph_permissions: [{principal, permissions: [GroupMember.Read.All]}]`: the Microsoft Graph
    application permissions admin-consented for principals of this tenant."""
    out: dict[str, tuple[str, ...]] = {}
    for i, r in enumerate(reader.seq(raw, path)):
        p = f"{path}[{i}]"
        m = reader.mapping(r, p, ("principal", "permissions"), ())
        principal = reader.guid(m["principal"], f"{p}.principal")
        if principal not in ctx.principals:
            raise reader.fail(f"{p}.principal", f"{principal} is not a principal of this tenant")
        if principal in out:
            raise reader.fail(f"{p}.principal", "listed twice")
        perms = reader.strings(m, "permissions", p)
        for j, perm in enumerate(perms):
            if perm not in GRAPH_PERMISSIONS:
                raise reader.fail(
                    f"{p}.permissions[{j}]", f"expected one of {', '.join(GRAPH_PERMISSIONS)}, got {perm!r}"
                )
        out[principal] = perms
    return out
