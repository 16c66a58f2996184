"""Entra ID as the real azure-identity credentials see it: discovery, client credentials (secret,
certificate, federated assertion), the managed-identity endpoint, and the AADSTS errors."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
from armsim_support import (
    CERT_APP,
    CERT_OID,
    CONTOSO,
    DISABLED_APP,
    FABRIKAM,
    FED_APP,
    FED_OID,
    MI_APP,
    MI_OID,
    NORTHWIND,
    OPS_APP,
    OPS_OID,
    SCOPE,
    SUB_DEV,
    credential,
    mgmt_kwargs,
)
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CertificateCredential, ClientAssertionCredential, ManagedIdentityCredential
from azure.identity import aio as identity_aio
from azure.mgmt.resource.subscriptions import SubscriptionClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from armsim import Cloud
from armsim.tokens import b64url, decode_unverified

EXCHANGE = "api://AzureADTokenExchange/.default"


def test_client_secret_token_carries_the_principal_claims(cloud: Cloud) -> None:
    asked = int(time.time())
    token = credential(cloud, OPS_APP).get_token(SCOPE)
    answered = time.time()
    _header, claims = decode_unverified(token.token)
    assert (claims["oid"], claims["tid"], claims["appid"]) == (OPS_OID, FABRIKAM, OPS_APP)
    assert claims["aud"] == "https://management.azure.com/"
    assert asked <= claims["iat"] <= answered < claims["exp"]
    # azure-identity counts expiry from when it sent the request (its clock + `expires_in`), as
    # against Entra: when armsim answers in a later second, the client's expiry is that much
    # before `exp`, and never after it.
    assert claims["exp"] - (int(answered) - asked) <= token.expires_on <= claims["exp"]


def test_same_app_in_another_tenant_is_another_principal(cloud: Cloud) -> None:
    """A multi-tenant app has one object id per tenant; the token says which."""
    token = credential(cloud, OPS_APP, tenant=NORTHWIND, secret="ops-secret-nw").get_token(SCOPE)
    claims = decode_unverified(token.token)[1]
    assert claims["tid"] == NORTHWIND and claims["oid"] != OPS_OID


def test_token_for_the_simulators_own_audience(cloud: Cloud) -> None:
    token = credential(cloud, OPS_APP).get_token(f"{cloud.arm}/.default")
    assert decode_unverified(token.token)[1]["aud"] == cloud.arm
    subs = SubscriptionClient(
        credential(cloud, OPS_APP), **{**mgmt_kwargs(cloud), "credential_scopes": [f"{cloud.arm}/.default"]}
    )
    assert len(list(subs.subscriptions.list())) == 3


async def test_async_client_secret_credential(cloud: Cloud) -> None:
    async with credential(cloud, OPS_APP, aio=True) as cred:
        token = await cred.get_token(SCOPE)
    assert decode_unverified(token.token)[1]["oid"] == OPS_OID


@pytest.mark.parametrize(
    ("app", "tenant", "secret", "aadsts"),
    [
        (OPS_APP, FABRIKAM, "wrong-secret", "AADSTS7000215"),  # wrong secret
        ("a0000000-0000-0000-0000-00000000ffff", FABRIKAM, "x", "AADSTS700016"),  # unknown client
        (DISABLED_APP, FABRIKAM, "disabled-secret", "AADSTS7000112"),  # disabled principal
        (OPS_APP, CONTOSO, "ops-secret", "AADSTS700016"),  # app not in that tenant
        # unknown tenant: discovery answers 400 AADSTS90002, which MSAL reports as below
        (
            OPS_APP,
            "aaaaaaaa-0000-0000-0000-00000000ffff",
            "ops-secret",
            "Unable to get authority configuration",
        ),
    ],
)
def test_sign_in_failures_carry_entra_error_codes(
    cloud: Cloud, app: str, tenant: str, secret: str, aadsts: str
) -> None:
    with pytest.raises(ClientAuthenticationError) as e:
        credential(cloud, app, tenant=tenant, secret=secret).get_token(SCOPE)
    assert aadsts in str(e.value)
    assert secret not in str(e.value) or secret == "x"


def test_wire_status_and_body_of_sign_in_failures(cloud: Cloud, http) -> None:
    url = f"{cloud.authority}/{FABRIKAM}/oauth2/v2.0/token"
    form = {"grant_type": "client_credentials", "client_id": OPS_APP, "scope": SCOPE}
    wrong = http.post(url, data={**form, "client_secret": "nope"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.json()["error_codes"] == [7000215]
    disabled = http.post(url, data={**form, "client_id": DISABLED_APP, "client_secret": "disabled-secret"})
    assert disabled.status_code == 400 and disabled.json()["error"] == "unauthorized_client"
    bad_scope = http.post(
        url, data={**form, "client_secret": "ops-secret", "scope": "https://vault.azure.net/.default"}
    )
    assert bad_scope.status_code == 400 and bad_scope.json()["error_codes"] == [500011]
    unknown = http.get(f"{cloud.authority}/no-such-tenant.example/v2.0/.well-known/openid-configuration")
    assert unknown.status_code == 400 and "AADSTS90002" in unknown.json()["error_description"]


def test_openid_discovery_by_tenant_id_and_by_domain(cloud: Cloud, http) -> None:
    by_id = http.get(f"{cloud.authority}/{FABRIKAM}/v2.0/.well-known/openid-configuration").json()
    assert by_id["token_endpoint"] == f"{cloud.authority}/{FABRIKAM}/oauth2/v2.0/token"
    assert by_id["authorization_endpoint"].startswith(cloud.authority)
    by_domain = http.get(f"{cloud.authority}/fabrikam.onmicrosoft.com/v2.0/.well-known/openid-configuration")
    assert by_domain.json()["token_endpoint"] == by_id["token_endpoint"]


def test_certificate_credential(cloud: Cloud, cert_files: tuple[Path, str]) -> None:
    cred = CertificateCredential(
        FABRIKAM,
        CERT_APP,
        certificate_path=str(cert_files[0]),
        authority=cloud.authority,
        disable_instance_discovery=True,
        connection_verify=cloud.ca_bundle,
    )
    claims = decode_unverified(cred.get_token(SCOPE).token)[1]
    assert claims["oid"] == CERT_OID and claims["appidacr"] == "2"


def test_certificate_not_registered_on_the_app_is_refused(cloud: Cloud, cert_files: tuple[Path, str]) -> None:
    cred = CertificateCredential(
        FABRIKAM,
        OPS_APP,
        certificate_path=str(cert_files[0]),
        authority=cloud.authority,
        disable_instance_discovery=True,
        connection_verify=cloud.ca_bundle,
    )
    with pytest.raises(ClientAuthenticationError, match="AADSTS700027"):
        cred.get_token(SCOPE)


def test_certificate_assertion_signed_by_another_key_is_refused(
    cloud: Cloud, cert_files: tuple[Path, str]
) -> None:
    """The assertion names the app's registered certificate, but another key signed it."""
    cert = x509.load_pem_x509_certificate(cert_files[1].encode())
    thumbprint = b64url(hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest())
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT", "x5t#S256": thumbprint}
    claims = {
        "aud": f"{cloud.authority}/{FABRIKAM}/oauth2/v2.0/token",
        "iss": CERT_APP,
        "sub": CERT_APP,
        "jti": "forged",
        "nbf": now,
        "exp": now + 600,
    }
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signature = other_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    cred = ClientAssertionCredential(
        FABRIKAM,
        CERT_APP,
        lambda: f"{signing_input}.{b64url(signature)}",
        authority=cloud.authority,
        disable_instance_discovery=True,
        connection_verify=cloud.ca_bundle,
    )
    with pytest.raises(ClientAuthenticationError, match="AADSTS700027: Client assertion failed signature"):
        cred.get_token(SCOPE)


@pytest.fixture
def identity_env(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    """The App Service environment a Function runs in: where its identity endpoint is."""
    monkeypatch.setenv("IDENTITY_ENDPOINT", cloud.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", cloud.identity_header)
    monkeypatch.delenv("IDENTITY_SERVER_THUMBPRINT", raising=False)
    monkeypatch.delenv("MSI_ENDPOINT", raising=False)


def test_managed_identity_credential_sync(cloud: Cloud, identity_env: None) -> None:
    cred = ManagedIdentityCredential(connection_verify=cloud.ca_bundle)
    claims = decode_unverified(cred.get_token(SCOPE).token)[1]
    assert (claims["oid"], claims["tid"], claims["appid"]) == (MI_OID, CONTOSO, MI_APP)
    subs = list(SubscriptionClient(cred, **mgmt_kwargs(cloud)).subscriptions.list())
    assert [s.tenant_id for s in subs] == [CONTOSO]


async def test_managed_identity_credential_async(cloud: Cloud, identity_env: None) -> None:
    async with identity_aio.ManagedIdentityCredential(
        client_id=MI_APP, connection_verify=cloud.ca_bundle
    ) as cred:
        token = await cred.get_token(SCOPE)
    assert decode_unverified(token.token)[1]["oid"] == MI_OID


def test_managed_identity_endpoint_checks_the_identity_header(cloud: Cloud, http) -> None:
    r = http.get(
        cloud.identity_endpoint,
        params={"api-version": "2019-08-01", "resource": "https://management.azure.com/"},
        headers={"X-IDENTITY-HEADER": "wrong"},
    )
    assert r.status_code == 401


def test_federated_flow_managed_identity_token_as_assertion(cloud: Cloud, identity_env: None) -> None:
    """The Function's managed identity (partner tenant) signs a multi-tenant app into a customer tenant."""
    mi = ManagedIdentityCredential(connection_verify=cloud.ca_bundle)
    app = ClientAssertionCredential(
        FABRIKAM,
        FED_APP,
        lambda: mi.get_token(EXCHANGE).token,
        authority=cloud.authority,
        disable_instance_discovery=True,
        connection_verify=cloud.ca_bundle,
    )
    claims = decode_unverified(app.get_token(SCOPE).token)[1]
    assert (claims["oid"], claims["tid"]) == (FED_OID, FABRIKAM)
    subs = list(SubscriptionClient(app, **mgmt_kwargs(cloud)).subscriptions.list())
    assert [s.subscription_id for s in subs] == [SUB_DEV]


async def test_federated_flow_async(cloud: Cloud, identity_env: None) -> None:
    async with identity_aio.ManagedIdentityCredential(connection_verify=cloud.ca_bundle) as mi:
        assertion = (await mi.get_token(EXCHANGE)).token

    async with identity_aio.ClientAssertionCredential(
        FABRIKAM,
        FED_APP,
        lambda: assertion,
        authority=cloud.authority,
        disable_instance_discovery=True,
        connection_verify=cloud.ca_bundle,
    ) as app:
        token = await app.get_token(SCOPE)
    assert decode_unverified(token.token)[1]["oid"] == FED_OID


def test_assertion_without_matching_federated_credential_is_refused(cloud: Cloud, identity_env: None) -> None:
    mi = ManagedIdentityCredential(connection_verify=cloud.ca_bundle)
    # OPS_APP trusts no federated credential, and an ARM-audience token is no exchange assertion.
    for app_id, scope in ((OPS_APP, EXCHANGE), (FED_APP, SCOPE)):
        cred = ClientAssertionCredential(
            FABRIKAM,
            app_id,
            lambda s=scope: mi.get_token(s).token,
            authority=cloud.authority,
            disable_instance_discovery=True,
            connection_verify=cloud.ca_bundle,
        )
        with pytest.raises(ClientAuthenticationError, match="AADSTS70021"):
            cred.get_token(SCOPE)
