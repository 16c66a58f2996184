"""The estate file: what armsim's Azure contains (design.md §10), loaded and validated.

Every problem is reported as `FILE: path.in.file: what is wrong`, and unknown keys are errors,
so a typo in a test estate never silently changes what the simulator serves.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from armsim.roles import BUILTIN_BY_ID, BUILTIN_BY_NAME, Role

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
PRINCIPAL_TYPES = ("ServicePrincipal", "User", "Group")
DEFAULT_IDENTITY_HEADER = "armsim-identity-header"
_ASSIGNMENT_NS = uuid.UUID("6f1d9a52-4a0e-4c59-9a53-8f7d3c0b2a11")


class EstateError(ValueError):
    """The estate file is unreadable or invalid; the message names the file and the place in it."""


@dataclass(frozen=True)
class Partner:
    partner_id: str
    name: str | None


@dataclass(frozen=True)
class FederatedCredential:
    """An accepted client assertion: an armsim token of `issuer_tenant_id`, or any token of `issuer`."""

    subject: str
    issuer_tenant_id: str | None = None
    issuer: str | None = None
    audience: str = "api://AzureADTokenExchange"


@dataclass(frozen=True)
class Certificate:
    sha1_thumbprint: str  # base64url, as in a JWT `x5t` header
    sha256_thumbprint: str  # base64url, as in `x5t#S256`
    public_key_pem: bytes


@dataclass(frozen=True)
class Principal:
    object_id: str
    type: str
    name: str
    app_id: str | None = None
    secret: str | None = None
    enabled: bool = True
    member_of: tuple[str, ...] = ()
    link_partner_id: str | None = None
    managed_identity: bool = False
    federated_credentials: tuple[FederatedCredential, ...] = ()
    certificate: Certificate | None = None


@dataclass(frozen=True)
class Assignment:
    assignment_id: str  # GUID; the last segment of the assignment's ARM id
    principal_id: str
    role_id: str
    scope: str  # canonical: "/", /providers/Microsoft.Management/managementGroups/x, ...


@dataclass(frozen=True)
class Subscription:
    subscription_id: str
    name: str
    management_group: str  # the tenant id when directly under the tenant root group
    resource_groups: tuple[str, ...]
    state: str = "Enabled"


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    name: str
    management_groups: dict[str, str]  # id -> parent id (the tenant id for the root group)
    subscriptions: tuple[Subscription, ...]
    principals: tuple[Principal, ...]
    custom_roles: tuple[Role, ...]
    role_assignments: tuple[Assignment, ...]
    eligible_assignments: tuple[Assignment, ...]

    @property
    def default_domain(self) -> str:
        slug = re.sub(r"[^a-z0-9]", "", self.name.lower()) or self.tenant_id[:8]
        return f"{slug}.onmicrosoft.com"


@dataclass(frozen=True)
class Throttle:
    reads_burst: int = 250
    reads_per_second: float = 25
    writes_burst: int = 200
    writes_per_second: float = 10


@dataclass(frozen=True)
class FailRule:
    match: str  # case-insensitive substring of the path, or an operation name
    status: int
    tenant_id: str | None = None
    principal: str | None = None  # object id or client id of the caller
    method: str | None = None
    times: int | None = None  # None: every matching request
    code: str | None = None
    message: str | None = None
    retry_after: int | None = None
    delay_ms: int = 0


@dataclass(frozen=True)
class Estate:
    partners: dict[str, Partner]
    tenants: tuple[Tenant, ...]
    throttle: Throttle | None = Throttle()
    fail: tuple[FailRule, ...] = ()
    managed_identity_header: str = DEFAULT_IDENTITY_HEADER


def load_estate(path: str | Path) -> Estate:
    """Read and validate an estate YAML (or JSON) file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise EstateError(f"{p}: cannot read estate file: {e.strerror or e}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise EstateError(f"{p}: not valid YAML: {e}") from None
    if data is None:
        raise EstateError(f"{p}: the estate file is empty (expected a mapping with `tenants:`)")
    return parse_estate(data, source=str(p))


def parse_estate(data: Any, source: str = "<estate>") -> Estate:
    """Validate an already-parsed estate document (a dict as YAML gives it)."""
    return _Parser(source).estate(data)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, problem: str) -> EstateError:
        return EstateError(f"{self.source}: {path or '(top level)'}: {problem}")

    # -- primitives -------------------------------------------------------------------------
    def mapping(self, v: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...]) -> dict:
        if not isinstance(v, dict):
            raise self.fail(path, f"expected a mapping, got {type(v).__name__}")
        unknown = [k for k in v if k not in required and k not in optional]
        if unknown:
            allowed = ", ".join((*required, *optional))
            raise self.fail(_join(path, str(unknown[0])), f"unknown key (allowed: {allowed})")
        for k in required:
            if k not in v:
                raise self.fail(_join(path, k), "required key is missing")
        return v

    def seq(self, v: Any, path: str) -> list:
        if v is None:
            return []
        if not isinstance(v, list):
            raise self.fail(path, f"expected a list, got {type(v).__name__}")
        return v

    def text(self, v: Any, path: str) -> str:
        if isinstance(v, bool) or not isinstance(v, str | int) or str(v).strip() == "":
            raise self.fail(path, f"expected a non-empty string, got {v!r}")
        return str(v)

    def strings(self, m: dict, key: str, path: str) -> tuple[str, ...]:
        p = _join(path, key)
        return tuple(self.text(x, f"{p}[{i}]") for i, x in enumerate(self.seq(m.get(key), p)))

    def guid(self, v: Any, path: str) -> str:
        if not isinstance(v, str) or not GUID.match(v):
            raise self.fail(path, f"not a GUID: {v!r}")
        return v.lower()

    def boolean(self, v: Any, path: str) -> bool:
        if not isinstance(v, bool):
            raise self.fail(path, f"expected true or false, got {v!r}")
        return v

    def number(self, v: Any, path: str, *, integer: bool, low: float, high: float) -> Any:
        ok_type = isinstance(v, int) if integer else isinstance(v, int | float)
        if isinstance(v, bool) or not ok_type or not low <= v <= high:
            kind = "an integer" if integer else "a number"
            raise self.fail(path, f"expected {kind} from {low:g} to {high:g}, got {v!r}")
        return v

    def opt(self, m: dict, key: str, path: str, read: Any, **kw: Any) -> Any:
        """`read(m[key])` with the key's path, or None when the optional key is absent."""
        return read(m[key], _join(path, key), **kw) if key in m else None

    def partner_id(self, v: Any, path: str) -> str:
        s = self.text(v, path)
        if not s.isdigit():
            raise self.fail(path, f"a partner id is digits only, got {s!r}")
        return s

    # -- document ---------------------------------------------------------------------------
    def estate(self, data: Any) -> Estate:
        top = self.mapping(data, "", ("tenants",), ("partners", "faults", "managed_identity_header"))
        partners: dict[str, Partner] = {}
        for i, raw in enumerate(self.seq(top.get("partners"), "partners")):
            path = f"partners[{i}]"
            m = self.mapping(raw, path, ("partner_id",), ("name",))
            pid = self.partner_id(m["partner_id"], f"{path}.partner_id")
            if pid in partners:
                raise self.fail(f"{path}.partner_id", f"duplicate partner id {pid}")
            partners[pid] = Partner(pid, self.text(m["name"], f"{path}.name") if "name" in m else None)
        tenants = [
            self.tenant(raw, f"tenants[{i}]", partners)
            for i, raw in enumerate(self.seq(top["tenants"], "tenants"))
        ]
        self._check_unique(tenants)
        throttle, fail = self.faults(top.get("faults"), {t.tenant_id for t in tenants})
        header = self.text(
            top.get("managed_identity_header", DEFAULT_IDENTITY_HEADER), "managed_identity_header"
        )
        return Estate(partners, tuple(tenants), throttle, fail, header)

    def _check_unique(self, tenants: list[Tenant]) -> None:
        seen_t: dict[str, int] = {}
        seen_s: dict[str, int] = {}
        for i, t in enumerate(tenants):
            if t.tenant_id in seen_t:
                raise self.fail(
                    f"tenants[{i}].tenant_id",
                    f"duplicate tenant {t.tenant_id} (also tenants[{seen_t[t.tenant_id]}])",
                )
            seen_t[t.tenant_id] = i
            for s in t.subscriptions:
                if s.subscription_id in seen_s:
                    raise self.fail(
                        f"tenants[{i}].subscriptions",
                        f"subscription {s.subscription_id} also belongs to "
                        f"tenants[{seen_s[s.subscription_id]}]",
                    )
                seen_s[s.subscription_id] = i

    def tenant(self, raw: Any, path: str, partners: dict[str, Partner]) -> Tenant:
        m = self.mapping(
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
            ),
        )
        tid = self.guid(m["tenant_id"], f"{path}.tenant_id")
        name = self.text(m.get("name", tid), f"{path}.name")
        mgs = self.management_groups(m.get("management_groups"), f"{path}.management_groups", tid)
        subs = [
            self.subscription(r, f"{path}.subscriptions[{i}]", tid, mgs)
            for i, r in enumerate(self.seq(m.get("subscriptions"), f"{path}.subscriptions"))
        ]
        principals = self.principals(m.get("principals"), f"{path}.principals", partners)
        roles = self.custom_roles(m.get("custom_roles"), f"{path}.custom_roles", tid)
        ctx = _TenantCtx(
            tid, mgs, {s.subscription_id: s for s in subs}, {p.object_id: p for p in principals}, roles
        )
        active = self.assignments(m.get("role_assignments"), f"{path}.role_assignments", ctx)
        eligible = self.assignments(m.get("eligible_assignments"), f"{path}.eligible_assignments", ctx)
        subs = [
            Subscription(
                s.subscription_id,
                s.name,
                s.management_group,
                tuple(
                    sorted(set(s.resource_groups) | ctx.rgs_seen.get(s.subscription_id, set()), key=str.lower)
                ),
                s.state,
            )
            for s in subs
        ]
        return Tenant(tid, name, mgs, tuple(subs), principals, tuple(roles.values()), active, eligible)

    def management_groups(self, raw: Any, path: str, tid: str) -> dict[str, str]:
        parents: dict[str, str | None] = {}
        for i, r in enumerate(self.seq(raw, path)):
            m = self.mapping(r, f"{path}[{i}]", ("id",), ("parent",))
            mg = self.text(m["id"], f"{path}[{i}].id")
            if mg in parents or mg.lower() == tid:
                raise self.fail(f"{path}[{i}].id", f"duplicate management group {mg!r}")
            parent = m.get("parent")
            parents[mg] = None if parent is None else self.text(parent, f"{path}[{i}].parent")
        result: dict[str, str] = {}
        for i, (mg, parent) in enumerate(parents.items()):
            if parent is not None and parent not in parents and parent.lower() != tid:
                raise self.fail(f"{path}[{i}].parent", f"unknown management group {parent!r}")
            result[mg] = tid if parent is None or parent.lower() == tid else parent
        for i, mg in enumerate(result):  # a parent chain must end at the tenant root group
            seen, cur = {mg}, result[mg]
            while cur != tid:
                if cur in seen:
                    raise self.fail(f"{path}[{i}].parent", f"management group cycle through {cur!r}")
                seen.add(cur)
                cur = result[cur]
        return result

    def subscription(self, raw: Any, path: str, tid: str, mgs: dict[str, str]) -> Subscription:
        m = self.mapping(
            raw, path, ("subscription_id",), ("name", "management_group", "resource_groups", "state")
        )
        sid = self.guid(m["subscription_id"], f"{path}.subscription_id")
        mg = m.get("management_group")
        if mg is None or str(mg).lower() == tid:
            mg = tid
        elif mg not in mgs:
            raise self.fail(f"{path}.management_group", f"unknown management group {mg!r}")
        rgs = tuple(
            self.text(r, f"{path}.resource_groups[{i}]")
            for i, r in enumerate(self.seq(m.get("resource_groups"), f"{path}.resource_groups"))
        )
        state = m.get("state", "Enabled")
        if state not in ("Enabled", "Warned", "PastDue", "Disabled", "Deleted"):
            raise self.fail(f"{path}.state", f"unknown subscription state {state!r}")
        return Subscription(sid, self.text(m.get("name", sid), f"{path}.name"), mg, rgs, state)

    def principals(self, raw: Any, path: str, partners: dict[str, Partner]) -> tuple[Principal, ...]:
        out: list[Principal] = []
        by_oid: dict[str, int] = {}
        by_app: dict[str, int] = {}
        for i, r in enumerate(self.seq(raw, path)):
            p = self.principal(r, f"{path}[{i}]", partners)
            if p.object_id in by_oid:
                raise self.fail(
                    f"{path}[{i}].object_id", f"duplicate object id (also {path}[{by_oid[p.object_id]}])"
                )
            by_oid[p.object_id] = i
            if p.app_id:
                if p.app_id in by_app:
                    raise self.fail(
                        f"{path}[{i}].app_id", f"duplicate app id (also {path}[{by_app[p.app_id]}])"
                    )
                by_app[p.app_id] = i
            out.append(p)
        for i, p in enumerate(out):
            for j, g in enumerate(p.member_of):
                target = by_oid.get(g)
                if target is None or out[target].type != "Group":
                    raise self.fail(
                        f"{path}[{i}].member_of[{j}]", f"{g} is not a Group principal of this tenant"
                    )
        return tuple(out)

    def principal(self, raw: Any, path: str, partners: dict[str, Partner]) -> Principal:
        m = self.mapping(
            raw,
            path,
            ("object_id", "type"),
            (
                "name",
                "app_id",
                "secret",
                "enabled",
                "member_of",
                "pal",
                "managed_identity",
                "federated_credentials",
                "certificate",
            ),
        )
        oid = self.guid(m["object_id"], f"{path}.object_id")
        ptype = m["type"]
        if ptype not in PRINCIPAL_TYPES:
            raise self.fail(f"{path}.type", f"expected one of {', '.join(PRINCIPAL_TYPES)}, got {ptype!r}")
        is_sp = ptype == "ServicePrincipal"
        for key in ("app_id", "secret", "managed_identity", "federated_credentials", "certificate"):
            if key in m and not is_sp:
                raise self.fail(f"{path}.{key}", f"only a ServicePrincipal has {key}")
        if is_sp and "app_id" not in m:
            raise self.fail(
                f"{path}.app_id", "required key is missing (the client id a ServicePrincipal signs in with)"
            )
        link = None
        if "pal" in m:
            if ptype == "Group":
                raise self.fail(f"{path}.pal", "a group cannot hold a Partner Admin Link")
            pal = self.mapping(m["pal"], f"{path}.pal", ("partner_id",), ())
            link = self.partner_id(pal["partner_id"], f"{path}.pal.partner_id")
            if partners and link not in partners:
                raise self.fail(
                    f"{path}.pal.partner_id", f"partner id {link} is not in the estate's partners"
                )
        fics = tuple(
            self.federated(r, f"{path}.federated_credentials[{i}]")
            for i, r in enumerate(self.seq(m.get("federated_credentials"), f"{path}.federated_credentials"))
        )
        return Principal(
            object_id=oid,
            type=ptype,
            name=self.text(m.get("name", oid), f"{path}.name"),
            app_id=self.guid(m["app_id"], f"{path}.app_id") if is_sp else None,
            secret=self.text(m["secret"], f"{path}.secret") if "secret" in m else None,
            enabled=self.boolean(m.get("enabled", True), f"{path}.enabled"),
            member_of=tuple(
                self.guid(g, f"{path}.member_of[{j}]")
                for j, g in enumerate(self.seq(m.get("member_of"), f"{path}.member_of"))
            ),
            link_partner_id=link,
            managed_identity=self.boolean(m.get("managed_identity", False), f"{path}.managed_identity"),
            federated_credentials=fics,
            certificate=self.opt(m, "certificate", path, self.certificate),
        )

    def federated(self, raw: Any, path: str) -> FederatedCredential:
        m = self.mapping(raw, path, ("subject",), ("issuer_tenant_id", "issuer", "audience"))
        if ("issuer_tenant_id" in m) == ("issuer" in m):
            raise self.fail(path, "give exactly one of issuer_tenant_id (an armsim tenant) or issuer")
        return FederatedCredential(
            subject=self.text(m["subject"], f"{path}.subject"),
            issuer_tenant_id=self.guid(m["issuer_tenant_id"], f"{path}.issuer_tenant_id")
            if "issuer_tenant_id" in m
            else None,
            issuer=self.text(m["issuer"], f"{path}.issuer") if "issuer" in m else None,
            audience=self.text(m.get("audience", "api://AzureADTokenExchange"), f"{path}.audience"),
        )

    def certificate(self, raw: Any, path: str) -> Certificate:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        pem = self.text(raw, path).encode()
        try:
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError as e:
            raise self.fail(path, f"not a PEM X.509 certificate ({e})") from None
        der = cert.public_bytes(serialization.Encoding.DER)
        b64 = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()  # noqa: E731
        return Certificate(
            sha1_thumbprint=b64(hashlib.sha1(der).digest()),
            sha256_thumbprint=b64(hashlib.sha256(der).digest()),
            public_key_pem=cert.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )

    def custom_roles(self, raw: Any, path: str, tid: str) -> dict[str, Role]:
        roles: dict[str, Role] = {}
        for i, r in enumerate(self.seq(raw, path)):
            p = f"{path}[{i}]"
            m = self.mapping(
                r,
                p,
                ("role_id", "name"),
                ("actions", "not_actions", "data_actions", "not_data_actions", "description"),
            )
            rid = self.guid(m["role_id"], f"{p}.role_id")
            name = self.text(m["name"], f"{p}.name")
            if rid in roles or rid in BUILTIN_BY_ID:
                raise self.fail(f"{p}.role_id", f"role id {rid} is already defined")
            if name.lower() in BUILTIN_BY_NAME or any(x.name.lower() == name.lower() for x in roles.values()):
                raise self.fail(f"{p}.name", f"role name {name!r} is already taken")
            kinds = ("actions", "not_actions", "data_actions", "not_data_actions")
            lists = [self.strings(m, k, p) for k in kinds]
            roles[rid] = Role(
                rid,
                name,
                False,
                *lists,
                description=str(m.get("description", "")),
                assignable_scopes=(f"/providers/Microsoft.Management/managementGroups/{tid}",),
            )
        return roles

    def assignments(self, raw: Any, path: str, ctx: _TenantCtx) -> tuple[Assignment, ...]:
        kind = path.rsplit(".", 1)[-1]  # role_assignments | eligible_assignments: ids differ by kind
        out: list[Assignment] = []
        ids: set[str] = set()
        for i, r in enumerate(self.seq(raw, path)):
            p = f"{path}[{i}]"
            m = self.mapping(r, p, ("principal", "role", "scope"), ("id",))
            principal = self.guid(m["principal"], f"{p}.principal")
            if principal not in ctx.principals:
                raise self.fail(f"{p}.principal", f"{principal} is not a principal of this tenant")
            role_id = self.role_ref(m["role"], f"{p}.role", ctx.roles)
            scope = self.scope(m["scope"], f"{p}.scope", ctx)
            aid = (
                self.guid(m["id"], f"{p}.id")
                if "id" in m
                else str(uuid.uuid5(_ASSIGNMENT_NS, f"{kind}|{principal}|{role_id}|{scope.lower()}"))
            )
            if aid in ids:
                raise self.fail(p, "duplicate assignment (same principal, role and scope, or same id)")
            ids.add(aid)
            out.append(Assignment(aid, principal, role_id, scope))
        return tuple(out)

    def role_ref(self, v: Any, path: str, custom: dict[str, Role]) -> str:
        s = self.text(v, path)
        if GUID.match(s):
            if s.lower() in BUILTIN_BY_ID or s.lower() in custom:
                return s.lower()
            raise self.fail(path, f"role id {s} is neither built in nor a custom role of this tenant")
        role = BUILTIN_BY_NAME.get(s.lower()) or next(
            (r for r in custom.values() if r.name.lower() == s.lower()), None
        )
        if role is None:
            builtins = ", ".join(sorted(r.name for r in BUILTIN_BY_ID.values()))
            raise self.fail(
                path, f"unknown role {s!r} (built-in roles: {builtins}; or a custom role of this tenant)"
            )
        return role.role_id

    def scope(self, v: Any, path: str, ctx: _TenantCtx) -> str:
        s = self.text(v, path).rstrip("/")
        if s == "":
            return "/"
        parts = s.split("/")
        low = [x.lower() for x in parts]
        if len(parts) == 5 and low[:4] == ["", "providers", "microsoft.management", "managementgroups"]:
            mg = parts[4]
            if mg.lower() != ctx.tenant_id and mg not in ctx.mgs:
                raise self.fail(path, f"unknown management group {mg!r} in scope")
            mg = ctx.tenant_id if mg.lower() == ctx.tenant_id else mg
            return f"/providers/Microsoft.Management/managementGroups/{mg}"
        if len(parts) >= 3 and low[1] == "subscriptions":
            sid = parts[2].lower()
            if sid not in ctx.subs:
                raise self.fail(path, f"subscription {parts[2]} is not a subscription of this tenant")
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
        raise self.fail(
            path,
            f"not an ARM scope: {s!r} (expected /, a management group, a subscription, "
            "a resource group or a resource)",
        )

    def faults(self, raw: Any, tenant_ids: set[str]) -> tuple[Throttle | None, tuple[FailRule, ...]]:
        if raw is None:
            return Throttle(), ()
        m = self.mapping(raw, "faults", (), ("throttle", "fail"))
        throttle = self.throttle(m["throttle"]) if "throttle" in m else Throttle()
        rules = tuple(
            self.fail_rule(r, f"faults.fail[{i}]", tenant_ids)
            for i, r in enumerate(self.seq(m.get("fail"), "faults.fail"))
        )
        return throttle, rules

    def throttle(self, raw: Any) -> Throttle | None:
        if raw is False or raw is None:
            return None  # `throttle: false` turns ARM throttling off
        limits = {
            "reads_burst": True,
            "reads_per_second": False,
            "writes_burst": True,
            "writes_per_second": False,
        }
        m = self.mapping(raw, "faults.throttle", (), tuple(limits))
        return Throttle(
            **{
                k: self.number(
                    m[k], f"faults.throttle.{k}", integer=integer, low=1 if integer else 0.001, high=10**9
                )
                for k, integer in limits.items()
                if k in m
            }
        )

    def fail_rule(self, raw: Any, p: str, tenant_ids: set[str]) -> FailRule:
        fm = self.mapping(
            raw,
            p,
            ("match", "status"),
            ("tenant_id", "principal", "method", "times", "code", "message", "retry_after", "delay_ms"),
        )
        tid = self.opt(fm, "tenant_id", p, self.guid)
        if tid is not None and tid not in tenant_ids:
            raise self.fail(f"{p}.tenant_id", f"tenant {tid} is not in the estate")
        method = self.opt(fm, "method", p, self.text)
        return FailRule(
            match=self.text(fm["match"], f"{p}.match"),
            status=self.number(fm["status"], f"{p}.status", integer=True, low=400, high=599),
            tenant_id=tid,
            principal=self.opt(fm, "principal", p, self.guid),
            method=method.upper() if method else None,
            times=self.opt(fm, "times", p, self.number, integer=True, low=1, high=10**9),
            code=self.opt(fm, "code", p, self.text),
            message=self.opt(fm, "message", p, self.text),
            retry_after=self.opt(fm, "retry_after", p, self.number, integer=True, low=0, high=3600),
            delay_ms=self.opt(fm, "delay_ms", p, self.number, integer=True, low=0, high=600_000) or 0,
        )


@dataclass
class _TenantCtx:
    tenant_id: str
    mgs: dict[str, str]
    subs: dict[str, Subscription]
    principals: dict[str, Principal]
    roles: dict[str, Role]

    def __post_init__(self) -> None:
        self.rgs_seen: dict[str, set[str]] = {}


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
