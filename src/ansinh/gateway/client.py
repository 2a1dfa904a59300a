"""A reference client for the submission API, as an I-VAN or an employer's software would write
it: standard library HTTP plus signxml, and nothing from the server — read it to build your own.

    python -m ansinh.gateway.client sign --key k.pem --cert c.pem dossier.xml > signed.xml
    python -m ansinh.gateway.client submit --url http://127.0.0.1:8000 --token T signed.xml
    python -m ansinh.gateway.client result --url … --token T --wait 60 TRANSACTION_ID

``submit`` and ``result`` check the agency's signature on what comes back against the agency
certificate (``--agency-cert`` file, or fetched once from ``/api/v1/gateway/agency-certificate``
— pin the file in production).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from lxml import etree
from signxml import SignatureMethod, XMLSigner, XMLVerifier

API = "/api/v1/gateway"


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    def __init__(self, base_url: str, token: str, agency_cert_pem: bytes | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.token = token
        self._agency_pem = agency_cert_pem

    def _call(
        self,
        method: str,
        path: str,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        request = urllib.request.Request(  # noqa: S310 - the base URL is the operator's
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return Answer(response.status, response.read(), response.headers["Content-Type"])
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, exc.read(), exc.headers.get("Content-Type", ""))

    def agency_pem(self) -> bytes:
        if self._agency_pem is None:
            self._agency_pem = self._call("GET", f"{API}/agency-certificate").body
        return self._agency_pem

    def verify_agency(self, signed: bytes) -> etree._Element:
        """The signed content of a receipt or result, after checking the agency signed it."""
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        root = etree.fromstring(signed, parser)
        return XMLVerifier().verify(root, x509_cert=self.agency_pem().decode()).signed_xml

    def submit(self, signed_dossier: bytes, callback_url: str = "") -> Answer:
        headers = {"Content-Type": "application/xml"}
        if callback_url:
            headers["X-Callback-Url"] = callback_url
        answer = self._call("POST", f"{API}/submissions", signed_dossier, headers)
        if answer.status in (200, 201):
            self.verify_agency(base64.b64decode(answer.json()["receipt_xml"]))
        return answer

    def status(self, transaction_id: str) -> Answer:
        return self._call("GET", f"{API}/submissions/{transaction_id}")

    def result(self, transaction_id: str, wait: float = 0, every: float = 0.5) -> Answer:
        """Poll until the signed result is there (or ``wait`` seconds have passed)."""
        deadline = time.monotonic() + wait
        while True:
            answer = self._call("GET", f"{API}/submissions/{transaction_id}/result")
            if answer.status == 200:
                self.verify_agency(answer.body)
                return answer
            if answer.status != 409 or time.monotonic() >= deadline:
                return answer
            time.sleep(every)


def sign(xml: bytes, key_pem: bytes, cert_pem: bytes) -> bytes:
    """Enveloped XML-DSig over the whole document, RSA- or ECDSA-SHA256 by the key's type,
    with the certificate included; the signature is the root's last child."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
    root = etree.fromstring(xml, parser)
    key = load_pem_private_key(key_pem, password=None)
    if isinstance(key, rsa.RSAPrivateKey):
        method = SignatureMethod.RSA_SHA256
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        method = SignatureMethod.ECDSA_SHA256
    else:
        raise ValueError("only RSA and ECDSA keys sign dossiers")
    x509.load_pem_x509_certificate(cert_pem)  # fail early on a bad certificate file
    signer = XMLSigner(signature_algorithm=method, digest_algorithm="sha256")
    signed = signer.sign(root, key=key, cert=cert_pem.decode())
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ansinh.gateway.client")
    sub = parser.add_subparsers(dest="command", required=True)
    p_sign = sub.add_parser("sign", help="sign a dossier file, print the signed XML")
    p_sign.add_argument("--key", required=True, type=Path)
    p_sign.add_argument("--cert", required=True, type=Path)
    p_sign.add_argument("file", type=Path)
    for name in ("submit", "status", "result"):
        p = sub.add_parser(name)
        p.add_argument("--url", required=True)
        p.add_argument("--token", required=True)
        p.add_argument("--agency-cert", type=Path)
        if name == "submit":
            p.add_argument("--callback-url", default="")
            p.add_argument("file", type=Path)
        else:
            p.add_argument("transaction_id")
        if name == "result":
            p.add_argument("--wait", type=float, default=0)
            p.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.command == "sign":
        sys.stdout.buffer.write(
            sign(args.file.read_bytes(), args.key.read_bytes(), args.cert.read_bytes())
        )
        return 0
    pem = args.agency_cert.read_bytes() if args.agency_cert else None
    client = Client(args.url, args.token, pem)
    if args.command == "submit":
        answer = client.submit(args.file.read_bytes(), args.callback_url)
    elif args.command == "status":
        answer = client.status(args.transaction_id)
    else:
        answer = client.result(args.transaction_id, wait=args.wait)
        if answer.status == 200 and args.out:
            args.out.write_bytes(answer.body)
    body = answer.body.decode("utf-8", "replace")
    print(json.dumps({"status": answer.status, "body": body}, ensure_ascii=False))
    return 0 if answer.status in (200, 201) else 1


if __name__ == "__main__":
    sys.exit(main())
