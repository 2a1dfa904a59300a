"""``ansinh gateway_testca --out DIR [--employers UNIT_CODE ...] [--ivans CODE ...]``

Creates (or reuses, when DIR already holds one) a local test CA, issues signing certificates
for the given employers and I-VANs, writes everything as PEM (private keys mode 0600), loads the
CA and a CRL into the gateway's trust store and registers each certificate for its owner when
that employer or I-VAN exists. Also copies the agency's certificate, so a sandbox client can
check signed receipts. For demos and sandboxes only: never trust this CA in production.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ansinh.core.errors import DomainError
from ansinh.gateway import signing, testca, trust
from ansinh.gateway.models import IvanProvider
from ansinh.registry.models import Employer


def _safe(code: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", code)


class Command(BaseCommand):
    help = "Create a local test CA with employer and I-VAN signing certificates (demo only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, type=Path, help="Directory to write to")
        parser.add_argument("--employers", nargs="*", default=[], metavar="UNIT_CODE")
        parser.add_argument("--ivans", nargs="*", default=[], metavar="CODE")
        parser.add_argument("--key-type", choices=("rsa", "ec"), default="rsa")
        parser.add_argument("--name", default="ansinh test CA", help="CA common name")
        parser.add_argument(
            "--crl-days",
            type=int,
            default=365,
            help="Validity of the (empty) CRL loaded with the CA; 0 loads none",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        key_type: str = options["key_type"]
        if (out / "ca.pem").exists() and (out / "ca-key.pem").exists():
            pki = testca.TestPKI.load(out)
            self.stdout.write(f"reusing the test CA in {out}")
        else:
            pki = testca.make_test_pki(options["name"])
            pki.write(out)
            self.stdout.write(f"created a test CA in {out}")
        try:
            trust.add_authority(pki.ca.cert_pem, name=options["name"])
            if options["crl_days"] > 0:
                crl = pki.crl(next_update_days=options["crl_days"])
                (out / "crl.pem").write_bytes(crl)
                trust.load_crl(crl)
        except DomainError as exc:
            raise CommandError(exc.first.message_en) from exc

        for code in options["employers"]:
            employer = Employer.objects.filter(unit_code=code).first()
            identity = pki.issue(
                common_name=employer.name if employer else f"Employer {code}",
                tax_code=employer.tax_code if employer else "",
                kind="employer",
                key_type=key_type,
            )
            self._write(out, f"employer-{_safe(code)}", identity)
            if employer is not None:
                self._register(identity, employer=employer)

        for code in options["ivans"]:
            ivan = IvanProvider.objects.filter(code=code).first()
            identity = pki.issue(
                common_name=ivan.name if ivan else f"I-VAN {code}",
                tax_code=ivan.tax_code if ivan else "",
                kind="ivan",
                key_type=key_type,
            )
            self._write(out, f"ivan-{_safe(code)}", identity)
            if ivan is not None:
                self._register(identity, ivan=ivan)

        (out / "agency.pem").write_bytes(signing.agency_certificate().public_bytes(Encoding.PEM))
        demo_ca = Path(settings.DATA_DIR) / "gateway" / "ca.pem"
        if not getattr(settings, "GATEWAY_AGENCY_CERT_FILE", "") and demo_ca.exists():
            (out / "agency-ca.pem").write_bytes(demo_ca.read_bytes())
        self.stdout.write(f"trust store: {pki.ca.fingerprint} loaded")

    def _write(self, out: Path, stem: str, identity: testca.Identity) -> None:
        cert_path, key_path = testca.write_identity(out, stem, identity)
        self.stdout.write(f"wrote {cert_path.name} and {key_path.name}")

    def _register(self, identity: testca.Identity, **owner: Any) -> None:
        try:
            trust.register_signer(identity.cert_pem, **owner)
        except DomainError as exc:
            raise CommandError(exc.first.message_en) from exc
        self.stdout.write(f"  registered as the signing certificate of {next(iter(owner))}")
