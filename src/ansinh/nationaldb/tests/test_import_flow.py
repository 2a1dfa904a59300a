"""The import pages (authorised, audited — Decree 13/2023/NĐ-CP Art. 27), the ``ansinh import``
command, poverty and meritorious files, the e-card programme provider and the linkage
interface (rows sent to review finished by ``pair_decided``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from ansinh.access.models import AuditEvent
from ansinh.access.testing import login_verified, make_user
from ansinh.core.errors import DomainError
from ansinh.nationaldb.imports import services
from ansinh.nationaldb.models import (
    BatchState,
    Beneficiary,
    Household,
    ImportBatch,
    PovertyStatus,
)
from ansinh.nationaldb.tests.test_imports import _csv, _rows
from ansinh.registry.models import Person
from ansinh.registry.testing import default_commune_code, make_person, personal_id_for

pytestmark = pytest.mark.django_db


def _batch() -> ImportBatch:
    return services.stage_file("tgxh", "tgxh.csv", _csv(_rows(3)).encode(), link=False)


def test_pages_need_permission_and_reads_are_audited(client: Client) -> None:
    batch = _batch()
    nobody = login_verified(Client(), make_user("auditor"))
    assert nobody.get(reverse("nationaldb:import_batch", args=[batch.pk])).status_code == 403
    assert AuditEvent.objects.filter(action="denied", object_type="import_batch").exists()
    officer = login_verified(client, make_user("officer"))
    page = officer.get(reverse("nationaldb:import_batches"))
    assert page.status_code == 200 and "tgxh.csv" in page.content.decode()
    page = officer.get(reverse("nationaldb:import_batch", args=[batch.pk]) + "?verdict=loaded")
    body = page.content.decode()
    assert page.status_code == 200 and "Nguyễn Văn Hùng" in body and "commit-batch" not in body
    assert AuditEvent.objects.filter(
        action="read", object_type="import_batch", object_id=str(batch.pk)
    ).exists()
    assert officer.post(reverse("nationaldb:import_commit", args=[batch.pk])).status_code == 403
    progress = officer.get(reverse("nationaldb:import_progress", args=[batch.pk]))
    assert progress.status_code == 200


def test_manager_commits_from_the_page(client: Client) -> None:
    batch = _batch()
    manager = login_verified(client, make_user("manager"))
    assert (
        "commit-batch"
        in manager.get(reverse("nationaldb:import_batch", args=[batch.pk])).content.decode()
    )
    response = manager.post(reverse("nationaldb:import_commit", args=[batch.pk]))
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.state == BatchState.COMMITTED and batch.decided_by is not None
    assert AuditEvent.objects.filter(object_type="import_batch", action="update").exists()


def test_command_stages_commits_and_discards(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "tgxh.csv"
    path.write_bytes(_csv(_rows(3)).encode("utf-8-sig"))
    call_command("import", "tgxh", str(path), "--no-link", verbosity=0)
    batch = ImportBatch.objects.get()
    assert batch.state == BatchState.STAGED and batch.counts["loaded"] == 3
    call_command("import", "tgxh", str(path), "--no-link", "--commit", verbosity=0)
    batch.refresh_from_db()
    assert ImportBatch.objects.count() == 1 and batch.state == BatchState.COMMITTED
    out = capsys.readouterr().out
    assert "committed" in out
    with pytest.raises(CommandError, match="batch_not_staged"):
        call_command("import", "--discard", str(batch.pk))
    bad = tmp_path / "bad.csv"
    bad.write_text("Họ và tên,Giới tính\nAn,Nam\n")
    with pytest.raises(CommandError, match="missing_columns"):
        call_command("import", "tgxh", str(bad), verbosity=0)


def test_poverty_file_households() -> None:
    commune = default_commune_code()
    header = ["Mã hộ", "Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Quan hệ với chủ hộ",
              "Phân loại hộ", "Năm rà soát", "Mã xã"]  # fmt: skip
    head_born, wife_born = dt.date(1970, 1, 2), dt.date(1972, 5, 6)
    rows = [
        ["HN-001", "Lò Văn Páo", "02/01/1970", "Nam", personal_id_for(head_born, "M", n=7),
         "Chủ hộ", "Hộ nghèo", "2025", commune],
        ["HN-001", "Lò Thị Mai", "06/05/1972", "Nữ", personal_id_for(wife_born, "F", n=8),
         "Vợ", "Hộ nghèo", "2025", commune],
        ["HN-002", "Vàng A Dính", "02/01/1980", "Nam", "", "Chủ hộ", "cận nghèo", "2025", commune],
    ]  # fmt: skip
    batch = services.stage_file("hongheo", "hn.csv", _csv(rows, header=header).encode(), link=False)
    assert batch.counts["loaded"] == 2 and batch.counts["review"] == 1  # no ID: review
    services.commit_batch(batch)
    household = Household.objects.get(code="HN-001")
    assert household.members.count() == 2 and household.head.full_name == "Lò Văn Páo"
    assert PovertyStatus.objects.get(household=household, year=2025).level == "poor"
    ben = Beneficiary.objects.filter(household=household).first()
    assert ben.programme.code == "hongheo" and ben.monthly_allowance is None


def test_meritorious_allowance_and_ecard_programmes() -> None:
    """Decree 77/2024/NĐ-CP: standard level 2,789,000 from 2024-07-01 (confidence medium);
    a person in two programmes carries both codes on the e-card (``prg``)."""
    from ansinh.nationaldb.claims import programmes_many

    rows = _rows(1)
    rows[0][5] = "TN_LS"
    batch = services.stage_file("nguoicocong", "ncc.csv", _csv(rows).encode(), link=False)
    services.commit_batch(batch)
    ben = Beneficiary.objects.get(source_batch=batch)
    assert ben.monthly_allowance == 2_789_000 and "Decree 77/2024/NĐ-CP" in ben.legal_basis
    rows[0][5] = "NCT_80"
    tgxh = services.stage_file("tgxh", "tg.csv", _csv(rows).encode(), link=False)
    assert tgxh.rows.get().verdict == "merged"
    services.commit_batch(tgxh)
    person = Person.objects.get(personal_id=rows[0][0])
    assert programmes_many([person.pk], dt.date(2026, 11, 1)) == {
        person.pk: ("nguoicocong", "tgxh")
    }


def test_linkage_review_finished_by_pair_decided(monkeypatch: pytest.MonkeyPatch) -> None:
    from ansinh.linkage import services as linkage_services
    from ansinh.linkage.records import Match
    from ansinh.linkage.signals import pair_decided

    person = make_person(full_name="Nguyễn Văn Hùng", date_of_birth=dt.date(1950, 3, 4))
    rows = _rows(2)
    rows[0][0] = ""  # no personal ID: the linkage app decides
    rows[0][1] = "Nguyen Van Hung"

    def fake_link(records: Any, *, actor: Any = None) -> dict[str, Match]:
        return {
            r.key: Match(r.key, "review" if r.personal_id is None else "none", person.pk, 0.7)
            for r in records
        }

    monkeypatch.setattr(linkage_services, "link_records", fake_link)
    batch = services.stage_file("tgxh", "t.csv", _csv(rows).encode(), link=True)
    review = batch.rows.get(line=2)
    assert review.verdict == "review" and review.reason == "linkage_review"
    assert batch.rows.get(line=3).verdict == "loaded"
    services.commit_batch(batch)
    assert not Beneficiary.objects.filter(person=person).exists()
    pair_decided.send(
        sender=None, record_key=services.record_key(batch.pk, 2), person_id=person.pk,
        decision="link", pair=None,
    )  # fmt: skip
    review.refresh_from_db()
    assert review.verdict == "merged" and review.person_id == person.pk
    assert review.beneficiary.person_id == person.pk and review.reason == "review_linked"
    batch.refresh_from_db()
    assert batch.counts["merged"] == 1 and batch.counts["review"] == 0


def test_real_linkage_runs_on_staging() -> None:
    """The linkage app answers for rows without an exact match; every row gets a verdict."""
    make_person(full_name="Nguyễn Văn Hùng", date_of_birth=dt.date(1950, 3, 4))
    rows = _rows(3)
    rows[0][0] = ""
    batch = services.stage_file("tgxh", "t.csv", _csv(rows).encode(), link=True)
    assert sum(batch.counts.values()) == 3
    assert all(r.reasons for r in batch.rows.all())


def test_officer_decides_rows_without_a_pair(client: Client) -> None:
    """Conflicting records for one ID: the manager rejects the wrong row, and the rest of the
    batch commits; a row with an ID registered under another identity is linked by number."""
    person = make_person(full_name="Hoàng Văn Nam", date_of_birth=dt.date(1960, 1, 1))
    rows = _rows(3)
    conflict = list(rows[1])
    conflict[1] = "Trần Thị Bích"
    rows.append(conflict)
    rows[2][0] = person.personal_id  # registered as someone else → id_identity_mismatch
    batch = services.stage_file("tgxh", "c.csv", _csv(rows).encode(), link=False)
    assert batch.rows.get(line=4).reason == "id_identity_mismatch"
    manager = login_verified(client, make_user("manager"))
    url = reverse("nationaldb:import_row_decide", args=[batch.pk, 5])
    assert manager.post(url, {"decision": "reject"}).status_code == 302
    services.decide_row(batch.rows.get(line=3), decision="separate")
    with pytest.raises(DomainError) as exc:
        services.decide_row(batch.rows.get(line=4), decision="link", ss_number="x")
    assert exc.value.code == "person_unknown"
    services.decide_row(batch.rows.get(line=4), decision="link", ss_number=person.ss_number)
    with pytest.raises(DomainError) as exc:
        services.decide_row(batch.rows.get(line=2), decision="reject")
    assert exc.value.code == "row_not_in_review"
    verdicts = dict(batch.rows.values_list("line", "verdict"))
    assert verdicts == {2: "loaded", 3: "loaded", 4: "merged", 5: "rejected"}
    services.commit_batch(batch)
    assert Beneficiary.objects.filter(person=person, source_batch=batch).count() == 1
    assert AuditEvent.objects.filter(object_type="import_batch", detail__decision="reject").exists()


def test_demo_files_import_with_their_errors() -> None:
    """The demo's three source files (TCVN3 CSV, VNI CSV, XLSX) stage, link and commit; every
    row has a verdict; the same files again are the same batches."""
    from ansinh.nationaldb.imports.demo import build_files, import_demo_programmes

    for i in range(40):
        make_person(
            full_name=["Nguyễn Văn Hùng", "Trần Thị Ánh", "Lê Đức Thọ", "Phạm Thị Hường"][i % 4],
            date_of_birth=dt.date(1940 + i, 1 + i % 12, 1 + i % 28),
            sex="F" if i % 4 in (1, 3) else "M",
        )
    files = build_files(share=1.0, error_rate=0.1, limit=40)
    assert files["tgxh"][1].count(b"\r\n") > 40
    line = import_demo_programmes(share=1.0, error_rate=0.1, limit=40)
    assert line.startswith("programmes imported: tgxh [")
    batches = {b.source: b for b in ImportBatch.objects.all()}
    assert batches["tgxh"].encoding == "tcvn3" and batches["hongheo"].encoding == "vni"
    assert all(b.state == BatchState.COMMITTED for b in batches.values())
    for b in batches.values():
        assert sum(b.counts.values()) == b.rows.count() and not b.rows.filter(reason="").exists()
    assert Beneficiary.objects.filter(programme__code="tgxh").exists()
    import_demo_programmes(share=1.0, error_rate=0.1, limit=40)
    assert ImportBatch.objects.count() == 3
