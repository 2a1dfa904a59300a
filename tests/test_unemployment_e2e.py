"""Job loss to detected re-employment between two agencies, as they run it: the insurance agency
(VN/GOV/BHXH/benefits, with a small demo population) and the employment service centre
(VN/GOV/SNV-HN/unemployment), each a gunicorn server on 127.0.0.1 with its own SQLite database
and signing key, talking only through the exchange layer.

A person whose employment ended files a claim at the centre, which fetches the contribution
history from the insurance side, assesses, proposes and decides (Law 74/2025 for a 2026
termination). The insurance side is down when the decision is sent: the centre's outbox keeps it
and delivers it once the insurance side is back. The insurance side records the award, schedules
and pays the months, and when a new employer reports the person, its detector opens a case that
holds the payments and tells the centre; the centre sees the re-employment in its feed and
terminates the benefit. Every message verifies in both logs; a log row edited with raw SQL is
found."""

from __future__ import annotations

import json
import shutil
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sides import CENTRE, INSURANCE, Side

INSURANCE_GRANTS = (
    "bhtnHistory", "benefitHistory", "notifyDecision", "paymentStatus", "reemploymentFeed",
)  # fmt: skip

REEMPLOY = """
import datetime as dt
from ansinh.contributions import services as ledger
from ansinh.registry.models import Employer, Person
person = Person.objects.get(personal_id="{pid}")
worked = person.spells.values_list("employer_id", flat=True)
employer = Employer.objects.exclude(pk__in=list(worked)).order_by("pk").first()
ledger.report_increase(employer=employer, person=person, start=dt.date({y}, {m}, {d}),
                       contract_type="indefinite", salary=9_000_000)
print(employer.unit_code)
"""


class Api:
    """The centre's JSON API with a bearer token."""

    def __init__(self, side: Side, token: str) -> None:
        self.side, self.token = side, token

    def __call__(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - a local test server
            f"{self.side.url}/api/v1/unemployment{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture
def sides(tmp_path: Path) -> Iterator[tuple[Side, Side]]:
    centre = Side(tmp_path, "centre", CENTRE, None)
    insurance = Side(tmp_path, "insurance", INSURANCE, None)
    centre.ansinh("migrate", "--no-input", "-v", "0")
    centre.ansinh("bootstrap")
    for f in centre.dir.glob("ansinh.sqlite3*"):  # same schema and reference data
        shutil.copy(f, insurance.dir / f.name)
    insurance.ansinh("demo", "--if-missing", "--persons", "300", "--dossiers", "10")
    centre.ansinh("unemployment", "demo-centre")
    for side in (centre, insurance):
        side.ansinh("exchange", "init", "--member", side.member)
        (tmp_path / f"{side.dir.name}.pem").write_text(
            side.ansinh("exchange", "show", "--pem").stdout
        )
    for me, other, grants in (
        (insurance, centre, INSURANCE_GRANTS),
        (centre, insurance, ("benefitCase",)),
    ):
        key = str(tmp_path / f"{other.dir.name}.pem")
        me.ansinh("exchange", "peer-add", other.member, "--url", other.url, "--key", key)
        for service in grants:
            me.ansinh("exchange", "grant", other.member, service)
    try:
        centre.start()
        insurance.start()
        yield centre, insurance
    finally:
        centre.stop()
        insurance.stop()


def test_job_loss_claim_decision_payment_and_reemployment(
    sides: tuple[Side, Side], tmp_path: Path
) -> None:
    centre, insurance = sides
    applicants = tmp_path / "applicants.json"
    insurance.ansinh("unemployment", "applicants", "--count", "1", "--out", str(applicants))
    applicant = json.loads(applicants.read_text(encoding="utf-8"))[0]
    pid = applicant["personal_id"]
    api = Api(centre, centre.ansinh("create_token", "ttdvvl.gd", "e2e").stdout.strip())

    # The claim at the counter; the history comes from the insurance side over the exchange.
    status, claim = api("POST", "/claims", {**applicant, "channel": "counter"})
    assert status == 201, claim
    code = claim["code"]
    assert claim["state"] == "history_fetched", claim
    status, claim = api("POST", f"/claims/{code}/assess", {"version": claim["version"]})
    assert status == 200, claim
    assessment = claim["assessment"]
    assert assessment["eligible"] is True, assessment
    assert assessment["law"] == "74/2025"  # terminated in 2026 (Law 74/2025 Art. 39)
    status, claim = api("POST", f"/claims/{code}/propose", {"payment_method": "bank"})
    assert status == 200, claim

    # The insurance side goes down: the decision waits in the centre's outbox.
    insurance.stop()
    signed = {"number": "101/QĐ-SNV", "signed_on": claim["filed_on"], "signer_name": "Giám đốc"}
    status, decided = api("POST", f"/claims/{code}/decide", signed)
    assert status == 201, decided
    with sqlite3.connect(centre.dir / "ansinh.sqlite3") as db:
        waiting = db.execute(
            "SELECT state FROM exchange_outbox WHERE service = 'notifyDecision'"
        ).fetchall()
    assert waiting == [("pending",)]
    insurance.start()
    delivered = centre.json("exchange", "deliver")
    assert delivered["pending"] == 0, delivered

    # The award is there, once, with its months scheduled; the months due are paid.
    status, paid = api("GET", f"/claims/{code}/payments")
    assert status == 200, paid
    assert paid["status"] == "active" and paid["payments"], paid
    months = len(paid["payments"])
    insurance.ansinh("benefits", "pay", "--on", paid["payments"][0]["due_on"])
    status, paid = api("GET", f"/claims/{code}/payments")
    assert paid["payments"][0]["status"] == "paid", paid
    assert paid["health_card"] is not None  # the BHYT card for the benefit period

    # A new employer reports the person: the detector holds the payments and tells the centre.
    start = paid["payments"][0]["period_start"].split("-")
    script = REEMPLOY.format(pid=pid, y=int(start[0]), m=int(start[1]), d=int(start[2]))
    insurance.ansinh("shell", "-c", script)
    insurance.json("exchange", "deliver")
    status, paid = api("GET", f"/claims/{code}/payments")
    assert paid["held"] is True and paid["open_cases"], paid
    assert all(p["status"] in ("paid", "held") for p in paid["payments"]), paid
    with sqlite3.connect(centre.dir / "ansinh.sqlite3") as db:
        cases = db.execute("SELECT kind, status FROM unemployment_casenotice").fetchall()
    assert ("reemployed", "open") in cases

    # The centre reads the re-employment feed and terminates the benefit.
    centre.ansinh("unemployment", "poll")
    status, claim = api("GET", f"/claims/{code}")
    assert claim["reemployment"], claim
    ended = {
        "number": "102/QĐ-SNV",
        "signed_on": claim["filed_on"],
        "signer_name": "Giám đốc",
        "reason": "new_employment",
        "effective_on": paid["payments"][0]["period_end"],
    }
    status, done = api("POST", f"/claims/{code}/terminate", ended)
    assert status == 201, done
    centre.json("exchange", "deliver")
    status, paid = api("GET", f"/claims/{code}/payments")
    assert paid["status"] == "terminated", paid
    assert len(paid["payments"]) == months
    assert {p["status"] for p in paid["payments"][1:]} <= {"cancelled"}, paid

    # Every message verifies in both logs; an edited row is found.
    for side in (centre, insurance):
        assert side.json("exchange", "verify-log")["ok"] is True
    with sqlite3.connect(centre.dir / "ansinh.sqlite3") as db:
        row_id = db.execute("SELECT min(id) FROM exchange_logentry").fetchone()[0]
        db.execute("DROP TRIGGER exchange_logentry_no_update")
        db.execute("UPDATE exchange_logentry SET status = 299 WHERE id = ?", [row_id])
    broken = centre.ansinh("exchange", "verify-log", check=False)
    assert broken.returncode == 1 and json.loads(broken.stdout)["first_bad_id"] == row_id
