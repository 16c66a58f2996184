"""The estate file parser: load and validate an estate YAML (or JSON) into an `Estate`.

Every problem is reported as `FILE: path.in.file: what is wrong`, and unknown keys are errors,
so a typo in a test estate never silently changes what the simulator serves. This module reads
the document, its tenants, management groups and subscriptions; principals, access control and
faults have their own readers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from armsim.estate.delegations import check_delegations, read_delegations, read_graph_permissions
from armsim.estate.document import collector_paused, line_of, read_document
from armsim.estate.faults import read_faults
from armsim.estate.fields import FieldReader
from armsim.estate.model import DEFAULT_IDENTITY_HEADER, Estate, EstateError, Partner, Subscription, Tenant
from armsim.estate.principals import check_users, read_principals
from armsim.estate.rbac import TenantContext, read_assignments, read_custom_roles


def load_estate(path: str | Path, *, now: datetime | None = None) -> Estate:
    """Read and validate an estate YAML (or JSON) file; relative dates (`end: +5d`) count from `now`
    (default: the moment of loading, i.e. armsim's start)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise EstateError(f"{p}: cannot read estate file: {e.strerror or e}") from None
    try:
        with collector_paused():
            data = read_document(text)
    except yaml.YAMLError as e:
        raise EstateError(f"{p}: not valid YAML: {e}") from None
    if data is None:
        raise EstateError(f"{p}: the estate file is empty (expected a mapping with `tenants:`)")
    try:
        with collector_paused():
            return parse_estate(data, source=str(p), now=now)
    except EstateError as e:
        line = line_of(text, e.where) if e.where is not None else None
        if line is None:
            raise
        raise EstateError(f"{e} (line {line})", where=e.where) from None


def parse_estate(data: Any, source: str = "<estate>", *, now: datetime | None = None) -> Estate:
    """Validate an already-parsed estate document (a dict as YAML gives it)."""
    return _read_estate(FieldReader(source), data, now or datetime.now(UTC))


def _read_estate(reader: FieldReader, data: Any, now: datetime) -> Estate:
    top = reader.mapping(data, "", ("tenants",), ("partners", "faults", "managed_identity_header"))
    partners: dict[str, Partner] = {}
    for i, raw in enumerate(reader.seq(top.get("partners"), "partners")):
        path = f"partners[{i}]"
        m = reader.mapping(raw, path, ("partner_id",), ("name",))
        pid = reader.partner_id(m["partner_id"], f"{path}.partner_id")
        if pid in partners:
            raise reader.fail(f"{path}.partner_id", f"duplicate partner id {pid}")
        partners[pid] = Partner(pid, reader.text(m["name"], f"{path}.name") if "name" in m else None)
    tenants = [
        _read_tenant(reader, raw, f"tenants[{i}]", partners, now)
        for i, raw in enumerate(reader.seq(top["tenants"], "tenants"))
    ]
    _check_unique_ids(reader, tenants)
    check_delegations(reader, tenants)
    check_users(reader, tenants)  # guests name users of other tenants
    throttle, fail = read_faults(reader, top.get("faults"), {t.tenant_id for t in tenants})
    header = reader.text(
        top.get("managed_identity_header", DEFAULT_IDENTITY_HEADER), "managed_identity_header"
    )
    return Estate(partners, tuple(tenants), throttle, fail, header)


def _check_unique_ids(reader: FieldReader, tenants: list[Tenant]) -> None:
    seen_t: dict[str, int] = {}
    seen_s: dict[str, int] = {}
    for i, t in enumerate(tenants):
        if t.tenant_id in seen_t:
            raise reader.fail(
                f"tenants[{i}].tenant_id",
                f"duplicate tenant {t.tenant_id} (also tenants[{seen_t[t.tenant_id]}])",
            )
        seen_t[t.tenant_id] = i
        for s in t.subscriptions:
            if s.subscription_id in seen_s:
                raise reader.fail(
                    f"tenants[{i}].subscriptions",
                    f"subscription {s.subscription_id} also belongs to tenants[{seen_s[s.subscription_id]}]",
                )
            seen_s[s.subscription_id] = i


def _read_tenant(
    reader: FieldReader, raw: Any, path: str, partners: dict[str, Partner], now: datetime
) -> Tenant:
    m = reader.mapping(
        raw,
        path,
        ("tenant_id",),
        (
            "name",
            "management_groups",
            "subscriptions",
            "principals",
            "custom_roles",
            "role_assignments",
            "eligible_assignments",
            "delegations",
            "graph_permissions",
        ),
    )
    tid = reader.guid(m["tenant_id"], f"{path}.tenant_id")
    name = reader.text(m.get("name", tid), f"{path}.name")
    mgs = _read_management_groups(reader, m.get("management_groups"), f"{path}.management_groups", tid)
    subs = [
        _read_subscription(reader, r, f"{path}.subscriptions[{i}]", tid, mgs)
        for i, r in enumerate(reader.seq(m.get("subscriptions"), f"{path}.subscriptions"))
    ]
    principals = read_principals(reader, m.get("principals"), f"{path}.principals", partners)
    roles = read_custom_roles(reader, m.get("custom_roles"), f"{path}.custom_roles", tid)
    ctx = TenantContext(
        tid, now, mgs, {s.subscription_id: s for s in subs}, {p.object_id: p for p in principals}, roles
    )
    active = read_assignments(reader, m.get("role_assignments"), f"{path}.role_assignments", ctx)
    eligible = read_assignments(reader, m.get("eligible_assignments"), f"{path}.eligible_assignments", ctx)
    delegations = read_delegations(reader, m.get("delegations"), f"{path}.delegations", ctx)
    graph = read_graph_permissions(reader, m.get("graph_permissions"), f"{path}.graph_permissions", ctx)
    subs = [
        Subscription(
            s.subscription_id,
            s.name,
            s.management_group,
            tuple(sorted(set(s.resource_groups) | ctx.rgs_seen.get(s.subscription_id, set()), key=str.lower)),
            s.state,
        )
        for s in subs
    ]
    return Tenant(
        tid, name, mgs, tuple(subs), principals, tuple(roles.values()), active, eligible, delegations, graph
    )


def _read_management_groups(reader: FieldReader, raw: Any, path: str, tid: str) -> dict[str, str]:
    parents: dict[str, str | None] = {}
    for i, r in enumerate(reader.seq(raw, path)):
        m = reader.mapping(r, f"{path}[{i}]", ("id",), ("parent",))
        mg = reader.text(m["id"], f"{path}[{i}].id")
        if mg in parents or mg.lower() == tid:
            raise reader.fail(f"{path}[{i}].id", f"duplicate management group {mg!r}")
        parent = m.get("parent")
        parents[mg] = None if parent is None else reader.text(parent, f"{path}[{i}].parent")
    result: dict[str, str] = {}
    for i, (mg, parent) in enumerate(parents.items()):
        if parent is not None and parent not in parents and parent.lower() != tid:
            raise reader.fail(f"{path}[{i}].parent", f"unknown management group {parent!r}")
        result[mg] = tid if parent is None or parent.lower() == tid else parent
    for i, mg in enumerate(result):  # a parent chain must end at the tenant root group
        seen, cur = {mg}, result[mg]
        while cur != tid:
            if cur in seen:
                raise reader.fail(f"{path}[{i}].parent", f"management group cycle through {cur!r}")
            seen.add(cur)
            cur = result[cur]
    return result


def _read_subscription(
    reader: FieldReader, raw: Any, path: str, tid: str, mgs: dict[str, str]
) -> Subscription:
    m = reader.mapping(
        raw, path, ("subscription_id",), ("name", "management_group", "resource_groups", "state")
    )
    sid = reader.guid(m["subscription_id"], f"{path}.subscription_id")
    mg = m.get("management_group")
    if mg is None or str(mg).lower() == tid:
        mg = tid
    elif mg not in mgs:
        raise reader.fail(f"{path}.management_group", f"unknown management group {mg!r}")
    rgs = tuple(
        reader.text(r, f"{path}.resource_groups[{i}]")
        for i, r in enumerate(reader.seq(m.get("resource_groups"), f"{path}.resource_groups"))
    )
    state = m.get("state", "Enabled")
    if state not in ("Enabled", "Warned", "PastDue", "Disabled", "Deleted"):
        raise reader.fail(f"{path}.state", f"unknown subscription state {state!r}")
    return Subscription(sid, reader.text(m.get("name", sid), f"{path}.name"), mg, rgs, state)
