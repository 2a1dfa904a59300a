"""I-VAN providers, their contract status, employers' e-transaction registrations and the
availability probes (gateway.submitters)."""

from __future__ import annotations

import datetime as dt
import http.server
import threading
from collections.abc import Iterator

import pytest
from django.utils import timezone

from ansinh.access.models import AuditEvent, OrganisationKind
from ansinh.access.testing import make_org, make_user
from ansinh.core.errors import Conflict, DomainError, Forbidden
from ansinh.gateway import submitters
from ansinh.gateway.models import Channel, EtransRegistration, IvanProbe, IvanStatus
from ansinh.gateway.tests.submitter_factories import VN, at, employer_in, make_ivan

pytestmark = pytest.mark.django_db


def codes(exc: DomainError) -> set[str]:
    return {e.code for e in exc.errors}


# --- I-VAN providers -----------------------------------------------------------------------------


def test_create_ivan_creates_its_access_organisation_and_audits() -> None:
    admin = make_user("administrator")
    ivan = submitters.create_ivan(
        code="vnpt",
        name="  Công ty  VNPT-VAN ",
        contract_start=dt.date(2025, 3, 1),
        contract_number="HĐ-12/2025",
        tax_code="0100684378",
        contact_email="van@example.vn",
        health_url="https://van.example.vn/health",
        actor=admin,
    )
    assert ivan.code == "VNPT"
    assert ivan.name == "Công ty VNPT-VAN"
    assert ivan.status == IvanStatus.ACTIVE
    org = ivan.organisation
    assert (org.code, org.kind, org.name) == (
        "IVAN-VNPT",
        OrganisationKind.IVAN_PROVIDER,
        ivan.name,
    )
    assert not org.scope_units.exists()
    event = AuditEvent.objects.filter(object_type="ivan", object_id=str(ivan.pk)).get()
    assert event.action == "create" and event.actor == admin


def test_create_ivan_reports_every_bad_field_at_once_and_writes_nothing() -> None:
    with pytest.raises(DomainError) as caught:
        submitters.create_ivan(
            code="a",
            name="",
            contract_start=dt.date(2025, 3, 1),
            contract_end=dt.date(2025, 2, 1),
            tax_code="12345",
            contact_email="not-an-email",
            health_url="ftp://van.example.vn/",
        )
    assert codes(caught.value) == {
        "code_format",
        "name_required",
        "contract_end_before_start",
        "tax_code_format",
        "email_invalid",
        "health_url_invalid",
    }
    assert not submitters.IvanProvider.objects.exists()


def test_create_ivan_refuses_a_used_code_and_a_wrong_organisation() -> None:
    make_ivan("BKAV")
    with pytest.raises(Conflict) as caught:
        make_ivan("bkav")
    assert caught.value.code == "ivan_code_taken"
    office = make_org()
    with pytest.raises(DomainError) as caught:
        make_ivan("OTHER", organisation=office)
    assert caught.value.code == "organisation_kind"


def test_create_ivan_can_use_an_existing_ivan_organisation() -> None:
    org = make_org(kind="ivan", scope_codes=(), code="IVAN-DEMO")
    ivan = make_ivan("DEMO", organisation=org)
    assert ivan.organisation == org
    with pytest.raises(DomainError) as caught:
        make_ivan("DEMO2", organisation=org)
    assert caught.value.code == "organisation_taken"


def test_update_ivan_changes_details_and_renames_the_organisation() -> None:
    ivan = make_ivan("TS24")
    ivan = submitters.update_ivan(ivan, name="T-VAN Thái Sơn", health_url="http://ts24.vn/up")
    ivan.refresh_from_db()
    assert ivan.organisation.name == "T-VAN Thái Sơn"
    assert ivan.health_url == "http://ts24.vn/up"
    with pytest.raises(DomainError) as caught:
        submitters.update_ivan(ivan, status="suspended")
    assert caught.value.code == "field_not_updatable"
    with pytest.raises(DomainError) as caught:
        submitters.update_ivan(ivan, contract_end=dt.date(2024, 1, 1))
    assert caught.value.code == "contract_end_before_start"


def test_suspended_ivan_may_not_submit_until_reactivated() -> None:
    """Decree 166/2016: the agency may suspend an I-VAN; the intake refuses it meanwhile."""
    ivan = make_ivan("EFY")
    moment = at(20)
    assert submitters.ivan_may_submit(ivan, moment)
    with pytest.raises(DomainError) as caught:
        submitters.suspend_ivan(ivan, reason="  ")
    assert caught.value.code == "reason_required"
    ivan = submitters.suspend_ivan(ivan, reason="Chuyển hồ sơ chậm quá 2 giờ nhiều lần")
    assert ivan.status == IvanStatus.SUSPENDED
    assert ivan.status_reason == "Chuyển hồ sơ chậm quá 2 giờ nhiều lần"
    assert not submitters.ivan_may_submit(ivan, moment)
    with pytest.raises(Forbidden) as refused:
        submitters.check_ivan_may_submit(ivan, moment)
    assert refused.value.code == "ivan_suspended" and refused.value.status == 403
    with pytest.raises(DomainError) as caught:
        submitters.suspend_ivan(ivan, reason="again")
    assert caught.value.code == "ivan_not_active"
    ivan = submitters.reactivate_ivan(ivan, reason="Đã khắc phục")
    assert ivan.status == IvanStatus.ACTIVE and submitters.ivan_may_submit(ivan, moment)
    with pytest.raises(DomainError) as caught:
        submitters.reactivate_ivan(ivan, reason="twice")
    assert caught.value.code == "ivan_already_active"
    changes = AuditEvent.objects.filter(object_type="ivan", action="update").order_by("id")
    assert [(e.detail["status_from"], e.detail["status_to"]) for e in changes] == [
        ("active", "suspended"),
        ("suspended", "active"),
    ]


def test_ended_contract_refuses_and_needs_a_new_contract_to_resume() -> None:
    ivan = make_ivan("CYBER", contract_start=dt.date(2025, 1, 1))
    ivan = submitters.end_contract(ivan, on=dt.date(2026, 10, 15), reason="Hết hợp đồng")
    assert ivan.status == IvanStatus.ENDED
    assert ivan.contract_end == dt.date(2026, 10, 15)
    with pytest.raises(Forbidden) as refused:
        submitters.check_ivan_may_submit(ivan, at(10))
    assert refused.value.code == "ivan_contract_ended"
    with pytest.raises(DomainError) as caught:
        submitters.end_contract(ivan, on=dt.date(2026, 10, 20), reason="again")
    assert caught.value.code == "contract_already_ended"
    with pytest.raises(DomainError) as caught:
        submitters.reactivate_ivan(ivan, reason="Ký lại")
    assert caught.value.code == "contract_start_required"
    with pytest.raises(DomainError) as caught:
        submitters.reactivate_ivan(ivan, reason="Ký lại", contract_start=dt.date(2026, 10, 15))
    assert caught.value.code == "contract_start_overlaps"
    ivan = submitters.reactivate_ivan(
        ivan, reason="Ký lại", contract_start=dt.date(2026, 11, 1), contract_number="HĐ-2/2026"
    )
    assert ivan.status == IvanStatus.ACTIVE
    assert (ivan.contract_start, ivan.contract_end) == (dt.date(2026, 11, 1), None)
    assert submitters.ivan_may_submit(ivan, at(2, month=11))
    with pytest.raises(Forbidden) as refused:
        submitters.check_ivan_may_submit(ivan, at(31))
    assert refused.value.code == "ivan_contract_not_started"


def test_contract_ending_later_is_kept_and_refuses_from_the_next_day() -> None:
    ivan = make_ivan("LATER")
    last = timezone.localdate() + dt.timedelta(days=10)
    ivan = submitters.end_contract(ivan, on=last, reason="Không gia hạn")
    assert ivan.status == IvanStatus.ACTIVE and ivan.contract_end == last
    last_moment = dt.datetime.combine(last, dt.time(23, 59, 59), tzinfo=VN)
    assert submitters.ivan_may_submit(ivan, last_moment)
    assert not submitters.ivan_may_submit(ivan, last_moment + dt.timedelta(seconds=1))


def test_end_contract_checks_its_day() -> None:
    ivan = make_ivan("EARLY", contract_start=dt.date(2026, 1, 1))
    with pytest.raises(DomainError) as caught:
        submitters.end_contract(ivan, on=dt.date(2025, 12, 31), reason="x")
    assert caught.value.code == "contract_end_before_start"


# --- registrations -------------------------------------------------------------------------------


def test_registration_through_an_ivan_ends_the_previous_one() -> None:
    """Form 01/ĐK-GD: one registration in force per employer, the history kept."""
    employer = employer_in("01")
    ivan = make_ivan("VAN1")
    first = submitters.register_employer_etrans(
        employer=employer,
        channel=Channel.WEB,
        registered_on=dt.date(2026, 3, 1),
        contact_name="Kế toán",
        email="ketoan@example.vn",
    )
    second = submitters.register_employer_etrans(
        employer=employer,
        channel=Channel.IVAN,
        ivan=ivan,
        registered_on=dt.date(2026, 10, 1),
        phone="090 123 4567",
    )
    first.refresh_from_db()
    assert first.ended_on == dt.date(2026, 9, 30)
    assert second.ended_on is None and second.ivan == ivan
    assert second.phone == "0901234567"
    assert EtransRegistration.objects.filter(employer=employer).count() == 2
    event = AuditEvent.objects.filter(object_type="etrans_registration").latest("id")
    assert event.detail == {
        "employer": employer.pk,
        "channel": "ivan",
        "ivan": "VAN1",
        "replaces": first.pk,
    }
    # A correction on the same day keeps the day in both.
    third = submitters.register_employer_etrans(
        employer=employer,
        channel=Channel.DIRECT,
        registered_on=dt.date(2026, 10, 1),
        phone="0901234567",
    )
    second.refresh_from_db()
    assert second.ended_on == dt.date(2026, 10, 1) and third.ended_on is None


def test_registration_checks_every_field() -> None:
    employer = employer_in("01")
    ivan = make_ivan("VAN2")
    with pytest.raises(DomainError) as caught:
        submitters.register_employer_etrans(
            employer=employer,
            channel=Channel.IVAN,
            registered_on=timezone.localdate() + dt.timedelta(days=1),
            email="bad",
            phone="12",
        )
    assert codes(caught.value) == {
        "ivan_required",
        "date_in_future",
        "email_invalid",
        "phone_invalid",
    }
    with pytest.raises(DomainError) as caught:
        submitters.register_employer_etrans(
            employer=employer, channel=Channel.WEB, ivan=ivan, registered_on=dt.date(2026, 10, 1)
        )
    assert codes(caught.value) == {"ivan_not_expected", "contact_required"}
    with pytest.raises(DomainError) as caught:
        submitters.register_employer_etrans(
            employer=employer, channel="fax", registered_on=dt.date(2026, 10, 1), phone="0901234567"
        )
    assert caught.value.code == "channel_invalid"
    assert not EtransRegistration.objects.exists()


def test_registration_refuses_a_suspended_ivan_an_inactive_employer_and_going_back() -> None:
    employer = employer_in("01")
    ivan = submitters.suspend_ivan(make_ivan("VAN3"), reason="Kiểm tra")
    with pytest.raises(DomainError) as caught:
        submitters.register_employer_etrans(
            employer=employer,
            channel=Channel.IVAN,
            ivan=ivan,
            registered_on=dt.date(2026, 10, 1),
            phone="0901234567",
        )
    assert caught.value.code == "ivan_not_available"
    submitters.register_employer_etrans(
        employer=employer,
        channel=Channel.WEB,
        registered_on=dt.date(2026, 10, 5),
        phone="0901234567",
    )
    with pytest.raises(DomainError) as caught:
        submitters.register_employer_etrans(
            employer=employer,
            channel=Channel.DIRECT,
            registered_on=dt.date(2026, 10, 4),
            phone="0901234567",
        )
    assert caught.value.code == "registration_before_current"
    closed = employer_in("01")
    closed.active = False
    closed.save(update_fields=["active"])
    with pytest.raises(DomainError) as caught:
        submitters.register_employer_etrans(
            employer=closed,
            channel=Channel.WEB,
            registered_on=dt.date(2026, 10, 5),
            phone="0901234567",
        )
    assert caught.value.code == "employer_inactive"


def test_end_registration() -> None:
    employer = employer_in("01")
    reg = submitters.register_employer_etrans(
        employer=employer,
        channel=Channel.WEB,
        registered_on=dt.date(2026, 10, 5),
        phone="0901234567",
    )
    with pytest.raises(DomainError) as caught:
        submitters.end_registration(reg, on=dt.date(2026, 10, 4))
    assert caught.value.code == "end_before_registration"
    reg = submitters.end_registration(reg, on=dt.date(2026, 11, 1))
    assert reg.ended_on == dt.date(2026, 11, 1)
    with pytest.raises(DomainError) as caught:
        submitters.end_registration(reg, on=dt.date(2026, 11, 2))
    assert caught.value.code == "registration_already_ended"


# --- probes --------------------------------------------------------------------------------------


class _Health(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str, str]] = []

    def do_GET(self) -> None:
        _Health.seen.append((self.path, self.headers.get("User-Agent", ""), self.command))
        status = 200 if self.path == "/ok" else 503
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[str]:
    _Health.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_probe_ivans_records_each_active_ivan_and_sends_nothing_personal(
    health_server: str,
) -> None:
    """The 24/7 availability duty (Decree 166/2016 Art. 11) is measured by probing."""
    up = make_ivan("UP", health_url=f"{health_server}/ok")
    sick = make_ivan("SICK", health_url=f"{health_server}/down")
    gone = make_ivan("GONE", health_url=f"http://127.0.0.1:{_closed_port()}/health")
    make_ivan("NOURL")
    paused = submitters.suspend_ivan(
        make_ivan("PAUSED", health_url=f"{health_server}/ok"), reason="x"
    )
    now = at(20, 3, 0)
    probes = submitters.probe_ivans(now, timeout=2)
    by_ivan = {p.ivan_id: p for p in probes}
    assert set(by_ivan) == {up.pk, sick.pk, gone.pk}
    assert (by_ivan[up.pk].ok, by_ivan[up.pk].status) == (True, 200)
    assert (by_ivan[sick.pk].ok, by_ivan[sick.pk].status) == (False, 503)
    assert (by_ivan[gone.pk].ok, by_ivan[gone.pk].status) == (False, None)
    assert all(p.at == now and p.elapsed_ms is not None for p in probes)
    assert IvanProbe.objects.count() == 3 and not IvanProbe.objects.filter(ivan=paused).exists()
    assert sorted(_Health.seen) == [
        ("/down", submitters.PROBE_USER_AGENT, "GET"),
        ("/ok", submitters.PROBE_USER_AGENT, "GET"),
    ]


def test_probe_ivans_without_ivans_does_nothing() -> None:
    assert submitters.probe_ivans(at(20)) == []


def test_expire_contracts_marks_passed_ends() -> None:
    ivan = make_ivan("SOON")
    last = timezone.localdate() + dt.timedelta(days=3)
    submitters.end_contract(ivan, on=last, reason="Không gia hạn")
    make_ivan("STAYS")
    assert submitters.expire_contracts(last) == []
    assert submitters.expire_contracts(last + dt.timedelta(days=1)) == ["SOON"]
    ivan.refresh_from_db()
    assert (ivan.status, ivan.status_reason) == (IvanStatus.ENDED, "Không gia hạn")
