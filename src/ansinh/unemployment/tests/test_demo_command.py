"""``ansinh unemployment demo`` files claims for persons whose employment ended."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from ansinh.registry.models import EmploymentSpell
from ansinh.registry.testing import make_employer, make_person
from ansinh.unemployment.models import Claim

pytestmark = pytest.mark.django_db


def test_demo_files_claims_for_ended_spells() -> None:
    employer = make_employer()
    for i, reason in enumerate(("contract_end", "retirement", "resigned")):
        person = make_person(full_name=f"Người Thử {'ABC'[i]}")
        EmploymentSpell.objects.create(
            person=person,
            employer=employer,
            contract_type="fixed",
            start=dt.date(2023, 1, 1),
            end=dt.date(2026, 10, 31),
            termination_reason=reason,
        )
    out = StringIO()
    call_command("unemployment", "demo", "--count", "5", "--no-fetch", stdout=out)
    claims = list(Claim.objects.order_by("termination_reason"))
    assert [c.termination_reason for c in claims] == ["contract_end", "resigned"]  # no pension
    assert all(c.state == "received" and c.office.organisation.code == "TTDVVL-01" for c in claims)
    assert "Người Thử" not in out.getvalue()  # no names on the console
    # Run again: nothing filed twice.
    with pytest.raises(Exception, match="no ended employment spell"):
        call_command("unemployment", "demo", "--count", "5", "--no-fetch", stdout=StringIO())
