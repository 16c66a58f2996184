"""Registry documents for the tests: the valid example, writing variants, collecting errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pal_audit.registry import RegistryError, load_registry

DATA = Path(__file__).resolve().parent / "registry" / "data"
TEST_CA_PEM = (DATA / "test-ca.crt").read_text()

VALID = DATA / "valid.yaml"
SECRET = "s3cr3t-VALUE-never-printed"
ENV = {"OPS_APP_SECRET": SECRET, "CERT_APP_PEM": "-----BEGIN PRIVATE KEY-----", "CERT_APP_PASSWORD": "pw"}
FABRIKAM = "22222222-2222-2222-2222-2222222222bb"
NORTHWIND = "55555555-5555-5555-5555-555555555555"


def valid_doc() -> dict:
    doc = yaml.safe_load(VALID.read_text())
    # PyYAML (YAML 1.1) reads the key `on:` as True; pal-audit's own loader keeps it "on".
    approval = doc["tenants"][0]["customer_approval"]
    approval["on"] = approval.pop(True)
    return doc


def write(tmp_path: Path, doc: dict | str, name: str = "registry.yaml") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return path


def errors_of(path: Path, env: dict | None = None) -> list[str]:
    with pytest.raises(RegistryError) as info:
        load_registry(path, env=ENV if env is None else env)
    return info.value.errors
