"""Every app setting pal-audit reads, declared and validated in one place.

Code reads settings only through `load_settings()`; `SETTINGS` is also what the infra drift test
compares against `infra/` and `local.settings.json.example`, so a new setting cannot be forgotten.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the setting."""


@dataclass(frozen=True)
class Setting:
    name: str
    description: str
    default: str | None = None          # None and not required: optional
    required: bool = False
    secret: bool = False                # a Key Vault reference in Azure; never logged


def _int(name: str, raw: str, lo: int, hi: int) -> int:
    # ASCII digits only (int() also reads "١٢"), and a bounded echo of what was given.
    if not re.fullmatch(r"[0-9]{1,9}", raw.strip()):
        raise SettingsError(f"setting {name}: expected an integer from {lo} to {hi}, got {raw[:40]!r}")
    value = int(raw.strip())
    if not lo <= value <= hi:
        raise SettingsError(f"setting {name}: {value} is outside {lo}..{hi}")
    return value


def _bool(name: str, raw: str) -> bool:
    v = raw.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"setting {name}: expected true or false, got {raw!r}")


def _https_url(name: str, raw: str | None) -> str | None:
    """An https address for people to open (a link in alerts), or None when not set.

    Refused: another scheme, no host, credentials, spaces or control characters, and a function
    key (`code=`): alerts are posted to channels and mailing lists, where a key would leak.
    """
    if raw is None:
        return None
    if len(raw) > 2048 or re.search(r"[\s\x00-\x1f\x7f<>\"]", raw):
        raise SettingsError(f"setting {name}: not a URL (spaces, quotes, angle brackets or control "
                            "characters, or longer than 2048 characters)")
    try:
        parts = urlsplit(raw)
        parts.port                      # noqa: B018  (raises on a malformed port)
    except ValueError:
        raise SettingsError(f"setting {name}: not a valid URL") from None
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise SettingsError(f"setting {name}: expected an https:// address with a host "
                            f"(got scheme {parts.scheme[:20]!r})")
    if parts.username is not None or parts.password is not None:
        raise SettingsError(f"setting {name}: must not carry credentials before the host")
    if any(k.lower() == "code" for k, _ in parse_qsl(parts.query, keep_blank_values=True)):
        raise SettingsError(f"setting {name}: must not carry a function key (code=...): alerts are "
                            "shared in channels; let people sign in to the page instead")
    return raw


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in raw.replace(";", ",").split(",") if p.strip())


SETTINGS: tuple[Setting, ...] = (
    Setting("AzureWebJobsStorage", "Storage for the Functions host, queues and the Pal* tables "
            "(a connection string locally; identity-based `AzureWebJobsStorage__*` in Azure)."),
    Setting("PAL_AUDIT_REGISTRY", "Path of the registry file (YAML or JSON), relative to the app root.",
            default="registry.yaml"),
    Setting("PAL_AUDIT_SCHEDULE", "NCRONTAB schedule of the nightly audit.", default="0 0 2 * * *"),
    Setting("PAL_AUDIT_CONCURRENCY", "Identities audited at once within one tenant.", default="8"),
    Setting("PAL_AUDIT_UNIT_BUDGET_SECONDS", "Time budget of one (tenant, identity) unit, retries included.",
            default="120"),
    Setting("PAL_AUDIT_CLOUD", "Override of the registry's `cloud`: a cloud name or a JSON cloud file."),
    Setting("PAL_AUDIT_MANAGED_IDENTITY_CLIENT_ID", "Client id of the app's user-assigned managed identity, "
            "used as the assertion for identities with `auth: {method: federated}`."),
    Setting("PAL_AUDIT_TEAMS_WEBHOOK_URL", "Teams Workflows webhook URL for alerts.", secret=True),
    Setting("PAL_AUDIT_WEBHOOK_ALLOWED_HOSTS", "Extra host names a webhook URL may use, comma separated "
            "(Teams Workflows / Power Automate hosts are always allowed)."),
    Setting("PAL_AUDIT_SMTP_HOST", "SMTP server for email alerts (STARTTLS)."),
    Setting("PAL_AUDIT_SMTP_PORT", "SMTP port.", default="587"),
    Setting("PAL_AUDIT_SMTP_USERNAME", "SMTP login user."),
    Setting("PAL_AUDIT_SMTP_PASSWORD", "SMTP login password.", secret=True),
    Setting("PAL_AUDIT_ACS_CONNECTION_STRING", "Azure Communication Services Email connection string.",
            secret=True),
    Setting("PAL_AUDIT_EMAIL_SENDER", "From address of alert mails."),
    Setting("PAL_AUDIT_EMAIL_RECIPIENTS", "Alert mail recipients, comma separated."),
    Setting("PAL_AUDIT_ALERT_STORM_THRESHOLD", "More new findings than this in one run become one summary.",
            default="25"),
    Setting("PAL_AUDIT_MASK_TENANT_IDS", "Mask tenant ids in alerts (true/false).", default="false"),
    Setting("PAL_AUDIT_STALE_AFTER_HOURS", "Alert when no run has succeeded for this many hours.",
            default="36"),
    Setting("PAL_AUDIT_DASHBOARD_URL", "https address of the coverage dashboard; alerts link to it "
            "when set."),
)

SETTING_NAMES: frozenset[str] = frozenset(s.name for s in SETTINGS)


@dataclass(frozen=True)
class Settings:
    storage_connection: str | None
    registry_path: str
    schedule: str
    concurrency: int
    unit_budget_seconds: int
    cloud: str | None
    managed_identity_client_id: str | None
    teams_webhook_url: str | None
    webhook_allowed_hosts: tuple[str, ...]
    smtp_host: str | None
    smtp_port: int
    smtp_username: str | None
    smtp_password: str | None
    acs_connection_string: str | None
    email_sender: str | None
    email_recipients: tuple[str, ...]
    alert_storm_threshold: int
    mask_tenant_ids: bool
    stale_after_hours: int
    dashboard_url: str | None = None

    def __repr__(self) -> str:  # secrets never reach logs through a repr
        return "Settings(...)"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raises SettingsError naming the first bad one."""
    env = os.environ if env is None else env
    declared = {s.name: s for s in SETTINGS}

    def get(name: str) -> str | None:
        raw = env.get(name)
        if raw is None or raw.strip() == "":
            return declared[name].default
        return raw.strip()

    def need_int(name: str, lo: int, hi: int) -> int:
        return _int(name, get(name) or "", lo, hi)

    recipients = _csv(get("PAL_AUDIT_EMAIL_RECIPIENTS") or "")
    settings = Settings(
        storage_connection=get("AzureWebJobsStorage"),
        registry_path=get("PAL_AUDIT_REGISTRY") or "registry.yaml",
        schedule=get("PAL_AUDIT_SCHEDULE") or "0 0 2 * * *",
        concurrency=need_int("PAL_AUDIT_CONCURRENCY", 1, 256),
        unit_budget_seconds=need_int("PAL_AUDIT_UNIT_BUDGET_SECONDS", 5, 3600),
        cloud=get("PAL_AUDIT_CLOUD"),
        managed_identity_client_id=get("PAL_AUDIT_MANAGED_IDENTITY_CLIENT_ID"),
        teams_webhook_url=get("PAL_AUDIT_TEAMS_WEBHOOK_URL"),
        webhook_allowed_hosts=_csv(get("PAL_AUDIT_WEBHOOK_ALLOWED_HOSTS") or ""),
        smtp_host=get("PAL_AUDIT_SMTP_HOST"),
        smtp_port=need_int("PAL_AUDIT_SMTP_PORT", 1, 65535),
        smtp_username=get("PAL_AUDIT_SMTP_USERNAME"),
        smtp_password=get("PAL_AUDIT_SMTP_PASSWORD"),
        acs_connection_string=get("PAL_AUDIT_ACS_CONNECTION_STRING"),
        email_sender=get("PAL_AUDIT_EMAIL_SENDER"),
        email_recipients=recipients,
        alert_storm_threshold=need_int("PAL_AUDIT_ALERT_STORM_THRESHOLD", 1, 100000),
        mask_tenant_ids=_bool("PAL_AUDIT_MASK_TENANT_IDS", get("PAL_AUDIT_MASK_TENANT_IDS") or ""),
        stale_after_hours=need_int("PAL_AUDIT_STALE_AFTER_HOURS", 1, 24 * 365),
        dashboard_url=_https_url("PAL_AUDIT_DASHBOARD_URL", get("PAL_AUDIT_DASHBOARD_URL")),
    )
    if (settings.smtp_host or settings.acs_connection_string) and not (settings.email_sender and recipients):
        raise SettingsError("settings PAL_AUDIT_EMAIL_SENDER and PAL_AUDIT_EMAIL_RECIPIENTS are required "
                            "when email alerts are configured")
    return settings
