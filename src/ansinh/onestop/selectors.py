"""Reads of the one-stop desk: work queues, a dossier for staff (authorised and audited), the
actions an officer may take now, overdue lists for managers, and the public status look-up.

Authorisation of a staff read (xem hồ sơ): the ``onestop.view_dossier`` permission and an
organisation that holds the dossier now or received it, or sits above one of those in the
organisation tree, or is nationwide. A dossier holds the applicant's personal data, so every
read leaves a READ audit event and every refusal a DENIED one.

The allowed-actions helper mirrors the checks of ``onestop.services`` without writing, so a
page shows only the buttons that will work; the services still decide.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django_fsm import can_proceed

from ansinh.access.models import AuditAction, Organisation, User
from ansinh.access.services import audit
from ansinh.core.errors import Forbidden, NotFound
from ansinh.law.deadlines import office_minutes_between, working_days_after
from ansinh.onestop.clock import Cutoffs, cutoffs
from ansinh.onestop.models import (
    OPEN_STATES,
    RESOLVED_STATES,
    Action,
    ApologySlip,
    Department,
    Dossier,
    DossierState,
    DossierTransition,
    Office,
    Procedure,
    ProcedureVersion,
    SatisfactionRating,
    Warning,
)
from ansinh.onestop.services import can_reassign

#: Mã hồ sơ: agency identity code (13 characters), reception date YYMMDD, 4-digit sequence
#: (see ``services.dossier_code``). Checked before any query on the public look-up.
CODE_RE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}-\d{6}-\d{4}$")

S = DossierState


def valid_code(code: str) -> bool:
    return bool(CODE_RE.fullmatch(code or ""))


# --- organisations and offices -------------------------------------------------------------------


def ancestor_ids(org: Organisation | None) -> list[int]:
    """The organisation and every organisation above it (the parent chain)."""
    ids: list[int] = []
    while org is not None and org.pk not in ids:
        ids.append(org.pk)
        org = org.parent
    return ids


def descendant_ids(org_id: int) -> set[int]:
    """The organisation and every organisation under it (one query for the whole tree)."""
    children: dict[int, list[int]] = {}
    for pk, parent in Organisation.objects.values_list("pk", "parent_id"):
        if parent is not None:
            children.setdefault(parent, []).append(pk)
    found = {org_id}
    todo = [org_id]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def user_office(user: Any) -> Office | None:
    """The one-stop office of the user's organisation, if it has one."""
    if not getattr(user, "organisation_id", None):
        return None
    return (
        Office.objects.select_related("organisation")
        .filter(organisation_id=user.organisation_id)
        .first()
    )


def _sees_everything(user: Any) -> bool:
    org = getattr(user, "organisation", None)
    return bool(user.is_superuser or (org is not None and org.nationwide and org.active))


def offices_managed_by(user: Any) -> QuerySet[Office]:
    """Offices whose overdue dossiers a manager sees: their own office and those under it."""
    qs = Office.objects.select_related("organisation")
    if _sees_everything(user):
        return qs
    if not user.organisation_id:
        return qs.none()
    return qs.filter(organisation_id__in=descendant_ids(user.organisation_id))


def officers_of(office: Office) -> list[User]:
    """Active staff of the office's organisation who may process dossiers, by name."""
    users = (
        User.objects.filter(organisation_id=office.organisation_id, is_active=True)
        .filter(
            Q(
                groups__permissions__codename="change_dossier",
                groups__permissions__content_type__app_label="onestop",
            )
            | Q(
                user_permissions__codename="change_dossier",
                user_permissions__content_type__app_label="onestop",
            )
        )
        .distinct()
    )
    return sorted(users, key=lambda u: (u.get_full_name() or u.username).lower())


# --- authorisation -------------------------------------------------------------------------------


def can_view_dossier(user: Any, dossier: Dossier) -> bool:
    """Role and organisation test of a staff read, without auditing (for lists and links)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if not user.has_perm("onestop.view_dossier"):
        return False
    if _sees_everything(user):
        return True
    if not user.organisation_id:
        return False
    for office in (dossier.office, dossier.receiving_office):
        if user.organisation_id in ancestor_ids(office.organisation):
            return True
    return False


def _deny(user: Any, dossier: Dossier, reason: str, request: Any, purpose: str) -> Forbidden:
    audit(
        actor=user,
        action=AuditAction.DENIED,
        object_type="dossier",
        object_id=str(dossier.pk),
        purpose=purpose,
        request=request,
        detail={"reason": reason},
    )
    if reason == "permission_denied":
        return Forbidden(
            "permission_denied",
            None,
            "Vai trò của bạn không được phép xem hồ sơ một cửa.",
            "Your role is not allowed to view one-stop dossiers.",
        )
    return Forbidden(
        "not_your_office",
        None,
        "Hồ sơ này không thuộc đơn vị của bạn hoặc đơn vị cấp dưới.",
        "This dossier belongs neither to your office nor to an office under it.",
    )


def find_dossier(code: str) -> Dossier | None:
    if not valid_code(code):
        return None
    return (
        Dossier.objects.select_related(
            "procedure",
            "procedure_version",
            "office__organisation__parent",
            "receiving_office__organisation__parent",
            "department",
            "assignee",
            "created_by",
        )
        .filter(code=code)
        .first()
    )


def authorize_dossier(
    user: Any,
    dossier: Dossier,
    *,
    request: Any = None,
    action: str | None = AuditAction.READ,
    purpose: str = "",
    detail: dict | None = None,
) -> None:
    """Allow a staff read of ``dossier`` or raise Forbidden after a DENIED audit event. When
    allowed, ``action`` (READ for a page or an API read, EXPORT for a PDF, None for a write
    that the services audit themselves) is recorded."""
    if not user.has_perm("onestop.view_dossier"):
        raise _deny(user, dossier, "permission_denied", request, purpose)
    if not can_view_dossier(user, dossier):
        raise _deny(user, dossier, "not_your_office", request, purpose)
    if action is not None:
        audit(
            actor=user,
            action=action,
            object_type="dossier",
            object_id=str(dossier.pk),
            purpose=purpose,
            request=request,
            detail=detail or {"code": dossier.code},
        )


def dossier_for_staff(
    user: Any,
    code: str,
    *,
    request: Any = None,
    action: str | None = AuditAction.READ,
    purpose: str = "",
    detail: dict | None = None,
) -> Dossier:
    """The dossier with this code for a staff read (see :func:`authorize_dossier`); raises
    NotFound for an unknown or malformed code."""
    dossier = find_dossier(code)
    if dossier is None:
        raise NotFound(
            "unknown_dossier", "code", "Không tìm thấy hồ sơ.", "The dossier was not found."
        )
    authorize_dossier(user, dossier, request=request, action=action, purpose=purpose, detail=detail)
    return dossier


# --- warnings and time left ----------------------------------------------------------------------

WARNING_BADGE = {
    Warning.OVERDUE: "bad",
    Warning.DUE_TODAY: "due",
    Warning.DUE_SOON: "soon",
    Warning.PAUSED: "ex",
    Warning.ON_TRACK: "ok",
}


def live_warning(dossier: Dossier, cut: Cutoffs) -> str:
    """The warning class now (the stored one is as of the last sweep)."""
    if dossier.state not in OPEN_STATES:
        return Warning.NONE
    if dossier.state == S.SUPPLEMENT:
        return Warning.PAUSED
    if dossier.due_at < cut.now:
        return Warning.OVERDUE
    if dossier.due_at < cut.end_of_today:
        return Warning.DUE_TODAY
    if dossier.due_at < cut.end_of_soon:
        return Warning.DUE_SOON
    return Warning.ON_TRACK


def hours_text(minutes: int) -> str:
    """Office minutes as hours and minutes ("63 h", "2 h 30 min")."""
    hours, mins = divmod(max(minutes, 0), 60)
    if hours and mins:
        return _("%(h)d h %(m)02d min") % {"h": hours, "m": mins}
    if hours:
        return _("%(h)d h") % {"h": hours}
    return _("%(m)d min") % {"m": mins}


def time_left_text(dossier: Dossier, now: dt.datetime) -> str:
    """Thời gian còn lại, in working days (day deadlines) or office hours (hour deadlines, and
    the last day of a day deadline)."""
    if dossier.state not in OPEN_STATES:
        return ""
    deadline = dossier.deadline
    if dossier.state == S.SUPPLEMENT:
        left = dossier.paused_left
        if left is None:
            return _("Clock paused (already overdue when paused)")
        if deadline.in_hours:
            return _("Clock paused: %(t)s left") % {"t": hours_text(left)}
        return ngettext(
            "Clock paused: %(n)d working day left",
            "Clock paused: %(n)d working days left",
            left,
        ) % {"n": left}
    hours = dossier.office.hours
    today = timezone.localtime(now).date()
    due_day = timezone.localtime(dossier.due_at).date()
    if now > dossier.due_at:
        late_days = working_days_after(due_day, today)
        if deadline.in_hours or late_days == 0:
            late = office_minutes_between(dossier.due_at, now, hours)
            return _("Overdue by %(t)s") % {"t": hours_text(late)}
        return ngettext(
            "Overdue by %(n)d working day", "Overdue by %(n)d working days", late_days
        ) % {"n": late_days}
    days = working_days_after(today, due_day)
    if deadline.in_hours or days == 0:
        return _("%(t)s of office time left") % {
            "t": hours_text(office_minutes_between(now, dossier.due_at, hours))
        }
    return ngettext("%(n)d working day left", "%(n)d working days left", days) % {"n": days}


# --- queues --------------------------------------------------------------------------------------

TAB_MINE = "mine"
TAB_DEPARTMENT = "department"
TAB_DESK = "desk"
TABS = (
    (TAB_MINE, gettext_lazy("Assigned to me")),
    (TAB_DEPARTMENT, gettext_lazy("My departments")),
    (TAB_DESK, gettext_lazy("One-stop desk")),
)


def _queue_base() -> QuerySet[Dossier]:
    return Dossier.objects.select_related(
        "procedure", "procedure_version", "office__organisation", "department", "assignee"
    )


def queue_filter(user: Any, tab: str) -> Q:
    """Which dossiers a tab holds for this user.

    * mine: open dossiers assigned to the user;
    * department: open, unassigned dossiers of the departments the user belongs to;
    * desk: at the user's office, received and not yet passed to a department, and results
      ready to hand back (the reception desk's own work).
    """
    if tab == TAB_MINE:
        return Q(assignee_id=user.pk, state__in=OPEN_STATES)
    if tab == TAB_DEPARTMENT:
        departments = Department.objects.filter(members=user).values("pk")
        return Q(department__in=departments, assignee__isnull=True, state__in=OPEN_STATES)
    org = user.organisation_id or -1
    return Q(office__organisation_id=org) & (
        Q(state=S.RECEIVED, department__isnull=True, assignee__isnull=True)
        | Q(state=S.RESULT_READY)
    )


def queue_counts(user: Any) -> dict[str, int]:
    """Dossiers per tab, in one query."""
    aggregates = {f"n_{tab}": Count("pk", filter=queue_filter(user, tab)) for tab, _l in TABS}
    any_tab = Q()
    for tab, _label in TABS:
        any_tab |= queue_filter(user, tab)
    counts = Dossier.objects.filter(any_tab).aggregate(**aggregates)
    return {tab: counts[f"n_{tab}"] for tab, _label in TABS}


def queue(
    user: Any,
    tab: str = TAB_MINE,
    *,
    procedure: str = "",
    state: str = "",
    q: str = "",
) -> QuerySet[Dossier]:
    """A work queue, most urgent first (earliest due time; paused dossiers after those whose
    clock runs, since their due time will move)."""
    qs = _queue_base().filter(queue_filter(user, tab))
    if procedure:
        qs = qs.filter(procedure__code=procedure)
    if state:
        qs = qs.filter(state=state)
    if q:
        qs = qs.filter(code__icontains=q.strip())
    paused = Case(
        When(state=S.SUPPLEMENT, then=Value(1)), default=Value(0), output_field=IntegerField()
    )
    return qs.annotate(_paused=paused).order_by("_paused", "due_at", "pk")


def procedures_in_force(day: dt.date | None = None) -> list[tuple[Procedure, ProcedureVersion]]:
    """The active catalogue with the version in force on ``day`` (today by default)."""
    day = day or timezone.localdate()
    versions = (
        ProcedureVersion.objects.on(day)
        .filter(procedure__active=True)
        .select_related("procedure")
        .order_by("procedure__code", "valid_from")
    )
    latest: dict[int, ProcedureVersion] = {}
    for version in versions:
        latest[version.procedure_id] = version
    return [(v.procedure, v) for v in sorted(latest.values(), key=lambda v: v.procedure.code)]


def version_in_force(code: str, day: dt.date | None = None) -> ProcedureVersion | None:
    day = day or timezone.localdate()
    return (
        ProcedureVersion.objects.on(day)
        .filter(procedure__code=code, procedure__active=True)
        .select_related("procedure")
        .order_by("valid_from")
        .last()
    )


# --- one dossier ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One step of the path as the dossier page shows it (an apology slip is a step too)."""

    at: dt.datetime
    action: str
    label: str
    actor_name: str
    from_office: Office | None
    to_office: Office | None
    from_department: Department | None
    to_department: Department | None
    to_assignee: Any
    from_state: str
    to_state: str
    note: str
    due_at: dt.datetime | None
    slip: ApologySlip | None = None
    due_changed: bool = True

    @property
    def to_state_label(self) -> str:
        return str(DossierState(self.to_state).label) if self.to_state else ""

    @property
    def state_changed(self) -> bool:
        return self.from_state != self.to_state


def timeline(dossier: Dossier) -> list[TimelineEntry]:
    """The whole path, oldest first; each apology step carries its slip."""
    steps = list(
        DossierTransition.objects.filter(dossier=dossier)
        .select_related(
            "from_office__organisation",
            "to_office__organisation",
            "from_department",
            "to_department",
            "to_assignee",
        )
        .order_by("at", "pk")
    )
    slips = {s.issued_at: s for s in ApologySlip.objects.filter(dossier=dossier)}
    entries: list[TimelineEntry] = []
    previous_due = None
    for step in steps:
        slip = slips.get(step.at) if step.action == Action.APOLOGY else None
        due_changed = step.due_at != previous_due
        previous_due = step.due_at
        entries.append(
            TimelineEntry(
                at=step.at,
                action=step.action,
                label=str(Action(step.action).label),
                actor_name=step.actor_name,
                from_office=step.from_office,
                to_office=step.to_office,
                from_department=step.from_department,
                to_department=step.to_department,
                to_assignee=step.to_assignee,
                from_state=step.from_state,
                to_state=step.to_state,
                note=step.note,
                due_at=step.due_at,
                slip=slip,
                due_changed=due_changed,
            )
        )
    return entries


#: Actions the desk offers, in the order the page shows them, with whether they are processing
#: steps (assignee or department members only) — mirrors ``services`` (``_Move.processor``).
ACTIONS: tuple[tuple[str, str | None, bool], ...] = (
    ("start", "start", True),
    ("transfer", "transfer", False),
    ("request_supplement", "request_supplement", True),
    ("supplement_received", "supplement_received", False),
    ("result_ready", "result_ready", True),
    ("return_result", "return_result", False),
    ("apology", None, True),
    ("reassign", None, False),
    ("reject", "reject", True),
    ("withdraw", "withdraw", False),
)
ACTION_NAMES = tuple(name for name, _m, _p in ACTIONS)


def _may_process(user: Any, dossier: Dossier) -> bool:
    """``services._check_processor`` without raising."""
    if dossier.assignee_id is not None:
        return dossier.assignee_id == user.pk
    if dossier.department_id is not None:
        return dossier.department.members.filter(pk=user.pk).exists()
    return True


def allowed_actions(user: Any, dossier: Dossier) -> list[str]:
    """The actions that are legal in the dossier's state AND allowed for this user now."""
    if not getattr(user, "is_authenticated", False):
        return []
    manager = can_reassign(user, dossier)
    if not manager:
        if not user.has_perm("onestop.change_dossier"):
            return []
        if user.organisation_id != dossier.office.organisation_id and not user.is_superuser:
            return []
    processor = manager or _may_process(user, dossier)
    allowed: list[str] = []
    for name, method, processing in ACTIONS:
        if processing and not processor:
            continue
        if method is not None:
            if not can_proceed(getattr(dossier, method)):
                continue
        elif dossier.state not in OPEN_STATES:
            continue
        if name == "reassign" and not manager:
            continue
        allowed.append(name)
    return allowed


def transfer_destinations(dossier: Dossier) -> list[tuple[Office, list[Department]]]:
    """Where a dossier may be sent: the departments of its office, then the offices above and
    below it and those of the same province (commune ↔ province), each with its departments."""
    office = dossier.office
    org = office.organisation
    related = set(ancestor_ids(org)) | {c.pk for c in Organisation.objects.filter(parent=org)}
    others = (
        Office.objects.select_related("organisation")
        .exclude(pk=office.pk)
        .filter(Q(organisation_id__in=related) | Q(province_code=office.province_code))
        .order_by("agency_code")[:50]
    )
    offices = [office, *others]
    departments: dict[int, list[Department]] = {o.pk: [] for o in offices}
    for dept in Department.objects.filter(office__in=offices).order_by("code"):
        departments[dept.office_id].append(dept)
    return [(o, departments[o.pk]) for o in offices]


# --- overdue lists -------------------------------------------------------------------------------


@dataclass
class OfficerGroup:
    officer: Any
    dossiers: list[Dossier] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.dossiers)


@dataclass
class DepartmentGroup:
    department: Department | None
    officers: list[OfficerGroup] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(g.count for g in self.officers)


@dataclass
class OfficeGroup:
    office: Office
    departments: list[DepartmentGroup] = field(default_factory=list)
    staff: list[User] = field(default_factory=list)  # who a dossier may be reassigned to
    overdue: int = 0
    due_today: int = 0

    @property
    def count(self) -> int:
        return self.overdue + self.due_today


OVERDUE_LIMIT = 1000


def overdue_dossiers(user: Any, now: dt.datetime | None = None) -> QuerySet[Dossier]:
    """Open dossiers whose clock runs and that are due by the end of today (overdue or due
    today), in the offices the manager oversees."""
    cut = cutoffs(now or timezone.now())
    return (
        Dossier.objects.filter(
            office__in=offices_managed_by(user),
            state__in=[s for s in OPEN_STATES if s != S.SUPPLEMENT],
            due_at__lt=cut.end_of_today,
        )
        .select_related(
            "procedure", "procedure_version", "office__organisation", "department", "assignee"
        )
        .order_by("office__agency_code", "department__code", "assignee_id", "due_at", "pk")
    )


def overdue_groups(user: Any, now: dt.datetime | None = None) -> tuple[list[OfficeGroup], int]:
    """Overdue and due-today dossiers grouped by office, department and officer, with counts;
    returns the groups and the total (the list itself stops at ``OVERDUE_LIMIT`` rows)."""
    now = now or timezone.now()
    cut = cutoffs(now)
    qs = overdue_dossiers(user, now)
    total = qs.count()
    groups: dict[int, OfficeGroup] = {}
    for dossier in qs[:OVERDUE_LIMIT]:
        dossier.live_warning = live_warning(dossier, cut)
        dossier.time_left = time_left_text(dossier, now)
        office_group = groups.get(dossier.office_id)
        if office_group is None:
            office_group = groups[dossier.office_id] = OfficeGroup(dossier.office)
        if dossier.live_warning == Warning.OVERDUE:
            office_group.overdue += 1
        else:
            office_group.due_today += 1
        if not office_group.departments or (
            office_group.departments[-1].department != dossier.department
        ):
            office_group.departments.append(DepartmentGroup(dossier.department))
        dept_group = office_group.departments[-1]
        if not dept_group.officers or dept_group.officers[-1].officer != dossier.assignee:
            dept_group.officers.append(OfficerGroup(dossier.assignee))
        dept_group.officers[-1].dossiers.append(dossier)
    for group in groups.values():
        group.staff = officers_of(group.office)
    return list(groups.values()), total


# --- public status -------------------------------------------------------------------------------

#: What a state means for the applicant, in plain words (no internal detail).
PUBLIC_STATE = {
    S.RECEIVED: gettext_lazy("Received; waiting to be passed to the processing department"),
    S.TRANSFERRED: gettext_lazy("Passed to the processing department"),
    S.PROCESSING: gettext_lazy("Being processed"),
    S.SUPPLEMENT: gettext_lazy(
        "The dossier needs more documents; the details were sent to the applicant"
    ),
    S.RESULT_READY: gettext_lazy("The result is ready to be collected"),
    S.RETURNED: gettext_lazy("The result has been returned"),
    S.REJECTED: gettext_lazy(
        "The dossier cannot be granted; the reasons were sent to the applicant"
    ),
    S.WITHDRAWN: gettext_lazy("Withdrawn at the applicant's request"),
}

#: Step labels on the public path; notes are never shown (they may hold personal data).
PUBLIC_STEP = {
    Action.RECEIVE: gettext_lazy("Dossier received"),
    Action.TRANSFER: gettext_lazy("Passed on for processing"),
    Action.START: gettext_lazy("Processing started"),
    Action.REQUEST_SUPPLEMENT: gettext_lazy(
        "The dossier needs more documents; the details were sent to the applicant"
    ),
    Action.SUPPLEMENT_RECEIVED: gettext_lazy("Additional documents received; processing resumes"),
    Action.RESULT_READY: gettext_lazy("Result ready"),
    Action.REJECT: gettext_lazy(
        "The dossier cannot be granted; the reasons were sent to the applicant"
    ),
    Action.RETURN: gettext_lazy("Result returned"),
    Action.WITHDRAW: gettext_lazy("Withdrawn at the applicant's request"),
    Action.REASSIGN: gettext_lazy("Handed to another officer"),
    Action.APOLOGY: gettext_lazy("Apology and new return date issued"),
}


@dataclass(frozen=True)
class PublicStep:
    at: dt.datetime
    action: str
    label: str
    agency: str
    department: str
    officer: str
    new_date: dt.datetime | None = None


@dataclass(frozen=True)
class PublicStatus:
    """What anyone holding the code may see: no applicant data, no notes."""

    code: str
    procedure_code: str
    procedure_name: str
    procedure_name_en: str
    agency: str
    current_agency: str
    received_at: dt.datetime
    state: str
    state_label: str
    expected_return_at: dt.datetime
    resolved_at: dt.datetime | None
    returned_at: dt.datetime | None
    is_open: bool
    is_resolved: bool
    rated: bool
    path: tuple[PublicStep, ...]


def public_status(code: str) -> PublicStatus | None:
    """The public view of a dossier, or None (unknown or malformed code: the caller answers the
    same way for both)."""
    if not valid_code(code):
        Dossier.objects.filter(pk=-1).exists()  # same shape of work as a real miss
        return None
    dossier = (
        Dossier.objects.select_related(
            "procedure", "receiving_office__organisation", "office__organisation"
        )
        .filter(code=code)
        .first()
    )
    if dossier is None:
        return None
    steps = (
        DossierTransition.objects.filter(dossier=dossier)
        .select_related("to_office__organisation", "to_department")
        .order_by("at", "pk")
    )
    slips = {s.issued_at: s for s in ApologySlip.objects.filter(dossier=dossier)}
    path = []
    for step in steps:
        slip = slips.get(step.at) if step.action == Action.APOLOGY else None
        path.append(
            PublicStep(
                at=step.at,
                action=step.action,
                label=str(PUBLIC_STEP.get(step.action, step.action)),
                agency=step.to_office.organisation.name if step.to_office else "",
                department=step.to_department.name if step.to_department else "",
                officer=step.actor_name,
                new_date=slip.new_due_at if slip else None,
            )
        )
    is_open = dossier.state in OPEN_STATES
    return PublicStatus(
        code=dossier.code,
        procedure_code=dossier.procedure.code,
        procedure_name=dossier.procedure.name_vi,
        procedure_name_en=dossier.procedure.name_en,
        agency=dossier.receiving_office.organisation.name,
        current_agency=dossier.office.organisation.name,
        received_at=dossier.received_at,
        state=dossier.state,
        state_label=str(PUBLIC_STATE[dossier.state]),
        expected_return_at=dossier.promised_at or dossier.due_at,
        resolved_at=dossier.resolved_at,
        returned_at=dossier.returned_at,
        is_open=is_open,
        is_resolved=dossier.state in RESOLVED_STATES,
        rated=SatisfactionRating.objects.filter(dossier=dossier).exists(),
        path=tuple(path),
    )
