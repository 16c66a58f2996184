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
from dataclasses import dataclass
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
    def __init__(self, issuer_base: str, lifetime: int = 3599) -> None:
        self.issuer_base = issuer_base.rstrip("/")
        self.lifetime = lifetime
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
    ) -> tuple[str, int]:
        """A signed token and its lifetime in seconds."""
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
        header = {"typ": "JWT", "alg": "RS256", "kid": "armsim"}
        signing_input = f"{b64url(_dumps(header))}.{b64url(_dumps(claims))}"
        return f"{signing_input}.{self._sign(signing_input)}", life

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


def _dumps(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()
