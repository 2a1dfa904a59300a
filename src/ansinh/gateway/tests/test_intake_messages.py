"""On PostgreSQL, outside any transaction (as the intake API calls it), an accepted dossier is
stored in two messages (``core.sqlscript``): the same rows as the statement-by-statement path,
numbered the same way, and nothing left behind by a replay or a failure (Decree 166/2016/NĐ-CP
Art. 9: the receipt states what was received; the dossier, its rows and its receipt stand or
fall together)."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any
from unittest import mock

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from ansinh.core import sqlscript
from ansinh.gateway import formats, services
from ansinh.gateway import testing as gw
from ansinh.gateway.models import Attachment, Submission, SubmissionEvent, SubmissionRow, Verdict
from ansinh.onestop import signals
from ansinh.onestop.models import DailySequence, Dossier, DossierTransition
from ansinh.onestop.testing import make_office
from ansinh.registry.testing import make_employer, make_person

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the combined path runs outside any transaction
    pytest.mark.skipif(connection.vendor != "postgresql", reason="messages of PostgreSQL"),
]

# Columns that differ between two receptions by nature: keys, times, numbers, references.
_VARYING = {
    "id",
    "submission",
    "submission_id",
    "dossier",
    "dossier_id",
    "code",
    "external_ref",
    "received_at",
    "counted_from",
    "due_at",
    "at",
    "transaction_id",
    "raw",
    "size",
    "digest",
    "receipt_xml",
    "note",
    "detail",
    "verify_ms",
    "warning",
}


@pytest.fixture
def world() -> dict[str, Any]:
    office = make_office(province_code="01")
    gw.trust_test_ca()
    employer = make_employer(tax_code="0101234567")
    gw.register_etrans(employer)
    return {"office": office, "employer": employer, "org": gw.employer_org(employer)}


def _package(employer: Any, tx: str, people: list[Any]) -> bytes:
    scan = b"%PDF-1.4 scanned contract"
    doc = formats.AttachmentData(
        name="hop-dong.pdf",
        media_type="application/pdf",
        digest=hashlib.sha256(scan).hexdigest(),
        content=scan,
    )
    rows = [gw.increase_row(i, p) for i, p in enumerate(people, start=1)]
    package = dataclasses.replace(
        gw.package_600(employer, rows, transaction_id=tx), attachments=[doc]
    )
    return gw.signed(package, gw.employer_identity(employer))


def _fields(obj: Any) -> dict[str, Any]:
    return {
        f.attname: getattr(obj, f.attname)
        for f in type(obj)._meta.concrete_fields
        if f.attname not in _VARYING and f.name not in _VARYING
    }


def _stored(sub: Submission) -> dict[str, Any]:
    dossier = Dossier.objects.get(pk=sub.dossier_id)
    return {
        "submission": _fields(Submission.objects.get(pk=sub.pk)),
        "dossier": _fields(dossier),
        "steps": [_fields(t) for t in DossierTransition.objects.filter(dossier=dossier)],
        "rows": [_fields(r) for r in SubmissionRow.objects.filter(submission=sub)],
        "attachments": [_fields(a) for a in Attachment.objects.filter(submission=sub)],
        "events": [
            _fields(e) for e in SubmissionEvent.objects.filter(submission=sub).order_by("id")
        ][:3],
    }


@pytest.fixture
def unprocessed():
    """Huey runs tasks at once in tests: keep the dossiers as intake left them."""
    with mock.patch.object(services, "_after_accept", lambda *a, **kw: None):
        yield


def test_the_same_rows_as_the_statement_by_statement_path(world, unprocessed) -> None:
    people = [make_person(), make_person()]
    assert sqlscript.combines()
    with CaptureQueriesContext(connection) as sent:
        combined = services.submit(
            _package(world["employer"], "TX-A", people), submitter=world["org"]
        ).submission
    sent_sql = [q["sql"] for q in sent.captured_queries]
    messages = [q for q in sent_sql if q.startswith("BEGIN;") or q.rstrip().endswith("COMMIT")]
    assert len(messages) == 2, sent_sql
    # The day's number and the reserved ids; then dossier, step, submission, rows,
    # attachments and events (prepared once per connection: EXECUTE of each).
    assert messages[0].count(";") == 2 and messages[1].count(";") == 6
    prepares = "\n".join(q for q in sent_sql if q.startswith("PREPARE"))
    for table in ("onestop_dailysequence", "gateway_submission", "onestop_dossier"):
        assert table in prepares or table in "\n".join(messages)
    with transaction.atomic():  # Django holds the transaction: the reference path
        assert not sqlscript.combines()
        reference = services.submit(
            _package(world["employer"], "TX-B", people), submitter=world["org"]
        ).submission
    assert _stored(combined) == _stored(reference)
    a, b = (Dossier.objects.get(pk=s.dossier_id) for s in (combined, reference))
    assert a.external_ref == f"gw:{combined.pk}" and b.external_ref == f"gw:{reference.pk}"
    # Numbered from the same day's sequence, one after the other.
    assert int(b.code[-4:]) == int(a.code[-4:]) + 1 and a.code[:-4] == b.code[:-4]
    assert DailySequence.objects.get(office=world["office"]).last == int(b.code[-4:])
    receipt = bytes(combined.receipt_xml)
    assert a.code.encode() in receipt and b"TX-A" in receipt


def test_a_replay_answers_the_first_receipt_and_numbers_nothing(world) -> None:
    data = _package(world["employer"], "TX-R", [make_person()])
    first = services.submit(data, submitter=world["org"])
    again = services.submit(data, submitter=world["org"])
    assert again.replayed and again.submission.pk == first.submission.pk
    assert Submission.objects.count() == 1 and Dossier.objects.count() == 1
    # The replay's number was rolled back with its INSERTs: the next dossier takes the next.
    assert DailySequence.objects.get(office=world["office"]).last == 1
    other = _package(world["employer"], "TX-R", [make_person()])
    with pytest.raises(services.Refused) as caught:
        services.submit(other, submitter=world["org"])
    assert caught.value.code == "transaction_id_reused"
    assert Submission.objects.get(pk=caught.value.evidence_id).verdict == Verdict.REFUSED
    assert Dossier.objects.count() == 1 and DailySequence.objects.get().last == 1


def test_a_failure_in_the_second_message_leaves_nothing(world) -> None:
    data = _package(world["employer"], "TX-F", [make_person()])
    real = services.statement

    def broken(objs: Any, **kw: Any) -> tuple[str, list[Any]]:
        sql, params = real(objs, **kw)
        if type(objs[0]) is SubmissionEvent:  # the last INSERT of the message fails
            sql = sql.replace('"step"', '"no_such_column"', 1)
        return sql, params

    with mock.patch.object(services, "statement", broken), pytest.raises(Exception):  # noqa: B017
        services.submit(data, submitter=world["org"])
    assert not Dossier.objects.exists() and not SubmissionRow.objects.exists()
    assert not Submission.objects.filter(verdict=Verdict.ACCEPTED).exists()
    assert not DailySequence.objects.filter(last__gt=0).exists()
    # The connection is clean: the same dossier is then received normally, as number 1.
    sub = services.submit(data, submitter=world["org"]).submission
    assert Dossier.objects.get(pk=sub.dossier_id).code.endswith("-0001")


def test_listeners_hear_of_the_dossier_once_committed(world) -> None:
    heard: list[tuple[int, int, bool]] = []

    def listener(sender: Any, dossier_id: int, step_id: int, contacts: bool, **kw: Any) -> None:
        assert not connection.in_atomic_block
        assert Dossier.objects.filter(pk=dossier_id).exists()  # visible: committed
        heard.append((dossier_id, step_id, contacts))

    signals.dossier_changed.connect(listener)
    try:
        sub = services.submit(
            _package(world["employer"], "TX-L", [make_person()]), submitter=world["org"]
        ).submission
    finally:
        signals.dossier_changed.disconnect(listener)
    step = DossierTransition.objects.get(dossier_id=sub.dossier_id, action="receive")
    assert heard[0] == (sub.dossier_id, step.pk, False)  # then processing's own steps


def test_a_concurrent_unique_violation_is_an_integrity_error_and_rolled_back(world) -> None:
    """The reserved dossier id is taken by someone else (cannot happen with the sequence, but
    any unique violation must surface as the ORM's IntegrityError, with nothing kept)."""
    services.submit(_package(world["employer"], "TX-U", [make_person()]), submitter=world["org"])
    taken = Submission.objects.get(verdict=Verdict.ACCEPTED)
    other = _package(world["employer"], "TX-U2", [make_person()])
    with mock.patch.object(
        services,
        "reserve_ids",
        lambda models, **kw: (
            "SELECT %s::bigint + 1000, %s::bigint, %s::bigint + 1000",
            [taken.pk, taken.dossier_id, taken.pk],
        ),
    ):
        with pytest.raises(IntegrityError):
            services.submit(other, submitter=world["org"])
    assert Submission.objects.filter(verdict=Verdict.ACCEPTED).count() == 1
    assert Dossier.objects.count() == 1
