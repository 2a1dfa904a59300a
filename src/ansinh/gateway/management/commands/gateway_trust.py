"""``ansinh gateway_trust list | add-ca FILE [--name N] | load-crl FILE | deactivate FINGERPRINT``

The trust store from the command line, for scripts and cron jobs (for instance: fetch each
authority's CRL with curl every few hours, then ``load-crl`` it). Same services, checks and
audit trail as the admin pages; the gateway itself never fetches anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ansinh.core.errors import DomainError
from ansinh.gateway import trust
from ansinh.gateway.models import CertificateAuthority


class Command(BaseCommand):
    help = "List the gateway's trusted authorities, add one, load a CRL or deactivate one."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="trusted authorities and the state of their CRLs")
        add = sub.add_parser("add-ca", help="trust a CA certificate (PEM or DER file)")
        add.add_argument("file", type=Path)
        add.add_argument("--name", default="")
        crl = sub.add_parser("load-crl", help="load a CRL file (PEM or DER)")
        crl.add_argument("file", type=Path)
        off = sub.add_parser("deactivate", help="stop trusting an authority")
        off.add_argument("fingerprint")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "list":
                self._list()
            elif action == "add-ca":
                authority = trust.add_authority(options["file"].read_bytes(), name=options["name"])
                self.stdout.write(f"trusted: {authority.fingerprint} {authority.name}")
            elif action == "load-crl":
                loaded = trust.load_crl(options["file"].read_bytes())
                self.stdout.write(
                    f"CRL {loaded.number or '-'} of {loaded.authority.name}: "
                    f"{loaded.entries.count()} revoked, next update {loaded.next_update}"
                )
            else:
                authority = CertificateAuthority.objects.filter(
                    fingerprint=options["fingerprint"].lower()
                ).first()
                if authority is None:
                    raise CommandError("no authority with that fingerprint")
                trust.set_authority_active(authority, False)
                self.stdout.write(f"deactivated: {authority.fingerprint}")
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.first.message_en}") from exc
        except OSError as exc:
            raise CommandError(str(exc)) from exc

    def _list(self) -> None:
        now = timezone.now()
        for authority in CertificateAuthority.objects.order_by("name"):
            latest = authority.crls.defer("crl_der").order_by("-this_update").first()
            if latest is None:
                crl = "no CRL"
            elif latest.next_update and latest.next_update < now:
                crl = f"CRL OUT OF DATE since {latest.next_update:%Y-%m-%d %H:%M}"
            else:
                crl = (
                    f"CRL until {latest.next_update:%Y-%m-%d %H:%M}"
                    if latest.next_update
                    else "CRL"
                )
            state = "active" if authority.active else "inactive"
            self.stdout.write(
                f"{authority.fingerprint}  {state:8}  until {authority.not_after:%Y-%m-%d}  "
                f"{crl}  {authority.name}"
            )
