"""Test helpers for the exchange layer and the apps that use it: our identity with a key in a
temporary file, a peer with its own key, and signed calls through Django's test client."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.test import Client

from ansinh.exchange import keys, services, signatures
from ansinh.exchange.ids import MemberId
from ansinh.exchange.models import Identity, Peer

OWN = "VN/GOV/BHXH/benefits"
OTHER = "VN/GOV/SNV-HN/unemployment"


def make_identity(directory: Path, member: str = OWN, algorithm: str = keys.ED25519) -> Identity:
    """Our identity with its key under ``directory`` (call with ``settings`` pointing
    EXCHANGE_KEY_FILE there, see the ``exchange_identity`` fixture)."""
    return services.init_identity(MemberId.parse(member), algorithm=algorithm).identity


@dataclass
class FakePeer:
    peer: Peer
    key: keys.PrivateKey

    @property
    def member(self) -> str:
        return str(self.peer.member_id)


def make_peer(
    member: str = OTHER,
    *,
    base_url: str = "http://testserver",
    algorithm: str = keys.ED25519,
    grants: tuple[str, ...] = (),
    key: keys.PrivateKey | None = None,
) -> FakePeer:
    key = key or keys.new_key(algorithm)
    peer = services.add_peer(
        MemberId.parse(member), base_url=base_url, public_key_pem=keys.public_pem(key.public_key())
    )
    for code in grants:
        services.grant(peer, code)
    return FakePeer(peer, key)


def signed_headers(
    caller: FakePeer,
    url: str,
    body: bytes,
    *,
    message_id: str = "msg-1",
    method: str = "POST",
    now: dt.datetime | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    headers = {
        "content-type": "application/json",
        "x-road-client": caller.member,
        "x-road-id": message_id,
    }
    return signatures.sign_request(method, url, headers, body, key=caller.key, now=now, nonce=nonce)


def send(
    client: Client, url: str, body: bytes, headers: dict[str, str], method: str = "POST"
) -> Any:
    """Send pre-signed ``headers`` to ``url`` (http://testserver/r1/…) with the test client."""
    path = url.removeprefix("http://testserver")
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    extra.pop("HTTP_CONTENT_TYPE", None)
    if method == "GET":
        return client.get(path, **extra)
    return client.generic(
        method, path, data=body, content_type=headers.get("content-type", ""), **extra
    )


@dataclass
class TlsFiles:
    """A throw-away CA with a server certificate for 127.0.0.1 and a client certificate, to
    test mutual TLS (gunicorn ``--ca-certs`` and ``--cert-reqs 2``; our client's
    ``EXCHANGE_TLS_*`` settings)."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_tls_files(directory: Path) -> TlsFiles:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write(stem: str, key: Any, cert: x509.Certificate) -> tuple[Path, Path]:
        cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}-key.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        keys.write_key(key, key_path)
        return cert_path, key_path

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(name("ansinh exchange test CA"))
        .issuer_name(name("ansinh exchange test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, _ = write("ca", ca_key, ca_cert)

    def leaf(cn: str, usage: x509.ObjectIdentifier, san: bool) -> tuple[Any, x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(cn))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if san:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
                ),
                critical=False,
            )
        return key, builder.sign(ca_key, hashes.SHA256())

    server_cert, server_key = write(
        "server", *leaf("127.0.0.1", ExtendedKeyUsageOID.SERVER_AUTH, True)
    )
    client_cert, client_key = write(
        "client", *leaf("client", ExtendedKeyUsageOID.CLIENT_AUTH, False)
    )
    return TlsFiles(ca_path, server_cert, server_key, client_cert, client_key)
