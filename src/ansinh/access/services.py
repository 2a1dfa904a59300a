"""Writes of the access app: roles, organisations, users, tokens, login checks, the audit log.

Roles (vai trò) are Django groups, recreated idempotently by :func:`ensure_roles` after every
``migrate``:

- ``officer`` (cán bộ nghiệp vụ): view/add/change persons, legacy numbers, employers,
  employment spells, salary periods and health insurance cards, every contribution-ledger
  model, one-stop dossiers and apology slips; view rule tables and administrative units.
  No sensitive data, no deletes.
- ``manager`` (lãnh đạo): the officer's permissions plus ``access.view_reports`` and
  ``onestop.reassign_dossier`` (overdue lists, reassigning dossiers). A manager
  sees the same administrative scope as an officer of the same organisation.
- ``auditor`` (kiểm toán): ``access.view_auditevent``, view organisations and users; no
  personal-data permission at all.
- ``administrator`` (quản trị): organisations, users, API tokens and rule tables
  (``law``), administrative units, the procedure catalogue, one-stop offices and
  departments; no personal-data permission.
- ``employer`` and ``ivan``: machine and employer submitters; no registry permission yet (the
  gateway gives them access to their own workers through their submissions).

Decision on sensitive data: ``registry.view_sensitive`` (ethnicity) and
``registry.view_any_area`` belong to NO default role, administrators included. Few procedures
need ethnicity (e.g. state-funded health insurance for ethnic minorities), so an administrator
grants the permission to the named officers who handle them, as a per-user permission; a
central agency gets the whole country through ``Organisation.nationwide`` instead of
``view_any_area``. Least privilege, and every grant is a visible, deliberate act.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from ansinh.access.auth import hash_token, new_token
from ansinh.access.models import (
    ApiToken,
    AuditAction,
    AuditEvent,
    Organisation,
    OrganisationKind,
    User,
)
from ansinh.core.errors import DomainError, Forbidden, NotFound

log = logging.getLogger(__name__)

ROLES = ("officer", "manager", "auditor", "administrator", "employer", "ivan")

# (app_label, model or "*" for every model of the app, actions)
_RoleSpec = Sequence[tuple[str, str, Sequence[str]]]
_OFFICER: _RoleSpec = [
    ("registry", "person", ("view", "add", "change")),
    ("registry", "legacynumber", ("view", "add", "change")),
    ("registry", "employer", ("view", "add", "change")),
    ("registry", "employmentspell", ("view", "add", "change")),
    ("registry", "salaryperiod", ("view", "add", "change")),
    ("registry", "healthinsurancecard", ("view", "add", "change")),
    ("contributions", "*", ("view", "add", "change")),
    ("law", "*", ("view",)),
    ("places", "*", ("view",)),
    ("onestop", "dossier", ("view", "add", "change")),
    ("onestop", "apologyslip", ("view", "add")),
    ("onestop", "procedure", ("view",)),
    ("onestop", "procedureversion", ("view",)),
    ("onestop", "office", ("view",)),
    ("onestop", "department", ("view",)),
    # Record linkage review (issue 6): the queue and pair pages; deciding is an extra below.
    ("linkage", "reviewpair", ("view",)),
    # Unemployment benefit claims at employment service centres (issue 5).
    ("unemployment", "claim", ("view", "add", "change")),
    # Staged imports of source files (issue 6); committing/discarding is an extra below.
    ("nationaldb", "importbatch", ("view", "add")),
    # Unemployment benefit payments and fraud/error cases (issue 5); resolving is an extra.
    ("benefits", "award", ("view",)),
    ("benefits", "fraudcase", ("view",)),
]
ROLE_PERMISSIONS: dict[str, _RoleSpec] = {
    "officer": _OFFICER,
    "manager": [*_OFFICER, ("access", "organisation", ("view",))],
    "auditor": [
        ("access", "auditevent", ("view",)),
        ("access", "organisation", ("view",)),
        ("access", "user", ("view",)),
    ],
    "administrator": [
        ("access", "organisation", ("view", "add", "change", "delete")),
        ("access", "user", ("view", "add", "change", "delete")),
        ("access", "apitoken", ("view", "delete")),
        ("law", "*", ("view", "add", "change", "delete")),
        ("places", "*", ("view", "change")),
        ("onestop", "procedure", ("view", "add", "change")),
        ("onestop", "procedureversion", ("view", "add", "change", "delete")),
        ("onestop", "office", ("view", "add", "change")),
        ("onestop", "department", ("view", "add", "change", "delete")),
        # The gateway's trust store and submitters: loaded and managed by administrators.
        ("gateway", "certificateauthority", ("view", "add", "change")),
        ("gateway", "revocationlist", ("view", "add")),
        ("gateway", "signercertificate", ("view", "add", "change")),
        ("gateway", "ivanprovider", ("view", "add", "change")),
        ("gateway", "etransregistration", ("view", "add", "change")),
        ("gateway", "ivanprobe", ("view",)),
    ],
    "employer": [],
    "ivan": [],
}
# Custom permissions added to a role on top of the model permissions above.
ROLE_EXTRA_PERMISSIONS: dict[str, Sequence[str]] = {
    "officer": ["linkage.decide_pair"],
    "manager": [
        "access.view_reports",
        "onestop.reassign_dossier",
        "linkage.decide_pair",
        "unemployment.decide_claim",
        "nationaldb.commit_importbatch",
        "benefits.resolve_case",
    ],
}

# Apps whose permissions the staff of an organisation kind never hold, whatever their roles
# (enforced by ``access.backends.OrganisationKindBackend``). The insurance agency pays benefits
# but does not take unemployment claims (Law on Employment 38/2013 Art. 46: claims are filed at
# the employment service centre); the centre decides claims on histories it fetches over the
# exchange and keeps no insurance registry, ledger, gateway, payments or national database.
_INSURANCE_APPS = ("registry", "contributions", "gateway", "benefits", "nationaldb", "linkage")
KIND_BARRED_APPS: dict[str, tuple[str, ...]] = {
    "central": ("unemployment",),
    "province_office": ("unemployment",),
    "commune_office": ("unemployment",),
    "employment_centre": _INSURANCE_APPS,
    # The provincial labour authority signs unemployment decisions and, with the programmes'
    # owners, keeps social assistance lists: it reads the registry and the national database.
    "labour_dept": ("contributions", "gateway", "benefits"),
}

CHANNELS = ("web", "api", "cli", "task")


def barred_apps(user: Any) -> tuple[str, ...]:
    """The apps the user's organisation kind keeps them out of (none without an organisation)."""
    org_id = getattr(user, "organisation_id", None)
    if org_id is None:
        return ()
    return KIND_BARRED_APPS.get(user.organisation.kind, ())


def _role_permissions(role: str) -> list[Permission]:
    perms: list[Permission] = []
    for app_label, model, actions in ROLE_PERMISSIONS[role]:
        cts = ContentType.objects.filter(app_label=app_label)
        if model != "*":
            cts = cts.filter(model=model)
        codenames = [f"{a}_{m}" for a in actions for m in cts.values_list("model", flat=True)]
        found = list(Permission.objects.filter(content_type__in=cts, codename__in=codenames))
        if model != "*" and len(found) != len(actions):
            raise LookupError(f"role {role}: missing permissions for {app_label}.{model}")
        perms.extend(found)
    for dotted in ROLE_EXTRA_PERMISSIONS.get(role, ()):
        app_label, codename = dotted.split(".")
        perms.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return perms


@transaction.atomic
def ensure_roles() -> dict[str, Group]:
    """Create or update the six role groups with exactly their permissions. Idempotent."""
    groups: dict[str, Group] = {}
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(_role_permissions(role))
        groups[role] = group
    return groups


# --- audit -------------------------------------------------------------------------------------


def _client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    raw = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def _channel(request: HttpRequest | None, channel: str | None) -> str:
    if channel:
        if channel not in CHANNELS:
            raise ValueError(f"unknown audit channel {channel!r}")
        return channel
    if request is None:
        return "cli"
    if getattr(request, "auth_channel", None) == "api" or request.path.startswith("/api/"):
        return "api"
    return "web"


def audit(
    *,
    actor: Any,
    action: str,
    object_type: str,
    object_id: str = "",
    purpose: str = "",
    request: HttpRequest | None = None,
    detail: dict | None = None,
    channel: str | None = None,
) -> AuditEvent:
    """Append one audit event (nhật ký truy cập): who, what, when, why, through which channel.

    ``actor`` may be None or anonymous (a failed login). ``detail`` holds codes, counts and
    filters, never names or other personal data. The channel comes from the request ("api" for
    bearer tokens and /api/ paths, else "web"); without a request it is ``channel`` or "cli".
    """
    if action not in AuditAction.values:
        raise ValueError(f"unknown audit action {action!r}")
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        actor=actor,
        actor_username=actor.get_username() if actor else "",
        organisation_id=actor.organisation_id if actor else None,
        action=action,
        object_type=object_type[:40],
        object_id=str(object_id)[:40],
        purpose=purpose[:200],
        channel=_channel(request, channel),
        ip=_client_ip(request),
        detail=detail or {},
    )


def _deny(user: Any, code: str, obj_type: str, obj: Any, purpose: str, request: Any) -> Forbidden:
    audit(
        actor=user,
        action=AuditAction.DENIED,
        object_type=obj_type,
        object_id=str(obj.pk),
        purpose=purpose,
        request=request,
        detail={"reason": code},
    )
    if code == "permission_denied":
        return Forbidden(
            "permission_denied",
            None,
            "Vai trò của bạn không được phép xem hồ sơ này.",
            "Your role is not allowed to view this record.",
        )
    return Forbidden(
        "out_of_scope",
        None,
        "Hồ sơ này nằm ngoài địa bàn quản lý của đơn vị bạn.",
        "This record is outside your organisation's administrative scope.",
    )


def authorize_person_read(
    user: Any, person: Any, *, purpose: str, request: HttpRequest | None = None
) -> None:
    """Allow a staff read of a person's record by role (``registry.view_person``) and scope,
    and audit it: READ when allowed, DENIED (then ``Forbidden``) when not."""
    from ansinh.access.selectors import person_in_scope

    if not user.has_perm("registry.view_person"):
        raise _deny(user, "permission_denied", "person", person, purpose, request)
    if not person_in_scope(user, person):
        raise _deny(user, "out_of_scope", "person", person, purpose, request)
    audit(
        actor=user,
        action=AuditAction.READ,
        object_type="person",
        object_id=str(person.pk),
        purpose=purpose,
        request=request,
    )


def authorize_employer_read(
    user: Any, employer: Any, *, purpose: str, request: HttpRequest | None = None
) -> None:
    """As :func:`authorize_person_read`, for an employer (``registry.view_employer``)."""
    from ansinh.access.selectors import employer_in_scope

    if not user.has_perm("registry.view_employer"):
        raise _deny(user, "permission_denied", "employer", employer, purpose, request)
    if not employer_in_scope(user, employer):
        raise _deny(user, "out_of_scope", "employer", employer, purpose, request)
    audit(
        actor=user,
        action=AuditAction.READ,
        object_type="employer",
        object_id=str(employer.pk),
        purpose=purpose,
        request=request,
    )


# --- organisations and users -------------------------------------------------------------------


def _scope_units(codes: Iterable[str]) -> list[Any]:
    from ansinh.places.models import AdminUnit, UnitLevel, UnitSystem

    units = []
    for raw in codes:
        code = raw.strip()
        level = UnitLevel.PROVINCE if len(code) == 2 else UnitLevel.COMMUNE
        unit = AdminUnit.objects.filter(system=UnitSystem.CURRENT, level=level, code=code).first()
        if unit is None:
            raise DomainError(
                "unknown_unit",
                "scope_units",
                f"Không có đơn vị hành chính hiện hành mã {code}.",
                f"No current administrative unit has code {code}.",
            )
        units.append(unit)
    return units


@transaction.atomic
def create_organisation(
    *,
    code: str,
    name: str,
    kind: str,
    scope_codes: Iterable[str] = (),
    nationwide: bool = False,
    parent: Organisation | None = None,
    actor: Any = None,
) -> Organisation:
    """Create an organisation serving the given current provinces (2-digit codes) or communes
    (5-digit codes), or the whole country."""
    code = code.strip()
    if kind not in OrganisationKind.values:
        raise DomainError(
            "invalid_kind",
            "kind",
            f"Loại đơn vị không hợp lệ: {kind}.",
            f"Unknown organisation kind: {kind}.",
        )
    if not code or Organisation.objects.filter(code=code).exists():
        raise DomainError(
            "duplicate_code" if code else "required",
            "code",
            "Mã đơn vị trống hoặc đã tồn tại.",
            "The organisation code is empty or already used.",
        )
    units = _scope_units(scope_codes)
    org = Organisation.objects.create(
        code=code, name=name.strip(), kind=kind, nationwide=nationwide, parent=parent
    )
    org.scope_units.set(units)
    audit(actor=actor, action=AuditAction.CREATE, object_type="organisation", object_id=str(org.pk))
    return org


@transaction.atomic
def create_user(
    *,
    username: str,
    password: str | None = None,
    organisation: Organisation | None = None,
    roles: Iterable[str] = (),
    actor: Any = None,
    **fields: Any,
) -> User:
    """Create a user with a hashed password (unusable when none given) and the given roles."""
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise DomainError(
            "unknown_role",
            "role",
            f"Vai trò không tồn tại: {', '.join(unknown)}.",
            f"Unknown role: {', '.join(unknown)}.",
        )
    if User.objects.filter(username=username).exists():
        raise DomainError(
            "duplicate_username",
            "username",
            "Tên đăng nhập đã tồn tại.",
            "This username is already taken.",
        )
    user = User(username=username, organisation=organisation, **fields)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    if roles:
        groups = ensure_roles()
        user.groups.set([groups[r] for r in roles])
    audit(actor=actor, action=AuditAction.CREATE, object_type="user", object_id=str(user.pk))
    return user


# --- API tokens --------------------------------------------------------------------------------


def issue_token(
    user: User,
    name: str,
    expires_at: dt.datetime | None = None,
    *,
    request: HttpRequest | None = None,
) -> tuple[ApiToken, str]:
    """Create a bearer token for ``user``. Returns the row and the token, which is shown once:
    only its SHA-256 digest is stored."""
    token = new_token()
    row = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=token[:12],
        digest=hash_token(token),
        expires_at=expires_at,
    )
    audit(
        actor=user,
        action=AuditAction.CREATE,
        object_type="api_token",
        object_id=str(row.pk),
        request=request,
    )
    return row, token


def revoke_token(
    user: User,
    prefix: str,
    *,
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> int:
    """Revoke the user's live tokens starting with ``prefix``; returns how many."""
    rows = ApiToken.objects.filter(user=user, prefix=prefix, revoked_at__isnull=True)
    ids = [str(pk) for pk in rows.values_list("pk", flat=True)]
    if not ids:
        raise NotFound(
            "unknown_token",
            "prefix",
            "Không tìm thấy mã truy cập.",
            "No such active token.",
        )
    count = rows.update(revoked_at=now or timezone.now())
    for pk in ids:
        audit(
            actor=user,
            action=AuditAction.UPDATE,
            object_type="api_token",
            object_id=pk,
            request=request,
            detail={"revoked": True},
        )
    return count


# --- login: password, lockout, second factor ---------------------------------------------------


def _locked_error(user: User, now: dt.datetime) -> Forbidden:
    assert user.locked_until is not None
    minutes = max(1, int((user.locked_until - now).total_seconds() + 59) // 60)
    return Forbidden(
        "account_locked",
        None,
        f"Tài khoản tạm khoá do đăng nhập sai nhiều lần. Thử lại sau {minutes} phút.",
        f"Account locked after repeated failed logins. Try again in {minutes} minutes.",
    )


_BAD_LOGIN = (
    "invalid_credentials",
    None,
    "Tên đăng nhập hoặc mật khẩu không đúng.",
    "Wrong username or password.",
)


def register_failure(
    user: User, *, step: str, request: HttpRequest | None = None, now: dt.datetime | None = None
) -> bool:
    """Count one failed login step (password or TOTP code); lock the account for
    ``LOCKOUT_MINUTES`` when ``LOCKOUT_THRESHOLD`` failures follow in a row. Returns whether
    the account is now locked."""
    now = now or timezone.now()
    with transaction.atomic():
        row = User.objects.select_for_update().get(pk=user.pk)
        row.failed_logins += 1
        locked = row.failed_logins >= settings.LOCKOUT_THRESHOLD
        if locked:
            row.locked_until = now + dt.timedelta(minutes=settings.LOCKOUT_MINUTES)
            row.failed_logins = 0  # a fresh series of attempts after the lock expires
        row.save(update_fields=["failed_logins", "locked_until"])
    user.failed_logins, user.locked_until = row.failed_logins, row.locked_until
    audit(
        actor=None,
        action=AuditAction.LOCKED if locked else AuditAction.LOGIN_FAILED,
        object_type="user",
        object_id=str(user.pk),
        request=request,
        detail={"step": step},
    )
    if locked:
        log.warning("account %s locked after repeated failed logins", user.pk)
    return locked


def check_not_locked(user: User, *, now: dt.datetime | None = None) -> None:
    now = now or timezone.now()
    if user.locked_until and user.locked_until > now:
        raise _locked_error(user, now)


def login_password(
    request: HttpRequest | None,
    username: str,
    password: str,
    *,
    now: dt.datetime | None = None,
) -> User:
    """First login step. Returns the user, or raises ``DomainError`` ``invalid_credentials``
    (the same for an unknown user and a wrong password) or ``Forbidden`` ``account_locked``
    (even when the password is right). Failures are audited, never with the password."""
    now = now or timezone.now()
    user = User.objects.filter(username=username).first()
    if user is not None and user.locked_until and user.locked_until > now:
        audit(
            actor=None,
            action=AuditAction.LOGIN_FAILED,
            object_type="user",
            object_id=str(user.pk),
            request=request,
            detail={"step": "password", "reason": "locked"},
        )
        raise _locked_error(user, now)
    checked = authenticate(request, username=username, password=password)
    if checked is None or user is None or checked.pk != user.pk:
        if user is not None:
            if register_failure(user, step="password", request=request, now=now):
                raise _locked_error(user, now)
        else:
            audit(
                actor=None,
                action=AuditAction.LOGIN_FAILED,
                object_type="user",
                request=request,
                detail={"step": "password", "reason": "unknown_user"},
            )
        raise DomainError(*_BAD_LOGIN, status=401)
    reset_failures(user)
    return user


def reset_failures(user: User) -> None:
    if user.failed_logins or user.locked_until:
        User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
        user.failed_logins, user.locked_until = 0, None


def login_second_factor(
    request: HttpRequest | None, user: User, code: str, *, now: dt.datetime | None = None
) -> None:
    """Second login step: check a TOTP code (replays refused). On the first success an enrolment
    is confirmed (``totp_enabled``). Wrong codes count towards the lockout."""
    from ansinh.access.twofactor import verify_code

    now = now or timezone.now()
    check_not_locked(user, now=now)
    if not verify_code(user, code, at=now.timestamp()):
        if register_failure(user, step="totp", request=request, now=now):
            raise _locked_error(user, now)
        raise DomainError(
            "invalid_code",
            "code",
            "Mã xác thực không đúng hoặc đã được dùng.",
            "The code is wrong or has already been used.",
            status=401,
        )
    if not user.totp_enabled:
        User.objects.filter(pk=user.pk).update(totp_enabled=True)
        user.totp_enabled = True
    reset_failures(user)


def start_enrolment(user: User) -> str:
    """Give the user a TOTP secret to enrol if they have none yet; returns the secret."""
    from ansinh.access.twofactor import new_secret

    if user.totp_enabled and user.totp_secret:
        raise DomainError(
            "already_enrolled",
            "code",
            "Tài khoản đã đăng ký xác thực hai lớp.",
            "Two-factor login is already set up for this account.",
        )
    if not user.totp_secret:
        user.totp_secret = new_secret()
        User.objects.filter(pk=user.pk).update(totp_secret=user.totp_secret)
    return user.totp_secret


def audit_login(user: User, request: HttpRequest | None) -> AuditEvent:
    return audit(
        actor=user,
        action=AuditAction.LOGIN,
        object_type="user",
        object_id=str(user.pk),
        request=request,
    )
