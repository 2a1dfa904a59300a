"""The intake's speed-ups keep its guarantees: remembered look-ups follow changes, the replay
check folded into the INSERT still answers replays and refuses reused ids, the fast INSERTs
write what the ORM would, and dossier numbers stay unique (Decree 166/2016/NĐ-CP Art. 9–11 on
who may submit; Decree 61/2018 Art. 26 on dossier codes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ansinh.core import memo
from ansinh.core.errors import DomainError
from ansinh.gateway import services, submitters
from ansinh.gateway import testing as gw
from ansinh.gateway.models import EtransRegistration, Submission, Verdict
from ansinh.onestop.models import Dossier, DossierTransition
from ansinh.onestop.testing import make_office
from ansinh.registry.testing import make_employer, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _memos_on(settings) -> Iterator[None]:
    """Look-ups remembered for a minute: only a signal or the clock may make them reload."""
    settings.LOOKUP_CACHE_SECONDS = 60
    memo.clear_all()
    memo._shared["checked"] = float("-inf")  # a test may have moved the clock ahead
    yield
    memo.clear_all()
    memo._shared["checked"] = float("-inf")


@pytest.fixture
def world():
    office = make_office(province_code="01")
    ivan = gw.make_ivan()
    employer = make_employer(tax_code="0101234568")
    gw.register_etrans(employer, ivan=ivan.provider)
    return office, ivan, employer


def _via_ivan(ivan, employer, tx: str, person=None) -> bytes:
    person = person or make_person()
    package = gw.package_600(
        employer, [gw.increase_row(1, person)], transaction_id=tx, ivan_code=ivan.provider.code
    )
    return gw.signed(package, ivan.identity)


def _submit(ivan, data: bytes) -> services.Intake:
    return services.submit(data, submitter=ivan.provider.organisation, user=ivan.user)


def test_suspending_an_ivan_takes_effect_at_once_despite_the_memo(world) -> None:
    """Decree 166/2016 Art. 11: a suspended I-VAN may not submit."""
    _office, ivan, employer = world
    assert _submit(ivan, _via_ivan(ivan, employer, "M-1")).submission.verdict == "accepted"
    submitters.suspend_ivan(ivan.provider, reason="Vi phạm hợp đồng")
    with pytest.raises(DomainError) as exc:
        _submit(ivan, _via_ivan(ivan, employer, "M-2"))
    assert exc.value.code == "ivan_suspended"


def test_an_ended_registration_is_refused_at_once_despite_the_memo(world) -> None:
    """Form 01/ĐK-GD: the employer must be registered with the submitting I-VAN."""
    _office, ivan, employer = world
    _submit(ivan, _via_ivan(ivan, employer, "R-1"))
    registration = EtransRegistration.objects.get(employer=employer, ended_on__isnull=True)
    submitters.end_registration(registration, on=dt.date(2026, 11, 20))
    with pytest.raises(DomainError) as exc:
        _submit(ivan, _via_ivan(ivan, employer, "R-2"))
    assert exc.value.code == "employer_not_with_this_ivan"


def test_a_change_without_a_signal_shows_once_the_memo_expires(world) -> None:
    """``QuerySet.update`` sends no signal: the change shows within LOOKUP_CACHE_SECONDS."""
    _office, ivan, employer = world
    _submit(ivan, _via_ivan(ivan, employer, "U-1"))
    type(ivan.provider).objects.filter(pk=ivan.provider.pk).update(status="suspended")
    assert _submit(ivan, _via_ivan(ivan, employer, "U-2")).submission.verdict == "accepted"
    later = memo.time.monotonic() + 61
    with mock.patch.object(memo.time, "monotonic", return_value=later):
        with pytest.raises(DomainError) as exc:
            _submit(ivan, _via_ivan(ivan, employer, "U-3"))
    assert exc.value.code == "ivan_suspended"


def test_a_change_published_by_another_process_shows_within_the_check_interval(world) -> None:
    """Another worker's save publishes a version token in the shared cache; every process
    looks at it once per LOOKUP_CACHE_CHECK_SECONDS and forgets its memos when it moved."""
    from django.core.cache import cache

    _office, ivan, employer = world
    _submit(ivan, _via_ivan(ivan, employer, "X-1"))
    type(ivan.provider).objects.filter(pk=ivan.provider.pk).update(status="suspended")
    cache.set(memo.VERSION_KEY, "published-by-another-worker")
    later = memo.time.monotonic() + 2
    with mock.patch.object(memo.time, "monotonic", return_value=later):
        with pytest.raises(DomainError) as exc:
            _submit(ivan, _via_ivan(ivan, employer, "X-2"))
    assert exc.value.code == "ivan_suspended"


def test_a_new_provincial_office_receives_the_next_dossier(world) -> None:
    """The receiving office is remembered per province until an office is saved."""
    office, ivan, employer = world
    first = _submit(ivan, _via_ivan(ivan, employer, "O-1")).submission
    assert first.dossier.receiving_office_id == office.pk
    office.province_code = "79"
    office.save(update_fields=["province_code"])
    other = make_office(province_code="01")
    second = _submit(ivan, _via_ivan(ivan, employer, "O-2")).submission
    assert second.dossier.receiving_office_id == other.pk


def test_replays_and_reused_ids_through_the_folded_check(world) -> None:
    """Idempotency on the transaction id: same bytes → same receipt; other bytes → 409 with
    the refused submission kept as evidence."""
    _office, ivan, employer = world
    data = _via_ivan(ivan, employer, "I-1")
    first = _submit(ivan, data)
    again = _submit(ivan, data)
    assert again.replayed and again.submission.pk == first.submission.pk
    assert bytes(again.submission.receipt_xml) == bytes(first.submission.receipt_xml)
    with pytest.raises(services.Refused) as exc:
        _submit(ivan, _via_ivan(ivan, employer, "I-1"))
    assert exc.value.code == "transaction_id_reused" and exc.value.status == 409
    evidence = Submission.objects.get(pk=exc.value.evidence_id)
    assert evidence.verdict == Verdict.REFUSED and evidence.error_code == "transaction_id_reused"
    assert Dossier.objects.filter(channel="gateway").count() == 1


def test_a_replay_still_answers_after_the_registration_ended(world) -> None:
    """As before the fold: an accepted dossier sent again gets its receipt, not a refusal."""
    _office, ivan, employer = world
    data = _via_ivan(ivan, employer, "E-1")
    first = _submit(ivan, data)
    registration = EtransRegistration.objects.get(employer=employer, ended_on__isnull=True)
    submitters.end_registration(registration, on=dt.date(2026, 11, 20))
    again = _submit(ivan, data)
    assert again.replayed and again.submission.pk == first.submission.pk


def test_an_accepted_one_row_dossier_takes_few_statements(world) -> None:
    _office, ivan, employer = world
    _submit(ivan, _via_ivan(ivan, employer, "S-0"))  # fills the memos
    data = _via_ivan(ivan, employer, "S-1")
    with CaptureQueriesContext(connection) as queries:
        _submit(ivan, data)
    # submission, sequence, dossier, path, rows, receipt UPDATE, events: the dossier is
    # received inside the submission's transaction, without a savepoint of its own.
    # (The test's own transaction turns the submission's into a savepoint: one pair, no more.)
    sql = [q["sql"] for q in queries]
    assert len([s for s in sql if "SAVEPOINT" not in s]) <= 7, [s[:80] for s in sql]
    assert len([s for s in sql if s.startswith("SAVEPOINT")]) == 1, [s[:80] for s in sql]
    assert not any("SELECT" in q["sql"][:10] for q in queries), "all look-ups remembered"


def test_the_fast_inserts_write_what_the_orm_writes(world) -> None:
    _office, ivan, employer = world
    sub = _submit(ivan, _via_ivan(ivan, employer, "F-1")).submission
    dossier = Dossier.objects.get(pk=sub.dossier_id)
    assert dossier.applicant_name == employer.name and dossier.documents
    assert dossier.external_ref == f"gw:{sub.pk}" and dossier.version == 1
    step = DossierTransition.objects.get(dossier=dossier)
    assert step.to_state == "received" and step.due_at == dossier.due_at
    row = sub.rows.get()
    assert row.status == "pending" or row.status  # default applied
    assert row.data["personal_id"] == row.personal_id
    stored = Submission.objects.get(pk=sub.pk)
    assert bytes(stored.raw).startswith(b"<?xml") and stored.errors == []


def test_no_status_notice_task_for_a_dossier_without_contacts(
    world, django_capture_on_commit_callbacks
) -> None:
    """Gateway dossiers carry no applicant e-mail or phone: nothing to send, nothing queued."""
    from ansinh.onestop import notify, signals

    _office, ivan, employer = world
    seen: list[dict] = []

    def spy(sender, **kwargs) -> None:
        seen.append(kwargs)

    signals.dossier_changed.connect(spy, dispatch_uid="test-intake-spy")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            _submit(ivan, _via_ivan(ivan, employer, "N-1"))
    finally:
        signals.dossier_changed.disconnect(dispatch_uid="test-intake-spy")
    assert seen and all(kw["contacts"] is False for kw in seen)  # receipt and later steps
    with mock.patch("ansinh.onestop.tasks.send_status_notices") as task:
        notify.on_dossier_changed(None, dossier_id=1, step_id=1, contacts=False)
        task.enqueue.assert_not_called()
        notify.on_dossier_changed(None, dossier_id=1, step_id=1, contacts=True)
        notify.on_dossier_changed(None, dossier_id=1, step_id=2)  # senders of old
        assert task.enqueue.call_count == 2


def test_daily_numbers_are_consecutive_and_unique(world) -> None:
    """Decree 61/2018 Art. 26: the day's sequence number in the dossier code."""
    _office, ivan, employer = world
    codes = [
        _submit(ivan, _via_ivan(ivan, employer, f"Q-{i}")).submission.dossier.code for i in range(4)
    ]
    numbers = [int(code.rsplit("-", 1)[1]) for code in codes]
    assert numbers == list(range(numbers[0], numbers[0] + 4))


def test_the_huey_queue_runs_at_synchronous_normal(tmp_path) -> None:
    from ansinh.core.queue import NormalSyncSqliteHuey

    queue = NormalSyncSqliteHuey("t", filename=str(tmp_path / "q.sqlite3"))
    assert queue.storage.conn.execute("pragma synchronous").fetchone() == (1,)


def test_a_remembered_chain_is_dropped_when_the_authority_is_no_longer_trusted(world) -> None:
    """Law 20/2023/QH15 Art. 22–25: only certificates of a trusted authority are valid."""
    from ansinh.gateway import trust

    _office, ivan, employer = world
    _submit(ivan, _via_ivan(ivan, employer, "C-1"))
    assert trust.snapshot().chains, "the signer's chain is remembered"
    trust.set_authority_active(gw.trust_test_ca(), False)
    with pytest.raises(DomainError) as exc:
        _submit(ivan, _via_ivan(ivan, employer, "C-2"))
    assert exc.value.code == "certificate_untrusted"


def test_the_submission_route_checks_the_token_on_every_request(world, client) -> None:
    """The lighter bearer check of POST /submissions refuses a revoked or expired token, or an
    inactive user, at once — memos or not."""
    from django.utils import timezone

    from ansinh.access.models import ApiToken

    _office, ivan, employer = world
    url = "/api/v1/gateway/submissions"

    def post(tx: str, token: str) -> int:
        body = _via_ivan(ivan, employer, tx)
        return client.post(
            url, body, content_type="application/xml", HTTP_AUTHORIZATION=f"Bearer {token}"
        ).status_code

    assert post("T-1", ivan.token) == 201
    assert ApiToken.objects.get(user=ivan.user).last_used_at is not None
    assert post("T-2", ivan.token + "x") == 401
    ApiToken.objects.filter(user=ivan.user).update(expires_at=timezone.now())
    assert post("T-3", ivan.token) == 401
    ApiToken.objects.filter(user=ivan.user).update(expires_at=None, revoked_at=timezone.now())
    assert post("T-4", ivan.token) == 401
    ApiToken.objects.filter(user=ivan.user).update(revoked_at=None)
    type(ivan.user).objects.filter(pk=ivan.user.pk).update(is_active=False)
    assert post("T-5", ivan.token) == 401
    type(ivan.user).objects.filter(pk=ivan.user.pk).update(is_active=True)
    assert post("T-6", ivan.token) == 201
