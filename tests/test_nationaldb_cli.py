"""``ansinh ecard verify`` as an offline verifier would run it: a separate process with only the
published key set (JWKS) and, optionally, the signed revocation list, given a token, the check
page's URL, the QR code as a PNG or the PDF card. Exit status: 0 valid, 2 forged, 3 revoked,
4 expired."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from ansinh.nationaldb import cardcheck, jws, render, services
from ansinh.places.testing import admin_units, admin_units_package  # noqa: F401
from ansinh.registry.testing import make_person

pytestmark = pytest.mark.django_db
VN = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = dt.datetime(2026, 10, 1, 9, 0, tzinfo=VN)
T1 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=VN)


@pytest.fixture(autouse=True)
def _setup(admin_units: None, settings: Any, tmp_path: Path) -> None:  # noqa: F811
    settings.NATIONALDB_KEY_DIR = str(tmp_path / "keys")


def _verify(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="ansinh.settings", ANSINH_DATA_DIR=str(tmp_path / "cli"))
    done = subprocess.run(
        [sys.executable, "-m", "ansinh.cli", "ecard", "verify", "--json", *args],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def test_offline_verification_of_token_url_png_and_pdf(tmp_path: Path) -> None:
    call_command("ecard", "keygen")
    person = make_person(full_name="Võ Thị Hạnh")
    card = services.issue_ecard(person, at=T1)
    revoked = services.issue_ecard(make_person(), at=T0)
    services.revoke_ecard(revoked, reason="lost", at=T1)
    jwks_file, list_file = tmp_path / "jwks.json", tmp_path / "thu-hoi.jws"
    call_command("ecard", "jwks", "--out", str(jwks_file))
    call_command("ecard", "revocations", "--out", str(list_file))
    url = render.check_url("https://ansinh.example.vn", "/the-an-sinh/kiem-tra/", card.token)
    (tmp_path / "card.png").write_bytes(render.qr_png(url))
    claims = cardcheck.parse_claims(jws.split(card.token)[1])
    (tmp_path / "card.pdf").write_bytes(render.card_pdf(render.CardFace(claims, url)))
    common = ["--jwks", str(jwks_file), "--revocations", str(list_file)]

    for given in (card.token, url, str(tmp_path / "card.png"), str(tmp_path / "card.pdf")):
        code, out = _verify(tmp_path, given, *common)
        assert code == 0 and out["status"] == "valid", given
        assert out["claims"]["name"] == "Võ Thị Hạnh" and out["claims"]["card_id"] == card.card_id

    code, out = _verify(tmp_path, revoked.token, *common)
    assert (code, out["status"]) == (3, "revoked")
    code, out = _verify(tmp_path, revoked.token, "--jwks", str(jwks_file))  # without the list
    assert (code, out["status"]) == (0, "valid")

    i = 40
    altered = card.token[:i] + ("x" if card.token[i] != "x" else "y") + card.token[i + 1 :]
    code, out = _verify(tmp_path, altered, *common)
    assert (code, out["status"]) == (2, "forged") and "claims" not in out

    code, out = _verify(tmp_path, card.token, *common, "--at", "2028-01-01T00:00+07:00")
    assert (code, out["status"]) == (4, "expired")

    # Key rotation: a new key signs new cards, the old card still verifies with the new JWKS.
    call_command("ecard", "keygen")
    newer = services.issue_ecard(make_person(), at=T1)
    call_command("ecard", "jwks", "--out", str(jwks_file))
    for token in (card.token, newer.token):
        assert _verify(tmp_path, token, "--jwks", str(jwks_file))[0] == 0
    assert jws.split(newer.token)[0]["kid"] != jws.split(card.token)[0]["kid"]

    # A list altered on its way is refused rather than trusted.
    list_file.write_text(list_file.read_text()[:-5] + "AAAAA")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="ansinh.settings", ANSINH_DATA_DIR=str(tmp_path / "cli"))
    done = subprocess.run(
        [sys.executable, "-m", "ansinh.cli", "ecard", "verify", card.token, *common],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert done.returncode != 0 and "revocation list does not verify" in done.stderr
