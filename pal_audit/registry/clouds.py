"""Which Azure to talk to: ARM endpoint, Entra authority, token audience and an optional CA bundle.

A cloud is either one of the known national clouds (by name) or a custom mapping, exactly as
`armsim serve` prints it and writes it with `--cloud-out`.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pal_audit.registry.documents import DocumentError, parse_document, read_text

MAX_CA_BUNDLE_BYTES = 4 * 1024 * 1024
_CLOUD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}")

class CloudError(ValueError):
    """A cloud setting is unusable. `.errors` are `"<where>: <problem>"` lines; `.problems` keeps
    (path, problem) pairs so the registry can add its own file name and line numbers."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        self.errors = [f"{where}: {problem}" for where, problem in problems]
        super().__init__("\n".join(self.errors))


@dataclass(frozen=True)
class Cloud:
    name: str
    arm: str                    # ARM base URL, no trailing slash
    authority: str              # Entra ID host URL (no tenant), e.g. https://login.microsoftonline.com
    audience: str               # token audience with its trailing slash
    ca_bundle: Path | None = None   # extra CA to trust (a local simulator); None = system trust
    # Microsoft Graph (Lighthouse group members are read there): base URL and token audience.
    graph: str = "https://graph.microsoft.com"
    graph_audience: str = "https://graph.microsoft.com"

    @property
    def graph_scope(self) -> str:
        """The OAuth scope of Graph tokens, e.g. https://graph.microsoft.com/.default."""
        return self.graph_audience.rstrip("/") + "/.default"

    @property
    def scope(self) -> str:
        """The OAuth scope ARM tokens are requested for, e.g. https://management.azure.com/.default."""
        return self.audience + ".default"


# Endpoints as azure-mgmt-core's get_arm_endpoints() and azure-identity's AzureAuthorityHosts give them.
KNOWN_CLOUDS: dict[str, Cloud] = {
    c.name: c
    for c in (
        Cloud("AzureCloud", "https://management.azure.com", "https://login.microsoftonline.com",
              "https://management.azure.com/"),
        Cloud("AzureUSGovernment", "https://management.usgovcloudapi.net", "https://login.microsoftonline.us",
              "https://management.core.usgovcloudapi.net/", graph="https://graph.microsoft.us",
              graph_audience="https://graph.microsoft.us"),
        Cloud("AzureChinaCloud", "https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn",
              "https://management.chinacloudapi.cn/", graph="https://microsoftgraph.chinacloudapi.cn",
              graph_audience="https://microsoftgraph.chinacloudapi.cn"),
    )
}

_CUSTOM_KEYS = ("arm", "authority", "audience", "ca_bundle", "graph", "graph_audience")
CUSTOM_NAME = "custom"    # never one of KNOWN_CLOUDS: credentials turn off instance discovery for it
_REQUIRED_KEYS = ("arm", "authority", "audience")


def _https_url(value: object, *, host_only: bool) -> tuple[str | None, str | None]:
    """(normalised URL, problem). Azure SDKs refuse non-https authorities and bearer tokens over http."""
    if not isinstance(value, str) or not value.strip():
        return None, "must be an https URL"
    parts = urlsplit(value.strip())
    if parts.scheme.lower() != "https" or not parts.netloc:
        return None, "must be an https URL (Azure SDKs refuse plain http)"
    if "@" in parts.netloc:   # never echoed: it would put a password into a log
        return None, "must not contain a user name or password (user:password@); remove them"
    if parts.query or parts.fragment:
        return None, "must be a plain https URL without query or fragment"
    if host_only and parts.path not in ("", "/"):
        return None, ("must be the authority host only, without a tenant or path "
                      "(e.g. https://login.microsoftonline.com)")
    return value.strip().rstrip("/"), None


def ca_bundle_problem(path: Path) -> str | None:
    """Why `path` is not a usable PEM bundle of CA certificates, or None. Checked when the cloud is
    loaded, so `validate` catches it, rather than as an SSLError in the middle of a scan."""
    try:
        text = read_text(path, what="PEM file", limit=MAX_CA_BUNDLE_BYTES)
    except DocumentError as exc:
        return f"{exc.problem}: {path}"
    if "-----BEGIN CERTIFICATE-----" not in text:
        return f"not a PEM bundle of CA certificates (no -----BEGIN CERTIFICATE----- block): {path}"
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=text)
    except (ssl.SSLError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or "unreadable"
        return f"not a PEM bundle of CA certificates ({reason}): {path}"
    return None


def _check_custom(value: Mapping[object, object], base_dir: Path
                  ) -> tuple[Cloud | None, list[tuple[str, str]]]:
    problems: list[tuple[str, str]] = []
    for key in value:
        if key not in _CUSTOM_KEYS:
            problems.append((str(key), f"unknown key {str(key)!r} (allowed: {', '.join(_CUSTOM_KEYS)})"))
    for key in _REQUIRED_KEYS:
        if key not in value:
            problems.append(("", f"missing required key {key!r}"))
    arm, p = _https_url(value.get("arm"), host_only=False)
    if "arm" in value and p:
        problems.append(("arm", p))
    authority, p = _https_url(value.get("authority"), host_only=True)
    if "authority" in value and p:
        problems.append(("authority", p))
    audience, p = _https_url(value.get("audience"), host_only=False)
    if "audience" in value and p:
        problems.append(("audience", p))
    graph_urls: dict[str, str] = {}
    for key in ("graph", "graph_audience"):   # optional: Microsoft Graph's public endpoint by default
        if key in value:
            url, p = _https_url(value.get(key), host_only=False)
            if p:
                problems.append((key, p))
            elif url:
                graph_urls[key] = url
    ca_bundle: Path | None = None
    raw_ca = value.get("ca_bundle")
    if raw_ca is not None:
        if not isinstance(raw_ca, str) or not raw_ca.strip() or "\x00" in raw_ca or len(raw_ca) > 4096:
            problems.append(("ca_bundle", "must be the path of a PEM file"))
        else:
            ca_bundle = (base_dir / raw_ca).resolve()  # relative to the file that names it
            problem = ca_bundle_problem(ca_bundle)
            if problem:
                problems.append(("ca_bundle", problem))
    if problems:
        return None, problems
    assert arm and authority and audience
    # The audience keeps exactly one trailing slash, so `scope` is "<audience>/.default".
    return Cloud(CUSTOM_NAME, arm, authority, audience + "/", ca_bundle, **graph_urls), []


def _resolve(value: object, base_dir: Path) -> Cloud:
    """Like resolve_cloud, but problems carry paths relative to the value ("" = the value itself)."""
    if isinstance(value, str):
        for name, cloud in KNOWN_CLOUDS.items():
            if name.lower() == value.strip().lower():
                return cloud
        known = ", ".join(KNOWN_CLOUDS)
        # Only a plain name is echoed: a URL here may carry a user name and password.
        shown = f" {value.strip()!r}" if _CLOUD_NAME.fullmatch(value.strip()) else ""
        raise CloudError([("", f"unknown cloud{shown} (known: {known}; or a mapping with "
                               "arm, authority, audience and optionally ca_bundle)")])
    if not isinstance(value, Mapping):
        raise CloudError([("", "must be a cloud name or a mapping with arm, authority and audience")])
    custom, problems = _check_custom(value, base_dir)
    if problems:
        raise CloudError(problems)
    assert custom is not None
    return custom


def resolve_cloud(value: str | Mapping[str, object], *, base_dir: Path, where: str) -> Cloud:
    """A known cloud name (case-insensitive) or a custom mapping -> Cloud.

    `where` is the value's path (e.g. "cloud"); problems below it read "cloud.ca_bundle". A relative
    `ca_bundle` is resolved against `base_dir`. Raises CloudError listing every problem.
    """
    try:
        return _resolve(value, base_dir)
    except CloudError as exc:
        raise CloudError([(f"{where}.{sub}" if sub else where, p) for sub, p in exc.problems]) from None


def load_cloud_file(path: str | Path) -> Cloud:
    """Read a cloud file (JSON or YAML; e.g. armsim's `--cloud-out`) as for `pal-audit scan --cloud FILE`.

    Errors read "<file>: <key>: <problem>".
    """
    path = Path(path)
    try:
        text = read_text(path, what="cloud file")
        data = parse_document(text, json_syntax=path.suffix.lower() == ".json")
    except DocumentError as exc:
        raise CloudError([(str(path), exc.problem)]) from None
    try:
        return _resolve(data, path.parent)
    except CloudError as exc:
        raise CloudError([(f"{path}: {sub}" if sub else str(path), p) for sub, p in exc.problems]) from None


def cloud_from_setting(value: str, *, base_dir: Path) -> Cloud:
    """`PAL_AUDIT_CLOUD`: a known cloud name, or else the path of a cloud file (relative to base_dir)."""
    if any(value.strip().lower() == name.lower() for name in KNOWN_CLOUDS):
        return resolve_cloud(value, base_dir=base_dir, where="PAL_AUDIT_CLOUD")
    return load_cloud_file(base_dir / value.strip())
