"""End to end, as an I-VAN lives it: a separate client process signs a D02-LT dossier with the
I-VAN's key, submits it over HTTP on 127.0.0.1, checks the agency's signature on the receipt,
then polls until the signed result is there (Decree 166/2016/NĐ-CP Art. 9–11)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from ansinh.gateway import builder, services, signing
from ansinh.gateway import testing as gw
from ansinh.gateway.models import Submission
from ansinh.onestop.models import DossierState
from ansinh.onestop.testing import make_office
from ansinh.registry.models import EmploymentSpell
from ansinh.registry.testing import make_employer, make_person


def _client(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "ansinh.gateway.client", *args],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode() + done.stdout.decode()
    return json.loads(done.stdout)


def test_an_ivan_client_process_submits_and_polls_for_the_signed_result(
    live_server: Any, transactional_db: None, tmp_path: Path
) -> None:
    from ansinh.law.services import sync_rules
    from ansinh.places.testing import ensure_units_loaded

    # An earlier transactional test may have flushed the rule tables and units migrations load.
    ensure_units_loaded()
    sync_rules()
    make_office(province_code="01")
    ivan = gw.make_ivan()
    employer = make_employer(tax_code="0101234567")
    gw.register_etrans(employer, ivan=ivan.provider)
    people = [make_person(), make_person()]
    package = gw.package_600(
        employer,
        [gw.increase_row(i, p) for i, p in enumerate(people, start=1)],
        transaction_id="IVAN-E2E-0001",
        ivan_code=ivan.provider.code,
    )
    (tmp_path / "dossier.xml").write_bytes(builder.build(package))
    (tmp_path / "key.pem").write_bytes(ivan.identity.key_pem)
    (tmp_path / "cert.pem").write_bytes(ivan.identity.cert_pem)
    (tmp_path / "agency.pem").write_bytes(signing.agency_certificate().public_bytes(Encoding.PEM))

    signed = subprocess.run(
        [
            sys.executable, "-m", "ansinh.gateway.client", "sign",
            "--key", str(tmp_path / "key.pem"), "--cert", str(tmp_path / "cert.pem"),
            str(tmp_path / "dossier.xml"),
        ],
        capture_output=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    (tmp_path / "signed.xml").write_bytes(signed)
    common = ["--url", live_server.url, "--token", ivan.token, "--agency-cert"]
    common.append(str(tmp_path / "agency.pem"))

    answer = _client("submit", *common, str(tmp_path / "signed.xml"))
    assert answer["status"] == 201
    receipt = json.loads(answer["body"])
    assert receipt["transaction_id"] == "IVAN-E2E-0001" and receipt["dossier_code"]

    again = _client("submit", *common, str(tmp_path / "signed.xml"))
    assert again["status"] == 200 and json.loads(again["body"])["replayed"] is True

    out = tmp_path / "result.xml"
    result = _client("result", *common, "--wait", "60", "--out", str(out), "IVAN-E2E-0001")
    assert result["status"] == 200
    root = etree.fromstring(out.read_bytes())
    ns = {"r": services.RESULT_NS}
    assert root.findtext("r:Status", namespaces=ns) == "result_ready"
    assert [r.get("status") for r in root.iterfind("r:Rows/r:Row", ns)] == ["accepted"] * 2

    status = _client("status", *common, "IVAN-E2E-0001")
    body = json.loads(status["body"])
    assert body["status"] == "result_ready" and body["rows"]["accepted"] == 2
    sub = Submission.objects.get(transaction_id="IVAN-E2E-0001")
    assert sub.dossier.state == DossierState.RETURNED
    assert EmploymentSpell.objects.filter(employer=employer, end__isnull=True).count() == 2


@pytest.mark.django_db
def test_the_submission_api_refuses_with_a_precise_error_and_keeps_evidence(client: Any) -> None:
    from ansinh.access.testing import make_user, token_for

    make_office(province_code="01")
    ivan = gw.make_ivan()
    answer = client.post(
        "/api/v1/gateway/submissions",
        data=b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        content_type="application/xml",
        HTTP_AUTHORIZATION=f"Bearer {ivan.token}",
    )
    assert answer.status_code in (400, 422), answer.content
    body = answer.json()
    assert body["code"] == "entity_forbidden" and body["message_vi"] and body["message_en"]
    assert Submission.objects.get(pk=body["evidence_id"]).verdict == "refused"
    staff = make_user("officer")
    answer = client.post(
        "/api/v1/gateway/submissions",
        data=b"<x/>",
        content_type="application/xml",
        HTTP_AUTHORIZATION=f"Bearer {token_for(staff)}",
    )
    assert answer.status_code == 403 and answer.json()["code"] == "not_a_submitter"
