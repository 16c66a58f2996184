"""Reading a tenant's access control: custom roles, and active and eligible role assignments with
their role references and ARM scopes checked against the tenant."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from armsim.builtin_roles import BUILTIN_BY_ID, BUILTIN_BY_NAME, Role
from armsim.estate.fields import GUID, FieldReader
from armsim.estate.model import Assignment, Principal, Subscription

_ASSIGNMENT_NS = uuid.UUID("6f1d9a52-4a0e-4c59-9a53-8f7d3c0b2a11")


@dataclass
class TenantContext:
    """What an assignment of one tenant may refer to; `rgs_seen` collects the resource groups its
    scopes name (they become resource groups of their subscription)."""

    tenant_id: str
    now: datetime  # when the estate was loaded: relative dates (`end: +5d`) count from here
    mgs: dict[str, str]
    subs: dict[str, Subscription]
    principals: dict[str, Principal]
    roles: dict[str, Role]

    def __post_init__(self) -> None:
        self.rgs_seen: dict[str, set[str]] = {}


def read_custom_roles(reader: FieldReader, raw: Any, path: str, tid: str) -> dict[str, Role]:
    roles: dict[str, Role] = {}
    for i, r in enumerate(reader.seq(raw, path)):
        p = f"{path}[{i}]"
        m = reader.mapping(
            r,
            p,
            ("role_id", "name"),
            ("actions", "not_actions", "data_actions", "not_data_actions", "description"),
        )
        rid = reader.guid(m["role_id"], f"{p}.role_id")
        name = reader.text(m["name"], f"{p}.name")
        if rid in roles or rid in BUILTIN_BY_ID:
            raise reader.fail(f"{p}.role_id", f"role id {rid} is already defined")
        if name.lower() in BUILTIN_BY_NAME or any(x.name.lower() == name.lower() for x in roles.values()):
            raise reader.fail(f"{p}.name", f"role name {name!r} is already taken")
        roles[rid] = Role(
            rid,
            name,
            False,
            actions=reader.strings(m, "actions", p),
            not_actions=reader.strings(m, "not_actions", p),
            data_actions=reader.strings(m, "data_actions", p),
            not_data_actions=reader.strings(m, "not_data_actions", p),
            description=str(m.get("description", "")),
            assignable_scopes=(f"/providers/Microsoft.Management/managementGroups/{tid}",),
        )
    return roles


def read_assignments(reader: FieldReader, raw: Any, path: str, ctx: TenantContext) -> tuple[Assignment, ...]:
    kind = path.rsplit(".", 1)[-1]  # role_assignments | eligible_assignments: ids differ by kind
    out: list[Assignment] = []
    ids: set[str] = set()
    for i, r in enumerate(reader.seq(raw, path)):
        p = f"{path}[{i}]"
        m = reader.mapping(r, p, ("principal", "role", "scope"), ("id", "start", "end"))
        principal = reader.guid(m["principal"], f"{p}.principal")
        if principal not in ctx.principals:
            raise reader.fail(f"{p}.principal", f"{principal} is not a principal of this tenant")
        role_id = _read_role_ref(reader, m["role"], f"{p}.role", ctx.roles)
        scope = _read_scope(reader, m["scope"], f"{p}.scope", ctx)
        aid = (
            reader.guid(m["id"], f"{p}.id")
            if "id" in m
            else str(uuid.uuid5(_ASSIGNMENT_NS, f"{kind}|{principal}|{role_id}|{scope.lower()}"))
        )
        if aid in ids:
            raise reader.fail(p, "duplicate assignment (same principal, role and scope, or same id)")
        ids.add(aid)
        start = reader.opt(m, "start", p, read_instant, now=ctx.now, reader=reader)
        end = reader.opt(m, "end", p, read_instant, now=ctx.now, reader=reader)
        if start is not None and end is not None and end <= start:
            raise reader.fail(f"{p}.end", f"ends ({iso_z(end)}) before it starts ({iso_z(start)})")
        out.append(Assignment(aid, principal, role_id, scope, start, end))
    return tuple(out)


_RELATIVE = re.compile(r"^([+-])(\d{1,6})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def read_instant(v: Any, path: str, *, now: datetime, reader: FieldReader) -> datetime:
    """An ISO 8601 UTC date or date-time (`2026-12-01`, `2026-12-01T08:00:00Z`), or a time relative
    to when armsim loads the estate (`+5d`, `-2h`, `+30m`, `+1w`)."""
    if isinstance(v, datetime):  # YAML reads an unquoted timestamp itself
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day, tzinfo=UTC)
    s = reader.text(v, path).strip()
    rel = _RELATIVE.fullmatch(s)
    if rel:
        sign = 1 if rel[1] == "+" else -1
        return now + sign * timedelta(**{_UNITS[rel[3]]: int(rel[2])})
    try:
        parsed = datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or (parsed.tzinfo is not None and parsed.utcoffset() != timedelta(0)):
        raise reader.fail(
            path,
            f"expected an ISO 8601 UTC date-time (2026-12-01T08:00:00Z) or a time relative to "
            f"armsim's start (+5d, -2h, +30m, +1w), got {v!r}",
        )
    return parsed.replace(tzinfo=UTC)


def iso_z(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_role_ref(reader: FieldReader, v: Any, path: str, custom: dict[str, Role]) -> str:
    s = reader.text(v, path)
    if GUID.fullmatch(s):
        if s.lower() in BUILTIN_BY_ID or s.lower() in custom:
            return s.lower()
        raise reader.fail(path, f"role id {s} is neither built in nor a custom role of this tenant")
    role = BUILTIN_BY_NAME.get(s.lower()) or next(
        (r for r in custom.values() if r.name.lower() == s.lower()), None
    )
    if role is None:
        builtins = ", ".join(sorted(r.name for r in BUILTIN_BY_ID.values()))
        raise reader.fail(
            path, f"unknown role {s!r} (built-in roles: {builtins}; or a custom role of this tenant)"
        )
    return role.role_id


def _read_scope(reader: FieldReader, v: Any, path: str, ctx: TenantContext) -> str:
    s = reader.text(v, path).rstrip("/")
    if s == "":
        return "/"
    parts = s.split("/")
    low = [x.lower() for x in parts]
    if len(parts) == 5 and low[:4] == ["", "providers", "microsoft.management", "managementgroups"]:
        mg = parts[4]
        if mg.lower() != ctx.tenant_id and mg not in ctx.mgs:
            raise reader.fail(path, f"unknown management group {mg!r} in scope")
        mg = ctx.tenant_id if mg.lower() == ctx.tenant_id else mg
        return f"/providers/Microsoft.Management/managementGroups/{mg}"
    if len(parts) >= 3 and low[1] == "subscriptions":
        sid = parts[2].lower()
        if sid not in ctx.subs:
            raise reader.fail(path, f"subscription {parts[2]} is not a subscription of this tenant")
        canonical = f"/subscriptions/{sid}"
        if len(parts) == 3:
            return canonical
        if len(parts) >= 5 and low[3] == "resourcegroups" and parts[4]:
            ctx.rgs_seen.setdefault(sid, set()).add(parts[4])
            canonical += f"/resourceGroups/{parts[4]}"
            if len(parts) == 5:
                return canonical
            if len(parts) >= 9 and low[5] == "providers" and all(parts[5:]):
                return canonical + "/" + "/".join(parts[5:])
    raise reader.fail(
        path,
        f"not an ARM scope: {s!r} (expected /, a management group, a subscription, "
        "a resource group or a resource)",
    )
