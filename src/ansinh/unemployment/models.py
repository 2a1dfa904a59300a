"""Unemployment benefit claims (hồ sơ hưởng trợ cấp thất nghiệp) at an Employment Service Centre
(Trung tâm dịch vụ việc làm).

A :class:`Claim` is received at the centre's one-stop desk (it owns a one-stop ``Dossier``),
fetches the person's BHTN history from the insurance agency through the exchange layer, is
assessed by ``entitlement.compute``, proposed by the centre and decided by the director of the
provincial department (Sở Nội vụ since 2025 — names are data, see :class:`CentreProfile`).
Decisions (grant, refusal, suspension, resumption, termination) are :class:`Decision` rows with
their PDF; each one the insurance side must know is sent to it in the same transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import FSMField, FSMModelMixin, transition

from ansinh.law.models import DatedRule


class TerminationEffect(models.TextChoices):
    ELIGIBLE = "eligible", _("Gives a right to benefit")
    DISQUALIFIES = "disqualifies", _("Disqualifies")
    VERIFY = "verify", _("To be verified")


class TerminationReasonRule(DatedRule):
    """Lý do chấm dứt hợp đồng: a coded termination reason and whether it disqualifies, per law
    (rows dated like every rule; loaded from ``rules.toml``)."""

    code = models.SlugField(max_length=40)
    effect = models.CharField(max_length=14, choices=TerminationEffect)
    label_vi = models.CharField(max_length=200)
    label_en = models.CharField(max_length=200)

    class Meta(DatedRule.Meta):
        constraints = [
            models.UniqueConstraint(fields=["code", "valid_from"], name="bhtn_reason_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.effect}) from {self.valid_from}"


class CentreProfile(models.Model):
    """Who issues and signs a centre's decisions: the names printed on them (data, not code:
    the 2025 restructuring moved the labour functions to the Departments of Home Affairs)."""

    office = models.OneToOneField(
        "onestop.Office", on_delete=models.CASCADE, related_name="bhtn_profile"
    )
    issuer_superior = models.CharField(max_length=200, default="ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI")
    issuer_name = models.CharField(max_length=200, default="SỞ NỘI VỤ")
    decision_symbol = models.CharField(max_length=30, default="QĐ-SNV")
    signer_title = models.CharField(max_length=100, default="GIÁM ĐỐC")
    signer_name = models.CharField(max_length=100, blank=True)
    insurance_office_name = models.CharField(max_length=200, default="Bảo hiểm xã hội tỉnh")
    paying_office = models.CharField(max_length=20, blank=True, help_text="Insurance office code.")

    def __str__(self) -> str:
        return f"{self.issuer_name} ({self.office_id})"


class Channel(models.TextChoices):
    COUNTER = "counter", _("At the counter")
    ONLINE = "online", _("Online")


class ClaimState(models.TextChoices):
    RECEIVED = "received", pgettext_lazy("bhtn claim state", "Received")
    HISTORY_PENDING = (
        "history_pending",
        pgettext_lazy("bhtn claim state", "Waiting for the insurance history"),
    )
    HISTORY_FETCHED = "history_fetched", pgettext_lazy("bhtn claim state", "History received")
    ASSESSED = "assessed", pgettext_lazy("bhtn claim state", "Assessed")
    PROPOSED = "proposed", pgettext_lazy("bhtn claim state", "Proposed for decision")
    DECIDED = "decided", pgettext_lazy("bhtn claim state", "Decided (benefit granted)")
    REFUSED = "refused", pgettext_lazy("bhtn claim state", "Refused")
    ACTIVE = "active", pgettext_lazy("bhtn claim state", "Receiving benefit")
    SUSPENDED = "suspended", pgettext_lazy("bhtn claim state", "Suspended")
    TERMINATED = "terminated", pgettext_lazy("bhtn claim state", "Terminated")
    COMPLETED = "completed", pgettext_lazy("bhtn claim state", "Completed")
    WITHDRAWN = "withdrawn", pgettext_lazy("bhtn claim state", "Withdrawn")


S = ClaimState
BEFORE_DECISION = [S.RECEIVED, S.HISTORY_PENDING, S.HISTORY_FETCHED, S.ASSESSED, S.PROPOSED]
OPEN_STATES = frozenset({*BEFORE_DECISION, S.DECIDED, S.ACTIVE, S.SUSPENDED})


class Claim(FSMModelMixin, models.Model):
    """One claim for one termination of one person (unique while not withdrawn)."""

    code = models.CharField(max_length=40, unique=True, help_text="The one-stop dossier code.")
    dossier = models.OneToOneField(
        "onestop.Dossier", on_delete=models.PROTECT, related_name="bhtn_claim"
    )
    office = models.ForeignKey("onestop.Office", on_delete=models.PROTECT, related_name="+")
    province_code = models.CharField(max_length=2, db_index=True)
    channel = models.CharField(max_length=8, choices=Channel)
    personal_id = models.CharField(max_length=12, db_index=True)
    full_name = models.CharField(max_length=200)
    birth_date = models.DateField(null=True, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    email = models.CharField(max_length=200, blank=True)
    address = models.CharField(max_length=300, blank=True)
    termination_date = models.DateField()
    termination_reason = models.SlugField(max_length=40, help_text="Our code (rules.toml).")
    termination_reason_given = models.CharField(max_length=40, blank=True)
    contract_type = models.CharField(max_length=14, blank=True)
    filed_on = models.DateField()
    payment_method = models.CharField(max_length=5, default="bank")
    state = FSMField(max_length=16, choices=ClaimState, default=S.RECEIVED, protected=True)
    # The insurance side's answers, as received (the message ids are the evidence in the logs).
    history = models.JSONField(null=True, blank=True)
    history_message_id = models.CharField(max_length=100, blank=True)
    awards = models.JSONField(null=True, blank=True)
    awards_message_id = models.CharField(max_length=100, blank=True)
    history_fetched_at = models.DateTimeField(null=True, blank=True)
    history_attempt = models.PositiveIntegerField(default=0)
    history_error = models.CharField(max_length=60, blank=True)
    decision_due = models.DateField(null=True, blank=True)
    reemployment = models.JSONField(null=True, blank=True, help_text="Unconfirmed feed event.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["personal_id", "termination_date"],
                condition=~Q(state="withdrawn"),
                name="bhtn_one_claim_per_termination",
            )
        ]
        permissions = [("decide_claim", "Can record signed unemployment benefit decisions")]

    def __str__(self) -> str:
        return self.code

    # --- lifecycle (services fire these; the field is protected) ---
    @transition(field=state, source=[S.RECEIVED, S.HISTORY_PENDING], target=S.HISTORY_PENDING)
    def history_wait(self) -> None:
        pass

    @transition(
        field=state,
        source=[S.RECEIVED, S.HISTORY_PENDING, S.HISTORY_FETCHED, S.ASSESSED],
        target=S.HISTORY_FETCHED,
    )
    def history_received(self) -> None:
        pass

    @transition(field=state, source=[S.HISTORY_FETCHED, S.ASSESSED], target=S.ASSESSED)
    def assess(self) -> None:
        pass

    @transition(field=state, source=S.ASSESSED, target=S.PROPOSED)
    def propose(self) -> None:
        pass

    @transition(field=state, source=S.PROPOSED, target=S.DECIDED)
    def grant(self) -> None:
        pass

    @transition(field=state, source=BEFORE_DECISION, target=S.REFUSED)
    def refuse(self) -> None:
        pass

    @transition(field=state, source=[S.DECIDED, S.SUSPENDED], target=S.ACTIVE)
    def activate(self) -> None:
        pass

    @transition(field=state, source=[S.ACTIVE, S.DECIDED], target=S.SUSPENDED)
    def suspend(self) -> None:
        pass

    @transition(field=state, source=[S.DECIDED, S.ACTIVE, S.SUSPENDED], target=S.TERMINATED)
    def terminate(self) -> None:
        pass

    @transition(field=state, source=S.ACTIVE, target=S.COMPLETED)
    def complete(self) -> None:
        pass

    @transition(field=state, source=BEFORE_DECISION, target=S.WITHDRAWN)
    def withdraw(self) -> None:
        pass


class ClaimEvent(models.Model):
    """The claim's timeline: one row per step (who, when, from/to state, note)."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    action = models.CharField(max_length=30)
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]


class Assessment(models.Model):
    """One run of the calculation (the latest counts): the verdict and its breakdown."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="assessments")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    law = models.CharField(max_length=8)
    eligible = models.BooleanField()
    monthly_amount = models.BigIntegerField(default=0)
    duration_months = models.PositiveSmallIntegerField(default=0)
    result = models.JSONField()

    class Meta:
        ordering = ["-at", "-id"]


class DecisionKind(models.TextChoices):
    GRANT = "grant", pgettext_lazy("bhtn decision", "Grant")
    REFUSE = "refuse", pgettext_lazy("bhtn decision", "Refusal")
    SUSPEND = "suspend", pgettext_lazy("bhtn decision", "Suspension")
    RESUME = "resume", pgettext_lazy("bhtn decision", "Resumption")
    TERMINATE = "terminate", pgettext_lazy("bhtn decision", "Termination")


class SuspendReason(models.TextChoices):
    """Tạm dừng hưởng (Law 38/2013 Art. 53 cl. 1 a; Decree 28/2015 Art. 20)."""

    REPORT_MISSED = "job_search_report_missed", _("Monthly job-search report not made")
    OTHER = "other", _("Other reason")


class TerminateReason(models.TextChoices):
    """Chấm dứt hưởng (Law 38/2013 Art. 53 cl. 1; Law 74/2025 Art. 41)."""

    PERIOD_ENDED = "period_ended", _("Benefit period ended")
    NEW_EMPLOYMENT = "new_employment", _("Found a job")
    MILITARY_SERVICE = "military_service", _("Military or police service")
    PENSION = "pension", _("Receives a monthly pension")
    REFUSED_JOB = "refused_job_twice", _("Refused two suitable job offers")
    REPORTS_MISSED = "reports_missed_3_months", _("No job-search report for 3 months in a row")
    EMIGRATION = "emigration", _("Settled abroad")
    STUDY = "study_12_months", _("Study of 12 months or more")
    FRAUD = "fraud", _("Benefit obtained by fraud")
    DETENTION = "detention", _("Detention or imprisonment")
    DEATH = "death", _("Died")
    OTHER = "other", _("Other reason")


class Decision(models.Model):
    """A signed decision (quyết định) with its number and symbol, signer and PDF. Numbers are
    unique: a number given twice is refused (Conflict ``decision_number_used``)."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="decisions")
    number = models.CharField(max_length=60, unique=True)
    kind = models.CharField(max_length=10, choices=DecisionKind)
    reason = models.CharField(max_length=40, blank=True)
    issuer_name = models.CharField(max_length=200)
    signer_title = models.CharField(max_length=100)
    signer_name = models.CharField(max_length=100)
    signed_on = models.DateField()
    effective_on = models.DateField()
    content = models.JSONField(default=dict)
    pdf = models.BinaryField(blank=True)
    message_id = models.CharField(max_length=100, blank=True, help_text="notifyDecision message.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["claim"], condition=Q(kind="grant"), name="bhtn_one_grant_per_claim"
            )
        ]


class JobSearchReport(models.Model):
    """Thông báo tìm kiếm việc làm hằng tháng (Law 38/2013 Art. 52; Decree 28/2015 Art. 19)."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="reports")
    month_no = models.PositiveSmallIntegerField()
    due_on = models.DateField()
    received_on = models.DateField(null=True, blank=True)
    late = models.BooleanField(default=False)
    note = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["claim", "month_no"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "month_no"], name="bhtn_report_unique")
        ]


class CaseNotice(models.Model):
    """A fraud-and-error case the insurance side told us about (service ``benefitCase``)."""

    case_no = models.CharField(max_length=60, unique=True)
    decision_no = models.CharField(max_length=60, db_index=True)
    personal_id = models.CharField(max_length=12, db_index=True)
    kind = models.CharField(max_length=30)
    status = models.CharField(max_length=10)
    payments_held = models.BooleanField(default=False)
    evidence = models.JSONField(default=dict)
    opened_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    claim = models.ForeignKey(
        Claim, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    client = models.CharField(max_length=300)
    message_id = models.CharField(max_length=100)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at"]


class FeedCursor(models.Model):
    """How far we have read a peer's ``reemploymentFeed``."""

    peer = models.CharField(max_length=300, unique=True)
    last = models.BigIntegerField(default=0)
    polled_at = models.DateTimeField(null=True, blank=True)
