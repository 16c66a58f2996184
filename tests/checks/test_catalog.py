"""Every check module registers once, with well-formed metadata; a malformed one stops the import."""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import replace
from types import ModuleType
from typing import Any

import pytest

import pal_audit.checks
from pal_audit.checks import CHECK_MODULES, CHECKS, customer_approval_missing, link_missing
from pal_audit.checks.base import (
    SCOPES,
    CheckDefinitionError,
    CheckMeta,
    IdentityCheck,
    TenantCheck,
    meta_problems,
)
from pal_audit.checks.catalog import check_of, registered
from pal_audit.model import INPUTS, Severity


def _fake_module(name: str, **attrs: Any) -> ModuleType:
    module = ModuleType(f"pal_audit.checks.{name}")
    for key, value in attrs.items():
        setattr(module, key, value)
    return module


@pytest.mark.parametrize("module", CHECK_MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_every_check_module_has_a_well_formed_meta(module: ModuleType) -> None:
    meta = module.META
    assert meta_problems(meta) == []
    assert meta.check_id == module.__name__.rsplit(".", 1)[-1]
    assert isinstance(meta.severity, Severity)
    assert meta.scope in SCOPES
    assert isinstance(meta.needs, frozenset) and meta.needs <= set(INPUTS)
    assert meta.title.strip() and meta.description.strip() and meta.remediation.strip()
    assert module.evaluate.meta is meta
    assert check_of(module) is module.evaluate


def test_every_check_module_in_the_package_is_registered() -> None:
    # The explicit list is the one place a check registers: a module left out of it would never run.
    with_meta = set()
    for info in pkgutil.iter_modules(pal_audit.checks.__path__):
        module = importlib.import_module(f"pal_audit.checks.{info.name}")
        if hasattr(module, "META"):
            with_meta.add(module.__name__)
    assert with_meta == {m.__name__ for m in CHECK_MODULES}
    assert [c.meta.check_id for c in CHECKS] == [m.META.check_id for m in CHECK_MODULES]


META_FAULTS = [
    pytest.param({"severity": "urgent"}, "META.severity must be a Severity", id="severity"),
    pytest.param({"scope": "tenants"}, "META.scope must be one of identity, tenant, not 'tenants'",
                 id="scope"),
    pytest.param({"needs": frozenset({"links"})}, "META.needs names unknown inputs: links",
                 id="unknown-input"),
    pytest.param({"needs": {"link"}}, "META.needs must be a frozenset", id="needs-not-frozen"),
    pytest.param({"remediation": "  "}, "META.remediation must be a non-empty text", id="remediation"),
    pytest.param({"title": ""}, "META.title must be a non-empty text", id="title"),
    pytest.param({"check_id": "Link-Missing"}, "META.check_id must be a snake_case name", id="check-id"),
]


@pytest.mark.parametrize(("change", "problem"), META_FAULTS)
def test_malformed_meta_is_refused_when_it_is_built(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(CheckDefinitionError, match=problem):
        replace(link_missing.META, **change)


def test_needs_has_no_default_so_a_new_check_must_declare_it() -> None:
    with pytest.raises(TypeError, match="needs"):
        CheckMeta("new_check", "t", Severity.LOW, "identity", "d", "r")  # type: ignore[call-arg]


def test_a_module_must_be_named_after_its_check_id() -> None:
    module = _fake_module("link_gone", META=link_missing.META, evaluate=link_missing.evaluate)
    message = "pal_audit.checks.link_gone: META.check_id 'link_missing' must be the module's name 'link_gone'"
    with pytest.raises(CheckDefinitionError, match=re.escape(message)):
        check_of(module)


def test_a_module_without_meta_or_evaluate_is_refused() -> None:
    with pytest.raises(CheckDefinitionError, match="link_missing: META must be a CheckMeta, not NoneType"):
        check_of(_fake_module("link_missing", evaluate=link_missing.evaluate))
    with pytest.raises(CheckDefinitionError, match="evaluate must be an IdentityCheck or a TenantCheck"):
        check_of(_fake_module("link_missing", META=link_missing.META, evaluate=lambda t, p: []))


def test_evaluate_must_be_built_from_the_modules_own_meta() -> None:
    other = IdentityCheck(replace(link_missing.META, title="another"), lambda who, t, p: [])
    with pytest.raises(CheckDefinitionError, match="built from the module's own META"):
        check_of(_fake_module("link_missing", META=link_missing.META, evaluate=other))


def test_a_tenant_scope_check_is_judged_once_per_tenant() -> None:
    meta = replace(customer_approval_missing.META)
    per_identity = IdentityCheck(meta, lambda who, t, p: [])
    with pytest.raises(CheckDefinitionError, match=re.escape("META.scope is 'tenant', so evaluate must")):
        check_of(_fake_module("customer_approval_missing", META=meta, evaluate=per_identity))
    # The other way round is fine: audit_error reads the whole tenant and reports per identity.
    meta = replace(link_missing.META)
    assert check_of(_fake_module("link_missing", META=meta, evaluate=TenantCheck(meta, lambda t, p: [])))


def test_a_module_listed_twice_is_refused() -> None:
    with pytest.raises(CheckDefinitionError, match="'link_missing' is listed twice"):
        registered((link_missing, customer_approval_missing, link_missing))
