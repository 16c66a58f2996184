"""The registry: which tenants to audit, as which identities, against which partner ids (design.md §3).

Validation runs in three passes, each collecting every problem it finds:
1. reading: file, YAML/JSON syntax, duplicate keys, top level a mapping;
2. shape (pydantic, strict, unknown keys forbidden): types, GUIDs, partner ids, dates, enums;
   the cloud is resolved alongside;
3. cross references: duplicate tenants, undefined identities, auth fitting the kind, suppressions
   pointing at real tenants and identities, and the secret environment variables being set.
Pass 3 needs a well-shaped document, so it only runs when pass 2 found nothing.

Every error reads "<file>: <path>: <problem>" (plus the line when the file is YAML or JSON) and never
repeats a value that could be a secret.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from pal_audit import model
from pal_audit.clouds import KNOWN_CLOUDS, Cloud, CloudError, resolve_cloud

Loc = tuple[str | int, ...]


class RegistryError(Exception):
    """The registry is unusable. `.errors` holds one "<file>: <path>: <problem>" line per problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))


# ---------------------------------------------------------------------------------------------
# Field types

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_IDENTITY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_PARTNER_ID = re.compile(r"^[0-9]{4,10}$")


def _guid(value: Any) -> str:
    if not isinstance(value, str) or not _GUID.match(value.strip()):
        raise PydanticCustomError("guid", "not a GUID (expected 8-4-4-4-12 hex digits, "
                                  "e.g. 22222222-2222-2222-2222-222222222222)")
    return value.strip().lower()   # ARM returns lower case; compare and store one form


def _no_number(value: Any) -> Any:
    # YAML reads unquoted 0123456 as a number and drops the leading zero: insist on quotes.
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise PydanticCustomError("quoted", 'must be a quoted string, e.g. "1234567" (YAML reads unquoted '
                                  "digits as a number and may drop leading zeros)")
    return value


def _partner_id(value: str) -> str:
    if not _PARTNER_ID.match(value):
        raise PydanticCustomError("partner_id", 'must be 4 to 10 digits, e.g. "1234567"')
    return value


def _env_name(value: str) -> str:
    # Never echo the value: a secret pasted here by mistake must not reach a log.
    if not _ENV_NAME.match(value):
        raise PydanticCustomError("env_name", "must be the NAME of an environment variable (letters, "
                                  "digits, underscore), never the secret itself")
    return value


def _iso_date(value: Any) -> Any:
    if isinstance(value, datetime):
        raise PydanticCustomError("date", "expected a date YYYY-MM-DD, not a date and time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise PydanticCustomError("date", "expected a date YYYY-MM-DD")


Guid = Annotated[str, BeforeValidator(_guid)]
PartnerId = Annotated[str, BeforeValidator(_no_number), AfterValidator(_partner_id)]
EnvName = Annotated[str, AfterValidator(_env_name)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
IdentityName = Annotated[str, StringConstraints(pattern=_IDENTITY_NAME.pattern)]


# ---------------------------------------------------------------------------------------------
# The document's shape

class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class PartnerConfig(_Strict):
    partner_id: PartnerId
    previous_partner_ids: list[PartnerId] = []
    name: Text | None = None


class ClientSecretAuth(_Strict):
    method: Literal["client_secret"]
    secret_env: EnvName


class CertificateAuth(_Strict):
    method: Literal["certificate"]
    certificate_env: EnvName            # holds the PEM (certificate and private key)
    password_env: EnvName | None = None


class FederatedAuth(_Strict):
    method: Literal["federated"]        # assertion = a token of the Function's managed identity


class AzureCliAuth(_Strict):
    method: Literal["azure_cli"]        # an engineer's `az login`, for local use


AuthConfig = Annotated[
    ClientSecretAuth | CertificateAuth | FederatedAuth | AzureCliAuth, Field(discriminator="method")
]
AUTH_METHODS = ("client_secret", "certificate", "federated", "azure_cli")


class IdentityConfig(_Strict):
    kind: Literal["service_principal", "user"]
    client_id: Guid | None = None       # required for service principals (checked in pass 3)
    auth: AuthConfig


class CustomerApproval(_Strict):
    by: Text
    on: IsoDate
    ref: Text | None = None


class TenantConfig(_Strict):
    tenant_id: Guid
    name: Text
    identities: Annotated[list[str], Field(min_length=1)]
    expect_link: bool = True
    customer_approval: CustomerApproval | None = None
    assignments_via: str | None = None

    @property
    def has_customer_approval(self) -> bool:
        return self.customer_approval is not None


class PolicyConfig(_Strict):
    custom_roles: Literal["not_eligible", "by_permissions"] = "not_eligible"


CheckId = Literal[model.CHECK_IDS]  # type: ignore[valid-type]
TENANT_LEVEL_CHECKS = ("customer_approval_missing", "tenant_without_credited_link")


class SuppressionConfig(_Strict):
    check: CheckId
    tenant_id: Guid
    identity: str | None = None
    reason: Text
    owner: Text
    expires: IsoDate


class Registry(_Strict):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, arbitrary_types_allowed=True)

    partner: PartnerConfig
    cloud: Cloud                        # resolved from a name or mapping before validation
    identities: Annotated[dict[IdentityName, IdentityConfig], Field(min_length=1)]
    tenants: Annotated[list[TenantConfig], Field(min_length=1)]
    policy: PolicyConfig = PolicyConfig()
    suppressions: list[SuppressionConfig] = []

    _source: str = PrivateAttr(default="<registry>")
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _node: Any = PrivateAttr(default=None)      # YAML node tree, for line numbers in warnings
    _by_id: dict[str, TenantConfig] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        # First occurrence wins; duplicates are rejected in pass 3 anyway.
        for t in reversed(self.tenants):
            self._by_id[t.tenant_id] = t

    @property
    def source(self) -> str:
        return self._source

    @property
    def base_dir(self) -> Path:
        return self._base_dir

    def cloud_config(self) -> Cloud:
        """The resolved cloud (same as `.cloud`)."""
        return self.cloud

    def partner_policy(self) -> model.PartnerPolicy:
        return model.PartnerPolicy(
            partner_id=self.partner.partner_id,
            previous_partner_ids=frozenset(self.partner.previous_partner_ids),
            custom_roles=self.policy.custom_roles,
        )

    def suppression_rules(self) -> tuple[model.Suppression, ...]:
        """All suppressions, expired ones included: the store needs them to report UNSUPPRESSED."""
        return tuple(
            model.Suppression(check=s.check, tenant_id=s.tenant_id, identity=s.identity,
                              reason=s.reason, owner=s.owner, expires=s.expires)
            for s in self.suppressions
        )

    def tenant(self, tenant_id: str) -> TenantConfig:
        """The tenant with this id (any case); KeyError when the registry does not list it."""
        found = self._by_id.get(tenant_id.strip().lower())
        if found is None:
            raise KeyError(tenant_id)
        return found

    def tenant_ids(self) -> list[str]:
        return [t.tenant_id for t in self.tenants]

    def identity(self, name: str) -> IdentityConfig:
        return self.identities[name]

    def warnings(self, today: date) -> list[str]:
        """Things that are valid but probably not intended: expired suppressions, unused identities."""
        found: list[tuple[Loc, str]] = []
        for i, s in enumerate(self.suppressions):
            if s.expires < today:
                found.append((("suppressions", i), f"expired on {s.expires.isoformat()}: it no longer "
                              f"suppresses {s.check} (renew 'expires' or remove it)"))
        used = _used_identities(self)
        for name in self.identities:
            if name not in used:
                found.append((("identities", name), "defined but used by no tenant"))
        return [_format(self._source, loc, msg, self._node) for loc, msg in found]


def _used_identities(reg: Registry) -> set[str]:
    used = {n for t in reg.tenants for n in t.identities}
    return used | {t.assignments_via for t in reg.tenants if t.assignments_via}


# ---------------------------------------------------------------------------------------------
# Pass 1: reading

class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans (only true/false: `on:` stays a key, `no` stays a string) and no silent
    duplicate keys (a second `tenants:` would otherwise replace the first)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first at line {seen[key]})", key_node.start_mark)
                seen[key] = key_node.start_mark.line + 1
            except TypeError:
                pass   # unhashable key: SafeConstructor reports it
        return super().construct_mapping(node, deep=deep)

    def construct_lenient_timestamp(self, node: yaml.ScalarNode) -> Any:
        # 2026-13-01 would raise a bare ValueError here; as a string it gets a proper "expected a date".
        try:
            return self.construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_lenient_timestamp)
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _parse_yaml(text: str) -> tuple[Any, Any]:
    """(data, node tree) of a YAML document."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    finally:
        loader.dispose()


def _no_duplicate_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _read(path: Path, source: str) -> tuple[Any, Any]:
    """(data, node tree or None); raises RegistryError for an unreadable or unparseable file."""
    def fail(problem: str) -> RegistryError:
        return RegistryError([f"{source}: {problem}"])

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise fail("file not found") from None
    except IsADirectoryError:
        raise fail("is a directory, not a registry file") from None
    except PermissionError:
        raise fail("cannot read the file: permission denied") from None
    except UnicodeDecodeError:
        raise fail("cannot read the file: not UTF-8 text") from None
    except OSError as exc:
        raise fail(f"cannot read the file ({exc.strerror or exc.__class__.__name__})") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text, object_pairs_hook=_no_duplicate_pairs)
        except json.JSONDecodeError as exc:
            raise fail(f"line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}") from None
        except ValueError as exc:
            raise fail(f"invalid JSON: {exc}") from None
        try:
            return data, _parse_yaml(text)[1]   # JSON is YAML: reuse its node tree for line numbers
        except yaml.YAMLError:
            return data, None
    try:
        return _parse_yaml(text)
    except RecursionError:
        raise fail("invalid YAML: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not parseable"
        raise fail(f"{where}invalid YAML: {problem}") from None


# ---------------------------------------------------------------------------------------------
# Pass 2: shape errors from pydantic, in the registry's own words

_SHAPES: dict[tuple[str, ...], type[BaseModel]] = {
    (): Registry, ("partner",): PartnerConfig, ("identities", "*"): IdentityConfig,
    ("identities", "*", "auth", "client_secret"): ClientSecretAuth,
    ("identities", "*", "auth", "certificate"): CertificateAuth,
    ("identities", "*", "auth", "federated"): FederatedAuth,
    ("identities", "*", "auth", "azure_cli"): AzureCliAuth,
    ("tenants", "#"): TenantConfig, ("tenants", "#", "customer_approval"): CustomerApproval,
    ("policy",): PolicyConfig, ("suppressions", "#"): SuppressionConfig,
}


def _allowed_keys(loc: Loc) -> list[str]:
    shape = tuple("#" if isinstance(p, int) else ("*" if i == 1 and loc[0] == "identities" else p)
                  for i, p in enumerate(loc))
    cls = _SHAPES.get(shape)  # type: ignore[arg-type]
    return list(cls.model_fields) if cls else []


def _unknown_key(loc: Loc, key: str) -> str:
    allowed = _allowed_keys(loc)
    hint = difflib.get_close_matches(key, allowed, n=1)
    did_you_mean = f"; did you mean {hint[0]!r}?" if hint else ""
    return f"unknown key {key!r}{did_you_mean} (allowed: {', '.join(allowed)})"


def _shape_problem(err: Any) -> tuple[Loc, str]:
    loc: Loc = tuple(err["loc"])
    kind, ctx = err["type"], err.get("ctx") or {}
    # A tagged union puts the tag into the path (auth.client_secret.secret_env): the file has no such key.
    loc_for_keys = loc
    if len(loc) > 3 and loc[0] == "identities" and loc[2] == "auth" and loc[3] in AUTH_METHODS:
        loc = loc[:3] + loc[4:]
    if loc and loc[-1] == "[key]":
        return loc[:-1], "invalid identity name: use letters, digits, '.', '_' or '-' (at most 64)"
    if kind == "missing":
        why = " (no suppression lives forever)" if loc[-1] == "expires" else ""
        return loc[:-1], f"missing required key {loc[-1]!r}{why}"
    if kind == "extra_forbidden":
        return loc, _unknown_key(loc_for_keys[:-1], str(loc[-1]))
    if kind == "union_tag_invalid":
        methods = ", ".join(AUTH_METHODS)
        return (*loc, "method"), f"unknown auth method {ctx.get('tag')!r} (expected one of: {methods})"
    if kind == "union_tag_not_found":
        return loc, f"missing required key 'method' (one of: {', '.join(AUTH_METHODS)})"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        given = err.get("input")
        hint = difflib.get_close_matches(given, expected.split(", "), n=1) if isinstance(given, str) else []
        return loc, (f"did you mean {hint[0]!r}? " if hint else "") + f"expected one of: {expected}"
    if kind == "string_too_short":
        return loc, "must not be empty"
    if kind == "too_short":
        return loc, "must not be empty (at least one entry is required)"
    if kind == "string_pattern_mismatch":
        return loc, "invalid identity name: use letters, digits, '.', '_' or '-' (at most 64)"
    plain = {
        "string_type": "expected a string", "bool_type": "expected true or false",
        "list_type": "expected a list", "dict_type": "expected a mapping",
        "model_type": "expected a mapping", "model_attributes_type": "expected a mapping",
        "is_instance_of": "expected a cloud name or mapping",
    }
    if kind in plain:
        return loc, plain[kind]
    message = str(err["msg"]).removeprefix("Value error, ")   # our own PydanticCustomError texts
    return loc, message[:1].lower() + message[1:]


# ---------------------------------------------------------------------------------------------
# Pass 3: cross references and the environment

def _cross_problems(reg: Registry, env: Mapping[str, str], check_secrets: bool) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    add = problems.append
    defined = list(reg.identities)

    previous = reg.partner.previous_partner_ids
    for i, pid in enumerate(previous):
        if pid == reg.partner.partner_id:
            add((("partner", "previous_partner_ids", i), f"{pid} is the current partner_id; "
                 "previous_partner_ids lists only ids used before"))
        elif pid in previous[:i]:
            add((("partner", "previous_partner_ids", i), f"{pid} is listed twice"))

    for name, ident in reg.identities.items():
        if ident.kind == "user" and ident.auth.method != "azure_cli":
            add((("identities", name, "auth", "method"), f"a user identity can only sign in with azure_cli, "
                 f"not {ident.auth.method} (service principals use client_secret, certificate or federated)"))
        if ident.kind == "service_principal" and ident.client_id is None:
            add((("identities", name), "missing required key 'client_id' (the app's client id, a GUID)"))

    def unknown_identity(ref: str) -> str:
        hint = difflib.get_close_matches(ref, defined, n=1)
        return f"unknown identity {ref!r}" + (f"; did you mean {hint[0]!r}?" if hint else
                                             f" (defined: {', '.join(defined)})")

    first_seen: dict[str, int] = {}
    for ti, t in enumerate(reg.tenants):
        if t.tenant_id in first_seen:
            add((("tenants", ti, "tenant_id"), f"duplicate tenant {t.tenant_id} "
                 f"(also tenants[{first_seen[t.tenant_id]}])"))
        else:
            first_seen[t.tenant_id] = ti
        for ii, ref in enumerate(t.identities):
            if ref not in reg.identities:
                add((("tenants", ti, "identities", ii), unknown_identity(ref)))
            elif ref in t.identities[:ii]:
                add((("tenants", ti, "identities", ii), f"identity {ref!r} is listed twice"))
        if t.assignments_via is not None and t.assignments_via not in reg.identities:
            add((("tenants", ti, "assignments_via"), unknown_identity(t.assignments_via)))

    for si, s in enumerate(reg.suppressions):
        if s.tenant_id not in first_seen:
            add((("suppressions", si, "tenant_id"), f"tenant {s.tenant_id} is not in tenants"))
        elif s.identity is not None:
            if s.check in TENANT_LEVEL_CHECKS:
                add((("suppressions", si, "identity"), f"{s.check} is a tenant-level check: "
                     "omit identity"))
            elif s.identity not in reg.tenant(s.tenant_id).identities:
                add((("suppressions", si, "identity"), f"identity {s.identity!r} is not audited in "
                     f"tenant {s.tenant_id}"))

    if check_secrets:
        used = _used_identities(reg)
        for name, ident in reg.identities.items():
            if name in used:
                problems.extend(_missing_env(name, ident.auth, env))
    return problems


def _missing_env(name: str, auth: Any, env: Mapping[str, str]) -> list[tuple[Loc, str]]:
    """Names (never values) of secret environment variables that are unset or empty."""
    out: list[tuple[Loc, str]] = []
    for key in ("secret_env", "certificate_env", "password_env"):
        var = getattr(auth, key, None)
        if var is None:
            continue
        raw = env.get(var)
        state = "not set" if raw is None else ("empty" if not raw.strip() else None)
        if state:
            out.append((("identities", name, "auth", key), f"environment variable {var} is {state} "
                        f"(identity {name} needs it to sign in)"))
    return out


# ---------------------------------------------------------------------------------------------
# Formatting and the entry points

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _path(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{json.dumps(str(part))}]"
    return out


def _line(node: Any, loc: Loc) -> int | None:
    """1-based line of the deepest node of `loc` present in the YAML node tree."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)
                          and k.value == str(part)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _format(source: str, loc: Loc, problem: str, node: Any) -> str:
    line = _line(node, loc)
    suffix = f" (line {line})" if line is not None else ""
    return f"{source}: {_path(loc)}: {problem}{suffix}" if loc else f"{source}: {problem}{suffix}"


_OPTIONAL_SECTIONS = ("cloud", "policy", "suppressions")


def _build(data: Any, *, source: str, base_dir: Path, node: Any,
           env: Mapping[str, str] | None, check_secrets: bool) -> Registry:
    def fail(problems: list[tuple[Loc, str]]) -> RegistryError:
        return RegistryError([_format(source, loc, msg, node) for loc, msg in problems])

    if data is None:
        raise fail([((), "the file is empty; expected a mapping with partner, identities and tenants")])
    if not isinstance(data, Mapping):
        raise fail([((), f"the top level must be a mapping with partner, identities and tenants, "
                         f"not a {type(data).__name__}")])

    # An optional section left empty (`suppressions:` with every entry commented out) reads as null.
    data = {k: v for k, v in data.items() if not (v is None and k in _OPTIONAL_SECTIONS)}
    problems: list[tuple[Loc, str]] = []
    cloud = KNOWN_CLOUDS["AzureCloud"]
    try:
        cloud = resolve_cloud(data.get("cloud", "AzureCloud"), base_dir=base_dir, where="cloud")
    except CloudError as exc:
        problems += [(tuple(where.split(".")), msg) for where, msg in exc.problems]
    try:
        reg = Registry.model_validate({**data, "cloud": cloud})
    except ValidationError as exc:
        problems += [_shape_problem(e) for e in exc.errors()]
    if problems:
        raise fail(problems)

    problems = _cross_problems(reg, os.environ if env is None else env, check_secrets)
    if problems:
        raise fail(problems)
    reg._source, reg._base_dir, reg._node = source, base_dir, node
    return reg


def parse_registry(data: Any, *, source: str = "<registry>", env: Mapping[str, str] | None = None,
                   check_secrets: bool = True, base_dir: Path | None = None) -> Registry:
    """Validate an already parsed registry (a JSON body, a test's dict). Raises RegistryError."""
    return _build(data, source=source, base_dir=base_dir or Path.cwd(), node=None,
                  env=env, check_secrets=check_secrets)


def load_registry(path: str | Path, *, env: Mapping[str, str] | None = None,
                  check_secrets: bool = True) -> Registry:
    """Read and validate a registry file (YAML, or JSON by its .json suffix). Raises RegistryError.

    `env` defaults to os.environ; with check_secrets the secret variables of every identity in use
    must be set (their values are never read into messages).
    """
    path = Path(path)
    data, node = _read(path, str(path))
    return _build(data, source=str(path), base_dir=path.resolve().parent, node=node,
                  env=env, check_secrets=check_secrets)
