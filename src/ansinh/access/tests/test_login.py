"""Password login with lockout, TOTP second factor, and the whole flow through the pages."""

from __future__ import annotations

import datetime as dt
import time

import pyotp
import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from ansinh.access import services
from ansinh.access.models import AuditEvent, User
from ansinh.access.testing import PASSWORD, make_user
from ansinh.access.twofactor import SESSION_KEY, current_code, new_secret, verify_code
from ansinh.core.errors import DomainError, Forbidden

pytestmark = pytest.mark.django_db

N = settings.LOCKOUT_THRESHOLD
T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def fail(user: User, now: dt.datetime = T0) -> DomainError:
    with pytest.raises(DomainError) as exc:
        services.login_password(None, user.username, "wrong password", now=now)
    return exc.value


def test_failures_below_threshold_then_success_resets_the_count() -> None:
    user = make_user("officer")
    for _ in range(N - 1):
        assert fail(user).first.code == "invalid_credentials"
    assert User.objects.get(pk=user.pk).failed_logins == N - 1
    assert services.login_password(None, user.username, PASSWORD, now=T0) == user
    user.refresh_from_db()
    assert (user.failed_logins, user.locked_until) == (0, None)
    assert fail(user).first.code == "invalid_credentials"  # a fresh series


def test_threshold_failures_lock_and_right_password_is_refused() -> None:
    user = make_user("officer")
    for _ in range(N - 1):
        fail(user)
    assert fail(user).first.code == "account_locked"
    user.refresh_from_db()
    assert user.locked_until == T0 + dt.timedelta(minutes=settings.LOCKOUT_MINUTES)
    with pytest.raises(Forbidden) as exc:
        services.login_password(None, user.username, PASSWORD, now=T0 + dt.timedelta(minutes=1))
    assert exc.value.first.code == "account_locked"
    assert "phút" in exc.value.first.message_vi
    assert AuditEvent.objects.filter(action="locked", object_id=str(user.pk)).count() == 1
    assert AuditEvent.objects.filter(action="login_failed").count() == N  # N-1 + the refusal
    assert not AuditEvent.objects.filter(detail__has_key="password").exists()


def test_lock_expires_after_lockout_minutes() -> None:
    user = make_user("officer")
    for _ in range(N):
        fail(user)
    later = T0 + dt.timedelta(minutes=settings.LOCKOUT_MINUTES, seconds=1)
    assert services.login_password(None, user.username, PASSWORD, now=later) == user


def test_unknown_user_gets_the_same_message_and_is_audited_without_a_name() -> None:
    with pytest.raises(DomainError) as exc:
        services.login_password(None, "nobody", "whatever", now=T0)
    assert exc.value.first.code == "invalid_credentials"
    event = AuditEvent.objects.get(action="login_failed")
    assert event.actor_username == "" and event.detail["reason"] == "unknown_user"


def test_totp_valid_wrong_and_replayed_codes() -> None:
    user = make_user("officer", totp_secret=new_secret(), totp_enabled=True)
    at = time.time()
    code = current_code(user.totp_secret, at=at)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert not verify_code(user, wrong, at=at)
    assert verify_code(user, code, at=at)
    assert not verify_code(user, code, at=at)  # replay refused
    fresh = User.objects.get(pk=user.pk)  # another request: replay still refused
    assert not verify_code(fresh, code, at=at)
    assert verify_code(fresh, current_code(user.totp_secret, at=at + 30), at=at + 30)


def test_totp_failures_count_towards_lockout() -> None:
    user = make_user("officer", totp_secret=new_secret(), totp_enabled=True)
    now = timezone.now()
    for _ in range(N - 1):
        with pytest.raises(DomainError) as exc:
            services.login_second_factor(None, user, "000000x", now=now)
        assert exc.value.first.code == "invalid_code"
    with pytest.raises(Forbidden) as exc:
        services.login_second_factor(None, user, "abcdef", now=now)
    assert exc.value.first.code == "account_locked"
    with pytest.raises(Forbidden):  # even a right code
        services.login_second_factor(None, user, current_code(user.totp_secret), now=now)


def test_login_flow_password_then_enrolment_then_home() -> None:
    user = make_user("officer")
    client = Client()
    page = client.get(reverse("access:login"))
    assert page.status_code == 200 and b'name="password"' in page.content
    response = client.post(
        reverse("access:login"), {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("access:two_factor"))
    # Any page now sends the officer to the second factor.
    blocked = client.get("/registry/")
    assert blocked.status_code == 302 and blocked["Location"].startswith("/access/2fa/")
    enrol = client.get(reverse("access:two_factor"))
    assert b"<svg" in enrol.content
    user.refresh_from_db()
    assert user.totp_secret and not user.totp_enabled
    assert user.totp_secret.encode() in enrol.content
    done = client.post(
        reverse("access:two_factor"), {"code": pyotp.TOTP(user.totp_secret).now(), "next": "/"}
    )
    assert done.status_code == 302 and done["Location"] == "/"
    assert client.session[SESSION_KEY] is True
    user.refresh_from_db()
    assert user.totp_enabled
    assert AuditEvent.objects.filter(action="login", actor=user).count() == 1
    logout = client.post(reverse("access:logout"))
    assert logout.status_code == 302 and SESSION_KEY not in client.session


def test_login_flow_with_enrolled_user_and_wrong_code() -> None:
    user = make_user("officer", totp_secret=new_secret(), totp_enabled=True)
    client = Client()
    client.post(reverse("access:login"), {"username": user.username, "password": PASSWORD})
    page = client.get(reverse("access:two_factor"))
    assert b"<svg" not in page.content
    bad = client.post(reverse("access:two_factor"), {"code": "000000"})
    if bad.status_code == 302:  # 1 in a million: 000000 was the right code
        pytest.skip("random code collision")
    assert bad.status_code == 200 and SESSION_KEY not in client.session
    good = client.post(reverse("access:two_factor"), {"code": pyotp.TOTP(user.totp_secret).now()})
    assert good.status_code == 302 and client.session[SESSION_KEY] is True


def test_login_page_shows_lockout_message() -> None:
    user = make_user("officer")
    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    for _ in range(N):
        client.post(reverse("access:login"), {"username": user.username, "password": "nope"})
    page = client.post(reverse("access:login"), {"username": user.username, "password": PASSWORD})
    assert page.status_code == 200
    assert "Tài khoản tạm khoá".encode() in page.content
    assert "_auth_user_id" not in client.session


def test_open_redirect_is_refused() -> None:
    user = make_user("officer", org=False)  # no organisation: no second factor needed
    client = Client()
    response = client.post(
        reverse("access:login"),
        {"username": user.username, "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response.status_code == 302
    assert not response["Location"].startswith("https://evil.example")
    assert AuditEvent.objects.filter(action="login", actor=user).exists()


@override_settings(REQUIRE_2FA=False)
def test_second_factor_can_be_switched_off() -> None:
    user = make_user("officer")
    client = Client()
    response = client.post(
        reverse("access:login"), {"username": user.username, "password": PASSWORD, "next": "/x"}
    )
    assert response["Location"] == "/x"
