"""Clouds: the national clouds by name, and custom clouds exactly as armsim writes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pal_audit.registry.clouds import (
    KNOWN_CLOUDS,
    CloudError,
    cloud_from_setting,
    load_cloud_file,
    resolve_cloud,
)

TEST_CA_PEM = (Path(__file__).parent / "data" / "test-ca.crt").read_text()

ARMSIM = {"arm": "https://127.0.0.1:8443", "authority": "https://127.0.0.1:8443",
          "audience": "https://management.azure.com/", "ca_bundle": "ca.pem"}


@pytest.fixture
def armsim_dir(tmp_path: Path) -> Path:
    (tmp_path / "ca.pem").write_text(TEST_CA_PEM)   # a real CA certificate: bundles are checked
    return tmp_path


@pytest.mark.parametrize(("name", "arm", "authority", "scope"), [
    ("AzureCloud", "https://management.azure.com", "https://login.microsoftonline.com",
     "https://management.azure.com/.default"),
    ("AzureUSGovernment", "https://management.usgovcloudapi.net", "https://login.microsoftonline.us",
     "https://management.core.usgovcloudapi.net/.default"),
    ("AzureChinaCloud", "https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn",
     "https://management.chinacloudapi.cn/.default"),
])
def test_known_clouds_by_name(name: str, arm: str, authority: str, scope: str) -> None:
    cloud = resolve_cloud(name.lower(), base_dir=Path("."), where="cloud")   # names ignore case

    assert (cloud.name, cloud.arm, cloud.authority, cloud.scope, cloud.ca_bundle) == (
        name, arm, authority, scope, None)


def test_unknown_cloud_name_lists_the_known_ones() -> None:
    with pytest.raises(CloudError) as info:
        resolve_cloud("AzureGermany", base_dir=Path("."), where="cloud")

    assert info.value.errors == [
        "cloud: unknown cloud 'AzureGermany' (known: AzureCloud, AzureUSGovernment, AzureChinaCloud; "
        "or a mapping with arm, authority, audience and optionally ca_bundle)"]


def test_armsim_mapping_becomes_a_custom_cloud(armsim_dir: Path) -> None:
    cloud = resolve_cloud(ARMSIM, base_dir=armsim_dir, where="cloud")

    assert cloud.name == "custom" and cloud.name not in KNOWN_CLOUDS
    assert cloud.arm == "https://127.0.0.1:8443"
    assert cloud.authority == "https://127.0.0.1:8443"
    assert cloud.scope == "https://management.azure.com/.default"
    assert cloud.ca_bundle == (armsim_dir / "ca.pem").resolve()


def test_trailing_slashes_are_normalised(armsim_dir: Path) -> None:
    mapping = {**ARMSIM, "arm": "https://127.0.0.1:8443/", "authority": "https://127.0.0.1:8443/",
               "audience": "https://management.azure.com"}

    cloud = resolve_cloud(mapping, base_dir=armsim_dir, where="cloud")

    assert (cloud.arm, cloud.authority, cloud.audience) == (
        "https://127.0.0.1:8443", "https://127.0.0.1:8443", "https://management.azure.com/")


def test_ca_bundle_is_optional(tmp_path: Path) -> None:
    mapping = {k: v for k, v in ARMSIM.items() if k != "ca_bundle"}

    assert resolve_cloud(mapping, base_dir=tmp_path, where="cloud").ca_bundle is None


def test_every_problem_of_a_custom_cloud_is_named(tmp_path: Path) -> None:
    mapping = {"arm": "http://127.0.0.1:8443", "authority": "https://127.0.0.1:8443/tenant-id",
               "ca_bundle": "missing.pem", "region": "x"}

    with pytest.raises(CloudError) as info:
        resolve_cloud(mapping, base_dir=tmp_path, where="cloud")

    errors = info.value.errors
    assert ("cloud.region: unknown key 'region' (allowed: arm, authority, audience, ca_bundle, graph, "
            "graph_audience)") in errors
    assert "cloud: missing required key 'audience'" in errors
    assert "cloud.arm: must be an https URL (Azure SDKs refuse plain http)" in errors
    assert any(e.startswith("cloud.authority: must be the authority host only") for e in errors)
    assert f"cloud.ca_bundle: file not found: {(tmp_path / 'missing.pem').resolve()}" in errors
    assert len(errors) == 5


def test_a_cloud_must_be_a_name_or_a_mapping() -> None:
    with pytest.raises(CloudError, match="cloud: must be a cloud name or a mapping"):
        resolve_cloud(["AzureCloud"], base_dir=Path("."), where="cloud")  # type: ignore[arg-type]


def test_load_cloud_file_reads_armsims_cloud_out_json(armsim_dir: Path) -> None:
    path = armsim_dir / "cloud.json"
    path.write_text(json.dumps({**ARMSIM, "ca_bundle": str(armsim_dir / "ca.pem")}))

    cloud = load_cloud_file(path)

    assert cloud.arm == "https://127.0.0.1:8443" and cloud.ca_bundle == (armsim_dir / "ca.pem").resolve()


def test_load_cloud_file_reads_yaml_with_a_relative_ca_bundle(armsim_dir: Path) -> None:
    path = armsim_dir / "cloud.yaml"
    path.write_text("arm: https://127.0.0.1:9000\nauthority: https://127.0.0.1:9000\n"
                    "audience: https://management.azure.com/\nca_bundle: ca.pem\n")

    assert load_cloud_file(path).ca_bundle == (armsim_dir / "ca.pem").resolve()


def test_load_cloud_file_errors_name_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "cloud.json"
    path.write_text(json.dumps({**ARMSIM, "authority": "http://127.0.0.1", "ca_bundle": None}))

    with pytest.raises(CloudError) as info:
        load_cloud_file(path)

    assert info.value.errors == [f"{path}: authority: must be an https URL (Azure SDKs refuse plain http)"]


@pytest.mark.parametrize(("content", "problem"), [
    (None, "file not found"),
    ('{"arm": ', "line 1, column 9: invalid JSON"),
    ("[]", "must be a cloud name or a mapping"),
])
def test_load_cloud_file_unusable_files(tmp_path: Path, content: str | None, problem: str) -> None:
    path = tmp_path / "cloud.json"
    if content is not None:
        path.write_text(content)

    with pytest.raises(CloudError) as info:
        load_cloud_file(path)

    assert info.value.errors[0].startswith(f"{path}: {problem}")


def test_cloud_setting_is_a_name_or_a_file(armsim_dir: Path) -> None:
    (armsim_dir / "cloud.json").write_text(json.dumps(ARMSIM))

    assert cloud_from_setting("AzureChinaCloud", base_dir=armsim_dir) is KNOWN_CLOUDS["AzureChinaCloud"]
    assert cloud_from_setting("cloud.json", base_dir=armsim_dir).arm == "https://127.0.0.1:8443"


# ---------------------------------------------------------------- hostile cloud files

PASSWORD = "hunter2-never-echoed"


@pytest.mark.parametrize(("name", "content", "problem"), [
    ("cloud.json", json.dumps(ARMSIM)[:-1] + ', "arm": "https://evil.example"}',
     "invalid JSON: duplicate key 'arm'"),
    ("cloud.yaml", "arm: https://127.0.0.1:9000\narm: https://evil.example\n", "duplicate key 'arm'"),
    ("cloud.json", '{"arm": ' + "[" * 5000 + "]" * 5000 + "}", "nested more than 64 levels deep"),
    ("cloud.yaml", "arm: " + "9" * 5000 + "\n", "line 1, column 6: invalid YAML: a number with more than"),
    ("cloud.json", json.dumps({**ARMSIM, "arm": f"https://ops:{PASSWORD}@127.0.0.1:8443"}),
     "arm: must not contain a user name or password"),
    ("cloud.json", json.dumps(f"https://ops:{PASSWORD}@127.0.0.1:8443"), "unknown cloud (known:"),
    ("cloud.json", json.dumps({**ARMSIM, "ca_bundle": "cloud.json"}), "ca_bundle: not a PEM bundle"),
    ("cloud.json", json.dumps({**ARMSIM, "ca_bundle": "/dev/zero"}), "ca_bundle: not a regular file"),
])
def test_hostile_cloud_files_are_refused_naming_the_key(tmp_path: Path, name: str, content: str,
                                                         problem: str) -> None:
    path = tmp_path / name
    path.write_text(content)

    with pytest.raises(CloudError) as info:
        load_cloud_file(path)

    assert any(e.startswith(f"{path}: ") and problem in e for e in info.value.errors), info.value.errors
    assert PASSWORD not in str(info.value)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_is_not_read_as_a_cloud_file(device: str) -> None:
    with pytest.raises(CloudError) as info:
        load_cloud_file(device)

    assert info.value.errors == [f"{device}: not a regular file (a device, pipe or socket); give the path of "
                                 "a cloud file"]
