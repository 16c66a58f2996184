"""Pass 2, the document's shape: pydantic models, strict, unknown keys forbidden; and the Registry itself."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from pal_audit import model
from pal_audit.checks import CHECK_IDS
from pal_audit.registry.clouds import Cloud
from pal_audit.registry.errors import Loc, format_problem
from pal_audit.registry.fields import EnvName, Guid, IdentityName, IsoDate, PartnerId, Text
from pal_audit.registry.yaml_source import LineFinder


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class PartnerConfig(_Strict):
    partner_id: PartnerId
    previous_partner_ids: list[PartnerId] = []
    name: Text | None = None


class ClientSecretAuth(_Strict):
    method: Literal["client_secret"]
    secret_env: EnvName


class CertificateAuth(_Strict):
    method: Literal["certificate"]
    certificate_env: EnvName            # holds the PEM (certificate and private key)
    password_env: EnvName | None = None


class FederatedAuth(_Strict):
    method: Literal["federated"]        # assertion = a token of the Function's managed identity


class AzureCliAuth(_Strict):
    method: Literal["azure_cli"]        # an engineer's `az login`, for local use


AuthConfig = Annotated[
    ClientSecretAuth | CertificateAuth | FederatedAuth | AzureCliAuth, Field(discriminator="method")
]
AUTH_METHODS = ("client_secret", "certificate", "federated", "azure_cli")


class IdentityConfig(_Strict):
    kind: Literal["service_principal", "user"]
    client_id: Guid | None = None       # required for service principals (checked in pass 3)
    auth: AuthConfig


class CustomerApproval(_Strict):
    by: Text
    on: IsoDate
    ref: Text | None = None


class TenantConfig(_Strict):
    tenant_id: Guid
    name: Text
    identities: Annotated[list[str], Field(min_length=1)]
    expect_link: bool = True
    customer_approval: CustomerApproval | None = None
    assignments_via: str | None = None

    @property
    def has_customer_approval(self) -> bool:
        return self.customer_approval is not None


class LighthouseCustomerConfig(_Strict):
    tenant_id: Guid
    name: Text
    subscriptions: list[Guid] = []      # optional: what must be delegated (else: anything of it)


class LighthouseConfig(_Strict):
    """A managing tenant whose Azure Lighthouse delegations are audited (docs/lighthouse.md)."""

    managing_tenant_id: Guid
    name: Text
    identities: Annotated[list[str], Field(min_length=1)]   # registry identities that sign in there
    reader: str | None = None           # lists delegations and group members; default: the first identity
    customers: list[LighthouseCustomerConfig] = []

    @property
    def reader_identity(self) -> str:
        return self.reader or self.identities[0]


class PolicyConfig(_Strict):
    custom_roles: Literal["not_eligible", "by_permissions"] = "not_eligible"
    # credit_expires_soon warns this many days before the last eligible active assignment ends.
    expiry_warning_days: Annotated[int, Field(ge=0, le=365)] = 14


if TYPE_CHECKING:
    CheckId = str
else:
    # The checks' own list, as a Literal: an unknown id reads "did you mean ...? expected one of: ...".
    CheckId = Literal[CHECK_IDS]


class SuppressionConfig(_Strict):
    check: CheckId
    tenant_id: Guid
    identity: str | None = None
    reason: Text
    owner: Text
    expires: IsoDate


class Registry(_Strict):
    partner: PartnerConfig
    cloud: Cloud                        # resolved from a name or mapping before validation
    identities: Annotated[dict[IdentityName, IdentityConfig], Field(min_length=1)]
    tenants: list[TenantConfig] = []    # at least one tenant or lighthouse entry (checked in pass 3)
    lighthouse: list[LighthouseConfig] = []
    policy: PolicyConfig = PolicyConfig()
    suppressions: list[SuppressionConfig] = []

    _source: str = PrivateAttr(default="<registry>")
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _lines: LineFinder | None = PrivateAttr(default=None)   # line numbers for warnings, on demand
    _by_id: dict[str, TenantConfig] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:   # pydantic's signature
        # First occurrence wins; duplicates are rejected in pass 3 anyway.
        for t in reversed(self.tenants):
            self._by_id[t.tenant_id] = t

    @property
    def source(self) -> str:
        return self._source

    @property
    def base_dir(self) -> Path:
        return self._base_dir

    def cloud_config(self) -> Cloud:
        """The resolved cloud (same as `.cloud`)."""
        return self.cloud

    def partner_policy(self) -> model.PartnerPolicy:
        return model.PartnerPolicy(
            partner_id=self.partner.partner_id,
            previous_partner_ids=frozenset(self.partner.previous_partner_ids),
            custom_roles=self.policy.custom_roles,
            expiry_warning_days=self.policy.expiry_warning_days,
        )

    def suppression_rules(self) -> tuple[model.Suppression, ...]:
        """All suppressions, expired ones included: the store needs them to report UNSUPPRESSED."""
        return tuple(
            model.Suppression(check=s.check, tenant_id=s.tenant_id, identity=s.identity,
                              reason=s.reason, owner=s.owner, expires=s.expires)
            for s in self.suppressions
        )

    def tenant(self, tenant_id: str) -> TenantConfig:
        """The tenant with this id (any case); KeyError when the registry does not list it."""
        found = self._by_id.get(tenant_id.strip().lower())
        if found is None:
            raise KeyError(tenant_id)
        return found

    def lighthouse_tenants(self) -> dict[str, str]:
        """Tenant id -> name of every managing tenant and Lighthouse customer (suppressions may name them)."""
        found: dict[str, str] = {}
        for lh in self.lighthouse:
            found.setdefault(lh.managing_tenant_id, lh.name)
            for c in lh.customers:
                found.setdefault(c.tenant_id, c.name)
        return found

    def tenant_ids(self) -> list[str]:
        return [t.tenant_id for t in self.tenants]

    def identity(self, name: str) -> IdentityConfig:
        return self.identities[name]

    def warnings(self, today: date) -> list[str]:
        """Things that are valid but probably not intended: expired suppressions, unused identities."""
        found: list[tuple[Loc, str]] = []
        for i, s in enumerate(self.suppressions):
            if s.expires < today:
                found.append((("suppressions", i), f"expired on {s.expires.isoformat()}: it no longer "
                              f"suppresses {s.check} (renew 'expires' or remove it)"))
        used = used_identities(self)
        for name in self.identities:
            if name not in used:
                found.append((("identities", name), "defined but used by no tenant"))
        node = self._lines.tree() if found and self._lines is not None else None
        return [format_problem(self._source, loc, msg, node) for loc, msg in found]


def used_identities(reg: Registry) -> set[str]:
    """Identities some tenant audits with or reads assignments through."""
    used = {n for t in reg.tenants for n in t.identities}
    used |= {n for lh in reg.lighthouse for n in (*lh.identities, lh.reader_identity)}
    return used | {t.assignments_via for t in reg.tenants if t.assignments_via}
