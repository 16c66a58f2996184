"""Reading the principals of a tenant: service principals (secrets, certificates, federated
credentials, managed identities), users and groups, with their group memberships and PAL links."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from armsim.estate.fields import FieldReader
from armsim.estate.model import Certificate, FederatedCredential, GuestOf, Partner, Principal, Tenant

PRINCIPAL_TYPES = ("ServicePrincipal", "User", "Group")
DEVICE_CODE_ANSWERS = ("approve", "deny")
USER_KEYS = ("user_principal_name", "password", "device_code", "guest_of", "mfa_required")
SIGN_IN_KEYS = ("user_principal_name", "password", "device_code")  # a guest signs in at home


def read_principals(
    reader: FieldReader, raw: Any, path: str, partners: dict[str, Partner]
) -> tuple[Principal, ...]:
    out: list[Principal] = []
    by_oid: dict[str, int] = {}
    by_app: dict[str, int] = {}
    for i, r in enumerate(reader.seq(raw, path)):
        p = _read_principal(reader, r, f"{path}[{i}]", partners)
        if p.object_id in by_oid:
            raise reader.fail(
                f"{path}[{i}].object_id", f"duplicate object id (also {path}[{by_oid[p.object_id]}])"
            )
        by_oid[p.object_id] = i
        if p.app_id:
            if p.app_id in by_app:
                raise reader.fail(
                    f"{path}[{i}].app_id", f"duplicate app id (also {path}[{by_app[p.app_id]}])"
                )
            by_app[p.app_id] = i
        out.append(p)
    for i, p in enumerate(out):
        for j, g in enumerate(p.member_of):
            target = by_oid.get(g)
            if target is None or out[target].type != "Group":
                raise reader.fail(
                    f"{path}[{i}].member_of[{j}]", f"{g} is not a Group principal of this tenant"
                )
    return tuple(out)


def _read_principal(reader: FieldReader, raw: Any, path: str, partners: dict[str, Partner]) -> Principal:
    m = reader.mapping(
        raw,
        path,
        ("object_id", "type"),
        (
            "name",
            "app_id",
            "secret",
            "enabled",
            "member_of",
            "pal",
            "managed_identity",
            "federated_credentials",
            "certificate",
            *USER_KEYS,
        ),
    )
    oid = reader.guid(m["object_id"], f"{path}.object_id")
    ptype = m["type"]
    if ptype not in PRINCIPAL_TYPES:
        raise reader.fail(f"{path}.type", f"expected one of {', '.join(PRINCIPAL_TYPES)}, got {ptype!r}")
    is_sp = ptype == "ServicePrincipal"
    for key in ("app_id", "secret", "managed_identity", "federated_credentials", "certificate"):
        if key in m and not is_sp:
            raise reader.fail(f"{path}.{key}", f"only a ServicePrincipal has {key}")
    if is_sp and "app_id" not in m:
        raise reader.fail(
            f"{path}.app_id", "required key is missing (the client id a ServicePrincipal signs in with)"
        )
    for key in USER_KEYS:
        if key in m and ptype != "User":
            raise reader.fail(f"{path}.{key}", f"only a User has {key}")
    if "guest_of" in m:
        for key in SIGN_IN_KEYS:
            if key in m:
                raise reader.fail(
                    f"{path}.{key}", "a guest signs in as the user it is (guest_of); give it there"
                )
    link = None
    if "pal" in m:
        if ptype == "Group":
            raise reader.fail(f"{path}.pal", "a group cannot hold a Partner Admin Link")
        pal = reader.mapping(m["pal"], f"{path}.pal", ("partner_id",), ())
        link = reader.partner_id(pal["partner_id"], f"{path}.pal.partner_id")
        if partners and link not in partners:
            raise reader.fail(f"{path}.pal.partner_id", f"partner id {link} is not in the estate's partners")
    fics = tuple(
        _read_federated(reader, r, f"{path}.federated_credentials[{i}]")
        for i, r in enumerate(reader.seq(m.get("federated_credentials"), f"{path}.federated_credentials"))
    )
    return Principal(
        object_id=oid,
        type=ptype,
        name=reader.text(m.get("name", oid), f"{path}.name"),
        app_id=reader.guid(m["app_id"], f"{path}.app_id") if is_sp else None,
        secret=reader.text(m["secret"], f"{path}.secret") if "secret" in m else None,
        enabled=reader.boolean(m.get("enabled", True), f"{path}.enabled"),
        member_of=tuple(
            reader.guid(g, f"{path}.member_of[{j}]")
            for j, g in enumerate(reader.seq(m.get("member_of"), f"{path}.member_of"))
        ),
        link_partner_id=link,
        managed_identity=reader.boolean(m.get("managed_identity", False), f"{path}.managed_identity"),
        federated_credentials=fics,
        certificate=_read_certificate(reader, m["certificate"], f"{path}.certificate")
        if "certificate" in m
        else None,
        user_principal_name=_read_upn(reader, m["user_principal_name"], f"{path}.user_principal_name")
        if "user_principal_name" in m
        else None,
        password=reader.text(m["password"], f"{path}.password") if "password" in m else None,
        device_code=_read_device_code(reader, m["device_code"], f"{path}.device_code")
        if "device_code" in m
        else None,
        guest_of=_read_guest_of(reader, m["guest_of"], f"{path}.guest_of") if "guest_of" in m else None,
        mfa_required=reader.boolean(m.get("mfa_required", False), f"{path}.mfa_required"),
    )


def _read_upn(reader: FieldReader, raw: Any, path: str) -> str:
    upn = reader.text(raw, path)
    name, at, domain = upn.partition("@")
    if not name or not at or not domain or " " in upn:
        raise reader.fail(path, f"expected a user principal name like ana@contoso.example, got {upn!r}")
    return upn.lower()


def _read_device_code(reader: FieldReader, raw: Any, path: str) -> str:
    if raw not in DEVICE_CODE_ANSWERS:
        raise reader.fail(path, f"expected one of {', '.join(DEVICE_CODE_ANSWERS)}, got {raw!r}")
    return str(raw)


def _read_guest_of(reader: FieldReader, raw: Any, path: str) -> GuestOf:
    m = reader.mapping(raw, path, ("tenant_id", "object_id"), ())
    return GuestOf(
        tenant_id=reader.guid(m["tenant_id"], f"{path}.tenant_id"),
        object_id=reader.guid(m["object_id"], f"{path}.object_id"),
    )


def check_users(reader: FieldReader, tenants: list[Tenant]) -> None:
    """Across tenants: a guest names a user (not a guest) of another tenant, at most one guest per
    person and tenant, and a user principal name belongs to one user."""
    homes = {(t.tenant_id, p.object_id): p for t in tenants for p in t.principals}
    upns: dict[str, str] = {}
    for ti, t in enumerate(tenants):
        guests: dict[tuple[str, str], int] = {}
        for pi, p in enumerate(t.principals):
            path = f"tenants[{ti}].principals[{pi}]"
            if p.user_principal_name:
                if p.user_principal_name in upns:
                    raise reader.fail(
                        f"{path}.user_principal_name",
                        f"duplicate user principal name (also {upns[p.user_principal_name]})",
                    )
                upns[p.user_principal_name] = path
            g = p.guest_of
            if g is None:
                continue
            home = homes.get((g.tenant_id, g.object_id))
            if g.tenant_id == t.tenant_id:
                raise reader.fail(f"{path}.guest_of.tenant_id", "a guest's home is another tenant")
            if home is None or home.type != "User" or home.guest_of is not None:
                raise reader.fail(
                    f"{path}.guest_of", f"{g.object_id} is not a (non-guest) User of tenant {g.tenant_id}"
                )
            if (g.tenant_id, g.object_id) in guests:
                raise reader.fail(
                    f"{path}.guest_of",
                    f"the same person is already a guest here ({path.rsplit('[', 1)[0]}"
                    f"[{guests[(g.tenant_id, g.object_id)]}])",
                )
            guests[(g.tenant_id, g.object_id)] = pi


def _read_federated(reader: FieldReader, raw: Any, path: str) -> FederatedCredential:
    m = reader.mapping(raw, path, ("subject",), ("issuer_tenant_id", "issuer", "audience"))
    if ("issuer_tenant_id" in m) == ("issuer" in m):
        raise reader.fail(path, "give exactly one of issuer_tenant_id (an armsim tenant) or issuer")
    return FederatedCredential(
        subject=reader.text(m["subject"], f"{path}.subject"),
        issuer_tenant_id=reader.guid(m["issuer_tenant_id"], f"{path}.issuer_tenant_id")
        if "issuer_tenant_id" in m
        else None,
        issuer=reader.text(m["issuer"], f"{path}.issuer") if "issuer" in m else None,
        audience=reader.text(m.get("audience", "api://AzureADTokenExchange"), f"{path}.audience"),
    )


def _read_certificate(reader: FieldReader, raw: Any, path: str) -> Certificate:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    pem = reader.text(raw, path).encode()
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError as e:
        raise reader.fail(path, f"not a PEM X.509 certificate ({e})") from None
    der = cert.public_bytes(serialization.Encoding.DER)
    return Certificate(
        sha1_thumbprint=_b64url(hashlib.sha1(der).digest()),
        sha256_thumbprint=_b64url(hashlib.sha256(der).digest()),
        public_key_pem=cert.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )


def _b64url(digest: bytes) -> str:
    """Unpadded base64url, as a JWT's `x5t` and `x5t#S256` headers carry a thumbprint."""
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
