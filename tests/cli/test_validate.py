"""`pal-audit validate`: a summary for a good registry; for a bad one exit 2 and messages that name the
file, the path in it and the problem, on stderr, never a traceback and never a secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from pal_audit.cli import main as cli

VALID = Path(__file__).resolve().parents[1] / "registry" / "data" / "valid.yaml"
SECRET = "s3cr3t-VALUE-never-printed"
ENV: dict[str, str | None] = {
    "OPS_APP_SECRET": SECRET, "CERT_APP_PEM": "-----BEGIN PRIVATE KEY-----", "CERT_APP_PASSWORD": "pw",
    "PAL_TEST_UNSET_VAR": None, "PAL_AUDIT_REGISTRY": None,
}
FABRIKAM = "22222222-2222-2222-2222-2222222222bb"
runner = CliRunner()


def valid_doc() -> dict[str, Any]:
    doc = yaml.safe_load(VALID.read_text())
    # PyYAML (YAML 1.1) reads the key `on:` as True; pal-audit's own loader keeps it "on".
    approval = doc["tenants"][0]["customer_approval"]
    approval["on"] = approval.pop(True)
    return doc


@dataclass(frozen=True)
class Raw:
    """A registry given as text rather than as an edit of the valid one."""

    text: str
    suffix: str = ".yaml"


Edit = Callable[[dict[str, Any]], None]


def _parent(doc: Any, dotted: str) -> tuple[Any, Any]:
    keys: list[Any] = [int(k) if k.isdigit() else k for k in dotted.split(".")]
    for key in keys[:-1]:
        doc = doc[key]
    return doc, keys[-1]


def put(dotted: str, value: Any) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        parent, key = _parent(doc, dotted)
        parent[key] = value
    return edit


def drop(dotted: str) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        parent, key = _parent(doc, dotted)
        del parent[key]
    return edit


LOCAL_CLOUD = {"arm": "https://127.0.0.1:8443", "authority": "https://127.0.0.1:8443",
               "audience": "https://management.azure.com/"}

# (change, path named in the message (None: the file as a whole), problem)
MALFORMED = [
    # the file as a whole
    pytest.param(Raw("tenants:\n  - tenant_id: x\n     name: y\n"), None,
                 "line 3, column 10: invalid YAML: mapping values are not allowed here", id="yaml-syntax"),
    pytest.param(Raw(""), None, "the file is empty", id="empty-file"),
    pytest.param(Raw("- partner: {}\n"), None, "the top level must be a mapping", id="top-level-list"),
    pytest.param(Raw("just text\n"), None, "the top level must be a mapping", id="top-level-string"),
    pytest.param(Raw(VALID.read_text() + "tenants: []\n"), None,
                 "duplicate key 'tenants' (first at line 23)", id="yaml-duplicate-key"),
    pytest.param(Raw('{"partner": {"partner_id": "1234567",}}', ".json"), None,
                 "line 1, column 38: invalid JSON", id="json-syntax"),
    pytest.param(Raw('{"partner": {}, "partner": {}}', ".json"), None,
                 "invalid JSON: duplicate key 'partner'", id="json-duplicate-key"),
    pytest.param(drop("tenants"), None, "missing required key 'tenants'", id="no-tenants-key"),
    # unknown keys: a typo must never silently disable something
    pytest.param(put("suppresions", []), "suppresions",
                 "unknown key 'suppresions'; did you mean 'suppressions'?", id="unknown-top-level-key"),
    pytest.param(put("partner.nmae", "x"), "partner.nmae", "unknown key 'nmae'; did you mean 'name'?",
                 id="unknown-partner-key"),
    pytest.param(put("tenants.1.expect_links", False), "tenants[1].expect_links",
                 "unknown key 'expect_links'; did you mean 'expect_link'?", id="unknown-tenant-key"),
    pytest.param(put("identities.ops-app.auth.secret", SECRET), "identities.ops-app.auth.secret",
                 "unknown key 'secret'; did you mean 'secret_env'? (allowed: method, secret_env)",
                 id="secret-value-in-file"),
    # partner ids
    pytest.param(put("partner.partner_id", "12a4567"), "partner.partner_id", "must be 4 to 10 digits",
                 id="partner-id-letters"),
    pytest.param(put("partner.partner_id", 1234567), "partner.partner_id", "must be a quoted string",
                 id="partner-id-unquoted"),
    pytest.param(put("partner.partner_id", "123"), "partner.partner_id", "must be 4 to 10 digits",
                 id="partner-id-short"),
    pytest.param(drop("partner.partner_id"), "partner", "missing required key 'partner_id'",
                 id="partner-id-missing"),
    pytest.param(put("partner.previous_partner_ids", ["1234567"]), "partner.previous_partner_ids[0]",
                 "1234567 is the current partner_id", id="previous-id-is-current"),
    pytest.param(put("partner.previous_partner_ids", ["1234560", "old"]), "partner.previous_partner_ids[1]",
                 "must be 4 to 10 digits", id="previous-id-not-digits"),
    # identities
    pytest.param(put("identities.cert-app.client_id", "3333"), "identities.cert-app.client_id",
                 "not a GUID", id="client-id-not-guid"),
    pytest.param(drop("identities.cert-app.client_id"), "identities.cert-app",
                 "missing required key 'client_id'", id="service-principal-without-client-id"),
    pytest.param(put("identities.ops-app.kind", "robot"), "identities.ops-app.kind",
                 "expected one of: service_principal, user", id="unknown-kind"),
    pytest.param(put("identities.ops-app.auth", {"method": "password", "secret_env": "X"}),
                 "identities.ops-app.auth.method", "unknown auth method 'password'",
                 id="unknown-auth-method"),
    pytest.param(put("identities.ops-app.auth", {"secret_env": "X"}), "identities.ops-app.auth",
                 "missing required key 'method'", id="auth-without-method"),
    pytest.param(put("identities.ops-app.auth", {"method": "client_secret"}), "identities.ops-app.auth",
                 "missing required key 'secret_env'", id="client-secret-without-secret-env"),
    pytest.param(put("identities.alice.auth", {"method": "client_secret", "secret_env": "OPS_APP_SECRET"}),
                 "identities.alice.auth.method", "a user identity can only sign in with azure_cli",
                 id="user-with-client-secret"),
    pytest.param(put("identities.ops-app.auth.secret_env", "Xy8Q~" + SECRET),
                 "identities.ops-app.auth.secret_env", "must be the NAME of an environment variable",
                 id="secret-pasted-as-env-name"),
    pytest.param(put("identities.ops app", {"kind": "user", "auth": {"method": "azure_cli"}}),
                 'identities["ops app"]', "invalid identity name", id="identity-name-with-space"),
    pytest.param(put("identities", {}), "identities", "must not be empty", id="no-identities"),
    # secrets in the environment
    pytest.param(put("identities.ops-app.auth.secret_env", "PAL_TEST_UNSET_VAR"),
                 "identities.ops-app.auth.secret_env",
                 "environment variable PAL_TEST_UNSET_VAR is not set (identity ops-app needs it",
                 id="secret-env-unset"),
    pytest.param(put("identities.cert-app.auth.password_env", "PAL_TEST_UNSET_VAR"),
                 "identities.cert-app.auth.password_env",
                 "environment variable PAL_TEST_UNSET_VAR is not set", id="password-env-unset"),
    # tenants
    pytest.param(put("tenants", []), "tenants", "must not be empty", id="empty-tenants"),
    pytest.param(put("tenants", {"fabrikam": {}}), "tenants", "expected a list", id="tenants-not-a-list"),
    pytest.param(put("tenants.1.tenant_id", "not-a-guid"), "tenants[1].tenant_id", "not a GUID",
                 id="tenant-id-not-guid"),
    pytest.param(put("tenants.1.tenant_id", FABRIKAM.upper()), "tenants[1].tenant_id",
                 f"duplicate tenant {FABRIKAM} (also tenants[0])", id="duplicate-tenant-other-case"),
    pytest.param(put("tenants.0.name", "  "), "tenants[0].name", "must not be empty", id="blank-tenant-name"),
    pytest.param(put("tenants.0.identities", []), "tenants[0].identities", "must not be empty",
                 id="tenant-without-identities"),
    pytest.param(put("tenants.0.identities", ["ops-app", "opsapp"]), "tenants[0].identities[1]",
                 "unknown identity 'opsapp'; did you mean 'ops-app'?", id="undefined-identity"),
    pytest.param(put("tenants.0.identities", ["ops-app", "ops-app"]), "tenants[0].identities[1]",
                 "identity 'ops-app' is listed twice", id="identity-twice-in-tenant"),
    pytest.param(put("tenants.0.assignments_via", "reader"), "tenants[0].assignments_via",
                 "unknown identity 'reader'", id="assignments-via-undefined"),
    pytest.param(put("tenants.1.expect_link", "no"), "tenants[1].expect_link", "expected true or false",
                 id="expect-link-not-bool"),
    pytest.param(put("tenants.0.customer_approval.on", "March 1st"), "tenants[0].customer_approval.on",
                 "expected a date YYYY-MM-DD", id="approval-date-invalid"),
    pytest.param(drop("tenants.0.customer_approval.by"), "tenants[0].customer_approval",
                 "missing required key 'by'", id="approval-without-by"),
    # policy
    pytest.param(put("policy.custom_roles", "always"), "policy.custom_roles",
                 "expected one of: not_eligible, by_permissions", id="unknown-custom-roles-policy"),
    # suppressions
    pytest.param(put("suppressions.0.check", "excess_privilege"), "suppressions[0].check",
                 "did you mean 'excessive_privilege'? expected one of: link_missing",
                 id="suppression-unknown-check"),
    pytest.param(drop("suppressions.0.expires"), "suppressions[0]",
                 "missing required key 'expires' (no suppression lives forever)",
                 id="suppression-without-expiry"),
    pytest.param(put("suppressions.0.expires", "someday"), "suppressions[0].expires", "expected a date",
                 id="suppression-expiry-not-a-date"),
    pytest.param(put("suppressions.0.owner", ""), "suppressions[0].owner", "must not be empty",
                 id="suppression-without-owner"),
    pytest.param(put("suppressions.0.tenant_id", "99999999-9999-9999-9999-999999999999"),
                 "suppressions[0].tenant_id", "is not in tenants", id="suppression-unknown-tenant"),
    pytest.param(put("suppressions.0.identity", "cert-app"), "suppressions[0].identity",
                 f"identity 'cert-app' is not audited in tenant {FABRIKAM}",
                 id="suppression-identity-not-in-tenant"),
    pytest.param(put("suppressions.1.identity", "ops-app"), "suppressions[1].identity",
                 "customer_approval_missing is a tenant-level check: omit identity",
                 id="tenant-check-with-identity"),
    # cloud
    pytest.param(put("cloud", "AzureMoon"), "cloud", "unknown cloud 'AzureMoon'", id="unknown-cloud"),
    pytest.param(put("cloud", {**LOCAL_CLOUD, "arm": "http://127.0.0.1:8443"}), "cloud.arm",
                 "must be an https URL", id="cloud-plain-http"),
    pytest.param(put("cloud", {**LOCAL_CLOUD, "ca_bundle": "missing.pem"}), "cloud.ca_bundle",
                 "file not found", id="cloud-ca-bundle-missing"),
    pytest.param(put("cloud", {k: v for k, v in LOCAL_CLOUD.items() if k != "authority"}), "cloud",
                 "missing required key 'authority'", id="cloud-without-authority"),
]


def write_registry(tmp_path: Path, change: Raw | Edit) -> Path:
    if isinstance(change, Raw):
        path = tmp_path / f"registry{change.suffix}"
        path.write_text(change.text)
        return path
    doc = valid_doc()
    change(doc)
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def validate(*args: str, env: dict[str, str | None] | None = None) -> Any:
    return runner.invoke(cli.app, ["validate", *args], env={**ENV, **(env or {})})


def assert_rejected(result: Any, file: Path | str, path: str | None, problem: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert SECRET not in result.output
    assert result.stdout == ""
    prefix = f"{file}: {path}: " if path else f"{file}: "
    lines = [line for line in result.stderr.splitlines() if line.startswith(prefix)]
    assert any(problem in line for line in lines), result.stderr


def test_there_are_at_least_thirty_distinct_malformed_registries() -> None:
    assert len({p.id for p in MALFORMED}) == len(MALFORMED) >= 30


@pytest.mark.parametrize(("change", "path", "problem"), MALFORMED)
def test_malformed_registry_is_rejected_naming_file_path_and_problem(
        tmp_path: Path, change: Raw | Edit, path: str | None, problem: str) -> None:
    registry = write_registry(tmp_path, change)

    assert_rejected(validate("--registry", str(registry)), registry, path, problem)


def test_missing_file() -> None:
    assert_rejected(validate("--registry", "/nonexistent/registry.yaml"), "/nonexistent/registry.yaml",
                    None, "file not found")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    assert_rejected(validate("--registry", str(tmp_path)), tmp_path, None, "is a directory")


def test_every_problem_is_listed_one_per_line(tmp_path: Path) -> None:
    def many(doc: dict[str, Any]) -> None:
        doc["partner"]["partner_id"] = "x"
        doc["tenants"][0]["tenant_id"] = "y"
        doc["suppressions"][0]["check"] = "z"

    result = validate("--registry", str(write_registry(tmp_path, many)))

    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 3


def test_valid_registry_prints_a_summary_and_warns_about_expired_suppressions() -> None:
    result = validate("--registry", str(VALID))

    assert result.exit_code == 0, result.output
    assert f"{VALID}: valid" in result.stdout
    assert "partner:      1234567 (Contoso Managed Services); previous ids: 1234560" in result.stdout
    assert "tenants:      2 (1 with expect_link false, 1 with customer approval)" in result.stdout
    assert "identities:   4 (azure_cli: 1, certificate: 1, client_secret: 1, federated: 1)" in result.stdout
    assert "suppressions: 2 (1 expired)" in result.stdout
    assert f"warning: {VALID}: suppressions[1]: expired on 2026-01-31" in result.stderr
    assert SECRET not in result.output


def test_secret_check_can_be_turned_off_for_ci_without_secrets() -> None:
    unset: dict[str, str | None] = {"OPS_APP_SECRET": None, "CERT_APP_PEM": None, "CERT_APP_PASSWORD": None}

    assert validate("--registry", str(VALID), env=unset).exit_code == 2
    result = validate("--registry", str(VALID), "--no-check-secrets", env=unset)
    assert result.exit_code == 0, result.output
    assert "secrets:      not checked" in result.stdout


def test_registry_can_come_from_the_app_setting() -> None:
    result = runner.invoke(cli.app, ["validate"], env={**ENV, "PAL_AUDIT_REGISTRY": str(VALID)})

    assert result.exit_code == 0, result.output


def test_missing_registry_option_is_a_usage_error() -> None:
    result = validate()

    assert result.exit_code == 2
    assert "--registry" in result.stderr


def test_unexpected_error_while_loading_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("something odd\nsecond line")
    monkeypatch.setattr(cli, "load_registry", broken)

    result = validate("--registry", str(VALID))

    assert result.exit_code == 2
    assert result.stderr == (f"{VALID}: unexpected error while loading the registry: "
                             "RuntimeError: something odd\n")


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pal_audit.cli", *args], capture_output=True, text=True,
                          env=env, timeout=60, cwd=Path(__file__).resolve().parents[2])


def test_real_process_reports_a_bad_registry_without_a_traceback(tmp_path: Path) -> None:
    registry = write_registry(tmp_path, put("tenants.0.tenant_id", "not-a-guid"))
    env = {k: v for k, v in os.environ.items() if k not in ENV}
    env |= {"OPS_APP_SECRET": SECRET, "CERT_APP_PEM": "pem", "CERT_APP_PASSWORD": "pw"}

    bad = run_cli("validate", "--registry", str(registry), env=env)
    good = run_cli("validate", "--registry", str(VALID), env=env)

    assert bad.returncode == 2
    assert bad.stderr.startswith(f"{registry}: tenants[0].tenant_id: not a GUID")
    assert "Traceback" not in bad.stderr + bad.stdout
    assert good.returncode == 0, good.stderr
    assert f"{VALID}: valid" in good.stdout


# ---------------------------------------------------------------- hostile registries: bounded and named

TEST_CA_PEM = (Path(__file__).resolve().parents[1] / "registry" / "data" / "test-ca.crt").read_text()
DIGITS = "1" * 5000


def _valid_with(old: str, new: str) -> str:
    text = VALID.read_text()
    assert old in text
    return text.replace(old, new, 1)


def _aliases_bomb() -> str:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\npartner: *a8\n"


HOSTILE = [
    # nesting, numbers and aliases that would exhaust the parser, with the line named
    pytest.param(Raw('{"partner":\n' + "[" * 5000 + "]" * 5000 + "}", ".json"), None,
                 "line 2, column 64: invalid JSON: nested more than 64 levels deep", id="json-deep-nesting"),
    pytest.param(Raw("partner:\n  x: " + "[" * 5000 + "]" * 5000 + "\n"), None,
                 "invalid YAML: nested more than 64 levels deep", id="yaml-deep-flow-nesting"),
    pytest.param(Raw("".join(f"{'  ' * i}k{i}:\n" for i in range(100))), None,
                 "invalid YAML: nested more than 64 levels deep", id="yaml-deep-block-nesting"),
    pytest.param(Raw(_valid_with('partner_id: "1234567"', f"partner_id: {DIGITS}")), None,
                 "line 3, column 15: invalid YAML: a number with more than 100 digits",
                 id="yaml-5000-digits"),
    pytest.param(Raw('{"partner": {"partner_id": ' + DIGITS + "}}", ".json"), None,
                 "line 1, column 28: invalid JSON: a number with more than 100 digits",
                 id="json-5000-digits"),
    pytest.param(Raw(_aliases_bomb()), None, "invalid YAML: aliases expand to more than",
                 id="yaml-alias-bomb"),
    pytest.param(Raw('{"partner": {"name": "a"},\n "partner": {"name": "b"}}', ".json"), None,
                 "duplicate key 'partner'", id="json-duplicate-top-key"),
    pytest.param(Raw(_valid_with("  name: Contoso Managed Services",
                                 "  name: Contoso Managed Services\n  name: Other")), None,
                 "duplicate key 'name' (first at line 5)", id="yaml-duplicate-nested-key"),
    # dates: only YYYY-MM-DD
    pytest.param(put("suppressions.0.expires", "20990331"), "suppressions[0].expires",
                 "expected a date YYYY-MM-DD", id="date-basic-format"),
    pytest.param(put("suppressions.0.expires", "2099-W13-3"), "suppressions[0].expires",
                 "expected a date YYYY-MM-DD", id="date-iso-week"),
    pytest.param(Raw(_valid_with("expires: 2099-03-31", "expires: 2099-3-31")), "suppressions[0].expires",
                 "expected a date YYYY-MM-DD", id="date-unpadded-yaml"),
    pytest.param(put("tenants.0.customer_approval.on", "2026-060"), "tenants[0].customer_approval.on",
                 "expected a date YYYY-MM-DD", id="date-ordinal"),
    # cloud: credentials in URLs are refused and never echoed; CA bundles must be PEM certificates
    pytest.param(put("cloud", {**LOCAL_CLOUD, "arm": f"https://ops:{SECRET}@127.0.0.1:8443"}), "cloud.arm",
                 "must not contain a user name or password", id="cloud-url-with-password"),
    pytest.param(put("cloud", {**LOCAL_CLOUD, "authority": f"https://{SECRET}@127.0.0.1:8443"}),
                 "cloud.authority", "must not contain a user name or password", id="cloud-url-with-user"),
    pytest.param(put("cloud", f"https://ops:{SECRET}@127.0.0.1:8443"), "cloud", "unknown cloud (known:",
                 id="cloud-name-is-a-url-with-password"),
    pytest.param(put("cloud", {**LOCAL_CLOUD, "ca_bundle": "registry.yaml"}), "cloud.ca_bundle",
                 "not a PEM bundle", id="ca-bundle-not-pem"),
    pytest.param(put("cloud", {**LOCAL_CLOUD, "ca_bundle": "/dev/zero"}), "cloud.ca_bundle",
                 "not a regular file", id="ca-bundle-device"),
    pytest.param(put("cloud", {**LOCAL_CLOUD, "ca_bundle": "/dev/null"}), "cloud.ca_bundle",
                 "not a regular file", id="ca-bundle-empty-device"),
    pytest.param(put("cloud", {**LOCAL_CLOUD, "ca_bundle": "ca\x00.pem"}), "cloud.ca_bundle",
                 "must be the path of a PEM file", id="ca-bundle-nul-byte"),
    pytest.param(put("cloud", {**LOCAL_CLOUD, "ca_bundle": "x" * 5000}), "cloud.ca_bundle",
                 "must be the path of a PEM file", id="ca-bundle-huge-name"),
]


@pytest.mark.parametrize(("change", "path", "problem"), HOSTILE)
def test_hostile_registry_is_rejected_naming_file_path_and_problem(
        tmp_path: Path, change: Raw | Edit, path: str | None, problem: str) -> None:
    registry = write_registry(tmp_path, change)

    assert_rejected(validate("--registry", str(registry)), registry, path, problem)


@pytest.mark.parametrize("content", [
    "", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    "-----BEGIN CERTIFICATE-----\n",
    "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"])
def test_a_ca_bundle_that_is_no_certificate_is_refused(tmp_path: Path, content: str) -> None:
    (tmp_path / "ca.pem").write_text(content)
    registry = write_registry(tmp_path, put("cloud", {**LOCAL_CLOUD, "ca_bundle": "ca.pem"}))

    assert_rejected(validate("--registry", str(registry)), registry, "cloud.ca_bundle", "PEM")


def test_a_real_ca_bundle_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text(TEST_CA_PEM)
    registry = write_registry(tmp_path, put("cloud", {**LOCAL_CLOUD, "ca_bundle": "ca.pem"}))

    assert validate("--registry", str(registry)).exit_code == 0


def test_a_registry_larger_than_16_mib_is_refused(tmp_path: Path) -> None:
    registry = tmp_path / "registry.yaml"
    registry.write_text(VALID.read_text() + ("#" * 1023 + "\n") * (16 * 1024 + 1))

    assert_rejected(validate("--registry", str(registry)), registry, None, "larger than 16 MiB")


def _limited(seconds: int = 30) -> Callable[[], None]:
    def limit() -> None:   # a regression must fail the test, not take the machine down
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))
    return limit


def _cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV}
    return env | {"OPS_APP_SECRET": SECRET, "CERT_APP_PEM": "pem", "CERT_APP_PASSWORD": "pw"}


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/stdin"])
def test_a_device_is_not_read_as_a_registry(device: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "pal_audit.cli", "validate", "-r", device],
                          capture_output=True, text=True, env=_cli_env(), timeout=30, preexec_fn=_limited(),
                          stdin=subprocess.PIPE, cwd=Path(__file__).resolve().parents[2])

    assert proc.returncode == 2
    assert proc.stderr.startswith(f"{device}: not a regular file"), proc.stderr


def test_a_fifo_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "registry.yaml"
    os.mkfifo(fifo)
    proc = subprocess.run([sys.executable, "-m", "pal_audit.cli", "validate", "-r", str(fifo)],
                          capture_output=True, text=True, env=_cli_env(), timeout=30, preexec_fn=_limited(),
                          cwd=Path(__file__).resolve().parents[2])

    assert proc.returncode == 2
    assert proc.stderr == f"{fifo}: not a regular file (a device, pipe or socket); give the path of a " \
                          "registry file\n"


def test_5000_tenants_with_unknown_identities_give_bounded_messages(tmp_path: Path) -> None:
    identities = {f"id-{i:04d}": {"kind": "user", "auth": {"method": "azure_cli"}} for i in range(5000)}
    tenants = [{"tenant_id": f"00000000-0000-0000-0000-{i:012d}", "name": f"t{i}", "identities": [f"zz{i}"]}
               for i in range(5000)]
    doc = {"partner": {"partner_id": "1234567"}, "identities": identities, "tenants": tenants}
    registry = write_registry(tmp_path, Raw(json.dumps(doc), ".json"))

    result = validate("--registry", str(registry))

    assert result.exit_code == 2
    assert len(result.stderr) < 20_000                 # was 220 MB: every message listed every identity
    lines = result.stderr.splitlines()
    assert len(lines) == 51 and lines[-1].endswith("… and 4,950 more problems (only the first 50 are listed)")
    assert lines[0].endswith("(defined: id-0000, id-0001, id-0002, id-0003, id-0004, id-0005, id-0006, "
                             "id-0007, id-0008, id-0009 … and 4,990 more) (line 1)")


def test_a_file_name_with_a_newline_stays_one_line_per_problem(tmp_path: Path) -> None:
    registry = tmp_path / "evil\nname\x1b[2J.yaml"
    doc = valid_doc()
    doc["partner"]["partner_id"] = "x"
    doc["tenants"][0]["tenant_id"] = "y"
    registry.write_text(yaml.safe_dump(doc))

    result = validate("--registry", str(registry))

    assert result.exit_code == 2
    shown = str(tmp_path) + "/evil\\x0aname\\x1b[2J.yaml"
    assert [line.split(": ")[0] for line in result.stderr.splitlines()] == [shown, shown]


def test_control_characters_in_registry_text_are_escaped_in_the_summary(tmp_path: Path) -> None:
    registry = write_registry(tmp_path, put("partner.name", "Contoso\x1b]8;;https://evil.example/\x1b\\"))

    result = validate("--registry", str(registry))

    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    assert "partner:      1234567 (Contoso\\x1b]8;;https://evil.example/\\x1b\\)" in result.stdout
