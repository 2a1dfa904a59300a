"""The warning sweep (rà soát cảnh báo): classify every open dossier by the time left, remind
the people responsible and escalate overdue dossiers to their managers.

**Classification.** :func:`sweep` splits open dossiers with the instants of
:func:`ansinh.onestop.clock.cutoffs` into on track, due soon, due today and overdue; dossiers
waiting for a supplement are paused (their clock is stopped); closed dossiers have no warning.
Each class is one range ``UPDATE`` on ``due_at`` that touches only the rows whose ``warning``
differs, so it uses the ``(state, due_at)`` index and costs the same whether 10 or 100,000
dossiers are open; no dossier is loaded into Python for classification.

**The sweep does not bump ``version``.** The services bump it on every write so that two
officers acting on one dossier cannot both win (optimistic locking). ``warning`` and
``escalation`` are derived, not edited by anyone: bumping ``version`` for them would make every
officer's open dossier page stale each time the sweep runs, and their next step would fail
with ``stale_version`` for a change they cannot see. A service that races the sweep writes its
own ``warning``/``escalation``, computed at the same moment, and the next sweep re-derives them.

**Who is told, and when** (in-app :class:`~ansinh.onestop.models.Notification`, e-mailed):

* *Due soon* and *due today* remind the responsible officer (level 1): the assignee; when
  nobody is assigned, the members of the dossier's department; when it has none, the head of
  department. These reminders are about today's work, so they are created only during
  ``ONESTOP_REMINDER_HOURS`` (default 07:00–17:00) of a working day: the sweep runs every
  15 minutes around the clock, and the dossiers that became due today at midnight are reminded
  by the first sweep after 07:00 instead of by an e-mail at 00:00. A reminder is therefore
  created for the dossiers *in* the class that have not had it yet, not only for those whose
  class changed in this sweep: that also covers dossiers classified by the services at
  reception, and sweeps missed while the worker was down.
* *Overdue* tells the same people at any hour, once: a dossier past its due time with
  ``escalation`` 0 is notified and gets ``escalation = 1``.
* *Escalated*: overdue for at least ``ONESTOP_ESCALATE_AFTER_DAYS`` working days (default 1)
  → the head of the dossier's department (level 2; the office director when the department
  has no head), ``escalation = 2``; for at least ``ONESTOP_ESCALATE_DIRECTOR_AFTER_DAYS``
  (default 3) → the office director (level 3), ``escalation = 3``. "Overdue for N working days"
  means N working days have passed since the due time at the same clock time (Labour Code 2019
  Art. 112 holidays and weekends do not count): due Friday 17:00, one day → Monday 17:00.
  The sweep only raises ``escalation``; the services put it back to 0 when a dossier is
  reassigned or resumes after a supplement, so the new assignee is told again.

The unique constraint on (recipient, dossier, kind, level) makes a re-run harmless: rows are
inserted with ``ON CONFLICT DO NOTHING`` in one ``executemany`` (``bulk_create`` would split
them into statements of 999 parameters on SQLite). New notifications are e-mailed after the
transaction commits, one message per recipient over one connection; messages name the dossier
code, the procedure, the due time and the state, never the applicant.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.utils import timezone, translation

from ansinh.access.models import User
from ansinh.law.calendar import is_working_day
from ansinh.law.deadlines import OfficeHours
from ansinh.onestop.clock import Cutoffs, cutoffs
from ansinh.onestop.models import (
    OPEN_STATES,
    Department,
    Dossier,
    DossierState,
    Notification,
    NotificationKind,
    Office,
    Warning,
)

logger = logging.getLogger(__name__)

#: Open states in which the clock runs (a supplement request stops it).
RUNNING_STATES = tuple(s for s in OPEN_STATES if s != DossierState.SUPPLEMENT)
#: Kinds the sweep creates (``assigned`` comes from the desk).
SWEEP_KINDS = (
    NotificationKind.DUE_SOON,
    NotificationKind.DUE_TODAY,
    NotificationKind.OVERDUE,
    NotificationKind.ESCALATED,
)
_CHUNK = 500
#: Notifications listed in one e-mail; the rest are on the notifications page.
DIGEST_LINES = 50


def escalate_after_days() -> int:
    return int(getattr(settings, "ONESTOP_ESCALATE_AFTER_DAYS", 1))


def escalate_director_after_days() -> int:
    return int(getattr(settings, "ONESTOP_ESCALATE_DIRECTOR_AFTER_DAYS", 3))


def reminder_hours() -> OfficeHours:
    return OfficeHours.parse(getattr(settings, "ONESTOP_REMINDER_HOURS", "07:00-17:00"))


def public_base_url() -> str:
    return str(getattr(settings, "PUBLIC_BASE_URL", "")).rstrip("/")


def dossier_path(code: str) -> str:
    """The staff page of a dossier (served by the desk views)."""
    return f"/onestop/dossiers/{code}/"


@dataclass(frozen=True)
class SweepResult:
    """What a sweep found and did. The counts are of open dossiers after the sweep; ``changed``
    is the number of rows whose warning changed (closed ones included)."""

    on_track: int
    due_soon: int
    due_today: int
    overdue: int
    paused: int
    changed: int
    notifications: int
    escalations: int
    emails: int
    seconds: float

    def as_dict(self) -> dict[str, int | float]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


# --- time ---------------------------------------------------------------------------------------


def _previous_working_day(day: dt.date) -> dt.date:
    day -= dt.timedelta(days=1)
    while not is_working_day(day):
        day -= dt.timedelta(days=1)
    return day


def overdue_cutoff(now: dt.datetime, days: int) -> dt.datetime:
    """Dossiers due at or before this instant have been overdue for at least ``days`` working
    days at ``now``: the due time plus ``days`` working days, same clock time, is not after
    ``now``. On a rest day the clock stands at the end of the last working day."""
    if days <= 0:
        return now
    local = timezone.localtime(now)
    day, clock = local.date(), local.time()
    if not is_working_day(day):
        day, clock = _previous_working_day(day), dt.time.max
    for _ in range(days):
        day = _previous_working_day(day)
    return timezone.make_aware(dt.datetime.combine(day, clock))


def reminders_allowed(now: dt.datetime) -> bool:
    """Reminders (due soon, due today) are created on working days within
    ``ONESTOP_REMINDER_HOURS`` only."""
    local = timezone.localtime(now)
    window = reminder_hours()
    return is_working_day(local.date()) and window.opens <= local.time() < window.closes


# --- classification -----------------------------------------------------------------------------


def _classify(cut: Cutoffs) -> int:
    """The range UPDATEs; returns the number of rows changed."""
    running = Dossier.objects.filter(state__in=RUNNING_STATES)
    ranges: list[tuple[str, Q]] = [
        (Warning.OVERDUE, Q(due_at__lt=cut.now)),
        (Warning.DUE_TODAY, Q(due_at__gte=cut.now, due_at__lt=cut.end_of_today)),
        (Warning.DUE_SOON, Q(due_at__gte=cut.end_of_today, due_at__lt=cut.end_of_soon)),
        (Warning.ON_TRACK, Q(due_at__gte=cut.end_of_soon)),
    ]
    changed = 0
    for value, when in ranges:
        changed += running.filter(when).exclude(warning=value).update(warning=value)
    changed += (
        Dossier.objects.filter(state=DossierState.SUPPLEMENT)
        .exclude(warning=Warning.PAUSED)
        .update(warning=Warning.PAUSED)
    )
    # Services clear the warning when a dossier closes; this catches rows written otherwise.
    changed += (
        Dossier.objects.exclude(warning=Warning.NONE)
        .exclude(state__in=OPEN_STATES)
        .update(warning=Warning.NONE)
    )
    return changed


def _counts(cut: Cutoffs) -> dict[str, int]:
    running = Q(state__in=RUNNING_STATES)
    return Dossier.objects.filter(state__in=OPEN_STATES).aggregate(
        overdue=Count("pk", filter=running & Q(due_at__lt=cut.now)),
        due_today=Count("pk", filter=running & Q(due_at__gte=cut.now, due_at__lt=cut.end_of_today)),
        due_soon=Count(
            "pk", filter=running & Q(due_at__gte=cut.end_of_today, due_at__lt=cut.end_of_soon)
        ),
        on_track=Count("pk", filter=running & Q(due_at__gte=cut.end_of_soon)),
        paused=Count("pk", filter=Q(state=DossierState.SUPPLEMENT)),
    )


# --- notifications ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    """The few columns of a dossier a notification needs (no applicant data)."""

    pk: int
    code: str
    procedure: str
    due_at: dt.datetime
    state: str
    assignee_id: int | None
    department_id: int | None
    office_id: int


_ROW_FIELDS = (
    "pk",
    "code",
    "procedure__code",
    "due_at",
    "state",
    "assignee_id",
    "department_id",
    "office_id",
)


def _rows(qs: Any) -> list[_Row]:
    return [_Row(*values) for values in qs.order_by().values_list(*_ROW_FIELDS)]


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class _People:
    """Who may be told about the dossiers of this sweep, read in a few queries."""

    heads: dict[int, int | None]
    members: dict[int, list[int]]
    directors: dict[int, int | None]

    @classmethod
    def load(cls, rows: Iterable[_Row]) -> _People:
        rows = list(rows)
        dept_ids = sorted({r.department_id for r in rows if r.department_id is not None})
        office_ids = sorted({r.office_id for r in rows})
        heads: dict[int, int | None] = {}
        members: dict[int, list[int]] = defaultdict(list)
        directors: dict[int, int | None] = {}
        through = Department.members.through
        for chunk in _chunks(dept_ids):
            heads.update(
                Department.objects.filter(pk__in=chunk).order_by().values_list("pk", "head_id")
            )
            pairs = (
                through.objects.filter(department_id__in=chunk)
                .order_by()
                .values_list("department_id", "user_id")
            )
            for dept_id, user_id in pairs:
                members[dept_id].append(user_id)
        for chunk in _chunks(office_ids):
            offices = Office.objects.filter(pk__in=chunk).order_by()
            directors.update(offices.values_list("pk", "director_id"))
        return cls(heads, members, directors)

    def officers(self, row: _Row) -> list[int]:
        """Level 1: the assignee; else the department's members; else its head."""
        if row.assignee_id is not None:
            return [row.assignee_id]
        if row.department_id is None:
            return []
        found = sorted(self.members.get(row.department_id, []))
        if found:
            return found
        head = self.heads.get(row.department_id)
        return [head] if head is not None else []

    def head(self, row: _Row) -> list[int]:
        """Level 2: the head of department, or the director when there is none."""
        head = self.heads.get(row.department_id) if row.department_id is not None else None
        if head is None:
            head = self.directors.get(row.office_id)
        return [head] if head is not None else []

    def director(self, row: _Row) -> list[int]:
        director = self.directors.get(row.office_id)
        return [director] if director is not None else []


def _when(moment: dt.datetime) -> str:
    return f"{timezone.localtime(moment):%H:%M} ngày {timezone.localtime(moment):%d/%m/%Y}"


def _state_label(state: str) -> str:
    with translation.override("vi"):
        return str(DossierState(state).label)


def message(kind: str, level: int, row: _Row, *, days: int = 0) -> str:
    """The Vietnamese text of a notification (at most 300 characters, no applicant data)."""
    head = f"Hồ sơ {row.code} (thủ tục {row.procedure})"
    tail = f"Trạng thái: {_state_label(row.state)}."
    if kind == NotificationKind.DUE_SOON:
        text = f"{head} sắp đến hạn giải quyết: {_when(row.due_at)}. {tail}"
    elif kind == NotificationKind.DUE_TODAY:
        due = timezone.localtime(row.due_at)
        text = f"{head} đến hạn giải quyết hôm nay lúc {due:%H:%M}. {tail}"
    elif kind == NotificationKind.OVERDUE:
        text = f"{head} đã quá hạn giải quyết từ {_when(row.due_at)}. {tail}"
    elif level == 3:
        text = (
            f"Báo cáo lãnh đạo đơn vị: {head} quá hạn từ {_when(row.due_at)}, "
            f"quá hạn ít nhất {days} ngày làm việc mà chưa giải quyết. {tail}"
        )
    else:
        text = (
            f"Báo cáo lãnh đạo phòng: {head} quá hạn từ {_when(row.due_at)}, "
            f"quá hạn ít nhất {days} ngày làm việc mà chưa giải quyết. {tail}"
        )
    return text[:300]


def _insert(notes: list[tuple[int, int, str, int, str]], stamp: dt.datetime) -> None:
    """Insert (recipient, dossier, kind, level, message) rows, skipping those that exist."""
    if not notes:
        return
    qn = connection.ops.quote_name
    columns = ("recipient_id", "dossier_id", "kind", "level", "message", "created_at")
    # Table and column names come from model metadata; values are parameters.
    sql = (
        f"INSERT INTO {qn(Notification._meta.db_table)} "  # noqa: S608
        f"({', '.join(qn(c) for c in columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
        "ON CONFLICT DO NOTHING"
    )
    created = connection.ops.adapt_datetimefield_value(stamp)
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(*note, created) for note in notes])


@dataclass
class _Plan:
    """What the notification step did: rows created, escalation steps recorded."""

    created: int
    escalated: int


def _notify(cut: Cutoffs, stamp: dt.datetime, after_id: int) -> _Plan:
    now = cut.now
    running = Dossier.objects.filter(state__in=RUNNING_STATES)
    batches: list[tuple[str, int, list[_Row], int]] = []
    if reminders_allowed(now):
        for kind, when in (
            (NotificationKind.DUE_TODAY, Q(due_at__gte=now, due_at__lt=cut.end_of_today)),
            (
                NotificationKind.DUE_SOON,
                Q(due_at__gte=cut.end_of_today, due_at__lt=cut.end_of_soon),
            ),
        ):
            told = Notification.objects.filter(dossier=OuterRef("pk"), kind=kind)
            batches.append((kind, 1, _rows(running.filter(when).filter(~Exists(told))), 0))
    overdue = running.filter(due_at__lt=now)
    days_head, days_director = escalate_after_days(), escalate_director_after_days()
    head_cut = min(overdue_cutoff(now, days_head), now)
    director_cut = min(overdue_cutoff(now, days_director), now)
    levels = {
        1: overdue.filter(escalation__lt=1),
        2: overdue.filter(due_at__lte=head_cut, escalation__lt=2),
        3: overdue.filter(due_at__lte=director_cut, escalation__lt=3),
    }
    found = {level: _rows(qs) for level, qs in levels.items()}
    batches.append((NotificationKind.OVERDUE, 1, found[1], 0))
    batches.append((NotificationKind.ESCALATED, 2, found[2], days_head))
    batches.append((NotificationKind.ESCALATED, 3, found[3], days_director))

    people = _People.load(row for batch in batches for row in batch[2])
    pick = {1: people.officers, 2: people.head, 3: people.director}
    wanted: dict[tuple[int, int, str, int], str] = {}
    for kind, level, rows, days in batches:
        for row in rows:
            text = message(kind, level, row, days=days)
            for user_id in pick[level](row):
                wanted.setdefault((user_id, row.pk, kind, level), text)
    active = _active_users({key[0] for key in wanted})
    notes = [(*key, text) for key, text in wanted.items() if key[0] in active]
    _insert(notes, stamp)
    created = _new_notifications(after_id, stamp, emailed=None).count() if notes else 0
    # Record the levels reached, lowest first, so each row ends at its highest level (the
    # same filters as the reads above, in the same transaction; skipped when nothing was found).
    escalated = 0
    for level, qs in levels.items():
        if found[level]:
            changed = qs.update(escalation=level)
            escalated += changed if level > 1 else 0
    return _Plan(created, escalated)


def _active_users(ids: set[int]) -> set[int]:
    found: set[int] = set()
    ordered = sorted(ids)
    for chunk in _chunks(ordered):
        found.update(User.objects.filter(pk__in=chunk, is_active=True).values_list("pk", flat=True))
    return found


# --- e-mail -------------------------------------------------------------------------------------


def _new_notifications(after_id: int, stamp: dt.datetime, *, emailed: bool | None = False) -> Any:
    """This sweep's rows: ids above the highest one before it, with its time stamp (another
    process's rows have another stamp). ``emailed=False``: those still to e-mail."""
    qs = Notification.objects.filter(pk__gt=after_id, created_at=stamp, kind__in=SWEEP_KINDS)
    if emailed is False:
        qs = qs.filter(emailed_at__isnull=True).exclude(recipient__email="")
    return qs


def _digest(name: str, items: list[tuple[str, str]]) -> tuple[str, str]:
    """Subject and body of one recipient's e-mail: (message, dossier code) pairs."""
    base = public_base_url()
    if len(items) == 1:
        subject = f"[ansinh] Hồ sơ {items[0][1]}: thông báo mới"
    else:
        subject = f"[ansinh] {len(items)} thông báo mới về hồ sơ một cửa"
    lines = [
        f"Kính gửi {name},",
        "",
        "Hệ thống một cửa có thông báo mới cho anh/chị:",
        "",
    ]
    for text, code in items[:DIGEST_LINES]:
        lines += [f"- {text}", f"  Xem hồ sơ: {base}{dossier_path(code)}", ""]
    if len(items) > DIGEST_LINES:
        lines += [f"… và {len(items) - DIGEST_LINES} thông báo khác.", ""]
    lines += [
        f"Tất cả thông báo: {base}/onestop/notifications/",
        "",
        "Thư này được gửi tự động từ hệ thống ansinh; vui lòng không trả lời.",
    ]
    return subject, "\n".join(lines)


def _email(after_id: int, stamp: dt.datetime) -> int:
    """E-mail this sweep's notifications, one message per recipient, over one connection."""
    pending = _new_notifications(after_id, stamp)
    rows = pending.order_by("recipient_id", "pk").values_list(
        "recipient_id",
        "recipient__email",
        "recipient__first_name",
        "recipient__last_name",
        "recipient__username",
        "message",
        "dossier__code",
    )
    grouped: dict[int, tuple[str, str, list[tuple[str, str]]]] = {}
    for user_id, email, first, last, username, text, code in rows:
        name = f"{first} {last}".strip() or username
        grouped.setdefault(user_id, (email, name, []))[2].append((text, code))
    if not grouped:
        return 0
    messages = []
    for email, name, items in grouped.values():
        subject, body = _digest(name, items)
        messages.append(EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [email]))
    try:
        with get_connection() as mail:
            sent = mail.send_messages(messages) or 0
    except Exception as exc:  # the mail server is down: keep emailed_at empty, say so
        logger.warning("warning sweep: e-mail not sent (%s)", type(exc).__name__)
        return 0
    pending.update(emailed_at=timezone.now())
    return sent


# --- the sweep ----------------------------------------------------------------------------------


def sweep(now: dt.datetime | None = None, *, notify: bool = True) -> SweepResult:
    """Classify every open dossier at ``now`` (default: the current time) and, with
    ``notify``, remind, escalate and e-mail. Safe to run at any time and any number of times."""
    started = time.perf_counter()
    now = now or timezone.now()
    if timezone.is_naive(now):
        raise ValueError("the sweep needs an aware datetime")
    cut = cutoffs(now)
    plan, after_id = _Plan(0, 0), 0
    with transaction.atomic():
        changed = _classify(cut)
        counts = _counts(cut)
        if notify:
            after_id = Notification.objects.aggregate(m=Max("pk"))["m"] or 0
            plan = _notify(cut, now, after_id)
    emails = _email(after_id, now) if plan.created else 0
    result = SweepResult(
        on_track=counts["on_track"],
        due_soon=counts["due_soon"],
        due_today=counts["due_today"],
        overdue=counts["overdue"],
        paused=counts["paused"],
        changed=changed,
        notifications=plan.created,
        escalations=plan.escalated,
        emails=emails,
        seconds=round(time.perf_counter() - started, 3),
    )
    logger.info(
        "warning sweep: %d changed, %d notifications, %d e-mails in %.2f s",
        result.changed,
        result.notifications,
        result.emails,
        result.seconds,
    )
    return result
