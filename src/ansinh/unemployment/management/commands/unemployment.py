"""``ansinh unemployment …``: the centre side from the command line.

demo [--count 3] [--province 01] [--no-fetch] [--applicants FILE]
                                                a centre and claims for persons of the demo data
                                                whose employment ended lately (not on a pension),
                                                or for the applicants listed in FILE
demo-centre [--province 01]                     the centre, its office and demo logins only
applicants [--count 3] --out FILE               write such applicants from this deployment's
                                                registry (the insurance side's, in a two-
                                                deployment demo) for `demo --applicants`
retry                                           fetch the histories still pending
poll                                            read the insurance side's re-employment feed
advance [--date YYYY-MM-DD]                     start/complete benefits, check monthly reports
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from ansinh.access.models import Organisation, OrganisationKind
from ansinh.access.services import create_organisation
from ansinh.core.errors import DomainError
from ansinh.onestop import services as onestop
from ansinh.onestop.models import Office
from ansinh.unemployment import services
from ansinh.unemployment.models import CentreProfile, Claim


def demo_centre(province: str) -> Office:
    """The province's Employment Service Centre (created once; names are demo data)."""
    code = f"TTDVVL-{province}"
    org = Organisation.objects.filter(code=code).first()
    if org is None:
        org = create_organisation(
            code=code,
            name=f"Trung tâm Dịch vụ việc làm tỉnh/thành phố {province}",
            kind=OrganisationKind.EMPLOYMENT_CENTRE,
            scope_codes=(province,),
        )
    office = Office.objects.filter(organisation=org).first()
    if office is None:
        onestop.sync_catalogue()
        office = onestop.create_office(
            organisation=org,
            agency_code=f"000.00.{int(province) % 100:02d}.V{int(province) % 100:02d}",
            province_code=province,
            place="Hà Nội" if province == "01" else f"Tỉnh {province}",
            departments=(("MOTCUA", "Bộ phận một cửa"), ("BHTN", "Phòng Bảo hiểm thất nghiệp")),
            superior_name=f"Sở Nội vụ tỉnh/thành phố {province}",
        )
        CentreProfile.objects.create(
            office=office,
            issuer_superior=f"ỦY BAN NHÂN DÂN TỈNH/THÀNH PHỐ {province}",
            issuer_name="SỞ NỘI VỤ",
            signer_title="GIÁM ĐỐC",
            signer_name="Giám đốc Sở (demo)",
            insurance_office_name=f"Bảo hiểm xã hội tỉnh/thành phố {province}",
            paying_office=province,
        )
    return office


def ended_spells(count: int, today: dt.date) -> list[Any]:
    """Recently ended spells of persons with a personal id, newest first, not retirements."""
    from ansinh.registry.models import EmploymentSpell

    qs = (
        EmploymentSpell.objects.filter(
            end__isnull=False, end__lte=today, person__personal_id__isnull=False
        )
        .exclude(termination_reason="retirement")
        .select_related("person")
        .order_by("-end", "pk")
    )
    out, seen = [], set()
    for spell in qs[: count * 20]:
        pid = spell.person.personal_id
        if pid in seen or Claim.objects.filter(personal_id=pid, termination_date=spell.end):
            continue
        seen.add(pid)
        out.append(spell)
        if len(out) == count:
            break
    return out


def applicant_rows(count: int) -> list[dict[str, str]]:
    """What an applicant brings to the counter, for persons whose employment ended lately."""
    return [
        {
            "personal_id": s.person.personal_id,
            "full_name": s.person.full_name,
            "birth_date": s.person.date_of_birth.isoformat(),
            "termination_date": s.end.isoformat(),
            "termination_reason": s.termination_reason or "other",
            "contract_type": s.contract_type,
        }
        for s in ended_spells(count, timezone.localdate())
    ]


class Command(BaseCommand):
    help = "Unemployment benefit claims (centre side): demo claims, retries, feed, daily steps."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        p = sub.add_parser("demo")
        p.add_argument("--count", type=int, default=3)
        p.add_argument("--province", default="01")
        p.add_argument("--no-fetch", action="store_true")
        p.add_argument("--applicants", default="", help="JSON file from `applicants`")
        p = sub.add_parser("demo-centre")
        p.add_argument("--province", default="01")
        p = sub.add_parser("applicants")
        p.add_argument("--count", type=int, default=3)
        p.add_argument("--out", required=True)
        sub.add_parser("retry")
        sub.add_parser("poll")
        p = sub.add_parser("advance")
        p.add_argument("--date", default="")

    def handle(self, *args: Any, **opts: Any) -> None:
        action = opts["action"]
        try:
            if action == "demo":
                self._demo(
                    opts["count"], opts["province"], not opts["no_fetch"], opts["applicants"]
                )
            elif action == "demo-centre":
                self._demo_centre(opts["province"])
            elif action == "applicants":
                self._applicants(opts["count"], opts["out"])
            elif action == "retry":
                self.stdout.write(f"retried {services.retry_pending_histories()}")
            elif action == "poll":
                self.stdout.write(f"flagged {services.poll_reemployment()}")
            elif action == "advance":
                day = dt.date.fromisoformat(opts["date"]) if opts["date"] else None
                moved = services.advance_claims(day)
                made = services.check_reports(day)
                self.stdout.write(f"moved {moved}, report decisions {made}")
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.first.message_en}") from exc

    def _demo_centre(self, province: str) -> Office:
        from ansinh.access.services import ensure_roles
        from ansinh.synth.demo import ensure_demo_users

        with transaction.atomic():
            ensure_roles()
            centre = demo_centre(province)
            ensure_demo_users({"centre": centre.organisation})
        self.stdout.write(f"centre {centre.organisation.code}: office and demo logins ready")
        return centre

    def _applicants(self, count: int, out: str) -> None:
        """Persons whose employment ended lately, as they would walk into the centre."""
        rows = applicant_rows(count)
        Path(out).write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
        self.stdout.write(f"{len(rows)} applicants written")

    def _demo(self, count: int, province: str, fetch: bool, applicants: str = "") -> None:
        centre = self._demo_centre(province)
        if applicants:
            rows = json.loads(Path(applicants).read_text(encoding="utf-8"))
        else:
            rows = applicant_rows(count)
        if not rows:
            raise CommandError("no ended employment spell with a personal id in the data")
        for row in rows:
            ended = dt.date.fromisoformat(row["termination_date"])
            if Claim.objects.filter(personal_id=row["personal_id"], termination_date=ended):
                continue  # filed by an earlier run
            claim = services.file_claim(
                office=centre,
                applicant=services.Applicant(
                    personal_id=row["personal_id"],
                    full_name=row["full_name"],
                    birth_date=dt.date.fromisoformat(row["birth_date"]),
                ),
                termination_date=ended,
                termination_reason=row["termination_reason"],
                contract_type=row["contract_type"],
                fetch=fetch,
            )
            self.stdout.write(
                f"{claim.code} state={claim.state} ended={ended} reason={claim.termination_reason}"
            )
