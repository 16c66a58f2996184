"""Entra ID for people: the device code flow, the password grant (ROPC, for tests), refresh tokens
that reach the tenants where the person is a guest, and MSAL's user realm lookup.

A person is a `User` principal of a home tenant; in another tenant the same person is a guest
principal (its own object id there) whose `guest_of` names the home user. Passwords and the device
code answer live on the home user; `mfa_required` lives on the principal of the tenant that asks.

Device code approval: armsim has no browser, so a device code is answered by the person the
estate marks: the `login_hint` (a user principal name) of the device code request when one is
given, else the one user of the tenant whose `device_code` is set (a guest counts through its home
user). That person's `device_code: approve` or `deny` answers from the second poll on (the first
finds the person still typing the code); without one the code is never answered and expires.
"""

from __future__ import annotations

import base64
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from armsim.directory import Directory, TenantView
from armsim.estate.model import Principal
from armsim.state import SimulatorState
from armsim.tokens import DeviceGrant, RefreshClaims
from armsim.wire import entra_error, json_response

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
USER_GRANTS = ("password", "refresh_token", DEVICE_CODE_GRANT)
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
ARM_APP_ID = "797f4846-ba00-4fd7-ba43-dac1f8f63013"  # Windows Azure Service Management API
POLL_INTERVAL = 1  # seconds; Entra says 5, armsim keeps tests quick
MFA_MESSAGE = (
    "Due to a configuration change made by your administrator, or because you moved to a new "
    f"location, you must use multi-factor authentication to access '{ARM_APP_ID}'."
)


@dataclass(frozen=True)
class SignedIn:
    """A person signed in to `tenant` as `principal` (the home user or the guest there)."""

    tenant: TenantView
    principal: Principal
    person: Principal  # the home user
    home_tenant_id: str


def resource_audience(sim: SimulatorState, resource: str, tv: TenantView) -> str:
    """The `aud` of a token for `resource` (ARM only), or Entra's AADSTS500011."""
    if resource.rstrip("/") not in {a.rstrip("/") for a in sim.arm_audiences}:
        raise entra_error(
            400,
            "invalid_resource",
            500011,
            f"The resource principal named {resource} was not found in the tenant named "
            f"{tv.tenant.name}. This can happen if the application has not been installed by "
            "the administrator of the tenant or consented to by any user in the tenant. You might "
            "have sent your authentication request to the wrong tenant.",
        )
    # Entra puts the resource's identifier URI in `aud`; management.azure.com keeps its trailing slash.
    return "https://management.azure.com/" if "management.azure.com" in resource else resource


def user_realm(sim: SimulatorState, username: str) -> web.Response:
    """`GET /common/userrealm/{username}`: every armsim user is cloud-only ("Managed")."""
    found = any(
        p.user_principal_name == username.lower()
        for tv in sim.directory.tenants.values()
        for p in tv.tenant.principals
    )
    domain = username.partition("@")[2]
    body: dict[str, object] = {"ver": "1.0", "account_type": "Managed" if found else "Unknown"}
    if found:
        body.update({"domain_name": domain, "cloud_instance_name": "armsim.local"})
    return json_response(200, body)


async def device_authorization_for(
    sim: SimulatorState, request: web.Request, tv: TenantView
) -> tuple[web.Response, str | None]:
    """`POST /{tenant}/oauth2/v2.0/devicecode`; returns the response and who will answer it."""
    form = await request.post()
    client_id = _client_id(form)
    scope = str(form.get("scope", ""))
    _user_audience(sim, scope, tv)  # refuse a bad scope now, as Entra does
    hint = str(form.get("login_hint", "")).strip()
    if hint:
        answering = _find_user(sim.directory, tv, hint)
        if answering is None:
            raise _unknown_user(tv, hint)
    else:
        marked = [p for p in tv.tenant.principals if _person_of(sim.directory, p).device_code]
        if len(marked) > 1:
            raise entra_error(
                400,
                "invalid_request",
                900144,
                f"armsim: {len(marked)} users of tenant '{tv.tenant.name}' answer device codes; pass "
                "login_hint=<user principal name> to say which person signs in.",
            )
        answering = marked[0] if marked else None
    device_code, user_code = sim.tokens.device_codes.start(
        tv.tenant.tenant_id, client_id, scope, answering.object_id if answering else None
    )
    verification_uri = f"{sim.base_url}/devicelogin"
    body = {
        "user_code": user_code,
        "device_code": device_code,
        "verification_uri": verification_uri,
        "expires_in": sim.tokens.device_codes.lifetime,
        "interval": POLL_INTERVAL,
        "message": f"To sign in, use a web browser to open the page {verification_uri} and enter "
        f"the code {user_code} to authenticate.",
    }
    return json_response(200, body), answering.object_id if answering else None


def user_token(sim: SimulatorState, tv: TenantView, form: Mapping[str, object]) -> tuple[web.Response, str]:
    """The password, device code and refresh token grants; returns the response and the object id
    the tokens were issued to."""
    grant = str(form.get("grant_type", ""))
    client_id = _client_id(form)
    if grant == DEVICE_CODE_GRANT:
        signed, scope, mfa_tid = _redeem_device_code(sim, tv, form, client_id)
    elif grant == "password":
        signed, scope, mfa_tid = _password(sim, tv, form), str(form.get("scope", "")), None
    else:
        signed, scope, mfa_tid = _refresh(sim, tv, form, client_id)
    audience, resource_scope = _user_audience(sim, scope, tv)
    return _tokens(sim, signed, client_id, audience, resource_scope, mfa_tid), signed.principal.object_id


def _password(sim: SimulatorState, tv: TenantView, form: Mapping[str, object]) -> SignedIn:
    username = str(form.get("username", ""))
    principal = _find_user(sim.directory, tv, username)
    if principal is None:
        raise _unknown_user(tv, username)
    person = _person_of(sim.directory, principal)
    given = str(form.get("password", ""))
    if person.password is None or not hmac.compare_digest(given.encode(), person.password.encode()):
        raise entra_error(
            400, "invalid_grant", 50126, "Error validating credentials due to invalid username or password."
        )
    signed = _signed_in(sim.directory, tv, principal)
    _check_mfa(signed, None)
    return signed


def _redeem_device_code(
    sim: SimulatorState, tv: TenantView, form: Mapping[str, object], client_id: str
) -> tuple[SignedIn, str, str]:
    codes = sim.tokens.device_codes.grants
    code = str(form.get("device_code", ""))
    grant: DeviceGrant | None = codes.get(code)
    if grant is None or grant.tenant_id != tv.tenant.tenant_id or grant.client_id != client_id:
        raise entra_error(
            400,
            "invalid_grant",
            70000,
            "The provided value for the input parameter 'device_code' is not valid.",
        )
    if grant.expires_at <= time.time():
        raise entra_error(
            400,
            "expired_token",
            70020,
            "The provided value for the input parameter 'device_code' is not valid. This device code "
            "has expired.",
        )
    grant.polls += 1
    principal = tv.principals.get(grant.object_id) if grant.object_id else None
    answer = _person_of(sim.directory, principal).device_code if principal else None
    if grant.polls == 1 or principal is None or answer is None:
        raise entra_error(
            400,
            "authorization_pending",
            70016,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
        )
    del codes[code]
    if answer == "deny":
        raise entra_error(
            400, "authorization_declined", 70000, "The user has declined the authorization request."
        )
    # the person signed in in a browser, with MFA where the tenant asks for it
    return _signed_in(sim.directory, tv, principal), grant.scope, tv.tenant.tenant_id


def _refresh(
    sim: SimulatorState, tv: TenantView, form: Mapping[str, object], client_id: str
) -> tuple[SignedIn, str, str | None]:
    rt = sim.tokens.verify_refresh(str(form.get("refresh_token", "")))
    if rt is None:
        raise entra_error(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
    if rt.client_id != client_id:
        raise entra_error(
            400,
            "invalid_grant",
            70000,
            "Provided grant is invalid or malformed. The refresh token was issued to another client.",
        )
    home = sim.directory.tenants.get(rt.home_tenant_id)
    person = home.principals.get(rt.home_object_id) if home else None
    here = sim.directory.user_in_tenant(rt.home_tenant_id, rt.home_object_id, tv.tenant.tenant_id)
    principal = tv.principals.get(here) if here else None
    if person is None or principal is None:
        upn = person.user_principal_name if person else rt.home_object_id
        raise entra_error(
            400,
            "invalid_grant",
            50020,
            f"User account '{upn}' from identity provider '{sim.base_url}/{rt.home_tenant_id}/' does "
            f"not exist in tenant '{tv.tenant.name}' and cannot access the application "
            f"'{client_id}' in that tenant. The account needs to be added as an external user in "
            "the tenant first.",
        )
    signed = _signed_in(sim.directory, tv, principal)
    _check_mfa(signed, rt.mfa_tenant_id)
    return signed, str(form.get("scope", "")), rt.mfa_tenant_id


def _check_mfa(signed: SignedIn, mfa_tenant_id: str | None) -> None:
    """A tenant that demands MFA accepts only an interactive sign-in made to it (a password, or
    a refresh token from a sign-in elsewhere, is not enough)."""
    if signed.principal.mfa_required and mfa_tenant_id != signed.tenant.tenant.tenant_id:
        raise entra_error(400, "invalid_grant", 50076, MFA_MESSAGE, {"suberror": "basic_action"})


def _signed_in(directory: Directory, tv: TenantView, principal: Principal) -> SignedIn:
    person = _person_of(directory, principal)
    if not principal.enabled or not person.enabled:
        raise entra_error(400, "invalid_grant", 50057, "The user account is disabled.")
    home = principal.guest_of.tenant_id if principal.guest_of else tv.tenant.tenant_id
    return SignedIn(tv, principal, person, home)


def _tokens(
    sim: SimulatorState,
    signed: SignedIn,
    client_id: str,
    audience: str,
    resource_scope: str,
    mfa_tenant_id: str | None,
) -> web.Response:
    tid = signed.tenant.tenant.tenant_id
    person, principal = signed.person, signed.principal
    upn = person.user_principal_name or person.object_id
    interactive = mfa_tenant_id == tid
    user: dict[str, object] = {
        "scp": "user_impersonation",
        "name": person.name,
        "unique_name": upn,
        "amr": ["pwd", "mfa"] if interactive else ["pwd"],
    }
    if principal.guest_of is None:
        user["upn"] = upn
    else:  # a guest's token names the identity provider that vouches for the person: its home
        user["idp"] = f"{sim.base_url}/{signed.home_tenant_id}/"
    access, life = sim.tokens.issue(
        tenant_id=tid,
        object_id=principal.object_id,
        app_id=client_id,
        audience=audience,
        appidacr="0",  # a public client: no client secret
        user=user,
    )
    id_token = sim.tokens.id_token(
        {"oid": principal.object_id, "sub": principal.object_id, "name": person.name,
         "preferred_username": upn},
        client_id,
        tid,
    )  # fmt: skip
    refresh = sim.tokens.refresh_token(
        RefreshClaims(signed.home_tenant_id, person.object_id, client_id, mfa_tenant_id)
    )
    client_info = {"uid": person.object_id, "utid": signed.home_tenant_id}
    body = {
        "token_type": "Bearer",
        "scope": resource_scope,
        "expires_in": life,
        "ext_expires_in": life,
        "access_token": access,
        "refresh_token": refresh,
        "id_token": id_token,
        "client_info": base64.urlsafe_b64encode(json.dumps(client_info).encode()).rstrip(b"=").decode(),
    }
    return json_response(200, body)


def _user_audience(sim: SimulatorState, scope: str, tv: TenantView) -> tuple[str, str]:
    """The audience and the resource scope of a user's request: one ARM scope (`.default` or
    `user_impersonation`), beside OpenID Connect's own scopes."""
    resource_scopes = [s for s in scope.split() if s.lower() not in OIDC_SCOPES]
    if len(resource_scopes) != 1:
        raise entra_error(
            400,
            "invalid_scope",
            70011,
            f"The provided value for the input parameter 'scope' is not valid: {scope!r}. armsim "
            "issues user tokens for one resource (e.g. https://management.azure.com/.default).",
        )
    resource, _, permission = resource_scopes[0].rpartition("/")
    if permission not in (".default", "user_impersonation") or not resource:
        raise entra_error(
            400,
            "invalid_scope",
            70011,
            f"The provided value for the input parameter 'scope' is not valid: {resource_scopes[0]!r}.",
        )
    return resource_audience(sim, resource, tv), resource_scopes[0]


def _client_id(form: Mapping[str, object]) -> str:
    client_id = str(form.get("client_id", "")).lower()
    if not client_id:
        raise entra_error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        )
    return client_id


def _find_user(directory: Directory, tv: TenantView, username: str) -> Principal | None:
    """The principal of `tv` a user principal name signs in as: the user, or the person's guest."""
    wanted = username.strip().lower()
    for p in tv.tenant.principals:
        if p.type == "User" and _person_of(directory, p).user_principal_name == wanted:
            return p
    return None


def _person_of(directory: Directory, principal: Principal) -> Principal:
    """The home user a principal is (itself unless a guest)."""
    g = principal.guest_of
    if g is None:
        return principal
    return directory.tenants[g.tenant_id].principals[g.object_id]


def _unknown_user(tv: TenantView, username: str) -> Exception:
    return entra_error(
        400,
        "invalid_grant",
        50034,
        f"The user account {username} does not exist in the {tv.tenant.tenant_id} directory. To sign "
        "into this application, the account must be added to the directory.",
    )
