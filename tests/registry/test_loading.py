"""The registry as the rest of pal-audit sees it: parsed values, policy, suppressions, warnings, errors."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from registry_support import (
    ENV,
    FABRIKAM,
    NORTHWIND,
    SECRET,
    TEST_CA_PEM,
    VALID,
    errors_of,
    valid_doc,
    write,
)

from pal_audit import model
from pal_audit.registry import RegistryError, load_registry, parse_registry
from pal_audit.registry.clouds import KNOWN_CLOUDS


def test_valid_registry_is_read_with_every_field() -> None:
    reg = load_registry(VALID, env=ENV)

    assert reg.partner.partner_id == "1234567"
    assert reg.partner.previous_partner_ids == ["1234560"]
    assert reg.partner.name == "Contoso Managed Services"
    assert reg.cloud is KNOWN_CLOUDS["AzureCloud"]
    assert set(reg.identities) == {"ops-app", "cert-app", "reader-app", "alice"}
    assert reg.identity("ops-app").auth.secret_env == "OPS_APP_SECRET"
    assert reg.identity("cert-app").auth.password_env == "CERT_APP_PASSWORD"
    assert reg.identity("alice").client_id is None
    assert reg.tenant_ids() == [FABRIKAM, NORTHWIND]
    fabrikam = reg.tenant(FABRIKAM)
    assert fabrikam.identities == ["ops-app", "alice"]
    assert fabrikam.expect_link is True                     # the default
    assert fabrikam.customer_approval is not None and fabrikam.customer_approval.on == date(2026, 3, 1)
    assert fabrikam.has_customer_approval
    assert fabrikam.assignments_via == "reader-app"
    assert reg.tenant(NORTHWIND).expect_link is False
    assert reg.source == str(VALID)
    assert reg.base_dir == VALID.resolve().parent


def test_guids_are_stored_lower_case_and_tenant_lookup_ignores_case() -> None:
    reg = load_registry(VALID, env=ENV)

    assert reg.identity("ops-app").client_id == "11111111-1111-1111-1111-1111111111aa"
    assert reg.tenant(FABRIKAM.upper()).name == "Fabrikam"
    with pytest.raises(KeyError):
        reg.tenant("99999999-9999-9999-9999-999999999999")


def test_partner_policy_carries_ids_and_custom_role_policy() -> None:
    policy = load_registry(VALID, env=ENV).partner_policy()

    assert policy == model.PartnerPolicy("1234567", frozenset({"1234560"}), "by_permissions")
    assert policy.is_ours("1234560") and not policy.is_ours("7654321")


def test_policy_defaults_to_custom_roles_not_eligible() -> None:
    doc = valid_doc()
    del doc["policy"]

    assert parse_registry(doc, env=ENV).partner_policy().custom_roles == "not_eligible"


def test_suppression_rules_include_expired_ones_for_the_store() -> None:
    rules = load_registry(VALID, env=ENV).suppression_rules()

    assert rules == (
        model.Suppression("excessive_privilege", FABRIKAM, "ops-app",
                          "Owner needed for landing-zone rollout until March", "ops-lead@contoso.example",
                          date(2099, 3, 31)),
        model.Suppression("customer_approval_missing", NORTHWIND, None, "Approval being signed",
                          "ops-lead@contoso.example", date(2026, 1, 31)),
    )


def test_expired_suppression_is_valid_but_warned_about_with_path_date_and_line() -> None:
    reg = load_registry(VALID, env=ENV)

    warnings = reg.warnings(date(2026, 6, 1))

    assert len(warnings) == 1
    assert warnings[0].startswith(f"{VALID}: suppressions[1]: expired on 2026-01-31")
    assert "(line 42)" in warnings[0]
    assert reg.warnings(date(2026, 1, 31)) == []          # the expiry day itself still holds


def test_identity_used_by_no_tenant_is_a_warning_and_needs_no_secret(tmp_path: Path) -> None:
    doc = valid_doc()
    doc["tenants"][1]["identities"] = ["ops-app"]          # cert-app is now unused

    reg = load_registry(write(tmp_path, doc), env={"OPS_APP_SECRET": "x"})

    warnings = reg.warnings(date(2026, 1, 1))
    assert any("identities.cert-app: defined but used by no tenant" in w for w in warnings)


def test_missing_and_empty_secret_variables_are_named_never_their_values() -> None:
    env = {"OPS_APP_SECRET": SECRET, "CERT_APP_PEM": "  "}

    errors = errors_of(VALID, env)

    assert f"{VALID}: identities.cert-app.auth.certificate_env: environment variable CERT_APP_PEM is empty" \
        in "\n".join(errors)
    assert any("identities.cert-app.auth.password_env: environment variable CERT_APP_PASSWORD is not set" in e
               for e in errors)
    assert len(errors) == 2
    assert SECRET not in "\n".join(errors)


def test_secret_check_can_be_skipped() -> None:
    assert load_registry(VALID, env={}, check_secrets=False).partner.partner_id == "1234567"


def test_env_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    assert load_registry(VALID).tenant_ids() == [FABRIKAM, NORTHWIND]
    monkeypatch.delenv("OPS_APP_SECRET")
    with pytest.raises(RegistryError, match="OPS_APP_SECRET is not set"):
        load_registry(VALID)


def test_parse_registry_accepts_a_json_body_with_string_dates() -> None:
    doc = json.loads(json.dumps(valid_doc(), default=str))   # dates become "2099-03-31"

    reg = parse_registry(doc, env=ENV)

    assert reg.suppressions[0].expires == date(2099, 3, 31)
    assert reg.source == "<registry>"


def test_json_file_errors_carry_line_numbers(tmp_path: Path) -> None:
    doc = json.loads(json.dumps(valid_doc(), default=str))
    doc["tenants"][1]["tenant_id"] = "not-a-guid"
    path = write(tmp_path, json.dumps(doc, indent=2), "registry.json")

    (error,) = errors_of(path)

    assert error.startswith(f"{path}: tenants[1].tenant_id: not a GUID")
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "not-a-guid" in text)
    assert error.endswith(f"(line {line})")


def test_yaml_on_key_and_yes_are_not_booleans(tmp_path: Path) -> None:
    text = VALID.read_text().replace("expect_link: false", "expect_link: no")

    path = write(tmp_path, text)

    assert errors_of(path) == [f"{path}: tenants[1].expect_link: expected true or false (line 32)"]


def test_every_shape_error_is_reported_not_only_the_first(tmp_path: Path) -> None:
    doc = valid_doc()
    doc["partner"]["partner_id"] = "12ab"
    doc["tenants"][0]["tenant_id"] = "nope"
    doc["suppressions"][0]["check"] = "made_up"

    errors = errors_of(write(tmp_path, doc))

    assert [e.split(": ")[1] for e in errors] == [
        "partner.partner_id", "tenants[0].tenant_id", "suppressions[0].check"]


def test_every_cross_reference_error_is_reported(tmp_path: Path) -> None:
    doc = valid_doc()
    doc["tenants"][0]["identities"] = ["ops-ap"]
    doc["tenants"][1]["tenant_id"] = FABRIKAM.upper()

    errors = errors_of(write(tmp_path, doc))

    assert "tenants[0].identities[0]: unknown identity 'ops-ap'; did you mean 'ops-app'?" in errors[0]
    assert "tenants[1].tenant_id: duplicate tenant" in errors[1]
    assert "(also tenants[0])" in errors[1]


def test_custom_cloud_ca_bundle_is_relative_to_the_registry(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text(TEST_CA_PEM)   # a real CA certificate: bundles are checked
    doc = valid_doc()
    doc["cloud"] = {"arm": "https://127.0.0.1:8443/", "authority": "https://127.0.0.1:8443",
                    "audience": "https://management.azure.com/", "ca_bundle": "ca.pem"}

    reg = load_registry(write(tmp_path, doc), env=ENV)

    assert reg.cloud.arm == "https://127.0.0.1:8443"
    assert reg.cloud.ca_bundle == (tmp_path / "ca.pem").resolve()
    assert reg.cloud_config() is reg.cloud


def test_cloud_defaults_to_the_public_cloud() -> None:
    doc = valid_doc()
    del doc["cloud"]

    assert parse_registry(doc, env=ENV).cloud.scope == "https://management.azure.com/.default"


def test_registry_is_immutable() -> None:
    reg = load_registry(VALID, env=ENV)

    with pytest.raises(ValueError):
        reg.partner = reg.partner  # type: ignore[misc]


def test_optional_sections_left_empty_mean_none(tmp_path: Path) -> None:
    text = VALID.read_text()
    text = text[:text.index("policy:")] + "policy:\nsuppressions:\n"

    reg = load_registry(write(tmp_path, text), env=ENV)

    assert reg.suppressions == [] and reg.partner_policy().custom_roles == "not_eligible"


def test_a_trailing_newline_is_not_a_valid_partner_id(tmp_path: Path) -> None:
    """`partner_id: |` in YAML yields "1234567\\n": accepted, every link would look foreign."""
    doc = valid_doc()
    doc["partner"]["partner_id"] += "\n"
    assert any("partner.partner_id" in e and "digits" in e for e in errors_of(write(tmp_path, doc)))


def test_guid_whitespace_is_normalised_away(tmp_path: Path) -> None:
    doc = valid_doc()
    doc["tenants"][0]["tenant_id"] = FABRIKAM.upper() + "\n"
    assert load_registry(write(tmp_path, doc), env=ENV).tenants[0].tenant_id == FABRIKAM


def test_a_registry_written_as_json_in_a_yaml_file_reads_the_same_and_keeps_its_line_numbers(
        tmp_path: Path) -> None:
    # Large registries are generated as JSON; JSON is YAML, so a .yaml name is fine and the JSON
    # parser reads it (seconds faster at 10,000 tenants), with the same data and the same messages.
    doc = json.loads(json.dumps(valid_doc(), default=str))
    path = write(tmp_path, json.dumps(doc, indent=2), "registry.yaml")

    assert load_registry(path, env=ENV).model_dump() == load_registry(VALID, env=ENV).model_dump()
    warnings = load_registry(path, env=ENV).warnings(date(2026, 6, 1))
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if '"suppressions"' in text)
    assert warnings[0].startswith(f"{path}: suppressions[1]: expired on 2026-01-31")
    assert "(line " in warnings[0] and int(warnings[0].rsplit("(line ", 1)[1].rstrip(")")) > line

    doc["tenants"][1]["tenant_id"] = "not-a-guid"
    bad = write(tmp_path, json.dumps(doc, indent=2), "bad.yaml")
    line = next(i for i, text in enumerate(bad.read_text().splitlines(), 1) if "not-a-guid" in text)
    (error,) = errors_of(bad)
    assert error.startswith(f"{bad}: tenants[1].tenant_id: not a GUID") and error.endswith(f"(line {line})")


def test_flow_style_yaml_that_is_not_json_is_still_yaml(tmp_path: Path) -> None:
    text = json.dumps(json.loads(json.dumps(valid_doc(), default=str)), indent=2)
    path = write(tmp_path, text.replace('"partner_id": "1234567"', "partner_id: '1234567'", 1))

    assert load_registry(path, env=ENV).partner.partner_id == "1234567"
