"""The registry: which tenants to audit, as which identities, against which partner ids (docs/registry.md).

Validation runs in three passes, each collecting every problem it finds:
1. reading (yaml_source, on pal_audit.registry.documents): a bounded regular file, YAML/JSON syntax, duplicate
   keys, nesting and number limits, top level a mapping;
2. shape (schema, fields, shape_errors; pydantic, strict, unknown keys forbidden): types, GUIDs,
   partner ids, dates, enums; the cloud is resolved alongside;
3. cross references (references): duplicate tenants, undefined identities, auth fitting the kind,
   suppressions pointing at real tenants and identities, and the secret environment variables being set.
Pass 3 needs a well-shaped document, so it only runs when pass 2 found nothing (loading).

Every error reads "<file>: <path>: <problem>" (plus the line when the file is YAML or JSON) and never
repeats a value that could be a secret (errors).
"""

from pal_audit.registry.errors import RegistryError
from pal_audit.registry.fields import EnvName, Guid, IdentityName, IsoDate, PartnerId, Text
from pal_audit.registry.loading import load_registry, parse_registry
from pal_audit.registry.schema import (
    AUTH_METHODS,
    AuthConfig,
    AzureCliAuth,
    CertificateAuth,
    CheckId,
    ClientSecretAuth,
    CustomerApproval,
    FederatedAuth,
    IdentityConfig,
    PartnerConfig,
    PolicyConfig,
    Registry,
    SuppressionConfig,
    TenantConfig,
)

__all__ = [
    "AUTH_METHODS",
    "AuthConfig",
    "AzureCliAuth",
    "CertificateAuth",
    "CheckId",
    "ClientSecretAuth",
    "CustomerApproval",
    "EnvName",
    "FederatedAuth",
    "Guid",
    "IdentityConfig",
    "IdentityName",
    "IsoDate",
    "PartnerConfig",
    "PartnerId",
    "PolicyConfig",
    "Registry",
    "RegistryError",
    "SuppressionConfig",
    "TenantConfig",
    "Text",
    "load_registry",
    "parse_registry",
]
