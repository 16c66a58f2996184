"""`lighthouse:` registry entries: validated like the rest of the registry, every problem named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pal_audit.registry import RegistryError
from pal_audit.registry.loading import parse_registry

MANAGING = "99999999-9999-9999-9999-999999999999"
CUSTOMER = "22222222-2222-2222-2222-222222222222"
SUB = "33333333-3333-3333-3333-333333333333"
ENV = {"S": "x"}


def registry(**lighthouse: Any) -> dict[str, Any]:
    sp = {"kind": "service_principal", "client_id": "11111111-1111-1111-1111-111111111111",
          "auth": {"method": "client_secret", "secret_env": "S"}}
    entry = {"managing_tenant_id": MANAGING, "name": "Contoso", "identities": ["automation-sp"],
             "reader": "lh-reader",
             "customers": [{"tenant_id": CUSTOMER, "name": "Fabrikam", "subscriptions": [SUB]}]}
    entry.update(lighthouse)
    return {"partner": {"partner_id": "1234567"}, "cloud": "AzureCloud",
            "identities": {"automation-sp": sp, "lh-reader": sp}, "lighthouse": [entry]}


def test_a_lighthouse_only_registry_is_valid(tmp_path: Path) -> None:
    reg = parse_registry(registry(), env=ENV, base_dir=tmp_path)
    assert reg.tenants == [] and reg.lighthouse[0].reader_identity == "lh-reader"
    assert reg.lighthouse_tenants() == {MANAGING: "Contoso", CUSTOMER: "Fabrikam"}
    assert reg.warnings(__import__("datetime").date(2026, 1, 1)) == []   # its identities count as used


def test_the_reader_defaults_to_the_first_identity(tmp_path: Path) -> None:
    data = registry()
    del data["lighthouse"][0]["reader"]
    assert parse_registry(data, env=ENV, base_dir=tmp_path).lighthouse[0].reader_identity == "automation-sp"


def test_every_problem_is_named(tmp_path: Path) -> None:
    data = registry(identities=["automation-sp", "automaton-sp", "automation-sp"], reader="nobody",
                    customers=[{"tenant_id": MANAGING, "name": "Self"},
                               {"tenant_id": CUSTOMER, "name": "A", "subscriptions": [SUB, SUB]},
                               {"tenant_id": CUSTOMER, "name": "B"}])
    data["lighthouse"].append(dict(data["lighthouse"][0], customers=[]))
    data["tenants"] = [{"tenant_id": MANAGING, "name": "Contoso", "identities": ["automation-sp"]}]
    with pytest.raises(RegistryError) as info:
        parse_registry(data, env=ENV, base_dir=tmp_path)
    text = "\n".join(info.value.errors)
    for expected in (
        "lighthouse[0].identities[1]: unknown identity 'automaton-sp'; did you mean 'automation-sp'?",
        "lighthouse[0].identities[2]: identity 'automation-sp' is listed twice",
        "lighthouse[0].reader: unknown identity 'nobody'",
        "lighthouse[0].customers[0].tenant_id: a customer cannot be its own managing tenant",
        "lighthouse[0].customers[1].subscriptions[1]: subscription " + SUB + " is listed twice",
        "lighthouse[0].customers[2].tenant_id: customer " + CUSTOMER + " is listed twice",
        "lighthouse[1].managing_tenant_id: managing tenant " + MANAGING + " is listed twice",
        "lighthouse[0].managing_tenant_id: " + MANAGING + " is also in tenants",
    ):
        assert expected in text, text


@pytest.mark.parametrize(("change", "problem"), [
    ({"managing_tenant_id": "not-a-guid"}, "lighthouse[0].managing_tenant_id"),
    ({"identities": []}, "lighthouse[0].identities"),
    ({"customers": [{"tenant_id": CUSTOMER}]}, "lighthouse[0].customers[0]"),
    ({"readers": "lh-reader"}, "lighthouse[0].readers"),
])
def test_shape_errors_name_the_key(tmp_path: Path, change: dict[str, Any], problem: str) -> None:
    with pytest.raises(RegistryError) as info:
        parse_registry(registry(**change), env=ENV, base_dir=tmp_path)
    assert any(problem in line for line in info.value.errors), info.value.errors


def test_suppressions_may_name_lighthouse_customers(tmp_path: Path) -> None:
    data = registry()
    data["suppressions"] = [
        {"check": "lighthouse_delegation_not_credited", "tenant_id": CUSTOMER, "reason": "r", "owner": "o",
         "expires": "2099-01-01"},
        {"check": "lighthouse_unaudited_principal", "tenant_id": CUSTOMER, "identity": "automation-sp",
         "reason": "r", "owner": "o", "expires": "2099-01-01"},
    ]
    with pytest.raises(RegistryError) as info:
        parse_registry(data, env=ENV, base_dir=tmp_path)
    assert [line.split(": ", 1)[1] for line in info.value.errors] == [
        "suppressions[1].identity: identity 'automation-sp' is not a lighthouse identity of tenant "
        f"{CUSTOMER} (delegation findings name no identity: omit it)"]


def test_validate_summarises_the_lighthouse_entries(tmp_path: Path) -> None:
    from datetime import date

    from pal_audit.cli.main import registry_summary

    lines = registry_summary(parse_registry(registry(), env=ENV, base_dir=tmp_path), date(2026, 1, 1),
                             secrets_checked=True)
    assert "  lighthouse:   1 managing tenant(s), 1 expected customer(s)" in lines
