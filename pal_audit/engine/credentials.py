"""Registry auth entry -> an async azure-identity credential for one (tenant, identity).

One credential per unit: its token is cached by azure-identity and reused for every call of
the unit, so an identity costs one token request per tenant.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from azure.core.credentials import AccessToken

from pal_audit.registry.clouds import KNOWN_CLOUDS, Cloud
from pal_audit.registry.schema import IdentityConfig

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential
    from azure.core.pipeline.transport import AsyncHttpResponse, AsyncHttpTransport, HttpRequest

    # The one HTTP transport of an audit run (an AioHttpTransport), shared by clients and credentials.
    Transport = AsyncHttpTransport[HttpRequest, AsyncHttpResponse]

# The audience Entra ID expects for federated (workload identity) assertions.
FEDERATED_ASSERTION_SCOPE = "api://AzureADTokenExchange/.default"


class CredentialConfigError(ValueError):
    """The registry names an auth method this environment cannot satisfy (message names the place)."""


class ManagedIdentityAssertion:
    """Supplies the Function's managed-identity token as the client assertion of a multi-tenant app.

    azure-identity's ClientAssertionCredential wants a *synchronous* callable, so the token is
    fetched asynchronously ahead of use (`refresh`) and handed out from memory.
    """

    def __init__(self, client_id: str | None, *, transport: Transport | None = None) -> None:
        from azure.identity.aio import ManagedIdentityCredential

        self._credential = (ManagedIdentityCredential(client_id=client_id) if transport is None
                            else ManagedIdentityCredential(client_id=client_id, transport=transport))
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        async with self._lock:
            if self._token is None or self._token.expires_on - time.time() < 300:
                self._token = await self._credential.get_token(FEDERATED_ASSERTION_SCOPE)

    def __call__(self) -> str:
        if self._token is None:
            raise RuntimeError("managed identity assertion used before refresh()")
        return self._token.token

    async def close(self) -> None:
        await self._credential.close()


class _CredentialOptions(TypedDict, total=False):
    """The keyword arguments every azure-identity credential built here shares."""

    authority: str
    disable_instance_discovery: bool
    transport: Transport


def make_credential(
    *,
    tenant_id: str,
    identity_name: str,
    identity: IdentityConfig,
    cloud: Cloud,
    env: Mapping[str, str],
    transport: Transport | None = None,
    assertion: ManagedIdentityAssertion | None = None,
) -> AsyncTokenCredential:
    """Build the async credential for `identity` (a registry identity entry) in `tenant_id`."""
    from azure.identity import aio

    auth = identity.auth
    common: _CredentialOptions = {"authority": cloud.authority}
    if cloud.name not in KNOWN_CLOUDS:
        # MSAL would otherwise ask login.microsoftonline.com to validate an unknown authority.
        common["disable_instance_discovery"] = True
    if transport is not None:
        common["transport"] = transport
    where = f"identities.{identity_name}.auth"
    if auth.method == "client_secret":
        secret = env.get(auth.secret_env)
        if not secret:
            raise CredentialConfigError(
                f"{where}.secret_env: environment variable {auth.secret_env} is not set")
        return aio.ClientSecretCredential(tenant_id, _client_id(identity, identity_name), secret, **common)
    if auth.method == "certificate":
        pem = env.get(auth.certificate_env)
        if not pem:
            raise CredentialConfigError(
                f"{where}.certificate_env: environment variable {auth.certificate_env} is not set")
        password_env = getattr(auth, "password_env", None)
        password = env.get(password_env) if password_env else None
        return aio.CertificateCredential(tenant_id, _client_id(identity, identity_name),
                                         certificate_data=pem.encode(), password=password, **common)
    if auth.method == "federated":
        if assertion is None:
            raise CredentialConfigError(
                f"{where}.method: federated needs the app's managed identity "
                "(setting PAL_AUDIT_MANAGED_IDENTITY_CLIENT_ID, or IDENTITY_ENDPOINT on the host)")
        return aio.ClientAssertionCredential(tenant_id, _client_id(identity, identity_name), assertion,
                                             **common)
    if auth.method == "azure_cli":
        return aio.AzureCliCredential(tenant_id=tenant_id)
    raise CredentialConfigError(f"{where}.method: unsupported auth method {auth.method!r}")


def _client_id(identity: IdentityConfig, identity_name: str) -> str:
    # The registry requires it for service principals (pass 3); this keeps a hand-built entry honest.
    if identity.client_id is None:
        raise CredentialConfigError(f"identities.{identity_name}.client_id: required to sign in as an app")
    return identity.client_id


def token_claims(token: str) -> dict[str, Any]:
    """Decode an access token's claims without verifying it, as Azure tooling does to learn oid/tid."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (IndexError, ValueError) as exc:
        raise ValueError("access token is not a JWT; cannot read its oid/tid claims") from exc
    if not isinstance(claims, dict):
        raise ValueError("access token claims are not a JSON object")
    return claims
