"""Verification against the population registry, with the stand-in (``ansinh popreg serve``)
running as a real process on 127.0.0.1 and signed requests and answers both ways: match, name
mismatch (the registry compares names exactly, diacritics included), unknown, deceased, a
client the registry does not trust, an answer with a bad signature, and the service down —
which leaves a pending check that the batch command retries."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command

from ansinh.access.models import AuditEvent
from ansinh.access.testing import make_user
from ansinh.nationaldb import keys
from ansinh.nationaldb.models import PopulationCheck
from ansinh.nationaldb.services import verify_person
from ansinh.places.testing import admin_units, admin_units_package  # noqa: F401
from ansinh.registry.testing import make_person

pytestmark = pytest.mark.django_db
VN = ZoneInfo("Asia/Ho_Chi_Minh")
AT = dt.datetime(2026, 11, 2, 10, 0, tzinfo=VN)


@pytest.fixture(autouse=True)
def _units(admin_units: None) -> None:  # noqa: F811 - the fixture imported above
    """The real administrative units, loaded once for the module's tests."""


@dataclass
class Registry:
    url: str
    process: subprocess.Popen[str]
    dir: Path
    data: Path


def _keys(directory: Path) -> None:
    for name in ("server", "client"):
        private = Ed25519PrivateKey.generate()
        keys.write_private_pem(directory / f"{name}.key", private)
        keys.write_public_pem(directory / f"{name}.pub", private.public_key())


def _start(directory: Path, data: Path, *extra: str) -> tuple[str, subprocess.Popen[str]]:
    process = subprocess.Popen(
        [
            sys.executable, "-m", "ansinh.nationaldb.popreg", "serve", "--port", "0",
            "--data", str(data), "--key", str(directory / "server.key"),
            "--client", f"ansinh={directory / 'client.pub'}", *extra,
        ],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("popreg listening on "), process.stderr.read() if process.stderr else ""
    return line.split()[-1], process


@pytest.fixture
def registry(tmp_path: Path, settings: Any) -> Iterator[Registry]:
    _keys(tmp_path)
    data = tmp_path / "population.jsonl"
    data.write_text("", encoding="utf-8")
    url, process = _start(tmp_path, data)
    settings.NATIONALDB_POPREG_URL = url
    settings.NATIONALDB_POPREG_CLIENT_KEY = str(tmp_path / "client.key")
    settings.NATIONALDB_POPREG_SERVER_KEY = str(tmp_path / "server.pub")
    settings.NATIONALDB_POPREG_TIMEOUT = 5
    running = Registry(url, process, tmp_path, data)
    yield running
    running.process.terminate()  # the process now running: a test may have restarted it
    running.process.wait(10)


def _restart_with(registry: Registry, rows: list[dict[str, str]], settings: Any) -> None:
    """Load a population file: the server reads it at start."""
    registry.process.terminate()
    registry.process.wait(10)
    registry.data.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    registry.url, registry.process = _start(registry.dir, registry.data)
    settings.NATIONALDB_POPREG_URL = registry.url


def _row(person: Any, **over: str) -> dict[str, str]:
    row = {
        "id": person.personal_id,
        "name": person.full_name,
        "dob": person.date_of_birth.isoformat(),
        "status": "alive",
    }
    row.update(over)
    return row


def test_match_mismatch_unknown_and_deceased(registry: Registry, settings: Any) -> None:
    officer = make_user("officer")
    same = make_person(full_name="Nguyễn Văn An", date_of_birth=dt.date(1985, 4, 12))
    accents = make_person(full_name="Nguyen Van Binh", date_of_birth=dt.date(1990, 1, 2))
    wrong_dob = make_person(full_name="Trần Thị Cúc", date_of_birth=dt.date(1979, 3, 4))
    dead = make_person(full_name="Lê Văn Dũng", date_of_birth=dt.date(1950, 6, 7))
    stranger = make_person(full_name="Phạm Văn Em")
    _restart_with(
        registry,
        [
            # NFD form and different case: the same name.
            _row(same, name="nguyễn văn an".upper().replace("Ễ", "E\u0302\u0303")),
            _row(accents, name="Nguyễn Văn Bình"),  # the registry has the diacritics
            _row(wrong_dob, dob="1979-04-03"),
            _row(dead, status="deceased"),
        ],
        settings,
    )
    check = verify_person(same, actor=officer, at=AT)
    assert (check.state, check.outcome) == ("answered", "match")
    assert (check.id_result, check.name_result, check.dob_result) == ("match",) * 3
    assert check.answered_at == AT

    check = verify_person(accents, at=AT)
    assert check.outcome == "mismatch"
    assert (check.id_result, check.name_result, check.dob_result) == (
        "match",
        "mismatch",
        "match",
    )
    check = verify_person(wrong_dob, at=AT)
    assert (check.outcome, check.name_result, check.dob_result) == ("mismatch", "match", "mismatch")
    check = verify_person(dead, at=AT)
    assert check.outcome == "deceased" and check.name_result == "match"
    check = verify_person(stranger, at=AT)
    assert check.outcome == "unknown" and check.id_result == ""
    # The audit log keeps who asked and the outcome, never the name or the number.
    event = AuditEvent.objects.get(object_type="population_check")
    assert event.detail["outcome"] == "match"
    assert same.full_name not in json.dumps(event.detail, ensure_ascii=False)
    # The registry's log holds request ids and outcomes only.
    registry.process.terminate()
    _out, err = registry.process.communicate(timeout=10)
    assert "answered: match" in err
    for person in (same, accents, wrong_dob, dead, stranger):
        assert person.personal_id not in err and person.full_name not in err


def test_an_untrusted_client_and_a_forged_answer(registry: Registry, settings: Any) -> None:
    person = make_person()
    _restart_with(registry, [_row(person)], settings)
    stranger_key = registry.dir / "stranger.key"
    keys.write_private_pem(stranger_key, Ed25519PrivateKey.generate())
    settings.NATIONALDB_POPREG_CLIENT_KEY = str(stranger_key)
    check = verify_person(person, at=AT)
    assert (check.state, check.error) == ("pending", "rejected")  # 401, signed by the registry

    settings.NATIONALDB_POPREG_CLIENT_KEY = str(registry.dir / "client.key")
    keys.write_public_pem(registry.dir / "fake.pub", Ed25519PrivateKey.generate().public_key())
    settings.NATIONALDB_POPREG_SERVER_KEY = str(registry.dir / "fake.pub")
    check = verify_person(person, at=AT)
    assert (check.state, check.error) == ("pending", "bad_signature")

    settings.NATIONALDB_POPREG_SERVER_KEY = str(registry.dir / "server.pub")
    assert verify_person(person, at=AT).outcome == "match"


def test_a_replayed_request_is_refused(registry: Registry, settings: Any) -> None:
    from ansinh.nationaldb.client import PopregError, default_client

    person = make_person()
    _restart_with(registry, [_row(person)], settings)
    client = default_client()
    ask = {
        "request_id": "5f0b7c8e-0000-4000-8000-000000000001",
        "personal_id": person.personal_id,
        "full_name": person.full_name,
        "date_of_birth": person.date_of_birth,
    }
    assert client.verify(**ask).outcome == "match"
    with pytest.raises(PopregError) as err:
        client.verify(**ask)
    assert err.value.code == "rejected"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_service_down_leaves_a_pending_check_that_the_batch_retries(
    registry: Registry, settings: Any, capsys: Any
) -> None:
    persons = [make_person() for _ in range(3)]
    make_person(personal_id=None, nationality="KR")  # no personal ID: not asked
    registry.process.terminate()
    registry.process.wait(10)
    settings.NATIONALDB_POPREG_URL = f"http://127.0.0.1:{_free_port()}"
    call_command("popreg", "verify")
    assert set(PopulationCheck.objects.values_list("state", "error")) == {
        ("pending", "service_down")
    }
    assert PopulationCheck.objects.count() == 3
    # Back up with the ground truth exported from this database.
    call_command("popreg", "export", "--out", str(registry.data), "--deceased-share", "0")
    registry.url, registry.process = _start(registry.dir, registry.data)
    settings.NATIONALDB_POPREG_URL = registry.url
    call_command("popreg", "verify")  # nothing new: every person has a check already
    assert PopulationCheck.objects.count() == 3
    call_command("popreg", "verify", "--pending")
    out = capsys.readouterr().out
    assert "3 persons: match 3" in out
    latest = [p.population_checks.order_by("-id").first() for p in persons]
    assert [c.outcome for c in latest] == ["match"] * 3
    with pytest.raises(Exception) as err:
        verify_person(type(persons[0]).objects.get(personal_id__isnull=True), at=AT)
    assert getattr(err.value, "code", "") == "no_personal_id"


def test_a_registry_that_does_not_answer_times_out(settings: Any, tmp_path: Path) -> None:
    _keys(tmp_path)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection, never answers
    try:
        settings.NATIONALDB_POPREG_URL = f"http://127.0.0.1:{silent.getsockname()[1]}"
        settings.NATIONALDB_POPREG_CLIENT_KEY = str(tmp_path / "client.key")
        settings.NATIONALDB_POPREG_SERVER_KEY = str(tmp_path / "server.pub")
        settings.NATIONALDB_POPREG_TIMEOUT = 0.5
        check = verify_person(make_person(), at=AT)
    finally:
        silent.close()
    assert (check.state, check.error) == ("pending", "timeout")


def test_not_configured_is_pending_too(settings: Any) -> None:
    settings.NATIONALDB_POPREG_URL = ""
    check = verify_person(make_person(), at=AT)
    assert (check.state, check.error) == ("pending", "not_configured")


POPREG_MEMBER = "VN/GOV/C06/popreg"


def test_through_the_exchange_layer(registry: Registry, settings: Any) -> None:
    """With the registry registered as an exchange peer, the question goes to its
    ``verifyIdentity`` service signed per RFC 9421 both ways and lands in the hash-chained
    message log; an answer signed by another key is not trusted (the check stays pending)."""
    from ansinh.exchange import keys as exchange_keys
    from ansinh.exchange import log as message_log
    from ansinh.exchange import services as exchange
    from ansinh.exchange.ids import MemberId
    from ansinh.exchange.models import LogEntry

    settings.EXCHANGE_KEY_FILE = str(registry.dir / "exchange" / "signing_key.pem")
    settings.EXCHANGE_CERT_FILE = ""
    ours = exchange.init_identity(MemberId.parse("VN/GOV/BHXH/nationaldb")).identity
    (registry.dir / "ansinh-exchange.pem").write_text(ours.public_key_pem, encoding="utf-8")
    person = make_person(full_name="Đỗ Thị Hoa")
    registry.process.terminate()
    registry.process.wait(10)
    registry.data.write_text(json.dumps(_row(person), ensure_ascii=False) + "\n", "utf-8")
    registry.url, registry.process = _start(
        registry.dir,
        registry.data,
        "--member", POPREG_MEMBER,
        "--peer", f"VN/GOV/BHXH/nationaldb={registry.dir / 'ansinh-exchange.pem'}",
    )  # fmt: skip
    peer = exchange.add_peer(
        MemberId.parse(POPREG_MEMBER),
        base_url=registry.url,
        public_key_pem=(registry.dir / "server.pub").read_text(),
    )
    settings.NATIONALDB_POPREG_MEMBER = POPREG_MEMBER
    settings.NATIONALDB_POPREG_URL = ""  # the popreg door is not used

    check = verify_person(person, at=AT)
    assert (check.state, check.outcome) == ("answered", "match")
    logged = list(LogEntry.objects.order_by("id").values_list("kind", "outcome", "service"))
    assert logged == [
        ("request", "ok", f"{POPREG_MEMBER}/verifyIdentity"),
        ("response", "ok", f"{POPREG_MEMBER}/verifyIdentity"),
    ]
    assert message_log.verify().ok

    # The registry's key as we know it is replaced by another: its answers are not trusted.
    exchange.add_peer(
        peer.member_id,
        base_url=registry.url,
        public_key_pem=exchange_keys.public_pem(Ed25519PrivateKey.generate().public_key()),
    )
    check = verify_person(person, at=AT)
    assert (check.state, check.error) == ("pending", "bad_signature")

    # A caller the registry does not know gets a signed refusal: rejected, pending.
    exchange.add_peer(
        peer.member_id,
        base_url=registry.url,
        public_key_pem=(registry.dir / "server.pub").read_text(),
    )
    settings.EXCHANGE_KEY_FILE = str(registry.dir / "other" / "signing_key.pem")
    exchange.init_identity(MemberId.parse("VN/GOV/BHXH/nationaldb"))
    check = verify_person(person, at=AT)
    assert (check.state, check.error) == ("pending", "rejected")
