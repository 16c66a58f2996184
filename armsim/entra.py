"""Entra ID: OpenID discovery, the v2.0 token endpoint (client credentials here, the user grants in
`entra_users`) and an App Service-style managed-identity endpoint, as MSAL and azure-identity call
them."""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from armsim.directory import TenantView
from armsim.entra_users import USER_GRANTS, device_authorization_for, resource_audience, user_token
from armsim.estate import Principal
from armsim.state import SimulatorState
from armsim.tokens import TokenError, b64url_decode, decode_unverified
from armsim.wire import Reply, entra_error, json_response

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
# the claims a v2.0 discovery document advertises (ID-token claims, not the access-token claims)
CLAIMS_SUPPORTED = (
    "sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
    "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username",
    "name", "tid", "ver", "at_hash", "c_hash", "email",
)  # fmt: skip


def openid_configuration(sim: SimulatorState, tenant_segment: str) -> web.Response:
    tv = _tenant(sim, tenant_segment, status=400)
    base, tid = sim.base_url, tv.tenant.tenant_id
    return json_response(
        200,
        {
            "token_endpoint": f"{base}/{tid}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/{tid}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{tid}/v2.0",
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{tid}/oauth2/v2.0/logout",
            "check_session_iframe": f"{base}/{tid}/oauth2/v2.0/checksession",
            "kerberos_endpoint": f"{base}/{tid}/kerberos",
            # user info lives on Microsoft Graph in every cloud; armsim simulates no Graph
            "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            "claims_supported": list(CLAIMS_SUPPORTED),
            "tenant_region_scope": "EU",
            "cloud_instance_name": "armsim.local",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        },
    )


def jwks(sim: SimulatorState, tenant_segment: str) -> web.Response:
    _tenant(sim, tenant_segment, status=400)
    return json_response(200, {"keys": []})  # armsim tokens are not meant to be verified by clients


async def token(
    sim: SimulatorState, request: web.Request, tenant_segment: str
) -> tuple[web.Response, str, str]:
    """The token endpoint: client credentials (apps), and the password, device code and refresh
    token grants (users). Returns the response and the (tenant, object id) it was issued to."""
    tv = _tenant(sim, tenant_segment, status=400)
    form = await request.post()
    tid = tv.tenant.tenant_id
    grant = form.get("grant_type")
    if grant in USER_GRANTS:
        resp, oid = user_token(sim, tv, form)
        return resp, tid, oid
    if grant != "client_credentials":
        raise entra_error(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{form.get('grant_type', '')}'. armsim "
            f"supports client_credentials, {', '.join(USER_GRANTS)}.",
        )
    client_id = str(form.get("client_id", "")).lower()
    if not client_id:
        raise entra_error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        )
    audience = _audience(sim, str(form.get("scope", "")), tv)
    sp = tv.by_app_id.get(client_id)
    if sp is None:
        raise entra_error(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{tv.tenant.name}'. This can happen if the application has not been installed by "
            "the administrator of the tenant or consented to by any user in the tenant. You may "
            "have sent your authentication request to the wrong tenant.",
        )
    if not sp.enabled:
        raise entra_error(
            400, "unauthorized_client", 7000112, f"Application '{client_id}'({sp.name}) is disabled."
        )
    appidacr = _authenticate_client(sim, tv, sp, form)
    access, life = sim.tokens.issue(
        tenant_id=tid, object_id=sp.object_id, app_id=client_id, audience=audience, appidacr=appidacr
    )
    body = {"token_type": "Bearer", "expires_in": life, "ext_expires_in": life, "access_token": access}
    return json_response(200, body), tid, sp.object_id


async def device_authorization(
    sim: SimulatorState, request: web.Request, tenant_segment: str
) -> tuple[web.Response, str | None]:
    """The device authorization endpoint (the device code flow's first step)."""
    return await device_authorization_for(sim, request, _tenant(sim, tenant_segment, status=400))


def managed_identity_token(
    sim: SimulatorState, request: web.Request
) -> tuple[web.Response, str | None, str | None]:
    """App Service's identity endpoint (IDENTITY_ENDPOINT + X-IDENTITY-HEADER), as MSAL calls it."""

    def fail(status: int, message: str) -> Reply:
        return Reply(
            json_response(status, {"statusCode": status, "message": message, "correlationId": "armsim"})
        )

    given = request.headers.get("X-IDENTITY-HEADER", "")
    if not hmac.compare_digest(given.encode(), sim.directory.estate.managed_identity_header.encode()):
        raise fail(401, "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.")
    q = request.query
    resource = q.get("resource", "")
    if not resource:
        raise fail(400, "The request is missing the 'resource' parameter.")
    identities = sim.directory.managed_identities()
    wanted = (q.get("client_id") or q.get("object_id") or q.get("principal_id") or "").lower()
    if wanted:
        identities = [(tv, p) for tv, p in identities if wanted in (p.app_id, p.object_id)]
    elif len(identities) > 1:
        raise fail(
            400, "More than one managed identity is assigned: pass client_id (a user-assigned identity)."
        )
    if not identities:
        raise fail(400, "No managed identity found for the specified identity and resource.")
    tv, mi = identities[0]
    if resource.rstrip("/") == EXCHANGE_AUDIENCE:
        audience, version = EXCHANGE_AUDIENCE, "2.0"  # the federated-credential assertion shape
    elif resource.rstrip("/") in {a.rstrip("/") for a in sim.arm_audiences}:
        audience, version = resource, "1.0"
    else:
        raise fail(
            400,
            f"Resource '{resource}' is not known to armsim (use the ARM audience or {EXCHANGE_AUDIENCE}).",
        )
    access, life = sim.tokens.issue(
        tenant_id=tv.tenant.tenant_id,
        object_id=mi.object_id,
        app_id=mi.app_id or "",
        audience=audience,
        appidacr="2",
        version=version,
    )
    body = {
        "access_token": access,
        "expires_on": str(int(time.time()) + life),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": mi.app_id,
    }
    return json_response(200, body), tv.tenant.tenant_id, mi.object_id


def _tenant(sim: SimulatorState, segment: str, status: int) -> TenantView:
    tv = sim.directory.tenant_by_name(segment)
    if tv is None:
        raise entra_error(
            status,
            "invalid_tenant",
            90002,
            f"Tenant '{segment}' not found. Check to make sure you have the correct tenant ID "
            "and are signing into the correct cloud.",
        )
    return tv


def _audience(sim: SimulatorState, scope: str, tv: TenantView) -> str:
    scopes = scope.split()
    if len(scopes) != 1 or not scopes[0].endswith("/.default"):
        raise entra_error(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential flows must "
            "have a scope value with /.default suffixed to the resource identifier "
            "(application ID URI).",
        )
    return resource_audience(sim, scopes[0][: -len("/.default")], tv)


def _authenticate_client(
    sim: SimulatorState, tv: TenantView, sp: Principal, form: Mapping[str, object]
) -> str:
    """Checks the secret or client assertion; returns `appidacr` ("1" secret, "2" assertion)."""
    secret = form.get("client_secret")
    assertion = form.get("client_assertion")
    if secret is not None:
        if sp.secret is None or not hmac.compare_digest(str(secret).encode(), sp.secret.encode()):
            raise entra_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{sp.app_id}'.",
            )
        return "1"
    if assertion is not None:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise entra_error(
                400, "invalid_request", 50027, f"client_assertion_type must be '{ASSERTION_TYPE}'."
            )
        _check_assertion(sim, tv, sp, str(assertion))
        return "2"
    raise entra_error(
        401,
        "invalid_client",
        7000216,
        "'client_assertion', 'client_secret' or 'request' is required for the "
        "'client_credentials' grant type.",
    )


def _check_assertion(sim: SimulatorState, tv: TenantView, sp: Principal, assertion: str) -> None:
    try:
        header, claims = decode_unverified(assertion)
    except (ValueError, KeyError):
        raise entra_error(
            400, "invalid_request", 50027, "Invalid JWT token. The token is not in a valid format."
        ) from None
    if "x5t" in header or "x5t#S256" in header:
        _check_certificate_assertion(tv, sp, assertion, header, claims)
        return
    _check_federated_assertion(sim, sp, assertion, claims)


def _check_federated_assertion(
    sim: SimulatorState, sp: Principal, assertion: str, claims: dict[str, Any]
) -> None:
    iss, sub, aud = claims.get("iss", ""), claims.get("sub", ""), claims.get("aud", "")
    auds = aud if isinstance(aud, list) else [aud]
    if int(claims.get("exp", 0)) <= time.time():
        raise entra_error(
            400, "invalid_client", 700024, "Client assertion is not within its valid time range."
        )
    for fic in sp.federated_credentials:
        if fic.subject != sub or fic.audience not in auds:
            continue
        if fic.issuer is not None and fic.issuer == iss:
            return  # an external issuer: claims only, signature not checked
        if fic.issuer_tenant_id is not None:
            try:
                verified = sim.tokens.verify(assertion)
            except TokenError:
                continue
            if verified.tid == fic.issuer_tenant_id:
                return
    raise entra_error(
        400,
        "invalid_client",
        70021,
        "No matching federated identity record found for presented assertion. Assertion "
        f"Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{','.join(auds)}'.",
    )


def _check_certificate_assertion(
    tv: TenantView, sp: Principal, assertion: str, header: dict[str, Any], claims: dict[str, Any]
) -> None:
    cert = sp.certificate
    if cert is None or (
        # base64url thumbprints; MSAL keeps the `=` padding, which is not part of the value
        str(header.get("x5t#S256", "")).rstrip("=") != cert.sha256_thumbprint
        and str(header.get("x5t", "")).rstrip("=") != cert.sha1_thumbprint
    ):
        raise entra_error(
            401,
            "invalid_client",
            700027,
            "The certificate with identifier used to sign the client assertion is not registered "
            f"on application. [Reason - The key was not found.] App Id: {sp.app_id}",
        )
    if not _signed_by(cert.public_key_pem, assertion, header.get("alg")):
        raise entra_error(401, "invalid_client", 700027, "Client assertion failed signature validation.")
    if int(claims.get("exp", 0)) <= time.time():
        raise entra_error(
            400, "invalid_client", 700024, "Client assertion is not within its valid time range."
        )
    aud = str(claims.get("aud", ""))
    if claims.get("sub") != sp.app_id or not aud.endswith(f"/{tv.tenant.tenant_id}/oauth2/v2.0/token"):
        raise entra_error(
            400,
            "invalid_client",
            700023,
            "Client assertion audience claim does not match Realm issuer or the subject is not "
            "the client id.",
        )


def _signed_by(public_key_pem: bytes, assertion: str, alg: object) -> bool:
    """Whether the certificate's RSA key signed the JWT `assertion`: PS256 when its header says so,
    else RS256. A key of another kind signs nothing armsim accepts."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = serialization.load_pem_public_key(public_key_pem)
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    pad = (
        padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.AUTO) if alg == "PS256" else padding.PKCS1v15()
    )
    head, body, sig = assertion.split(".")
    try:
        key.verify(b64url_decode(sig), f"{head}.{body}".encode(), pad, hashes.SHA256())
    except (InvalidSignature, ValueError):  # ValueError: the signature is not base64url
        return False
    return True
