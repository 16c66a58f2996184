"""Pass 3: cross references within a well-shaped registry, and the secret environment variables."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping

from pal_audit.checks import TENANT_LEVEL_CHECKS
from pal_audit.registry.errors import Loc
from pal_audit.registry.schema import AuthConfig, Registry, used_identities

MAX_HINTS = 20          # "did you mean" suggestions computed per registry
MAX_LISTED = 10         # names listed in one message


def bounded_list(names: list[str], limit: int = MAX_LISTED) -> str:
    """"a, b, c" or "a, b, c … and 4,997 more": one message stays short whatever the registry holds."""
    shown = ", ".join(names[:limit])
    return shown + (f" … and {len(names) - limit:,} more" if len(names) > limit else "")


def cross_problems(reg: Registry, env: Mapping[str, str], check_secrets: bool) -> list[tuple[Loc, str]]:
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

    hints_left = [MAX_HINTS]

    def unknown_identity(ref: str) -> str:
        # difflib over every defined name for every bad reference is quadratic: hint the first few.
        hint: list[str] = []
        if hints_left[0] > 0:
            hints_left[0] -= 1
            hint = difflib.get_close_matches(ref, defined, n=1)
        return f"unknown identity {ref!r}" + (f"; did you mean {hint[0]!r}?" if hint else
                                             f" (defined: {bounded_list(defined)})")

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

    if not reg.tenants and not reg.lighthouse:   # a Lighthouse-only registry needs no tenants
        if "tenants" in reg.model_fields_set:
            add((("tenants",), "must not be empty (or add a lighthouse entry)"))
        else:
            add(((), "missing required key 'tenants' (or add a lighthouse entry)"))
    problems.extend(lighthouse_problems(reg, unknown_identity, set(first_seen)))
    lighthouse_ids = reg.lighthouse_tenants()

    for si, s in enumerate(reg.suppressions):
        if s.tenant_id in lighthouse_ids and s.tenant_id not in first_seen:
            managing = {lh.managing_tenant_id: lh for lh in reg.lighthouse}.get(s.tenant_id)
            if s.identity is not None and (managing is None or s.identity not in managing.identities):
                add((("suppressions", si, "identity"), f"identity {s.identity!r} is not a lighthouse "
                     f"identity of tenant {s.tenant_id} (delegation findings name no identity: omit it)"))
        elif s.tenant_id not in first_seen:
            add((("suppressions", si, "tenant_id"), f"tenant {s.tenant_id} is not in tenants"))
        elif s.identity is not None:
            if s.check in TENANT_LEVEL_CHECKS:
                add((("suppressions", si, "identity"), f"{s.check} is a tenant-level check: "
                     "omit identity"))
            elif s.identity not in reg.tenant(s.tenant_id).identities:
                add((("suppressions", si, "identity"), f"identity {s.identity!r} is not audited in "
                     f"tenant {s.tenant_id}"))

    if check_secrets:
        used = used_identities(reg)
        for name, ident in reg.identities.items():
            if name in used:
                problems.extend(_missing_env(name, ident.auth, env))
    return problems


def lighthouse_problems(reg: Registry, unknown_identity: Callable[[str], str],
                        tenant_ids: set[str]) -> list[tuple[Loc, str]]:
    """Cross references of the `lighthouse:` entries, every problem named by its place."""
    problems: list[tuple[Loc, str]] = []
    add = problems.append
    managing_seen: dict[str, int] = {}
    for li, lh in enumerate(reg.lighthouse):
        where: Loc = ("lighthouse", li)
        if lh.managing_tenant_id in managing_seen:
            add(((*where, "managing_tenant_id"), f"managing tenant {lh.managing_tenant_id} is listed twice "
                 f"(also lighthouse[{managing_seen[lh.managing_tenant_id]}])"))
        managing_seen.setdefault(lh.managing_tenant_id, li)
        if lh.managing_tenant_id in tenant_ids:
            add(((*where, "managing_tenant_id"), f"{lh.managing_tenant_id} is also in tenants: audit the "
                 "managing tenant either as a tenant or as a lighthouse entry, not both"))
        for ii, ref in enumerate(lh.identities):
            if ref not in reg.identities:
                add(((*where, "identities", ii), unknown_identity(ref)))
            elif ref in lh.identities[:ii]:
                add(((*where, "identities", ii), f"identity {ref!r} is listed twice"))
        if lh.reader is not None and lh.reader not in reg.identities:
            add(((*where, "reader"), unknown_identity(lh.reader)))
        customers_seen: dict[str, int] = {}
        for ci, c in enumerate(lh.customers):
            cwhere: Loc = (*where, "customers", ci)
            if c.tenant_id == lh.managing_tenant_id:
                add(((*cwhere, "tenant_id"), "a customer cannot be its own managing tenant"))
            if c.tenant_id in customers_seen:
                add(((*cwhere, "tenant_id"), f"customer {c.tenant_id} is listed twice "
                     f"(also customers[{customers_seen[c.tenant_id]}])"))
            customers_seen.setdefault(c.tenant_id, ci)
            for si, sub in enumerate(c.subscriptions):
                if sub in c.subscriptions[:si]:
                    add(((*cwhere, "subscriptions", si), f"subscription {sub} is listed twice"))
    return problems


def _missing_env(name: str, auth: AuthConfig, env: Mapping[str, str]) -> list[tuple[Loc, str]]:
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
