"""Collection details that armsim cannot stage: claims of a token issued for another directory."""

from __future__ import annotations

import base64
import json

import pytest
from azure.core.credentials import AccessToken

from pal_audit.engine.collect import ArmSession, role_guid, sign_in
from pal_audit.engine.errors import WrongTenant
from pal_audit.engine.failures import classify
from pal_audit.registry.clouds import KNOWN_CLOUDS

TENANT = "22222222-2222-2222-2222-222222222222"


class _TokenFor:
    """A credential that hands out one fixed token (what a guest `az login` could return)."""

    def __init__(self, claims: dict) -> None:
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        self.token = f"e30.{body}.sig"

    async def get_token(self, *scopes: str) -> AccessToken:
        return AccessToken(self.token, 2_000_000_000)


async def test_sign_in_returns_the_object_id_of_the_right_tenant():
    session = ArmSession(_TokenFor({"oid": "ABC", "tid": TENANT.upper()}), KNOWN_CLOUDS["AzureCloud"], {})
    assert await sign_in(session, TENANT) == "abc"


async def test_a_token_for_another_tenant_is_an_auth_error():
    other = "33333333-3333-3333-3333-333333333333"
    session = ArmSession(_TokenFor({"oid": "abc", "tid": other}), KNOWN_CLOUDS["AzureCloud"], {})
    with pytest.raises(WrongTenant) as info:
        await sign_in(session, TENANT)
    error = classify(info.value, step="sign-in")
    assert error.reason == "auth_failed" and other in error.message and TENANT in error.message


def test_role_guid_ignores_the_subscription_prefix():
    assert role_guid("/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/ABC-1") == "abc-1"


def test_auth_errors_keep_the_aadsts_code_but_not_the_directory_name():
    from azure.core.exceptions import ClientAuthenticationError

    exc = ClientAuthenticationError(
        "Authentication failed: AADSTS700016: Application with identifier 'x' was not found in the "
        "directory 'Coho Winery'. This can happen if... Trace ID: 1 eyJhbGciOiJub25lIn0.eyJvaWQiOiIxIn0.sig")
    error = classify(exc, step="sign-in")
    assert error.reason == "auth_failed" and "AADSTS700016" in error.message
    assert "Coho Winery" not in error.message and "eyJ" not in error.message
