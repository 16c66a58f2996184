"""The estate model: what armsim's Azure contains, as frozen dataclasses.

`armsim.estate.parser` builds an `Estate` from a file and validates it; `armsim.estate` re-exports both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from armsim.builtin_roles import Role

DEFAULT_IDENTITY_HEADER = "armsim-identity-header"


class EstateError(ValueError):
    """The estate file is unreadable or invalid; the message names the file and the place in it.

    `where` is the path in the document (`tenants[0].tenant_id`) when the error is about one place,
    so the loader can add that place's line number."""

    def __init__(self, message: str, where: str | None = None) -> None:
        super().__init__(message)
        self.where = where


@dataclass(frozen=True, slots=True)
class Partner:
    partner_id: str
    name: str | None


@dataclass(frozen=True, slots=True)
class FederatedCredential:
    """An accepted client assertion: an armsim token of `issuer_tenant_id`, or any token of `issuer`."""

    subject: str
    issuer_tenant_id: str | None = None
    issuer: str | None = None
    audience: str = "api://AzureADTokenExchange"


@dataclass(frozen=True, slots=True)
class Certificate:
    sha1_thumbprint: str  # base64url, as in a JWT `x5t` header
    sha256_thumbprint: str  # base64url, as in `x5t#S256`
    public_key_pem: bytes


@dataclass(frozen=True, slots=True)
class GuestOf:
    """The person a guest user is: the user's tenant and object id at home."""

    tenant_id: str
    object_id: str


@dataclass(frozen=True, slots=True)
class Principal:
    object_id: str
    type: str
    name: str
    app_id: str | None = None
    secret: str | None = None
    enabled: bool = True
    member_of: tuple[str, ...] = ()
    link_partner_id: str | None = None
    managed_identity: bool = False
    federated_credentials: tuple[FederatedCredential, ...] = ()
    certificate: Certificate | None = None
    # users only
    user_principal_name: str | None = None
    password: str | None = None  # simulator-only, for the password grant
    device_code: str | None = None  # "approve" | "deny"; None: a device code is never answered
    guest_of: GuestOf | None = None
    mfa_required: bool = False


@dataclass(frozen=True, slots=True)
class Assignment:
    assignment_id: str  # GUID; the last segment of the assignment's ARM id
    principal_id: str
    role_id: str
    scope: str  # canonical: "/", /providers/Microsoft.Management/managementGroups/x, ...
    start: datetime | None = None  # UTC; None: in effect since the estate's fixed creation day
    end: datetime | None = None  # UTC; None: permanent. Time-bound access is a PIM schedule in Azure.

    def in_effect(self, now: datetime) -> bool:
        """Whether the assignment exists at `now`: started, and not yet ended."""
        return (self.start is None or self.start <= now) and (self.end is None or now < self.end)


@dataclass(frozen=True, slots=True)
class Subscription:
    subscription_id: str
    name: str
    management_group: str  # the tenant id when directly under the tenant root group
    resource_groups: tuple[str, ...]
    state: str = "Enabled"


@dataclass(frozen=True, slots=True)
class Authorization:
    """One principal of the managing tenant with one built-in role in a Lighthouse delegation;
    `max_activation` (ISO 8601 duration) is set only on just-in-time (eligible) authorizations."""

    principal_id: str
    role_id: str
    display_name: str | None = None
    max_activation: str | None = None


@dataclass(frozen=True, slots=True)
class Delegation:
    """An Azure Lighthouse delegation of a customer subscription or resource group to a managing
    tenant: a registration definition and (when `assigned`) its assignment at `scope`."""

    managed_by: str  # the managing tenant id
    scope: str  # /subscriptions/{id} or /subscriptions/{id}/resourceGroups/{name}
    name: str  # registrationDefinitionName
    state: str  # the assignment's provisioningState; only Succeeded grants access
    assigned: bool
    authorizations: tuple[Authorization, ...]
    eligible_authorizations: tuple[Authorization, ...]
    definition_id: str  # GUID, derived from the customer, managing tenant, scope and name
    assignment_id: str  # GUID, likewise

    @property
    def subscription_id(self) -> str:
        return self.scope.split("/")[2]

    @property
    def effective(self) -> bool:
        """Whether Azure grants its permanent authorizations: assigned, and provisioned."""
        return self.assigned and self.state == "Succeeded"


@dataclass(frozen=True, slots=True)
class Tenant:
    tenant_id: str
    name: str
    management_groups: dict[str, str]  # id -> parent id (the tenant id for the root group)
    subscriptions: tuple[Subscription, ...]
    principals: tuple[Principal, ...]
    custom_roles: tuple[Role, ...]
    role_assignments: tuple[Assignment, ...]
    eligible_assignments: tuple[Assignment, ...]
    delegations: tuple[Delegation, ...] = ()  # Lighthouse: this tenant as the customer
    # Microsoft Graph application permissions granted in this tenant: object id -> permissions
    graph_permissions: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def default_domain(self) -> str:
        slug = re.sub(r"[^a-z0-9]", "", self.name.lower()) or self.tenant_id[:8]
        return f"{slug}.onmicrosoft.com"


@dataclass(frozen=True, slots=True)
class Throttle:
    reads_burst: int = 250
    reads_per_second: float = 25
    writes_burst: int = 200
    writes_per_second: float = 10


@dataclass(frozen=True, slots=True)
class FailRule:
    match: str  # case-insensitive substring of the path, or an operation name
    status: int
    tenant_id: str | None = None
    principal: str | None = None  # object id or client id of the caller
    method: str | None = None
    times: int | None = None  # None: every matching request
    code: str | None = None
    message: str | None = None
    retry_after: int | None = None
    delay_ms: int = 0


@dataclass(frozen=True, slots=True)
class Estate:
    partners: dict[str, Partner]
    tenants: tuple[Tenant, ...]
    throttle: Throttle | None = Throttle()
    fail: tuple[FailRule, ...] = ()
    managed_identity_header: str = DEFAULT_IDENTITY_HEADER
