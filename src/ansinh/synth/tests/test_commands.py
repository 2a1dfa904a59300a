"""``ansinh generate`` and ``ansinh demo``."""

from __future__ import annotations

import io
from dataclasses import replace

import pyotp
import pytest
from django.core.management import CommandError, call_command

from ansinh.access.models import Organisation, User
from ansinh.registry.models import Employer, Person
from ansinh.synth import demo
from ansinh.synth.generator import parse_period

pytestmark = pytest.mark.usefixtures("small_province", "rules")


def test_generate_command_prints_a_summary_and_refuses_a_second_run() -> None:
    out = io.StringIO()
    call_command(
        "generate",
        "--persons=40",
        "--employers=4",
        "--months=2",
        "--seed=3",
        "--end=2026-05",
        verbosity=0,
        stdout=out,
    )
    text = out.getvalue()
    assert "persons: 40" in text and "ledger rows/s" in text
    assert Person.objects.count() == 40
    with pytest.raises(CommandError, match="--append"):
        call_command("generate", "--persons=5", "--employers=1", verbosity=0, stdout=out)


def test_demo_creates_organisations_and_one_user_per_role_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small = replace(
        demo.DEMO_PARAMS, persons=60, employers=5, months=2, end=parse_period("2026-05")
    )
    monkeypatch.setattr(demo, "DEMO_PARAMS", small)
    summary = demo.ensure_demo(params=small)
    assert summary is not None and summary.counts["persons"] == 60
    users = {u.username: u for u in User.objects.all()}
    assert set(users) == {d[1] for d in demo.DEMO_USERS}
    for username, user in users.items():
        assert user.check_password(demo.demo_password(username))
        assert user.totp_enabled and len(user.totp_secret) >= 16
        assert user.organisation is not None
    roles = {g for u in users.values() for g in u.groups.values_list("name", flat=True)}
    assert roles == {"officer", "manager", "auditor", "administrator", "employer", "ivan"}
    central = Organisation.objects.get(code="VSS")
    assert central.nationwide
    province = Organisation.objects.get(code="BHXH-01")
    assert list(province.scope_units.values_list("code", flat=True)) == ["01"]
    communes = Organisation.objects.filter(kind="commune_office")
    assert communes.count() == 2
    assert all(o.scope_units.get().level == "commune" for o in communes)
    employer_org = Organisation.objects.get(kind="employer")
    assert Employer.objects.filter(unit_code=employer_org.code).exists()
    # The command adds the one-stop and gateway demos (employers' organisations among them);
    # a second run adds nothing.
    call_command("demo", "--if-missing", verbosity=0, stdout=io.StringIO())
    orgs, people = Organisation.objects.count(), Person.objects.count()
    out = io.StringIO()
    call_command("demo", "--if-missing", verbosity=0, stdout=out)
    assert "already present" in out.getvalue()
    assert (Organisation.objects.count(), Person.objects.count()) == (orgs, people)


def test_demo_logins_print_password_and_a_working_totp_secret() -> None:
    with pytest.raises(CommandError):
        call_command("demo", "--logins", stdout=io.StringIO())
    demo.ensure_demo_users(demo.ensure_demo_organisations())
    out = io.StringIO()
    call_command("demo", "--logins", stdout=out)
    text = out.getvalue()
    user = User.objects.get(username="canbo.tinh")
    assert demo.demo_password("canbo.tinh") in text
    assert user.totp_secret in text
    assert pyotp.TOTP(user.totp_secret).now()  # a valid base32 secret
