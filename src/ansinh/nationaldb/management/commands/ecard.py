"""``ansinh ecard``: issuer keys, issuing cards, and checking a card offline.

    ansinh ecard keygen                      # new signing key (the previous one is retired)
    ansinh ecard withdraw KID                # a compromised key: unpublished, its cards revoked
    ansinh ecard issue SS_NUMBER | --all     # one person, or every active person without a card
    ansinh ecard jwks [--out FILE]           # the published keys, as served at /the-an-sinh/
    ansinh ecard revocations [--out FILE]    # the signed revocation list
    ansinh ecard verify TOKEN|URL|FILE.png|FILE.pdf --jwks FILE [--revocations FILE]

``verify`` needs no database when given ``--jwks``: it is the offline verifier. Exit status 0
for a valid card, 2 forged, 3 revoked, 4 expired.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ansinh.core.errors import DomainError
from ansinh.nationaldb import cardcheck, jws

EXIT_CODES = {cardcheck.VALID: 0, cardcheck.FORGED: 2, cardcheck.REVOKED: 3, cardcheck.EXPIRED: 4}


class Command(BaseCommand):
    help = "E-card keys, issuing, and offline verification (see docs/nationaldb.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("keygen", help="create and activate a new signing key")
        withdraw = sub.add_parser("withdraw", help="withdraw a compromised key")
        withdraw.add_argument("kid")
        issue = sub.add_parser("issue", help="issue a card to one person or to all")
        issue.add_argument("ss_number", nargs="?")
        issue.add_argument("--all", action="store_true", help="every active person without one")
        for name in ("jwks", "revocations"):
            p = sub.add_parser(name, help=f"write the {name} file")
            p.add_argument("--out", type=Path)
        verify = sub.add_parser("verify", help="check a card offline")
        verify.add_argument("card", help="token, check-page URL, or a PNG/PDF file")
        verify.add_argument("--jwks", type=Path, help="JWKS file (default: this database)")
        verify.add_argument("--revocations", type=Path, help="signed revocation list file")
        verify.add_argument("--at", help="check as of this ISO time (default: now)")
        verify.add_argument("--issuer", default=None, help="expected issuer (iss)")
        verify.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            getattr(self, f"_{action}")(options)
        except DomainError as exc:
            raise CommandError(f"{exc.first.code}: {exc.first.message_en}") from exc

    def _keygen(self, options: dict[str, Any]) -> None:
        from ansinh.nationaldb.services import create_signing_key

        key = create_signing_key()
        self.stdout.write(f"signing key {key.kid} active")

    def _withdraw(self, options: dict[str, Any]) -> None:
        from ansinh.nationaldb.services import withdraw_signing_key

        key, count = withdraw_signing_key(options["kid"])
        self.stdout.write(f"key {key.kid} withdrawn; {count} cards revoked")

    def _issue(self, options: dict[str, Any]) -> None:
        from ansinh.nationaldb import services
        from ansinh.registry.models import Person
        from ansinh.registry.selectors import find_person

        if options["all"]:
            persons = Person.objects.filter(status="active").order_by("id").iterator(2000)
            count = services.issue_ecards_bulk(persons)
            self.stdout.write(f"{count} cards issued")
            return
        person = find_person(options["ss_number"] or "")
        if person is None:
            raise CommandError("no such person")
        card = services.issue_ecard(person)
        self.stdout.write(card.token)

    def _write(self, text: str, out: Path | None) -> None:
        if out is None:
            self.stdout.write(text)
        else:
            out.write_text(text + "\n", encoding="utf-8")

    def _jwks(self, options: dict[str, Any]) -> None:
        from ansinh.nationaldb.selectors import jwks

        self._write(json.dumps(jwks(), indent=1), options["out"])

    def _revocations(self, options: dict[str, Any]) -> None:
        from ansinh.nationaldb.selectors import revocation_list

        self._write(revocation_list(), options["out"])

    def _verify(self, options: dict[str, Any]) -> None:
        from ansinh.nationaldb.render import token_from_path

        given = options["card"]
        token = cardcheck.find_token(given)
        if not token:
            path = Path(given)
            if not path.is_file():
                raise CommandError(f"neither a card token nor a file: {given[:60]}")
            token = token_from_path(path)
        now = dt.datetime.now(dt.UTC)
        if options["at"]:
            now = dt.datetime.fromisoformat(options["at"])
            if now.tzinfo is None:
                raise CommandError("--at needs a time zone, e.g. 2026-11-01T09:00+07:00")
        if options["jwks"]:
            keys = jws.keys_from_jwks(json.loads(options["jwks"].read_text(encoding="utf-8")))
        else:
            from ansinh.nationaldb.selectors import public_keys

            keys = public_keys()
        revoked: set[str] = set()
        if options["revocations"]:
            try:
                revoked, _issued = cardcheck.revoked_ids(
                    options["revocations"].read_text(encoding="utf-8"), keys
                )
            except jws.JwsError as exc:
                raise CommandError(f"revocation list does not verify: {exc.code}") from exc
        result = (
            cardcheck.check_token(token, keys, now=now, revoked=revoked, issuer=options["issuer"])
            if token
            else cardcheck.CardCheck(cardcheck.FORGED, reason="no_token_found")
        )
        self._report(result, as_json=options["json"])
        sys.exit(EXIT_CODES[result.status])

    def _report(self, result: cardcheck.CardCheck, *, as_json: bool) -> None:
        claims = result.claims
        data: dict[str, Any] = {"status": result.status, "reason": result.reason, "kid": result.kid}
        if claims is not None:
            data["claims"] = {
                "card_id": claims.card_id,
                "ss_number": claims.ss_number,
                "name": claims.name,
                "date_of_birth": claims.date_of_birth.isoformat(),
                "issued_at": claims.issued_at.isoformat(),
                "expires_at": claims.expires_at.isoformat(),
                "coverage": list(claims.coverage),
                "programmes": list(claims.programmes),
                "issuer": claims.issuer,
            }
        if as_json:
            self.stdout.write(json.dumps(data, ensure_ascii=False))
            return
        self.stdout.write(
            f"status: {result.status}" + (f" ({result.reason})" if result.reason else "")
        )
        for key, value in data.get("claims", {}).items():
            self.stdout.write(f"{key}: {value}")
