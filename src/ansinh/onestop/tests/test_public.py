"""The public status look-up (tra cứu hồ sơ) and the satisfaction rating by dossier code.

Decree 61/2018/NĐ-CP (as amended) lets the applicant follow a dossier by its code; Decision
766/QĐ-TTg (2022) counts satisfaction rated by dossier code. The page shows nobody's personal
data (Decree 13/2023/NĐ-CP): not the applicant's name, ID, address, phone or e-mail, and not
the officers' notes, which may quote them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from ansinh.core.errors import Conflict, DomainError, NotFound
from ansinh.onestop import feedback, services
from ansinh.onestop.models import SatisfactionRating
from ansinh.onestop.testing import make_dossier, make_office, make_officer

pytestmark = pytest.mark.django_db
VN = ZoneInfo("Asia/Ho_Chi_Minh")

APPLICANT = services.Applicant(
    name="Nguyễn Thị Hồng Nhung",
    id_number="001190012345",
    address="Số 12 phố Đội Cấn",
    phone="0912345678",
    email="nhung@example.vn",
)
PRIVATE = (
    "Nguyễn Thị Hồng Nhung",
    "001190012345",
    "Đội Cấn",
    "0912345678",
    "nhung@example.vn",
)


def at(d: int, hh: int = 10, mm: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, d, hh, mm, tzinfo=VN)


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def office():
    return make_office(agency_code="000.00.01.H26")


@pytest.fixture
def desk(office):
    return make_officer(office, departments=("MOTCUA",), first_name="Lan", last_name="Phạm")


@pytest.fixture
def clerk(office):
    return make_officer(office, departments=("THU",), first_name="Bình", last_name="Trần")


def _resolved(office, desk, clerk):
    dossier = make_dossier(office, actor=desk, at=at(16, 10), applicant=APPLICANT)
    services.transfer(dossier, actor=desk, expected_version=1, to_department="THU", at=at(16, 11))
    services.start_processing(dossier, actor=clerk, expected_version=2, at=at(17, 9))
    services.record_result(dossier, actor=clerk, expected_version=3, at=at(18, 9))
    return dossier


def _url(code: str) -> str:
    return reverse("status:detail", args=[code])


def test_lookup_form_redirects_a_well_formed_code(office, desk) -> None:
    client = Client()
    form = client.get(reverse("status:lookup"))
    assert form.status_code == 200 and b'name="code"' in form.content
    dossier = make_dossier(office, actor=desk, at=at(16, 10))
    go = client.get(reverse("status:lookup"), {"code": f"  {dossier.code.lower()} "})
    assert go.status_code == 302 and go["Location"] == _url(dossier.code)
    bad = client.get(reverse("status:lookup"), {"code": "DROP TABLE"})
    assert bad.status_code == 400 and "000.00.01.H26-261123-0001" in bad.content.decode()


def test_status_page_shows_the_path_and_no_personal_data(office, desk, clerk) -> None:
    """Nothing about the applicant, and no officer's note (here one quoting the applicant)."""
    dossier = make_dossier(office, actor=desk, at=at(16, 10), applicant=APPLICANT)
    services.transfer(dossier, actor=desk, expected_version=1, to_department="THU", at=at(16, 11))
    services.request_supplement(
        dossier,
        actor=clerk,
        expected_version=2,
        note="Bà Nguyễn Thị Hồng Nhung (0912345678) thiếu bản sao CCCD 001190012345",
        at=at(17, 9),
    )
    response = Client().get(_url(dossier.code))
    assert response.status_code == 200
    html = response.content.decode()
    for private in PRIVATE:
        assert private not in html, private
    assert "thiếu bản sao" not in html
    assert "chi tiết đã được gửi tới người nộp" in html  # the generic sentence instead
    assert office.organisation.name in html and "Phòng Quản lý thu" in html
    assert "Phạm Lan" in html or "Lan Phạm" in html  # the officer, as the notices name them
    assert response["X-Robots-Tag"].startswith("noindex")


def test_expected_date_is_the_promised_one_after_an_apology(office, desk, clerk) -> None:
    dossier = make_dossier(office, actor=desk, at=at(2, 10))
    services.transfer(dossier, actor=desk, expected_version=1, to_department="THU", at=at(2, 11))
    services.start_processing(dossier, actor=clerk, expected_version=2, at=at(3, 9))
    services.issue_apology(
        dossier,
        actor=clerk,
        expected_version=3,
        reason="Cần xác minh",
        new_due_at=at(30, 17),
        at=at(10, 9),
    )
    response = Client().get(_url(dossier.code))
    assert response.context["status"].expected_return_at == at(30, 17)
    assert "17:00, 30/11/2026" in response.content.decode()


def test_unknown_and_malformed_codes_get_the_same_friendly_404(office) -> None:
    client = Client()
    unknown = client.get(_url("000.00.01.H26-261116-9999"))
    malformed = client.get(_url("anything-at-all"))
    assert unknown.status_code == malformed.status_code == 404
    assert unknown.templates[0].name == malformed.templates[0].name
    assert b'name="code"' in unknown.content


def test_lookups_are_rate_limited_per_address(office, desk, settings) -> None:
    settings.ONESTOP_STATUS_RATE_PER_MINUTE = 3
    dossier = make_dossier(office, actor=desk, at=at(16, 10))
    client = Client()
    for _ in range(3):
        assert client.get(_url(dossier.code)).status_code == 200
    limited = client.get(_url(dossier.code))
    assert limited.status_code == 429 and limited["Retry-After"] == "60"
    assert "3" in limited.content.decode()
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.get(_url(dossier.code)).status_code == 200


def test_rating_once_after_the_result(office, desk, clerk) -> None:
    dossier = make_dossier(office, actor=desk, at=at(16, 10))
    client = Client()
    page = client.get(_url(dossier.code))
    assert page.context["form"] is None and b'name="level"' not in page.content
    assert (
        client.post(reverse("status:rate", args=[dossier.code]), {"level": "satisfied"}).status_code
        == 409
    )

    done = _resolved(office, desk, clerk)
    page = client.get(_url(done.code))
    assert b'name="level"' in page.content
    too_long = client.post(
        reverse("status:rate", args=[done.code]), {"level": "satisfied", "comment": "x" * 1001}
    )
    assert too_long.status_code == 400 and not SatisfactionRating.objects.exists()
    rated = client.post(
        reverse("status:rate", args=[done.code]), {"level": "very_satisfied", "comment": "Nhanh"}
    )
    assert rated.status_code == 302 and rated["Location"].endswith("?rated=1")
    thanks = client.get(rated["Location"])
    assert b'id="rating-thanks"' in thanks.content and b'name="level"' not in thanks.content
    again = client.post(reverse("status:rate", args=[done.code]), {"level": "not_satisfied"})
    assert again.status_code in (200, 409)
    row = SatisfactionRating.objects.get()
    assert row.level == "very_satisfied" and row.comment == "Nhanh"


def test_rate_dossier_service_rules(office, desk, clerk) -> None:
    open_one = make_dossier(office, actor=desk, at=at(16, 10))
    with pytest.raises(Conflict) as exc:
        feedback.rate_dossier(open_one.code, "satisfied")
    assert exc.value.code == "not_resolved"
    with pytest.raises(NotFound):
        feedback.rate_dossier("000.00.01.H26-261116-9999", "satisfied")
    done = _resolved(office, desk, clerk)
    with pytest.raises(DomainError) as exc:
        feedback.rate_dossier(done.code, "delighted", "x" * 2000)
    assert {e.code for e in exc.value.errors} == {"invalid_level", "comment_too_long"}
    row = feedback.rate_dossier(done.code, "not_satisfied", "  Chậm  ", at=at(19, 9))
    assert row.comment == "Chậm" and row.rated_at == at(19, 9)
    with pytest.raises(Conflict) as exc:
        feedback.rate_dossier(done.code, "satisfied")
    assert exc.value.code == "already_rated"
    assert SatisfactionRating.objects.count() == 1


def test_rejected_dossiers_may_be_rated_withdrawn_ones_not(office, desk) -> None:
    rejected = make_dossier(office, actor=desk, at=at(16, 10))
    services.reject(rejected, actor=desk, expected_version=1, reason="Không thuộc thẩm quyền")
    assert feedback.rate_dossier(rejected.code, "satisfied").pk
    withdrawn = make_dossier(office, actor=desk, at=at(16, 11))
    services.withdraw(withdrawn, actor=desk, expected_version=1, note="Đơn rút hồ sơ")
    with pytest.raises(Conflict):
        feedback.rate_dossier(withdrawn.code, "satisfied")
