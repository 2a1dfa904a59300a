"""Management commands: create_org, create_user, create_token, totp."""

from __future__ import annotations

from io import StringIO

import pyotp
import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from ansinh.access.models import ApiToken, Organisation, User
from ansinh.access.testing import make_unit, make_user

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_create_org_user_token_and_use_it() -> None:
    make_unit("01")
    run("create_org", "BHXH-HN", "BHXH Hà Nội", "--kind", "province_office", "--scope", "01")
    org = Organisation.objects.get(code="BHXH-HN")
    assert list(org.scope_units.values_list("code", flat=True)) == ["01"]
    out = run("create_user", "lan", "--org", "BHXH-HN", "--role", "officer")
    password = out.splitlines()[-1].removeprefix("password: ")
    user = User.objects.get(username="lan")
    assert user.check_password(password) and user.organisation == org
    assert list(user.groups.values_list("name", flat=True)) == ["officer"]
    token = run("create_token", "lan", "batch", "--days", "7")
    row = ApiToken.objects.get(user=user)
    assert row.expires_at is not None and token.startswith(row.prefix)
    me = Client().get("/api/v1/access/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert me.json()["organisation"]["code"] == "BHXH-HN"


def test_commands_refuse_bad_input() -> None:
    with pytest.raises(CommandError):
        run("create_org", "X", "X", "--kind", "province_office", "--scope", "99")
    with pytest.raises(CommandError):
        run("create_user", "u", "--org", "NOPE")
    with pytest.raises(CommandError):
        run("create_user", "u", "--password", "123")
    with pytest.raises(CommandError):
        run("create_token", "ghost", "x")


def test_totp_prints_the_current_code_and_refuses_without_secret() -> None:
    secret = pyotp.random_base32()
    make_user("officer", username="tam", totp_secret=secret)
    assert pyotp.TOTP(secret).verify(run("totp", "tam"), valid_window=1)
    make_user("officer", username="moi")
    with pytest.raises(CommandError, match="no TOTP secret"):
        run("totp", "moi")
