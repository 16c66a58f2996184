"""Every auth method the registry offers, signed in for real against armsim's Entra ID."""

from __future__ import annotations

import datetime as dt

import pytest
from builders import EstateBuilder, guid
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from engine_support import audit, checks_of, served

from pal_audit.engine.credentials import CredentialConfigError, make_credential, token_claims


def _self_signed() -> tuple[str, str]:
    """(PEM with private key and certificate, as the env var holds it; the certificate alone)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pal-audit-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return key_pem + cert_pem, cert_pem


def test_certificate_identity_is_audited(tmp_path):
    bundle, cert_pem = _self_signed()
    b = EstateBuilder()
    t = b.tenant("Cert")
    oid = b.sp(t, "cert-app")
    t["principals"][-1]["certificate"] = cert_pem
    b.assign(t, oid, "Support Request Contributor", b.sub(t))
    b.identities["cert-app"]["auth"] = {"method": "certificate", "certificate_env": "CERT_APP_PEM"}
    b.env = {"CERT_APP_PEM": bundle}
    with served(b, tmp_path) as (registry, _):
        r = audit(registry, b.env)["Cert"]
    assert r.ok and r.snapshot.identities[0].principal_id == oid and checks_of(r) == []


def test_federated_identity_uses_the_function_managed_identity(tmp_path, monkeypatch):
    """The secretless setup: a multi-tenant app trusting the Function's managed identity."""
    b = EstateBuilder()
    home = b.tenant("Partner home", approval=False)
    mi_app, mi_oid = guid("mi-app"), guid("mi")
    home["principals"].append({"object_id": mi_oid, "type": "ServicePrincipal", "app_id": mi_app,
                               "managed_identity": True})
    b.registry_tenants.remove(next(r for r in b.registry_tenants if r["name"] == "Partner home"))
    t = b.tenant("Customer")
    oid = b.sp(t, "fed-app")
    t["principals"][-1].pop("secret")
    trust = {"subject": mi_oid, "issuer_tenant_id": home["tenant_id"]}
    t["principals"][-1]["federated_credentials"] = [trust]
    b.assign(t, oid, "Contributor", b.sub(t))
    b.identities["fed-app"]["auth"] = {"method": "federated"}
    with served(b, tmp_path) as (registry, server):
        monkeypatch.setenv("IDENTITY_ENDPOINT", server.cloud.identity_endpoint)
        monkeypatch.setenv("IDENTITY_HEADER", server.cloud.identity_header)
        r = audit(registry, {}, managed_identity_client_id=mi_app)["Customer"]
    assert r.ok, r.snapshot.identities[0].error
    assert r.snapshot.identities[0].principal_id == oid and checks_of(r) == []


def test_federated_without_managed_identity_is_that_units_auth_error(tmp_path, monkeypatch):
    b = EstateBuilder()
    t = b.tenant("Customer")
    b.assign(t, b.sp(t, "fed-app"), "Contributor", b.sub(t))
    b.identities["fed-app"]["auth"] = {"method": "federated"}
    monkeypatch.delenv("IDENTITY_ENDPOINT", raising=False)
    monkeypatch.delenv("MSI_ENDPOINT", raising=False)
    with served(b, tmp_path) as (registry, _):
        r = audit(registry, {}, unit_budget_seconds=5)["Customer"]
    error = r.snapshot.identities[0].error
    assert error is not None and error.reason == "auth_failed"
    assert [f.check_id for f in r.findings] == ["audit_error"]


def test_missing_secret_names_the_variable_never_a_value(tmp_path):
    b = EstateBuilder()
    t = b.tenant("Customer")
    b.sp(t, "ops-app")
    from pal_audit.registry.clouds import KNOWN_CLOUDS

    identity = type("I", (), {"client_id": guid("x"), "auth": type("A", (), {
        "method": "client_secret", "secret_env": "OPS_APP_SECRET"})()})()
    with pytest.raises(CredentialConfigError, match="OPS_APP_SECRET is not set"):
        make_credential(tenant_id=t["tenant_id"], identity_name="ops-app", identity=identity,
                        cloud=KNOWN_CLOUDS["AzureCloud"], env={})


def test_token_claims_reads_oid_and_tid_without_verifying():
    import base64
    import json

    payload = base64.urlsafe_b64encode(json.dumps({"oid": "o", "tid": "t"}).encode()).decode().rstrip("=")
    assert token_claims(f"e30.{payload}.sig") == {"oid": "o", "tid": "t"}
    with pytest.raises(ValueError, match="not a JWT"):
        token_claims("opaque-token")



async def test_token_endpoint_throttling_or_outage_is_not_an_auth_failure(tmp_path):
    """Reproduction 11: 429/5xx from the token endpoint were `auth_failed: sign-in: HTTP 429`,
    which sends operators to rotate a secret that is fine. One tenant per status, in one audit."""
    from engine_support import ADATUM, audit_demo, demo_served

    outage = "(an outage on its side, not a credential problem)"
    cases = {ADATUM: (429, "throttled", "(throttled)"),
             "d13c513a-42f8-4da1-97b1-165f0971b7c4": (500, "unexpected", outage),     # Fabrikam
             "86ad9101-08d2-43b7-b25a-55f4796ce0e9": (503, "unexpected", outage)}     # Woodgrove
    fault = [{"match": "token", "status": status, "tenant_id": tid} for tid, (status, _, _) in cases.items()]
    with demo_served(tmp_path, fault) as served_demo:
        results = {r.snapshot.tenant_id: r for r in await audit_demo(served_demo)}
    for tid, (status, reason, why) in cases.items():
        for unit in results[tid].snapshot.identities:
            assert unit.error is not None and unit.error.reason == reason, (tid, unit.error)
            assert unit.error.message == (f"sign-in: the sign-in service answered HTTP {status} {why}; "
                                          "the next run retries")
        assert {f.detail.split(":")[0] for f in results[tid].findings} == {reason}
    assert results["7d791a3c-a63c-45f9-bdcd-c219fe72c33b"].ok    # Tailwind signed in as usual
