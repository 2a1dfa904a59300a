"""Officer decisions on pairs: link, separate, undo; remembered; audited; authorised."""

from __future__ import annotations

import datetime as dt

import pytest

from ansinh.access.models import AuditEvent
from ansinh.access.testing import make_org, make_user
from ansinh.core.errors import Conflict, Forbidden
from ansinh.linkage import quality
from ansinh.linkage.models import LinkDecision, PairState, PersonLink, ReviewPair
from ansinh.linkage.normalise import fold
from ansinh.linkage.records import SourceRecord
from ansinh.linkage.selectors import linked_persons
from ansinh.linkage.services import decide_pair, dedupe_registry, link_records
from ansinh.linkage.signals import pair_decided
from ansinh.linkage.testing import load_population

pytestmark = pytest.mark.django_db


@pytest.fixture
def review_band(settings):
    settings.LINKAGE_LINK_THRESHOLD = 0.999999999
    settings.LINKAGE_REVIEW_THRESHOLD = 0.01


def _setup(n: int = 200):
    people = list(quality.population(n, seed=9, prefix="r"))
    return people, load_population(people)


def _open_pair(people, key="src:1") -> ReviewPair:
    p = people[0]
    rec = SourceRecord(key, None, p.full_name, p.birth_date, p.sex, None)
    assert link_records([rec])[key].band == "review"
    return ReviewPair.objects.get(record_key=key)


def test_link_then_undo_sends_signals_and_keeps_history(
    review_band, django_capture_on_commit_callbacks
):
    people, pks = _setup()
    pair = _open_pair(people)
    officer = make_user("officer")
    got = []

    def receiver(sender, **kw):
        got.append((kw["record_key"], kw["person_id"], kw["decision"]))

    pair_decided.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            decide_pair(pair.pk, decision="link", actor=officer, note="same CCCD photo")
        with django_capture_on_commit_callbacks(execute=True):
            pair = decide_pair(pair.pk, decision="undo", actor=officer, note="wrong click")
    finally:
        pair_decided.disconnect(receiver)
    assert got == [("src:1", pks[people[0].uid], "link"), ("src:1", None, "separate")]
    assert pair.state == PairState.OPEN
    kinds = list(LinkDecision.objects.filter(pair=pair).values_list("decision", "state_after"))
    assert kinds == [("link", "linked"), ("undo", "open")]
    assert AuditEvent.objects.filter(object_type="review_pair", action="update").count() == 2
    with pytest.raises(Conflict):
        decide_pair(pair.pk, decision="undo", actor=officer)


def test_separated_pair_is_not_proposed_again(review_band):
    people, pks = _setup()
    pair = _open_pair(people)
    decide_pair(pair.pk, decision="separate", actor=make_user("officer"))
    p = people[0]
    again = link_records([SourceRecord("src:2", None, p.full_name, p.birth_date, p.sex, None)])
    assert again["src:2"].person_id != pks[p.uid]
    assert ReviewPair.objects.filter(person_id=pks[p.uid]).count() == 1


def test_linked_pair_links_automatically_next_time(review_band):
    people, pks = _setup()
    pair = _open_pair(people)
    decide_pair(pair.pk, decision="link", actor=make_user("officer"))
    p = people[0]
    again = link_records([SourceRecord("src:3", None, p.full_name, p.birth_date, p.sex, None)])
    assert again["src:3"].band == "link" and again["src:3"].person_id == pks[p.uid]


def test_decided_pair_needs_undo_first(review_band):
    people, _ = _setup()
    pair = _open_pair(people)
    officer = make_user("officer")
    decide_pair(pair.pk, decision="separate", actor=officer)
    with pytest.raises(Conflict):
        decide_pair(pair.pk, decision="link", actor=officer)
    with pytest.raises(Conflict):
        decide_pair(pair.pk, decision="undo", actor=officer, expected_version=0)


def test_role_and_scope_are_checked_and_denials_audited(review_band):
    people, _ = _setup()
    pair = _open_pair(people)
    with pytest.raises(Forbidden):
        decide_pair(pair.pk, decision="link", actor=make_user("auditor"))
    elsewhere = make_user("officer", org=make_org(scope_codes=("79",)))
    with pytest.raises(Forbidden):
        decide_pair(pair.pk, decision="link", actor=elsewhere)
    reasons = list(
        AuditEvent.objects.filter(object_type="review_pair", action="denied").values_list(
            "detail__reason", flat=True
        )
    )
    assert sorted(reasons) == ["out_of_scope", "permission_denied"]
    assert ReviewPair.objects.get().state == PairState.OPEN


def test_dedupe_links_duplicates_logically_and_undo_unlinks():
    people = list(quality.population(300, seed=21, prefix="r"))
    p = people[5]
    dup = quality.Person("dup", None, fold(p.full_name).title(), p.birth_date, p.sex, p.commune)
    pks = load_population([*people, dup])
    at = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    summary = dedupe_registry(at=at)
    assert summary.persons == 301
    a, b = sorted((pks[p.uid], pks["dup"]))
    pair = ReviewPair.objects.get(person_id=a, other_person_id=b)
    if pair.state == PairState.OPEN:  # review band: an officer links it
        decide_pair(pair.pk, decision="link", actor=make_user("officer"))
    assert [x.pk for x in linked_persons(a)] == [b]
    assert PersonLink.objects.filter(active=True).count() == 1
    # Run again: the known pair is not proposed twice.
    assert dedupe_registry().skipped_known >= 1
    decide_pair(pair.pk, decision="undo", actor=make_user("manager"))
    assert linked_persons(a) == []
    assert PersonLink.objects.filter(active=False).count() == 1


def test_decisions_are_append_only_in_the_database(review_band):
    from django.db import DatabaseError, transaction

    people, _ = _setup(50)
    pair = _open_pair(people)
    decide_pair(pair.pk, decision="separate", actor=make_user("officer"))
    with pytest.raises(DatabaseError), transaction.atomic():
        LinkDecision.objects.update(note="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        LinkDecision.objects.all().delete()


def test_commands_dedupe_and_quality():
    from io import StringIO

    from django.core.management import call_command

    people = list(quality.population(100, seed=23, prefix="r"))
    load_population(people)
    out = StringIO()
    call_command("linkage", "dedupe", stdout=out)
    assert "persons 100" in out.getvalue()
    out = StringIO()
    call_command("linkage", "quality", "--persons", "1000", "--error-rate", "0.05", stdout=out)
    assert "error 5%: precision" in out.getvalue()


def test_empty_registry_gives_no_link():
    rec = SourceRecord("k", "001090012345", "Nguyễn Văn An", dt.date(1990, 1, 2), "M", None)
    out = link_records([rec])
    assert out["k"].band == "none" and out["k"].person_id is None
