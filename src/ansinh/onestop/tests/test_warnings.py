"""The warning sweep with a controllable clock: classification at each boundary on the
working-day calendar (Labour Code 2019 Art. 112 holidays; Decree 61/2018/NĐ-CP as amended by
Decree 107/2021 and Decree 118/2025, Art. 19–20: the due time and the pause for a supplement),
reminders, escalation to the head of department and the director, e-mails without applicant
data, and the cost of a sweep."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.test import override_settings

from ansinh.onestop import warnings
from ansinh.onestop.models import (
    Department,
    Dossier,
    DossierState,
    Notification,
    NotificationKind,
    Warning,
)
from ansinh.onestop.tasks import quarter_hourly_warnings, warning_sweep
from ansinh.onestop.testing import make_dossier, make_office, make_officer

pytestmark = pytest.mark.django_db
VN = ZoneInfo("Asia/Ho_Chi_Minh")
APPLICANT = "Công ty TNHH Thử Nghiệm"
APPLICANT_ID = "0101234567"


def at(d: int, hh: int = 10, mm: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, d, hh, mm, tzinfo=VN)


@pytest.fixture
def office():
    return make_office(agency_code="000.00.07.H26")


@pytest.fixture
def clerk(office):
    return make_officer(office, departments=("THU",), email="clerk@bhxh.test")


@pytest.fixture
def head(office):
    user = make_officer(office, "manager", email="head@bhxh.test")
    Department.objects.filter(office=office, code="THU").update(head=user)
    return user


@pytest.fixture
def director(office):
    user = make_officer(office, "manager", email="director@bhxh.test")
    office.director = user
    office.save(update_fields=["director"])
    return user


def due(office, when: dt.datetime, **fields) -> Dossier:
    """An open dossier of department THU due at ``when`` (the due time is set directly: the
    sweep reads only ``state`` and ``due_at``)."""
    dossier = make_dossier(office, at=at(2, 9), department_code="THU")
    fields.setdefault("warning", "")
    Dossier.objects.filter(pk=dossier.pk).update(due_at=when, **fields)
    dossier.refresh_from_db()
    return dossier


def warning_of(dossier: Dossier) -> str:
    return Dossier.objects.values_list("warning", flat=True).get(pk=dossier.pk)


# --- classification -----------------------------------------------------------------------------


def test_classes_at_the_boundaries_of_a_day(office) -> None:
    """A dossier falls due at closing time of its last day (Art. 19–20): at 16:59 it is due
    today, at 17:01 overdue; one due earlier today is already overdue."""
    earlier = due(office, at(16, 10))
    closing = due(office, at(16, 17))
    tomorrow = due(office, at(17, 17))
    later = due(office, at(18, 17))

    result = warnings.sweep(at(16, 16, 59), notify=False)
    assert warning_of(earlier) == Warning.OVERDUE
    assert warning_of(closing) == Warning.DUE_TODAY
    assert warning_of(tomorrow) == Warning.DUE_SOON
    assert warning_of(later) == Warning.ON_TRACK
    assert (result.overdue, result.due_today, result.due_soon, result.on_track) == (1, 1, 1, 1)
    assert result.changed == 4

    result = warnings.sweep(at(16, 17, 1), notify=False)
    assert warning_of(closing) == Warning.OVERDUE
    assert result.changed == 1
    assert (result.overdue, result.due_today) == (2, 0)


@override_settings(ONESTOP_DUE_SOON_DAYS=1)
def test_due_soon_counts_working_days_over_a_weekend_and_holidays(office) -> None:
    """Labour Code 2019 Art. 112: rest days and public holidays are not working days. On Friday
    20 November 2026 a dossier due Monday is due soon (one working day away); on Monday 23, with
    Tuesday 24 November off (Culture Day), one due Wednesday is due soon and Thursday's is not.
    On Friday 28 August, with 31 August (swapped for Saturday 22 August) and the National Day
    holidays of 1–2 September off, a dossier due Thursday 3 September is due soon."""
    monday = due(office, at(23, 17))
    wednesday = due(office, at(25, 17))
    thursday = due(office, at(26, 17))
    warnings.sweep(at(20, 10), notify=False)
    assert warning_of(monday) == Warning.DUE_SOON
    assert warning_of(wednesday) == Warning.ON_TRACK
    warnings.sweep(at(23, 10), notify=False)
    assert warning_of(monday) == Warning.DUE_TODAY
    assert warning_of(wednesday) == Warning.DUE_SOON
    assert warning_of(thursday) == Warning.ON_TRACK

    national_day = due(office, at(3, 17, month=9))
    warnings.sweep(at(28, 10, month=8), notify=False)
    assert warning_of(national_day) == Warning.DUE_SOON


@override_settings(ONESTOP_DUE_SOON_DAYS=2)
def test_due_soon_window_is_configurable(office) -> None:
    wednesday = due(office, at(25, 17))
    warnings.sweep(at(20, 10), notify=False)  # Mon 23, Wed 25: two working days after Friday
    assert warning_of(wednesday) == Warning.DUE_SOON


def test_paused_and_closed_dossiers(office) -> None:
    """Waiting for a supplement stops the clock (Art. 20): such a dossier is paused whatever its
    due time; a closed dossier carries no warning."""
    paused = due(office, at(10, 17), state=DossierState.SUPPLEMENT)
    closed = due(office, at(10, 17), state=DossierState.RETURNED, warning=Warning.OVERDUE)
    result = warnings.sweep(at(16, 10), notify=False)
    assert warning_of(paused) == Warning.PAUSED
    assert warning_of(closed) == Warning.NONE
    assert result.paused == 1 and result.overdue == 0
    assert not Notification.objects.exists()


def test_sweep_does_not_bump_the_version(office, clerk) -> None:
    """Officers' open pages stay valid: the sweep writes derived fields only."""
    dossier = due(office, at(10, 17), assignee=clerk)
    before = dossier.version
    warnings.sweep(at(16, 10))
    dossier.refresh_from_db()
    assert dossier.warning == Warning.OVERDUE and dossier.escalation >= 1
    assert dossier.version == before


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError):
        warnings.sweep(dt.datetime(2026, 11, 16, 10))


# --- notifications ------------------------------------------------------------------------------


def test_overdue_notifies_the_assignee_once(office, clerk) -> None:
    dossier = due(office, at(13, 17), assignee=clerk)
    first = warnings.sweep(at(16, 10))
    notes = list(Notification.objects.all())
    assert [(n.recipient, n.kind, n.level) for n in notes] == [(clerk, NotificationKind.OVERDUE, 1)]
    assert dossier.code in notes[0].message and "600" in notes[0].message
    assert first.notifications == 1
    again = warnings.sweep(at(16, 10))
    later = warnings.sweep(at(16, 10, 15))
    assert again.notifications == later.notifications == 0
    assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1


def test_unassigned_dossier_notifies_the_department_members(office, clerk, head) -> None:
    colleague = make_officer(office, departments=("THU",))
    dossier = due(office, at(16, 17))
    warnings.sweep(at(16, 9))
    told = set(
        Notification.objects.filter(dossier=dossier, kind=NotificationKind.DUE_TODAY).values_list(
            "recipient", flat=True
        )
    )
    assert told == {clerk.pk, colleague.pk}


def test_department_without_members_notifies_its_head(office, head) -> None:
    dossier = due(office, at(16, 17))
    warnings.sweep(at(16, 9))
    note = Notification.objects.get(dossier=dossier)
    assert (note.recipient, note.level) == (head, 1)


def test_reminders_wait_for_the_working_day(office, clerk) -> None:
    """Due-today and due-soon reminders are not created between 17:00 and 07:00 nor on rest
    days; the first sweep after 07:00 creates them, even though the class changed at midnight."""
    today = due(office, at(17, 17), assignee=clerk)
    soon = due(office, at(18, 17), assignee=clerk)
    warnings.sweep(at(16, 17, 30))
    assert warning_of(soon) == Warning.ON_TRACK
    night = warnings.sweep(at(17, 0, 5))
    assert warning_of(today) == Warning.DUE_TODAY and warning_of(soon) == Warning.DUE_SOON
    assert night.notifications == 0
    morning = warnings.sweep(at(17, 7, 0))
    assert morning.notifications == 2
    kinds = set(Notification.objects.values_list("kind", flat=True))
    assert kinds == {NotificationKind.DUE_TODAY, NotificationKind.DUE_SOON}
    weekend = due(office, at(23, 17), assignee=clerk)
    warnings.sweep(at(21, 10))  # Saturday: the other two are overdue now, and told so
    assert warning_of(weekend) == Warning.DUE_SOON
    assert not Notification.objects.filter(dossier=weekend).exists()


@override_settings(ONESTOP_ESCALATE_AFTER_DAYS=1, ONESTOP_ESCALATE_DIRECTOR_AFTER_DAYS=3)
def test_escalation_to_head_then_director_after_working_days(office, clerk, head, director) -> None:
    """Due Friday 20 November 2026 17:00. Overdue for one working day on Monday 23 at 17:00 →
    head of department; three working days (Mon 23, Wed 25, Thu 26: Tuesday 24 is a holiday,
    Labour Code 2019 Art. 112) on Thursday 26 at 17:00 → office director."""
    dossier = due(office, at(20, 17), assignee=clerk)

    def levels() -> list[tuple[int, int]]:
        rows = Notification.objects.filter(dossier=dossier).order_by("level", "recipient")
        return [(n.recipient_id, n.level) for n in rows]

    warnings.sweep(at(21, 10))
    assert levels() == [(clerk.pk, 1)]
    assert Dossier.objects.get(pk=dossier.pk).escalation == 1
    warnings.sweep(at(23, 16, 59))
    assert Dossier.objects.get(pk=dossier.pk).escalation == 1
    result = warnings.sweep(at(23, 17, 1))
    assert result.escalations == 1
    assert levels() == [(clerk.pk, 1), (head.pk, 2)]
    assert Dossier.objects.get(pk=dossier.pk).escalation == 2
    warnings.sweep(at(25, 17, 1))
    assert Dossier.objects.get(pk=dossier.pk).escalation == 2
    warnings.sweep(at(26, 17, 1))
    assert levels() == [(clerk.pk, 1), (head.pk, 2), (director.pk, 3)]
    escalated = Notification.objects.get(level=3)
    assert escalated.kind == NotificationKind.ESCALATED and dossier.code in escalated.message
    assert Dossier.objects.get(pk=dossier.pk).escalation == 3
    # Levels only go up.
    assert warnings.sweep(at(27, 10)).escalations == 0
    assert Dossier.objects.get(pk=dossier.pk).escalation == 3


@override_settings(ONESTOP_ESCALATE_AFTER_DAYS=2, ONESTOP_ESCALATE_DIRECTOR_AFTER_DAYS=2)
def test_escalation_delays_are_settings(office, clerk, head, director) -> None:
    dossier = due(office, at(16, 17), assignee=clerk)
    warnings.sweep(at(18, 16))
    assert Dossier.objects.get(pk=dossier.pk).escalation == 1
    warnings.sweep(at(18, 17))
    assert Dossier.objects.get(pk=dossier.pk).escalation == 3
    assert set(Notification.objects.values_list("level", flat=True)) == {1, 2, 3}


def test_reset_escalation_tells_the_new_assignee(office, clerk, head) -> None:
    """The services put ``escalation`` back to 0 on reassignment: the new officer is told, the
    head is not told twice."""
    dossier = due(office, at(10, 17), assignee=clerk)
    warnings.sweep(at(16, 10))
    other = make_officer(office, departments=("THU",))
    Dossier.objects.filter(pk=dossier.pk).update(assignee=other, escalation=0)
    result = warnings.sweep(at(16, 10, 15))
    assert result.notifications == 1
    assert Notification.objects.filter(recipient=other, kind=NotificationKind.OVERDUE).exists()
    assert Notification.objects.filter(recipient=head).count() == 1


def test_no_department_head_escalates_to_the_director(office, clerk, director) -> None:
    dossier = due(office, at(10, 17), assignee=clerk)
    warnings.sweep(at(16, 10))
    assert Notification.objects.filter(recipient=director, dossier=dossier, level=2).exists()


def test_emails_name_the_dossier_not_the_applicant(office, clerk, head) -> None:
    """E-mails say which dossier, which procedure, when it was due and its state; never the
    applicant's name or ID."""
    first = due(office, at(10, 17), assignee=clerk)
    second = due(office, at(11, 17), assignee=clerk)
    nobody = make_officer(office, departments=("SOTHE",))  # no e-mail address
    silent = make_dossier(office, at=at(2, 9), department_code="SOTHE")
    Dossier.objects.filter(pk=silent.pk).update(due_at=at(12, 17), assignee=nobody)
    result = warnings.sweep(at(16, 10))
    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {"clerk@bhxh.test", "head@bhxh.test"}
    assert result.emails == 2
    body = by_address["clerk@bhxh.test"].body
    for text in (first.code, second.code, "thủ tục 600", "17:00 ngày 10/11/2026", "Đã tiếp nhận"):
        assert text in body
    assert f"/onestop/dossiers/{first.code}/" in body
    for message in mail.outbox:
        assert APPLICANT not in message.body + message.subject
        assert APPLICANT_ID not in message.body + message.subject
    assert Notification.objects.filter(recipient=nobody, emailed_at__isnull=True).count() == 1
    assert not Notification.objects.filter(recipient=clerk, emailed_at__isnull=True).exists()


def test_inactive_users_are_not_notified(office, clerk) -> None:
    clerk.is_active = False
    clerk.save(update_fields=["is_active"])
    due(office, at(10, 17), assignee=clerk)
    assert warnings.sweep(at(16, 10)).notifications == 0


# --- cost ---------------------------------------------------------------------------------------


def _bulk(office, n: int, users: list, now: dt.datetime) -> None:
    """``n`` open dossiers spread over every class, made with bulk_create (no services)."""
    template = make_dossier(office, at=at(2, 9), department_code="THU")
    dept = Department.objects.get(office=office, code="THU")
    offsets = [-3 * 24, -2, 1, 30, 5 * 24, 0]  # hours from now
    rows = []
    for i in range(n):
        state = DossierState.SUPPLEMENT if i % 10 == 9 else DossierState.PROCESSING
        rows.append(
            Dossier(
                code=f"BULK-{n}-{i:06d}",
                procedure_id=template.procedure_id,
                procedure_version_id=template.procedure_version_id,
                channel="counter",
                state=state,
                receiving_office=office,
                office=office,
                province_code=office.province_code,
                department=dept,
                assignee=users[i % len(users)] if i % 3 else None,
                applicant_name=APPLICANT,
                received_at=at(2, 9),
                counted_from=at(2, 9),
                due_at=now + dt.timedelta(hours=offsets[i % len(offsets)], minutes=7),
            )
        )
    Dossier.objects.bulk_create(rows, batch_size=500)


@pytest.mark.parametrize("n", [300, 3000])
@override_settings(ONESTOP_ESCALATE_AFTER_DAYS=1, ONESTOP_ESCALATE_DIRECTOR_AFTER_DAYS=2)
def test_query_count_does_not_grow_with_dossiers(
    office, clerk, head, director, n, django_assert_max_num_queries
) -> None:
    """Classification is one range UPDATE per class, notifications one multi-row insert: the
    same number of queries for 300 dossiers as for 3,000."""
    users = [
        clerk,
        *(make_officer(office, departments=("THU",), email=f"o{i}@x.test") for i in range(4)),
    ]
    now = at(18, 10)
    _bulk(office, n, users, now)
    with django_assert_max_num_queries(40):
        result = warnings.sweep(now)
    open_total = n + 1
    assert (
        result.on_track + result.due_soon + result.due_today + result.overdue + result.paused
        == open_total
    )
    assert result.paused == n // 10
    assert result.notifications > n // 2
    assert result.escalations > 0
    assert result.emails == len(mail.outbox) <= len(users) + 2
    # A second sweep has nothing to do and is as cheap.
    with django_assert_max_num_queries(30):
        again = warnings.sweep(now)
    assert again.changed == again.notifications == 0


# --- the periodic task --------------------------------------------------------------------------


def test_warning_sweep_task_runs_through_the_task_backend(office, clerk) -> None:
    due(office, at(10, 17), assignee=clerk)
    result = warning_sweep.enqueue(now=at(16, 10).isoformat())
    assert result.return_value["overdue"] == 1
    assert result.return_value["notifications"] == 1


def test_periodic_job_runs_every_quarter_hour() -> None:
    job = quarter_hourly_warnings.task_class()
    assert job.validate_datetime(dt.datetime(2026, 11, 24, 3, 45))
    assert job.validate_datetime(dt.datetime(2026, 11, 24, 14, 0))
    assert not job.validate_datetime(dt.datetime(2026, 11, 24, 14, 5))
