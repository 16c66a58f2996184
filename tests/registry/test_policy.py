"""`policy.expiry_warning_days`: the window of credit_expires_soon, read from the registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from registry_support import ENV, errors_of, valid_doc, write

from pal_audit.registry import load_registry


def test_expiry_warning_days_defaults_to_14_and_reaches_the_policy(tmp_path: Path) -> None:
    doc = valid_doc()
    assert "expiry_warning_days" not in doc["policy"]
    assert load_registry(write(tmp_path, doc), env=ENV).partner_policy().expiry_warning_days == 14
    doc["policy"]["expiry_warning_days"] = 30
    assert load_registry(write(tmp_path, doc), env=ENV).partner_policy().expiry_warning_days == 30


@pytest.mark.parametrize("value", [0, 365])
def test_expiry_warning_days_bounds_are_accepted(tmp_path: Path, value: int) -> None:
    doc = valid_doc()
    doc["policy"]["expiry_warning_days"] = value
    assert load_registry(write(tmp_path, doc), env=ENV).partner_policy().expiry_warning_days == value


@pytest.mark.parametrize("value", [-1, 366, "14", 2.5, True, None])
def test_a_bad_expiry_warning_days_is_an_error_naming_the_key(tmp_path: Path, value: object) -> None:
    doc = valid_doc()
    doc["policy"]["expiry_warning_days"] = value
    [error] = errors_of(write(tmp_path, doc))
    assert "policy.expiry_warning_days" in error and "registry.yaml" in error
    assert "Traceback" not in error
