"""``ansinh popreg``: the population-registry stand-in and ansinh's checks against it.

    ansinh popreg keygen [--out DIR]          # key pairs of the registry and of ansinh
    ansinh popreg export --out FILE           # the ground truth, from this database
    ansinh popreg serve --port N --data FILE --key server.key --client ansinh=client.pub
    ansinh popreg verify [--pending] [--limit N] [--province 01]   # a batch, with progress

``serve`` runs the Django-free server (``python -m ansinh.nationaldb.popreg serve`` is the
same). The default key directory is ``NATIONALDB_KEY_DIR/popreg`` — where the client looks for
``client.key`` and ``server.pub`` when the settings name no files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import OuterRef, Q, Subquery
from tqdm import tqdm

from ansinh.core.errors import DomainError
from ansinh.nationaldb import keys
from ansinh.nationaldb.popreg import server


class Command(BaseCommand):
    help = "Population-registry stand-in: keys, export, serve, and batch verification."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        keygen = sub.add_parser("keygen", help="create the registry's and ansinh's key pairs")
        keygen.add_argument("--out", type=Path)
        export = sub.add_parser("export", help="write the population file from this database")
        export.add_argument("--out", type=Path, required=True)
        export.add_argument(
            "--deceased-share",
            type=float,
            default=0.001,
            help="share of persons the registry knows as deceased although ansinh does not",
        )
        export.add_argument("--seed", type=int, default=6)
        serve = sub.add_parser("serve", help="run the stand-in HTTP service")
        server.add_serve_arguments(serve)  # type: ignore[arg-type]
        verify = sub.add_parser("verify", help="verify a batch of persons")
        verify.add_argument("--pending", action="store_true", help="retry pending checks only")
        verify.add_argument("--limit", type=int, default=0)
        verify.add_argument("--province", default="", help="current province code")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _keygen(self, options: dict[str, Any]) -> None:
        out = options["out"] or keys.key_dir() / "popreg"
        for name in ("server", "client"):
            if (out / f"{name}.key").exists():
                raise CommandError(f"{out / f'{name}.key'} exists; not overwritten")
        for name in ("server", "client"):
            private = Ed25519PrivateKey.generate()
            keys.write_private_pem(out / f"{name}.key", private)
            keys.write_public_pem(out / f"{name}.pub", private.public_key())
        self.stdout.write(f"keys written to {out}")

    def _export(self, options: dict[str, Any]) -> None:
        from ansinh.registry.models import Person, PersonStatus

        share, seed = options["deceased_share"], options["seed"]
        count = 0
        rows = (
            Person.objects.filter(personal_id__isnull=False)
            .order_by("id")
            .values_list("personal_id", "full_name", "date_of_birth", "status")
        )
        with options["out"].open("w", encoding="utf-8") as fh:
            for pid, name, dob, status in rows.iterator(5000):
                draw = int(hashlib.sha256(f"{seed}:{pid}".encode()).hexdigest()[:8], 16) / 2**32
                dead = status == PersonStatus.DECEASED or draw < share
                row = {
                    "id": pid,
                    "name": name,
                    "dob": dob.isoformat(),
                    "status": "deceased" if dead else "alive",
                }
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
        self.stdout.write(f"{count} persons written to {options['out']}")

    def _serve(self, options: dict[str, Any]) -> None:
        server.serve(argparse.Namespace(**options))

    def _verify(self, options: dict[str, Any]) -> None:
        from ansinh.nationaldb.client import default_client
        from ansinh.nationaldb.models import PopulationCheck
        from ansinh.nationaldb.services import verify_person
        from ansinh.registry.models import Person

        persons = Person.objects.filter(personal_id__isnull=False, status="active")
        if options["province"]:
            persons = persons.filter(address_unit__province_code=options["province"])
        latest = PopulationCheck.objects.filter(person=OuterRef("pk")).order_by(
            "-requested_at", "-id"
        )
        persons = persons.annotate(last_state=Subquery(latest.values("state")[:1]))
        if options["pending"]:
            persons = persons.filter(last_state="pending")
        else:
            persons = persons.filter(Q(last_state__isnull=True))
        persons = persons.order_by("id")
        if options["limit"]:
            persons = persons[: options["limit"]]
        client = default_client()
        counts: Counter[str] = Counter()
        total = persons.count()
        for person in tqdm(persons.iterator(500), total=total, unit="person", disable=total < 2):
            try:
                check = verify_person(person, client=client)
            except DomainError as exc:
                counts[exc.code] += 1
                continue
            counts[check.outcome or f"pending:{check.error}"] += 1
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing to do"
        self.stdout.write(f"{total} persons: {summary}")
