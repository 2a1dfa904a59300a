"""Status notices to applicants (Decree 224/2026/NĐ-CP Art. 15: each status change notified at
once, naming the agency, the officer and the reception, processing and result times), the SMS
gateway backends, and the staff's notifications page and badge."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.template import Context, Template
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from ansinh.access.testing import login_verified
from ansinh.onestop import notify, services, sms
from ansinh.onestop.models import (
    Action,
    ApplicantNotice,
    Dossier,
    DossierState,
    Notification,
    NotificationKind,
)
from ansinh.onestop.testing import make_dossier, make_office, make_officer

pytestmark = pytest.mark.django_db
VN = ZoneInfo("Asia/Ho_Chi_Minh")
APPLICANT = services.Applicant(
    name="Nguyễn Thị Hoa",
    id_number="001190012345",
    phone="0912345678",
    email="hoa@example.test",
)


def oct_(d: int, hh: int = 10, mm: int = 0) -> dt.datetime:
    return dt.datetime(2026, 10, d, hh, mm, tzinfo=VN)


@pytest.fixture(autouse=True)
def _empty_sms_outbox() -> Iterator[None]:
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def office():
    return make_office(agency_code="000.00.08.H26", address="12 Trần Hưng Đạo", phone="024 0000")


@pytest.fixture
def desk(office):
    return make_officer(office, departments=("MOTCUA",), first_name="Lê Văn", last_name="Bình")


@pytest.fixture
def clerk(office):
    return make_officer(office, departments=("THU",), first_name="Trần Thị", last_name="Lan")


def notices(dossier: Dossier, action: str) -> dict[str, ApplicantNotice]:
    rows = ApplicantNotice.objects.filter(dossier=dossier, transition__action=action)
    return {n.channel: n for n in rows}


def test_every_status_change_is_notified_with_agency_officer_and_times(
    office, desk, clerk, django_capture_on_commit_callbacks
) -> None:
    """Art. 15: reception, transfer, supplement request (with what is missing), result and
    return each send an e-mail and an SMS naming the agency, the officer and the times."""
    agency = office.organisation.name

    def step(fn: Any, *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    d = step(make_dossier, office, actor=desk, at=oct_(9, 10), applicant=APPLICANT)
    received = notices(d, Action.RECEIVE)
    assert set(received) == {"email", "sms"}
    assert all(n.sent_at is not None and not n.error for n in received.values())
    body = received["email"].body
    for text in (
        agency,
        "Lê Văn Bình",
        d.code,
        "Đã tiếp nhận",
        "Thời điểm tiếp nhận: 10:00 ngày 09/10/2026",
        "Hạn trả kết quả: 17:00 ngày 16/10/2026",
        f"/tra-cuu/{d.code}/",
        "12 Trần Hưng Đạo",
    ):
        assert text in body, text

    d = step(
        services.transfer,
        d,
        actor=desk,
        expected_version=d.version,
        to_department="THU",
        at=oct_(9, 11),
    )
    body = notices(d, Action.TRANSFER)["email"].body
    assert "Phòng Quản lý thu" in body and "11:00 ngày 09/10/2026" in body

    d = step(services.start_processing, d, actor=clerk, expected_version=d.version, at=oct_(12, 9))
    assert "Trần Thị Lan" in notices(d, Action.START)["email"].body

    d = step(
        services.request_supplement,
        d,
        actor=clerk,
        expected_version=d.version,
        note="Thiếu bản sao hợp đồng lao động",
        at=oct_(13, 10),
    )
    supplement = notices(d, Action.REQUEST_SUPPLEMENT)
    body = supplement["email"].body
    assert "Nội dung cần bổ sung: Thiếu bản sao hợp đồng lao động" in body
    assert "Chờ bổ sung" in body and "tạm dừng" in body
    assert "Thieu ban sao hop dong lao dong" in supplement["sms"].body

    d = step(services.receive_supplement, d, actor=desk, expected_version=d.version, at=oct_(19, 9))
    d = step(services.record_result, d, actor=clerk, expected_version=d.version, at=oct_(20, 15))
    body = notices(d, Action.RESULT_READY)["email"].body
    assert "Thời điểm có kết quả: 15:00 ngày 20/10/2026" in body
    assert "Trần Thị Lan" in body

    d = step(services.return_result, d, actor=desk, expected_version=d.version, at=oct_(21, 9))
    body = notices(d, Action.RETURN)["email"].body
    assert "Thời điểm trả kết quả: 09:00 ngày 21/10/2026" in body
    assert "Thời điểm có kết quả: 15:00 ngày 20/10/2026" in body

    steps = d.path.count()
    assert ApplicantNotice.objects.filter(dossier=d, channel="email").count() == steps
    assert len(mail.outbox) == steps and len(sms.outbox) == steps
    for message in mail.outbox:
        assert message.to == [APPLICANT.email]
        assert APPLICANT.name not in message.body and APPLICANT.id_number not in message.body
    for sent in sms.outbox:
        assert sent.phone == APPLICANT.phone
        assert sent.text.isascii(), sent.text
        assert d.code in sent.text and "CB:" in sent.text


def test_rejection_states_the_reason(office, desk, clerk, django_capture_on_commit_callbacks):
    d = make_dossier(office, actor=desk, at=oct_(9, 10), applicant=APPLICANT)
    with django_capture_on_commit_callbacks(execute=True):
        services.reject(
            d,
            actor=desk,
            expected_version=d.version,
            reason="Thủ tục không thuộc thẩm quyền",
            at=oct_(9, 11),
        )
    body = notices(d, Action.REJECT)["email"].body
    assert "Lý do từ chối: Thủ tục không thuộc thẩm quyền" in body
    assert "Từ chối giải quyết" in body


def test_system_step_names_the_system(office, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        d = make_dossier(office, at=oct_(9, 10), channel="gateway", applicant=APPLICANT)
    assert "Cán bộ xử lý: hệ thống" in notices(d, Action.RECEIVE)["email"].body


def test_no_contact_no_notice(office, desk, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        d = make_dossier(office, actor=desk, at=oct_(9, 10))
    assert not ApplicantNotice.objects.filter(dossier=d).exists()
    assert mail.outbox == [] and sms.outbox == []


def test_a_retried_task_does_not_send_twice(office, desk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        d = make_dossier(office, actor=desk, at=oct_(9, 10), applicant=APPLICANT)
    step = d.path.get()
    assert notify.send_status_notices(step.pk) == {"sent": 0, "failed": 0}
    assert len(mail.outbox) == 1 and len(sms.outbox) == 1
    assert ApplicantNotice.objects.filter(dossier=d).count() == 2


def test_reassignment_is_not_notified(office, desk, clerk, django_capture_on_commit_callbacks):
    manager = make_officer(office, "manager")
    d = make_dossier(office, actor=desk, at=oct_(9, 10), applicant=APPLICANT)
    with django_capture_on_commit_callbacks(execute=True):
        services.reassign(
            d, actor=manager, expected_version=d.version, to_assignee=clerk, at=oct_(9, 11)
        )
    assert not ApplicantNotice.objects.filter(dossier=d).exists()


def test_queue_failure_does_not_fail_the_step(
    office, desk, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    from huey.contrib.djhuey.tasks_backend import HueyBackend

    def broken(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("queue down")

    monkeypatch.setattr(HueyBackend, "enqueue", broken)
    with django_capture_on_commit_callbacks(execute=True):
        d = make_dossier(office, actor=desk, at=oct_(9, 10), applicant=APPLICANT)
    assert Dossier.objects.filter(pk=d.pk).exists()
    assert not ApplicantNotice.objects.exists()


# --- SMS backends -------------------------------------------------------------------------------


def test_log_backend_never_logs_the_number_or_the_text(caplog) -> None:
    """Logs must not hold personal data: only a masked number and the length."""
    text = "Ho so 000.00.08.H26-261009-0001 da tiep nhan"
    with caplog.at_level(logging.INFO, logger="ansinh.sms"):
        message_id = sms.LogBackend().send("0912345678", text)
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert message_id.startswith("log-")
    assert "09******78" in logged and str(len(text)) in logged
    assert "0912345678" not in logged and text not in logged and "tiep nhan" not in logged


def test_get_backend_follows_the_setting() -> None:
    assert isinstance(sms.get_backend(), sms.LocmemBackend)  # the test settings
    with override_settings(ONESTOP_SMS_BACKEND="ansinh.onestop.sms.LogBackend"):
        assert isinstance(sms.get_backend(), sms.LogBackend)


class _Gateway:
    """A tiny SMS provider on 127.0.0.1: records requests, answers with ``status``."""

    def __init__(self) -> None:
        self.status = 200
        self.requests: list[dict[str, Any]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                gateway.requests.append(
                    {
                        "path": self.path,
                        "auth": self.headers.get("Authorization"),
                        "type": self.headers.get("Content-Type"),
                        "json": json.loads(self.rfile.read(length)),
                    }
                )
                body = json.dumps({"id": f"prov-{len(gateway.requests)}"}).encode()
                self.send_response(gateway.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Gateway:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[_Gateway]:
    with (
        _Gateway() as server,
        override_settings(
            ONESTOP_SMS_BACKEND="ansinh.onestop.sms.HttpBackend",
            ONESTOP_SMS_URL=server.url,
            ONESTOP_SMS_TOKEN="test-token",  # noqa: S106 - a test server's token
            ONESTOP_SMS_TIMEOUT=5,
        ),
    ):
        yield server


def test_http_backend_posts_json_with_the_bearer_token(gateway) -> None:
    assert sms.get_backend().send("0912345678", "Xin chao") == "prov-1"
    request = gateway.requests[0]
    assert request["path"] == "/v1/sms"
    assert request["auth"] == "Bearer test-token"
    assert request["type"].startswith("application/json")
    assert request["json"] == {"to": "0912345678", "text": "Xin chao"}


def test_http_backend_errors() -> None:
    with pytest.raises(sms.SmsError):
        sms.HttpBackend(url="ftp://example.test/").send("0912345678", "x")
    with _Gateway() as server:
        server.status = 503
        with pytest.raises(sms.SmsError, match="HTTP 503"):
            sms.HttpBackend(url=server.url, token="t").send("0912345678", "x")  # noqa: S106
        port = server.server.server_address[1]
    with pytest.raises(sms.SmsError, match="unreachable"):
        sms.HttpBackend(url=f"http://127.0.0.1:{port}/gone", timeout=2).send("0912345678", "x")


def test_gateway_failure_is_recorded_and_the_step_stands(
    office, desk, gateway, django_capture_on_commit_callbacks
) -> None:
    """A provider error (HTTP 500) is recorded on the notice; the reception itself is committed
    and its e-mail notice sent; a later run for the same step retries the failed SMS only."""
    gateway.status = 500
    with django_capture_on_commit_callbacks(execute=True):
        d = make_dossier(office, actor=desk, at=oct_(9, 10), applicant=APPLICANT)
    assert Dossier.objects.get(pk=d.pk).state == DossierState.RECEIVED
    sent = notices(d, Action.RECEIVE)
    assert sent["sms"].sent_at is None and "HTTP 500" in sent["sms"].error
    assert sent["email"].sent_at is not None
    assert gateway.requests[0]["json"]["to"] == APPLICANT.phone

    gateway.status = 200
    assert notify.send_status_notices(d.path.get().pk) == {"sent": 1, "failed": 0}
    again = notices(d, Action.RECEIVE)
    assert again["sms"].pk == sent["sms"].pk
    assert again["sms"].sent_at is not None and again["sms"].error == ""
    assert len(mail.outbox) == 1 and len(gateway.requests) == 2


def test_sms_text_is_short_and_unaccented(office, desk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        d = make_dossier(office, actor=desk, at=oct_(9, 10), applicant=APPLICANT)
    text = notices(d, Action.RECEIVE)["sms"].body
    assert text.isascii()
    assert "Le Van Binh" in text and "Hen tra 17:00 16/10/2026" in text
    assert len(text) < 320  # two concatenated segments at most
    assert notify.unaccent("Đặng Thị Ánh") == "Dang Thi Anh"


# --- the staff's notifications page and badge ---------------------------------------------------


@pytest.fixture
def inbox(office, desk):
    d1 = make_dossier(office, actor=desk, at=oct_(9, 10))
    d2 = make_dossier(office, actor=desk, at=oct_(9, 11))
    make = Notification.objects.create
    old = make(
        recipient=desk,
        dossier=d1,
        kind=NotificationKind.DUE_SOON,
        message=f"Hồ sơ {d1.code} sắp đến hạn",
        created_at=oct_(15, 7),
    )
    new = make(
        recipient=desk,
        dossier=d2,
        kind=NotificationKind.OVERDUE,
        message=f"Hồ sơ {d2.code} đã quá hạn",
        created_at=oct_(16, 17),
    )
    return old, new


def test_notifications_page_lists_mine_newest_first(client: Client, desk, inbox) -> None:
    old, new = inbox
    other = make_officer(desk.organisation.onestop_office)
    Notification.objects.create(
        recipient=other,
        dossier=old.dossier,
        kind="overdue",
        message="not yours",
        created_at=oct_(17),
    )
    login_verified(client, desk)
    page = client.get(reverse("onestop:notifications"))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index(new.message) < html.index(old.message)
    assert f'href="/onestop/dossiers/{new.dossier.code}/"' in html
    assert 'class="unread"' in html and "not yours" not in html


def test_notifications_page_needs_a_login(client: Client) -> None:
    page = client.get(reverse("onestop:notifications"))
    assert page.status_code == 302


def test_mark_one_and_all_read(client: Client, desk, inbox) -> None:
    old, new = inbox
    login_verified(client, desk)
    row = client.post(reverse("onestop:notification_read", args=[new.pk]), HTTP_HX_REQUEST="true")
    assert row.status_code == 200 and f'id="notification-{new.pk}"' in row.content.decode()
    new.refresh_from_db()
    old.refresh_from_db()
    assert new.read_at is not None and old.read_at is None
    done = client.post(reverse("onestop:notifications_read_all"))
    assert done.status_code == 302
    assert not Notification.objects.filter(recipient=desk, read_at__isnull=True).exists()
    listing = client.post(reverse("onestop:notifications_read_all"), HTTP_HX_REQUEST="true")
    assert 'id="notifications"' in listing.content.decode()


def test_mark_read_is_csrf_protected_and_owner_only(desk, inbox) -> None:
    old, _ = inbox
    strict = login_verified(Client(enforce_csrf_checks=True), desk)
    assert strict.post(reverse("onestop:notification_read", args=[old.pk])).status_code == 403
    intruder = login_verified(Client(), make_officer(desk.organisation.onestop_office))
    assert intruder.post(reverse("onestop:notification_read", args=[old.pk])).status_code == 404
    assert intruder.get(reverse("onestop:notification_read", args=[old.pk])).status_code == 405
    old.refresh_from_db()
    assert old.read_at is None


def test_unread_tag_counts_with_one_query(desk, inbox, django_assert_num_queries) -> None:
    request = RequestFactory().get("/")
    request.user = desk
    template = Template("{% load onestop_tags %}{% onestop_unread as n %}[{{ n }}]")
    with django_assert_num_queries(1):
        assert template.render(Context({"request": request})) == "[2]"
    notify.mark_read(desk, inbox[0].pk)
    assert template.render(Context({"request": request})) == "[1]"
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    assert template.render(Context({"request": request})) == "[None]"
