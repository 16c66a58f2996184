"""Fixtures for the armsim tests: one shared server on tests/armsim/estate.yaml (pages of 2 items,
so every list call pages), plus a client certificate for the certificate credential."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from armsim_support import build_estate
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from armsim import ArmSimServer, Cloud


@pytest.fixture(scope="session")
def cert_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A self-signed client certificate: (PEM file with key and cert, the cert's PEM for the estate)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cert-app")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path = tmp_path_factory.mktemp("cert") / "cert-app.pem"
    path.write_bytes(key_pem + cert_pem)
    return path, cert_pem.decode()


@pytest.fixture(scope="session")
def server(cert_files: tuple[Path, str]) -> Iterator[ArmSimServer]:
    srv = ArmSimServer(build_estate(cert_files[1]), page_size=2)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def cloud(server: ArmSimServer) -> Cloud:
    assert server.cloud is not None
    return server.cloud


@pytest.fixture
def http(cloud: Cloud) -> Iterator[requests.Session]:
    """A plain HTTPS session trusting armsim's CA, for checking raw status codes, headers and bodies."""
    with requests.Session() as s:
        s.trust_env = False  # else the pre-set REQUESTS_CA_BUNDLE would override `verify`
        s.verify = cloud.ca_bundle
        yield s
