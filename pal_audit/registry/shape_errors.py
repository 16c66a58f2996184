"""Pass 2's errors: pydantic's validation errors, in the registry's own words and paths."""

from __future__ import annotations

import difflib

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from pal_audit.registry.errors import Loc
from pal_audit.registry.schema import (
    AUTH_METHODS,
    AzureCliAuth,
    CertificateAuth,
    ClientSecretAuth,
    CustomerApproval,
    FederatedAuth,
    IdentityConfig,
    PartnerConfig,
    PolicyConfig,
    Registry,
    SuppressionConfig,
    TenantConfig,
)

# Which model sits at a path ("#" any list index, "*" any identity name), for "allowed: ..." hints.
_SHAPES: dict[tuple[str, ...], type[BaseModel]] = {
    (): Registry, ("partner",): PartnerConfig, ("identities", "*"): IdentityConfig,
    ("identities", "*", "auth", "client_secret"): ClientSecretAuth,
    ("identities", "*", "auth", "certificate"): CertificateAuth,
    ("identities", "*", "auth", "federated"): FederatedAuth,
    ("identities", "*", "auth", "azure_cli"): AzureCliAuth,
    ("tenants", "#"): TenantConfig, ("tenants", "#", "customer_approval"): CustomerApproval,
    ("policy",): PolicyConfig, ("suppressions", "#"): SuppressionConfig,
}

_BAD_IDENTITY_NAME = "invalid identity name: use letters, digits, '.', '_' or '-' (at most 64)"

_PLAIN = {
    "string_type": "expected a string", "bool_type": "expected true or false",
    "list_type": "expected a list", "dict_type": "expected a mapping",
    "model_type": "expected a mapping", "model_attributes_type": "expected a mapping",
}


def _allowed_keys(loc: Loc) -> list[str]:
    shape = tuple("#" if isinstance(p, int) else ("*" if i == 1 and loc[0] == "identities" else p)
                  for i, p in enumerate(loc))
    cls = _SHAPES.get(shape)
    return list(cls.model_fields) if cls else []


def _unknown_key(loc: Loc, key: str) -> str:
    allowed = _allowed_keys(loc)
    hint = difflib.get_close_matches(key, allowed, n=1)
    did_you_mean = f"; did you mean {hint[0]!r}?" if hint else ""
    return f"unknown key {key!r}{did_you_mean} (allowed: {', '.join(allowed)})"


def shape_problem(err: ErrorDetails) -> tuple[Loc, str]:
    """(path in the file, problem) for one entry of ValidationError.errors()."""
    loc: Loc = tuple(err["loc"])
    kind, ctx = err["type"], err.get("ctx") or {}
    # A tagged union puts the tag into the path (auth.client_secret.secret_env): the file has no such key.
    loc_for_keys = loc
    if len(loc) > 3 and loc[0] == "identities" and loc[2] == "auth" and loc[3] in AUTH_METHODS:
        loc = loc[:3] + loc[4:]
    if loc and loc[-1] == "[key]":
        return loc[:-1], _BAD_IDENTITY_NAME
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
        return loc, _BAD_IDENTITY_NAME
    if kind in _PLAIN:
        return loc, _PLAIN[kind]
    message = str(err["msg"]).removeprefix("Value error, ")   # our own PydanticCustomError texts
    return loc, message[:1].lower() + message[1:]
