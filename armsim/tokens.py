"""Access tokens shaped like Entra ID's (a JWT with oid, tid, appid, aud, iat, exp).

Clients never verify access tokens (to a client an access token is opaque; only the resource
checks it), so the signature is an HMAC with a key
that lives only in this server: a token is bound to the (tenant, principal) it was issued for,
cannot be edited, and a token of another armsim instance is rejected as invalid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Claims:
    tid: str
    oid: str
    appid: str
    aud: str
    iss: str
    iat: int
    exp: int
    sub: str


@dataclass(frozen=True)
class RefreshClaims:
    """Who a refresh token speaks for: the person at home, the app, and where the person last
    signed in interactively (that sign-in satisfied the tenant's MFA requirement)."""

    home_tenant_id: str
    home_object_id: str
    client_id: str
    mfa_tenant_id: str | None


@dataclass
class DeviceGrant:
    """A device code handed out by the device authorization endpoint, waiting to be redeemed."""

    tenant_id: str
    client_id: str
    scope: str
    expires_at: float
    object_id: str | None  # the principal (of `tenant_id`) who answers it; None: nobody ever does
    polls: int = 0


@dataclass
class DeviceCodes:
    """Outstanding device codes; `lifetime` is their `expires_in`."""

    lifetime: int = 900
    grants: dict[str, DeviceGrant] = field(default_factory=dict)

    def start(self, tenant_id: str, client_id: str, scope: str, object_id: str | None) -> tuple[str, str]:
        """A new (device code, user code)."""
        now = time.time()
        for code in [c for c, g in self.grants.items() if g.expires_at + 60 < now]:
            del self.grants[code]  # bounded: forgotten a minute after expiry
        device_code = secrets.token_urlsafe(32)
        user_code = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(9))
        self.grants[device_code] = DeviceGrant(tenant_id, client_id, scope, now + self.lifetime, object_id)
        return device_code, user_code


class TokenError(ValueError):
    """Why a bearer token was refused: `code` is the ARM error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and payload of a JWT, without checking anything (as Azure tooling reads claims)."""
    head, body, _sig = token.split(".")
    return json.loads(b64url_decode(head)), json.loads(b64url_decode(body))


class TokenService:
    def __init__(self, issuer_base: str, lifetime: int = 3599, device_code_lifetime: int = 900) -> None:
        self.issuer_base = issuer_base.rstrip("/")
        self.lifetime = lifetime
        self.device_codes = DeviceCodes(device_code_lifetime)
        self._key = secrets.token_bytes(32)
        self._verified: dict[str, Claims] = {}

    def issue(
        self,
        *,
        tenant_id: str,
        object_id: str,
        app_id: str,
        audience: str,
        appidacr: str = "1",
        version: str = "1.0",
        lifetime: int | None = None,
        user: Mapping[str, object] | None = None,
    ) -> tuple[str, int]:
        """A signed token and its lifetime in seconds; `user` holds a user's claims (`name`, `upn`,
        `scp`, ...), which make it a delegated token (`idtyp: user`)."""
        now = int(time.time())
        life = self.lifetime if lifetime is None else lifetime
        iss = (
            f"{self.issuer_base}/{tenant_id}/v2.0" if version == "2.0" else f"{self.issuer_base}/{tenant_id}/"
        )
        claims = {
            "aud": audience,
            "iss": iss,
            "iat": now,
            "nbf": now,
            "exp": now + life,
            "appid": app_id,
            "appidacr": appidacr,
            "azp": app_id,
            "idp": iss.rstrip("/"),
            "idtyp": "app",
            "oid": object_id,
            "sub": object_id,
            "tid": tenant_id,
            "uti": uuid.uuid4().hex[:22],
            "ver": version,
            "xms_tcdt": 1600000000,
        }
        if user is not None:
            claims.update(user)
            claims["idtyp"] = "user"
        return self._jwt(claims), life

    def id_token(self, claims: Mapping[str, object], client_id: str, tenant_id: str) -> str:
        """An OpenID Connect ID token (v2.0) for a user's sign-in with `client_id`."""
        now = int(time.time())
        return self._jwt(
            {
                "aud": client_id,
                "iss": f"{self.issuer_base}/{tenant_id}/v2.0",
                "iat": now,
                "nbf": now,
                "exp": now + self.lifetime,
                "tid": tenant_id,
                "ver": "2.0",
                **claims,
            }
        )

    def refresh_token(self, rt: RefreshClaims) -> str:
        body = {
            "typ": "refresh",
            "home_tid": rt.home_tenant_id,
            "home_oid": rt.home_object_id,
            "client_id": rt.client_id,
            "mfa_tid": rt.mfa_tenant_id,
            "nonce": secrets.token_hex(8),
        }
        return self._jwt(body)

    def verify_refresh(self, token: str) -> RefreshClaims | None:
        """The claims of a refresh token this server issued, else None. (They do not expire: an
        armsim lives for one test run.)"""
        parts = token.split(".")
        if len(parts) != 3 or not hmac.compare_digest(self._sign(f"{parts[0]}.{parts[1]}"), parts[2]):
            return None
        try:
            c = json.loads(b64url_decode(parts[1]))
            if c.get("typ") != "refresh":
                return None
            return RefreshClaims(c["home_tid"], c["home_oid"], c["client_id"], c["mfa_tid"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def _jwt(self, claims: Mapping[str, object]) -> str:
        header = {"typ": "JWT", "alg": "RS256", "kid": "armsim"}
        signing_input = f"{b64url(_dumps(header))}.{b64url(_dumps(claims))}"
        return f"{signing_input}.{self._sign(signing_input)}"

    def _sign(self, signing_input: str) -> str:
        return b64url(hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest())

    def verify(self, token: str) -> Claims:
        """The claims of a token this server issued; raises TokenError (invalid or expired)."""
        claims = self._verified.get(token)
        if claims is None:
            claims = self._check_signature(token)
            if len(self._verified) > 100_000:  # bounded: a long soak must not grow memory
                self._verified.clear()
            self._verified[token] = claims
        if claims.exp <= time.time():
            expired = time.strftime("%m/%d/%Y %I:%M:%S %p", time.gmtime(claims.exp))
            now = time.strftime("%m/%d/%Y %I:%M:%S %p", time.gmtime())
            raise TokenError(
                "ExpiredAuthenticationToken",
                f"The access token expiry UTC time '{expired}' is earlier than current UTC time '{now}'.",
            )
        return claims

    def _check_signature(self, token: str) -> Claims:
        invalid = TokenError("InvalidAuthenticationToken", "The access token is invalid.")
        parts = token.split(".")
        if len(parts) != 3:
            raise invalid
        if not hmac.compare_digest(self._sign(f"{parts[0]}.{parts[1]}"), parts[2]):
            raise invalid
        try:
            c = json.loads(b64url_decode(parts[1]))
            return Claims(
                c["tid"], c["oid"], c["appid"], c["aud"], c["iss"], int(c["iat"]), int(c["exp"]), c["sub"]
            )
        except (ValueError, KeyError, TypeError):
            raise invalid from None


def _dumps(obj: Mapping[str, object]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()
