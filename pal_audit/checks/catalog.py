"""Registering the check modules: each one is validated once, when the checks' package is imported.

A check module is named after its check id and declares `META` (a CheckMeta) and `evaluate` (an
IdentityCheck or TenantCheck built from that META). A malformed module stops the import with a
CheckDefinitionError naming the module and what is wrong, so no run starts with a broken check.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType

from pal_audit.checks.base import Check, CheckDefinitionError, CheckMeta, TenantCheck


def registered(modules: Iterable[ModuleType]) -> tuple[Check, ...]:
    """The `evaluate` of each module, in the given order, after validating every module."""
    checks: list[Check] = []
    seen: set[str] = set()
    for module in modules:
        check = check_of(module)
        if check.meta.check_id in seen:
            raise CheckDefinitionError(f"{module.__name__}: check id {check.meta.check_id!r} is listed twice")
        seen.add(check.meta.check_id)
        checks.append(check)
    return tuple(checks)


def check_of(module: ModuleType) -> Check:
    """A check module's `evaluate`, once its META and evaluate are shown to fit together."""
    where = module.__name__
    meta: object = getattr(module, "META", None)
    if not isinstance(meta, CheckMeta):
        raise CheckDefinitionError(f"{where}: META must be a CheckMeta, not {type(meta).__name__}")
    name = where.rsplit(".", 1)[-1]
    if meta.check_id != name:
        raise CheckDefinitionError(f"{where}: META.check_id {meta.check_id!r} must be the module's "
                                   f"name {name!r}")
    evaluate: object = getattr(module, "evaluate", None)
    if not isinstance(evaluate, Check):
        raise CheckDefinitionError(f"{where}: evaluate must be an IdentityCheck or a TenantCheck, not "
                                   f"{type(evaluate).__name__}")
    if evaluate.meta is not meta:
        raise CheckDefinitionError(f"{where}: evaluate must be built from the module's own META")
    if meta.scope == "tenant" and not isinstance(evaluate, TenantCheck):
        raise CheckDefinitionError(f"{where}: META.scope is 'tenant', so evaluate must be a TenantCheck "
                                   "(one finding per tenant)")
    return evaluate
