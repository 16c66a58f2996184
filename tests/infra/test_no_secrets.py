"""No secret value in the repository: tracked files, and new files not ignored by git.

Allowed on purpose: Azurite's well-known development key (public, documented by Microsoft), the
simulator's fake secrets, which are prefixed `sim-only-` (examples/estate.yaml), and word-like
fixture values (`ops-secret`) that no secret generator produces.
"""

import base64
import os
import re
import subprocess

from infra_support import REPO

AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
FAKE_PREFIX = "sim-only-"

# Shapes that are secrets wherever they appear.
PATTERNS = {
    "storage account key": re.compile(r"(?<![A-Za-z0-9+/-])([A-Za-z0-9+/]{86}==)(?![A-Za-z0-9+/=])"),
    "access key in a connection string": re.compile(
        r"(?i)(?:accountkey|accesskey|sharedaccesskey)=([A-Za-z0-9+/]{30,}={0,2})"),
    "SAS signature": re.compile(r"[?&]sig=([A-Za-z0-9%+/=]{30,})"),
    "Entra client secret": re.compile(r"(?<![A-Za-z0-9_~.-])([A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34})"
                                      r"(?![A-Za-z0-9_~.-])"),
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----\r?\n"
                              r"([A-Za-z0-9+/=]{40,})"),
    "GitHub token": re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36,})\b"),
}

# In data files (YAML, JSON, .env...): a literal value under a key that names a secret.
DATA_SUFFIXES = (".yaml", ".yml", ".json", ".env", ".ini", ".cfg", ".toml", ".bicepparam", ".example")
SECRET_KEY_VALUE = re.compile(
    r"""(?i)(?<![A-Za-z0-9_.-])["']?(?P<key>[A-Za-z0-9_.-]*(?:secret|password|passwd|pwd|api_?key|access_?key|token"""
    r"""|connection_?string|webhook_?url))["']?\s*[:=]\s*["']?(?P<value>[^"'\s#,}]*)""")
PLACEHOLDER = re.compile(
    r"""^(?:\$\{.*|@Microsoft\.KeyVault\(.*|<.*>|null|none|true|false|\[\]|\{\}|[A-Z][A-Z0-9_]*"""
    r"""|https://[^/]*(?:example\.(?:com|org|net)|\.example|\.invalid|localhost|127\.0\.0\.1).*)$""")
# Lower-case words joined by hyphens (`ops-secret`, `disabled-secret`): test-fixture names, not secrets.
WORD_LIKE = re.compile(r"^[a-z]+(?:[-_][a-z]+)*$")
SKIP_FILES = {"package-lock.json"}   # npm integrity hashes (sha512, base64) look like account keys


def repo_files():
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=REPO, capture_output=True, check=True).stdout
    return sorted({p for p in out.decode().split("\0") if p})


def allowed(kind: str, value: str, line: str) -> bool:
    if value == AZURITE_KEY or value.startswith(FAKE_PREFIX) or FAKE_PREFIX + value in line:
        return True
    return kind == "storage account key" and ("sha512-" + value) in line


def findings_in(name: str, text: str) -> list[str]:
    found = []
    lines = text.splitlines()

    def line_of(pos: int) -> tuple[int, str]:
        n = text.count("\n", 0, pos)
        return n + 1, lines[n] if n < len(lines) else ""

    for kind, pattern in PATTERNS.items():
        for m in pattern.finditer(text):
            lineno, line = line_of(m.start())
            if not allowed(kind, m.group(1), line):
                found.append(f"{name}:{lineno}: {kind}")
    if name.endswith(DATA_SUFFIXES) and os.path.basename(name) not in SKIP_FILES:
        for m in SECRET_KEY_VALUE.finditer(text):
            value = m.group("value").strip()
            if len(value) >= 8 and not PLACEHOLDER.match(value) and not WORD_LIKE.match(value) \
                    and not allowed("value", value, ""):
                lineno, _ = line_of(m.start("value"))
                found.append(f"{name}:{lineno}: literal value for {m.group('key')}")
    return found


def test_no_secret_in_the_repository():
    problems = []
    files = repo_files()
    assert "pal_audit/settings.py" in files
    for rel in files:
        path = REPO / rel
        if not path.is_file():
            continue                         # deleted in the work tree, not yet committed
        raw = path.read_bytes()
        if b"\0" in raw[:8192]:
            continue                         # binary
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        problems += findings_in(rel, text)
    assert not problems, "secret-looking values (remove them, or use sim-only-/placeholders):\n" + \
        "\n".join(problems)


# The scanner itself: every sample is built at run time so that this file holds no secret-shaped text.

def _b64(n_bytes: int, seed: int) -> str:
    return base64.b64encode(bytes((seed * 7 + i * 13) % 256 for i in range(n_bytes))).decode()


def test_scanner_flags_each_kind_of_secret():
    key = _b64(64, 1)
    assert len(key) == 88
    samples = {
        "storage account key": f"conn = 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey={key};'",
        "access key in a connection string":
            "endpoint=https://x.communication.azure.com/;accesskey=" + _b64(32, 2),
        "SAS signature": "https://prod-1.westeurope.logic.azure.com/workflows/1?sp=run&sig=" + _b64(32, 3),
        "Entra client secret": "secret = '" + "abc" + "8Q~" + "x" * 34 + "'",
        "private key": "-----BEGIN " + "PRIVATE KEY-----\n" + _b64(48, 4) + "\n",
        "GitHub token": "token ghp_" + "a1" * 18,
    }
    for kind, sample in samples.items():
        found = findings_in("sample.py", sample)
        assert any(kind in f for f in found), (kind, found)


def test_scanner_flags_literal_values_in_data_files_only():
    yaml_text = "smtp:\n  password: hunter2hunter2\n"
    assert findings_in("cfg.yaml", yaml_text) == ["cfg.yaml:2: literal value for password"]
    assert findings_in("code.py", yaml_text) == []
    settings = '{"Values": {"PAL_AUDIT_SMTP_PASSWORD": "' + "p4ss" * 3 + '"}}'
    assert findings_in("local.settings.json.example", settings)


def test_scanner_allows_azurite_fakes_and_placeholders():
    azurite = f"AccountName=devstoreaccount1;AccountKey={AZURITE_KEY};"
    assert findings_in("a.py", azurite) == []
    assert findings_in("a.py", f'ACCOUNT_KEY = "{AZURITE_KEY}"') == []
    estate = "identities:\n  ops:\n    secret: sim-only-ops-app\n    client_secret: sim-only-contractor-app\n"
    assert findings_in("estate.yaml", estate) == []
    placeholders = ("auth: {method: client_secret, secret_env: OPS_APP_SECRET}\n"
                    "password: ${SMTP_PASSWORD}\n"
                    "webhook_url: https://hooks.example.com/x\n"
                    'token: "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/x/)"\n'
                    'PAL_AUDIT_SMTP_PASSWORD: ""\n')
    assert findings_in("registry.yaml", placeholders) == []
    integrity = f'"integrity": "sha512-{_b64(64, 9)}"'
    assert findings_in("lock.json", integrity) == []
    fixture = "principals:\n  - {name: ops-app, secret: ops-secret}\n  - {secret: disabled-secret}\n"
    assert findings_in("tests/estate.yaml", fixture) == []
