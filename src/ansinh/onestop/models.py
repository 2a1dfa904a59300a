"""The one-stop (một cửa) system: procedure catalogue, offices and departments, dossiers and
their append-only path, apology slips, notifications and satisfaction ratings.

A dossier (hồ sơ) is received by an office (bộ phận một cửa), gets a code and a due time from
its procedure's legal deadline, and moves through the states of :class:`DossierState` by the
services in ``onestop.services``; every move is a :class:`DossierTransition` row that the
database refuses to change or delete.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import FSMField, FSMModelMixin, transition

from ansinh.law.deadlines import Deadline, OfficeHours
from ansinh.law.models import DatedRule


class Procedure(models.Model):
    """Thủ tục hành chính: what an applicant asks for. Its deadline and documents change with
    the law, so they live in dated :class:`ProcedureVersion` rows."""

    code = models.CharField(max_length=20, unique=True)
    name_vi = models.CharField(max_length=300)
    name_en = models.CharField(max_length=300)
    domain = models.CharField(
        max_length=100, blank=True, help_text="Lĩnh vực, e.g. 'Thu BHXH, BHYT, BHTN'."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name_vi}"


class ProcedureVersion(DatedRule):
    """The rules of a procedure from a date: legal deadline, documents, processing departments."""

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="versions")
    deadline_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Working days; empty for an hour deadline."
    )
    deadline_hours = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Office hours, for same-day procedures."
    )
    documents = models.JSONField(
        default=list,
        blank=True,
        help_text='Thành phần hồ sơ: [{"name_vi": …, "name_en": …, "copies": 1, "required": true}]',
    )
    departments = models.JSONField(
        default=list,
        blank=True,
        help_text='Department codes that process it, in order, e.g. ["THU", "CSST"].',
    )

    class Meta(DatedRule.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["procedure", "valid_from"], name="procedure_version_unique"
            ),
            models.CheckConstraint(
                condition=(Q(deadline_days__isnull=True) & Q(deadline_hours__isnull=False))
                | (Q(deadline_days__isnull=False) & Q(deadline_hours__isnull=True)),
                name="procedure_version_one_deadline",
            ),
        ]

    @property
    def deadline(self) -> Deadline:
        return Deadline(days=self.deadline_days, hours=self.deadline_hours)

    def __str__(self) -> str:
        return f"{self.procedure.code} from {self.valid_from} ({self.deadline})"


class Office(models.Model):
    """An organisation's one-stop desk (bộ phận tiếp nhận và trả kết quả), with the agency
    identity code (mã định danh, Decision 20/2020/QĐ-TTg) that starts its dossier codes."""

    organisation = models.OneToOneField(
        "access.Organisation", on_delete=models.PROTECT, related_name="onestop_office"
    )
    agency_code = models.CharField(
        max_length=13, unique=True, help_text="13 characters, e.g. 000.00.01.H26"
    )
    province_code = models.CharField(max_length=2, db_index=True)
    place = models.CharField(max_length=100, help_text="Place name on documents, e.g. Hà Nội.")
    superior_name = models.CharField(max_length=200, default="Bảo hiểm xã hội Việt Nam")
    address = models.CharField(max_length=300, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    opens = models.TimeField(default=dt.time(8, 0))
    closes = models.TimeField(default=dt.time(17, 0))
    director = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["agency_code"]

    @property
    def hours(self) -> OfficeHours:
        return OfficeHours(self.opens, self.closes)

    def __str__(self) -> str:
        return f"{self.agency_code} {self.organisation.name}"


class Department(models.Model):
    """A department of an office (phòng/bộ phận nghiệp vụ) that processes dossiers."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="departments")
    code = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    head = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="onestop_departments"
    )

    class Meta:
        ordering = ["office", "code"]
        constraints = [
            models.UniqueConstraint(fields=["office", "code"], name="department_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Channel(models.TextChoices):
    """Kênh tiếp nhận: trực tiếp, bưu chính, trực tuyến, cổng giao dịch điện tử."""

    COUNTER = "counter", _("At the counter")
    POST = "post", _("By post")
    ONLINE = "online", _("Online")
    GATEWAY = "gateway", _("E-transaction gateway")


ONLINE_CHANNELS = (Channel.ONLINE, Channel.GATEWAY)


class DossierState(models.TextChoices):
    """Trạng thái hồ sơ."""

    RECEIVED = "received", pgettext_lazy("dossier state", "Received")
    TRANSFERRED = "transferred", _("Transferred to department")
    PROCESSING = "processing", _("Being processed")
    SUPPLEMENT = "supplement", _("Waiting for supplement")
    RESULT_READY = "result_ready", _("Result ready")
    RETURNED = "returned", _("Returned to the applicant")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


S = DossierState
#: States in which the agency still owes a result (the clock runs, or is paused).
OPEN_STATES = (S.RECEIVED, S.TRANSFERRED, S.PROCESSING, S.SUPPLEMENT)
#: States after processing ended (a result or a refusal exists).
RESOLVED_STATES = (S.RESULT_READY, S.RETURNED, S.REJECTED)


class Outcome(models.TextChoices):
    """Kết quả về thời hạn: trước hạn, đúng hạn, quá hạn (Decision 766/QĐ-TTg)."""

    EARLY = "early", _("Early")
    ON_TIME = "on_time", _("On time")
    LATE = "late", _("Late")


class Warning(models.TextChoices):
    """Cảnh báo: what the warning sweep last said about an open dossier."""

    ON_TRACK = "on_track", _("On track")
    DUE_SOON = "due_soon", _("Due soon")
    DUE_TODAY = "due_today", _("Due today")
    OVERDUE = "overdue", _("Overdue")
    PAUSED = "paused", _("Clock paused")
    NONE = "", _("Closed")


class Dossier(FSMModelMixin, models.Model):
    """Hồ sơ thủ tục hành chính. ``state`` is changed only through the transition methods
    below (the lifecycle graph), called by ``onestop.services``; ``version`` is bumped by every
    write so that two officers acting at once cannot both win."""

    code = models.CharField(max_length=25, unique=True)
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="+")
    procedure_version = models.ForeignKey(
        ProcedureVersion, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(max_length=10, choices=Channel)
    state = FSMField(max_length=14, choices=DossierState, default=S.RECEIVED, protected=True)

    receiving_office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="+")
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="dossiers")
    province_code = models.CharField(max_length=2, help_text="Of the current office.")
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="onestop_dossiers",
    )

    applicant_name = models.CharField(max_length=200)
    applicant_id = models.CharField(
        max_length=20, blank=True, help_text="Personal ID or employer tax code."
    )
    applicant_address = models.CharField(max_length=300, blank=True)
    applicant_phone = models.CharField(max_length=20, blank=True)
    applicant_email = models.EmailField(blank=True)
    documents = models.JSONField(default=list, blank=True)
    external_ref = models.CharField(
        max_length=64, blank=True, help_text="Submitter's reference (idempotency key)."
    )

    received_at = models.DateTimeField()
    counted_from = models.DateTimeField()
    due_at = models.DateTimeField()
    promised_at = models.DateTimeField(
        null=True, blank=True, help_text="New return date given on an apology slip."
    )
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_left = models.IntegerField(
        null=True, blank=True, help_text="Days or office minutes left when the clock stopped."
    )
    paused_minutes = models.PositiveIntegerField(
        default=0, help_text="Office minutes spent waiting for supplements."
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome, blank=True)
    processing_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Office minutes from reception to result, pauses excluded."
    )
    returned_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    warning = models.CharField(max_length=10, choices=Warning, blank=True, default="")
    escalation = models.PositiveSmallIntegerField(
        default=0, help_text="0 none, 1 officer warned, 2 head of department, 3 director."
    )
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["receiving_office", "external_ref"],
                condition=~Q(external_ref=""),
                name="dossier_external_ref_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "due_at"]),
            models.Index(fields=["office", "state", "due_at"]),
            models.Index(fields=["assignee", "state", "due_at"]),
            models.Index(fields=["received_at"]),
            models.Index(fields=["resolved_at", "outcome"]),
            models.Index(fields=["province_code", "resolved_at"]),
            models.Index(fields=["state", "closed_at"]),
            # The sweep clears warnings of closed dossiers: only the few still marked.
            models.Index(fields=["warning"], condition=~Q(warning=""), name="dossier_warned"),
            # Every column the statistics read of the dossiers in a state, so that "in
            # progress" and "overdue" at the cut are counted from this index alone (the open
            # tenth of the table is one range of it). Not partial: SQLite uses a partial index
            # only when the query spells its condition with literals, and Django binds them.
            models.Index(
                fields=[
                    "state",
                    "province_code",
                    "office",
                    "assignee",
                    "received_at",
                    "due_at",
                    "paused_minutes",
                    "paused_at",
                    "id",  # PostgreSQL keeps no row id in an index: needed for index-only scans
                ],
                name="dossier_state_holders",
            ),
        ]
        permissions = [("reassign_dossier", "Can reassign dossiers and see overdue lists")]

    def __str__(self) -> str:
        return self.code

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def deadline(self) -> Deadline:
        return self.procedure_version.deadline

    # The lifecycle graph. The bodies are empty on purpose: django-fsm changes ``state``, the
    # services do the work and write the path.
    @transition(field=state, source=[S.RECEIVED, S.TRANSFERRED, S.PROCESSING], target=S.TRANSFERRED)
    def transfer(self) -> None:
        """Chuyển hồ sơ to a department or to another office."""

    @transition(field=state, source=[S.RECEIVED, S.TRANSFERRED], target=S.PROCESSING)
    def start(self) -> None:
        """Thụ lý: an officer starts processing."""

    @transition(field=state, source=[S.RECEIVED, S.TRANSFERRED, S.PROCESSING], target=S.SUPPLEMENT)
    def request_supplement(self) -> None:
        """Yêu cầu bổ sung: the clock stops."""

    @transition(field=state, source=S.SUPPLEMENT, target=S.PROCESSING)
    def supplement_received(self) -> None:
        """Nhận bổ sung: the clock restarts with the time that was left."""

    @transition(field=state, source=S.PROCESSING, target=S.RESULT_READY)
    def result_ready(self) -> None:
        """Có kết quả."""

    @transition(field=state, source=list(OPEN_STATES), target=S.REJECTED)
    def reject(self) -> None:
        """Từ chối giải quyết, with the reason."""

    @transition(field=state, source=S.RESULT_READY, target=S.RETURNED)
    def return_result(self) -> None:
        """Trả kết quả to the applicant."""

    @transition(field=state, source=list(OPEN_STATES), target=S.WITHDRAWN)
    def withdraw(self) -> None:
        """Rút hồ sơ at the applicant's request."""


class Action(models.TextChoices):
    """What a path entry records (thao tác)."""

    RECEIVE = "receive", pgettext_lazy("dossier action", "Received")
    TRANSFER = "transfer", _("Transferred")
    START = "start", _("Processing started")
    REQUEST_SUPPLEMENT = "request_supplement", _("Supplement requested")
    SUPPLEMENT_RECEIVED = "supplement_received", _("Supplement received")
    RESULT_READY = "result_ready", _("Result ready")
    REJECT = "reject", _("Rejected")
    RETURN = "return", _("Result returned")
    WITHDRAW = "withdraw", _("Withdrawn")
    REASSIGN = "reassign", _("Reassigned")
    APOLOGY = "apology", _("Apology and new date issued")


class DossierTransition(models.Model):
    """One step on a dossier's path (quá trình xử lý): who, when, from where to where, why.
    Append-only: database triggers refuse UPDATE and DELETE (migration 0002)."""

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="path")
    at = models.DateTimeField()
    action = models.CharField(max_length=20, choices=Action)
    from_state = models.CharField(max_length=14, choices=DossierState, blank=True)
    to_state = models.CharField(max_length=14, choices=DossierState)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    from_office = models.ForeignKey(
        Office, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_office = models.ForeignKey(
        Office, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    due_at = models.DateTimeField(help_text="The due time after this step.")
    since_previous = models.DurationField(
        null=True,
        blank=True,
        help_text="Time since the dossier's previous step (empty on its first): how long it "
        "stayed in from_state at from_department. Written with the row, as the path is "
        "append-only; the statistics of the slowest steps sum it.",
    )

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["dossier", "at"]),
            # Covers the statistics' reads of a dossier's path: the slowest steps (state and
            # department left, time spent) and whether it was paused at a past moment
            # (supplement requests and receipts before it).
            models.Index(
                fields=[
                    "dossier",
                    "action",
                    "at",
                    "from_state",
                    "from_department",
                    "since_previous",
                ],
                name="dossier_path_steps",
            ),
        ]

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise RuntimeError("the dossier path is append-only")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise RuntimeError("the dossier path is append-only")

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


class DailySequence(models.Model):
    """The last sequence number an office gave on a reception day (số thứ tự trong ngày)."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["office", "day"], name="daily_seq_unique")]


class ApologySlip(models.Model):
    """Phiếu xin lỗi và hẹn lại ngày trả kết quả, issued when a dossier will be late."""

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="apologies")
    number = models.PositiveSmallIntegerField(help_text="1 for the first slip of this dossier.")
    issued_at = models.DateTimeField()
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()
    old_due_at = models.DateTimeField()
    new_due_at = models.DateTimeField()
    delivered_via = models.CharField(
        max_length=10, default="counter", help_text="counter, email or sms"
    )

    class Meta:
        ordering = ["issued_at"]
        constraints = [
            models.UniqueConstraint(fields=["dossier", "number"], name="apology_unique"),
        ]
        indexes = [models.Index(fields=["issued_at"])]


class NotificationKind(models.TextChoices):
    """Why an officer is notified."""

    ASSIGNED = "assigned", _("Assigned to you")
    DUE_SOON = "due_soon", _("Due soon")
    DUE_TODAY = "due_today", _("Due today")
    OVERDUE = "overdue", _("Overdue")
    ESCALATED = "escalated", _("Overdue, escalated")


class Notification(models.Model):
    """An in-app notice to a staff member (thông báo), also e-mailed when they have an address."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="onestop_notifications"
    )
    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=NotificationKind)
    level = models.PositiveSmallIntegerField(
        default=1, help_text="1 officer, 2 head of department, 3 office director."
    )
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dossier", "kind", "level"], name="notification_once"
            ),
        ]
        indexes = [models.Index(fields=["recipient", "read_at"])]


class ApplicantNotice(models.Model):
    """A status notice sent to the applicant (Decree 224/2026 Art. 15: at once, naming the
    agency, the officer and the times), by e-mail or SMS."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="notices")
    transition = models.ForeignKey(
        DossierTransition, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(max_length=5, help_text="email or sms")
    recipient = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["transition", "channel"],
                condition=Q(transition__isnull=False),
                name="applicant_notice_once",
            ),
        ]


class Satisfaction(models.TextChoices):
    """Mức độ hài lòng, rated by the applicant with the dossier code."""

    VERY_SATISFIED = "very_satisfied", _("Very satisfied")
    SATISFIED = "satisfied", _("Satisfied")
    NOT_SATISFIED = "not_satisfied", _("Not satisfied")


class SatisfactionRating(models.Model):
    dossier = models.OneToOneField(Dossier, on_delete=models.CASCADE, related_name="rating")
    level = models.CharField(max_length=16, choices=Satisfaction)
    comment = models.TextField(blank=True)
    rated_at = models.DateTimeField(db_index=True)
