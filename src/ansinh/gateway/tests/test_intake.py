"""Intake of signed dossiers: receipt, idempotency, who may submit, evidence of refusals, the
answer after processing (Decree 166/2016/NĐ-CP Art. 9–11; Law 41/2024 Art. 28 for enrolment)."""

from __future__ import annotations

import datetime as dt
import http.server
import threading
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml import XMLVerifier

from ansinh.core.errors import DomainError
from ansinh.gateway import services, signing
from ansinh.gateway import testing as gw
from ansinh.gateway.models import (
    CallbackDelivery,
    RowStatus,
    Step,
    Submission,
    SubmissionEvent,
    SubmissionRow,
    Verdict,
)
from ansinh.onestop.models import Dossier, DossierState
from ansinh.onestop.testing import make_office
from ansinh.registry.testing import make_employer, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def office():
    return make_office(province_code="01")


@pytest.fixture
def employer():
    gw.trust_test_ca()
    emp = make_employer(tax_code="0101234567")
    gw.register_etrans(emp)
    return emp


def _agency_verifies(signed: bytes) -> etree._Element:
    pem = signing.agency_certificate().public_bytes(Encoding.PEM)
    return XMLVerifier().verify(etree.fromstring(signed), x509_cert=pem.decode()).signed_xml


def _direct(employer, rows, **kw) -> bytes:
    return gw.signed(gw.package_600(employer, rows, **kw), gw.employer_identity(employer))


def test_a_signed_dossier_gets_a_signed_receipt_and_a_one_stop_dossier(office, employer) -> None:
    person = make_person()
    data = _direct(employer, [gw.increase_row(1, person)], transaction_id="TX-1")
    intake = services.submit(data, submitter=gw.employer_org(employer))
    sub = intake.submission
    assert not intake.replayed and sub.verdict == Verdict.ACCEPTED
    dossier = Dossier.objects.get(pk=sub.dossier_id)
    assert dossier.channel == "gateway" and dossier.procedure.code == "600"
    assert dossier.receiving_office == office
    receipt = _agency_verifies(bytes(sub.receipt_xml))
    ns = {"r": services.RECEIPT_NS}
    assert receipt.findtext("r:DossierCode", namespaces=ns) == dossier.code
    assert receipt.findtext("r:TransactionId", namespaces=ns) == "TX-1"
    assert receipt.findtext("r:Digest", namespaces=ns) == sub.digest
    steps = list(sub.events.values_list("step", flat=True))
    assert steps[:3] == [Step.RECEIVED, Step.VERIFIED, Step.RECEIPT]


def test_processing_answers_with_a_signed_result(office, employer) -> None:
    person = make_person()
    data = _direct(employer, [gw.increase_row(1, person)], transaction_id="TX-2")
    sub = services.submit(data, submitter=gw.employer_org(employer)).submission
    # Tests run huey in immediate mode: processing ran when the submission committed.
    sub = services.process_submission(sub.pk)
    assert sub.result_xml, sub.rows.values("status", "error_code")
    result = _agency_verifies(bytes(sub.result_xml))
    ns = {"r": services.RESULT_NS}
    assert result.findtext("r:Status", namespaces=ns) == "result_ready"
    assert result.find("r:Rows/r:Row", namespaces=ns).get("status") == RowStatus.ACCEPTED
    assert Dossier.objects.get(pk=sub.dossier_id).state == DossierState.RETURNED


def test_the_same_dossier_twice_gives_the_same_receipt(office, employer) -> None:
    data = _direct(employer, [gw.increase_row(1, make_person())], transaction_id="TX-3")
    org = gw.employer_org(employer)
    first = services.submit(data, submitter=org)
    again = services.submit(data, submitter=org)
    assert again.replayed and again.submission.pk == first.submission.pk
    assert Submission.objects.count() == 1 and Dossier.objects.count() == 1


def test_a_different_dossier_under_a_used_transaction_id_is_refused(office, employer) -> None:
    org = gw.employer_org(employer)
    services.submit(
        _direct(employer, [gw.increase_row(1, make_person())], transaction_id="TX-4"), submitter=org
    )
    other = _direct(employer, [gw.increase_row(1, make_person())], transaction_id="TX-4")
    with pytest.raises(services.Refused) as caught:
        services.submit(other, submitter=org)
    assert caught.value.code == "transaction_id_reused" and caught.value.status == 409
    evidence = Submission.objects.get(pk=caught.value.evidence_id)
    assert evidence.verdict == Verdict.REFUSED and bytes(evidence.raw) == other
    assert Dossier.objects.count() == 1


def test_a_tampered_dossier_is_refused_and_kept_as_evidence(office, employer) -> None:
    data = _direct(employer, [gw.increase_row(1, make_person(), salary=8_000_000)])
    tampered = data.replace(b"8000000", b"9000000")
    assert tampered != data
    with pytest.raises(services.Refused) as caught:
        services.submit(tampered, submitter=gw.employer_org(employer))
    assert caught.value.code == "signature_invalid"
    evidence = Submission.objects.get(pk=caught.value.evidence_id)
    assert evidence.error_code == "signature_invalid" and evidence.dossier_id is None
    assert list(evidence.events.values_list("step", flat=True)) == [Step.RECEIVED, Step.REFUSED]
    assert not Dossier.objects.exists() and not SubmissionRow.objects.exists()


def test_an_employer_may_not_submit_for_another(office, employer) -> None:
    other = make_employer(tax_code="0109999999")
    data = _direct(employer, [gw.increase_row(1, make_person())])
    with pytest.raises(services.Refused) as caught:
        services.submit(data, submitter=gw.employer_org(other))
    assert caught.value.code == "not_your_employer"


def test_a_dossier_signed_by_someone_else_is_refused(office, employer) -> None:
    stranger = gw.identity("Công ty Lạ", "0300000001", "employer")
    package = gw.package_600(employer, [gw.increase_row(1, make_person())])
    with pytest.raises(services.Refused) as caught:
        services.submit(gw.signed(package, stranger), submitter=gw.employer_org(employer))
    assert caught.value.code == "signer_not_authorised"


def test_an_ivan_submits_for_its_registered_employers_only(office) -> None:
    ivan = gw.make_ivan()
    mine, theirs = make_employer(), make_employer()
    gw.register_etrans(mine, ivan=ivan.provider)
    gw.register_etrans(theirs)
    ok = gw.signed(gw.package_600(mine, [gw.increase_row(1, make_person())]), ivan.identity)
    assert (
        services.submit(ok, submitter=ivan.provider.organisation).submission.ivan == ivan.provider
    )
    refused = gw.signed(gw.package_600(theirs, [gw.increase_row(1, make_person())]), ivan.identity)
    with pytest.raises(services.Refused) as caught:
        services.submit(refused, submitter=ivan.provider.organisation)
    assert caught.value.code == "employer_not_with_this_ivan"


def test_a_suspended_ivan_is_refused(office) -> None:
    from ansinh.gateway import submitters

    ivan = gw.make_ivan()
    employer = make_employer()
    gw.register_etrans(employer, ivan=ivan.provider)
    submitters.suspend_ivan(ivan.provider, reason="Vi phạm hợp đồng")
    data = gw.signed(gw.package_600(employer, [gw.increase_row(1, make_person())]), ivan.identity)
    with pytest.raises(services.Refused) as caught:
        services.submit(data, submitter=ivan.provider.organisation)
    assert caught.value.code == "ivan_suspended"


class _Receiver(http.server.BaseHTTPRequestHandler):
    bodies: list[tuple[str, bytes]] = []
    fail_first = True

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Receiver.fail_first:
            _Receiver.fail_first = False
            self.send_response(503)
            self.end_headers()
            return
        _Receiver.bodies.append((self.headers["X-Ansinh-Kind"], body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.bodies, _Receiver.fail_first = [], True
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def test_receipt_and_result_are_pushed_and_retried(office, employer, receiver, settings) -> None:
    from django.utils import timezone

    from ansinh.gateway import callbacks

    settings.GATEWAY_CALLBACK_ALLOW_PRIVATE = True
    data = _direct(employer, [gw.increase_row(1, make_person())])
    sub = services.submit(data, submitter=gw.employer_org(employer), callback_url=receiver)
    sub = services.process_submission(sub.submission.pk)
    callbacks.schedule(sub, "receipt")
    callbacks.schedule(sub, "result")
    for delivery in CallbackDelivery.objects.all():
        callbacks.deliver(delivery.pk)
    callbacks.retry_due(timezone.now() + dt.timedelta(hours=1))
    kinds = sorted(kind for kind, _ in _Receiver.bodies)
    assert kinds == ["receipt", "result"]
    for _kind, body in _Receiver.bodies:
        _agency_verifies(body)
    assert CallbackDelivery.objects.filter(delivered_at__isnull=True).count() == 0
    assert SubmissionEvent.objects.filter(step=Step.CALLBACK_FAILED).count() == 1


def test_private_callback_urls_are_refused_in_production(settings) -> None:
    from ansinh.gateway import callbacks

    settings.GATEWAY_CALLBACK_ALLOW_PRIVATE = False
    for url in ("http://127.0.0.1/x", "http://10.0.0.1/x", "file:///etc/passwd", "ftp://a.b/x"):
        with pytest.raises(DomainError) as caught:
            callbacks.check_url(url)
        assert caught.value.code == "callback_url_invalid"
    assert callbacks.check_url("https://ivan.example.vn/hook") == "https://ivan.example.vn/hook"


def test_receipt_and_result_documents_follow_their_schemas(office, employer) -> None:
    from pathlib import Path

    schemas = Path(services.__file__).parent / "schemas"
    data = _direct(employer, [gw.increase_row(1, make_person())])
    sub = services.process_submission(
        services.submit(data, submitter=gw.employer_org(employer)).submission.pk
    )
    for name, doc in (("receipt-1.0.xsd", sub.receipt_xml), ("result-1.0.xsd", sub.result_xml)):
        schema = etree.XMLSchema(etree.parse(str(schemas / name)))
        root = etree.fromstring(bytes(doc))
        assert schema.validate(root), schema.error_log


def test_a_row_with_an_invalid_personal_id_is_rejected_alone(office, employer) -> None:
    """One mistyped ID among valid rows: the dossier is received, the valid rows processed,
    the bad row rejected with its reason in both languages."""
    good = gw.increase_row(1, make_person())
    bad = gw.increase_row(2, make_person())
    bad_data = {**bad.data, "personal_id": "00109012345x"}
    rows = [good, gw.formats.RowData(2, "increase", bad_data["personal_id"], bad_data)]
    sub = services.submit(_direct(employer, rows), submitter=gw.employer_org(employer)).submission
    sub = services.process_submission(sub.pk)
    assert (sub.rows_accepted, sub.rows_rejected) == (1, 1)
    rejected = sub.rows.get(number=2)
    assert rejected.status == RowStatus.REJECTED and rejected.error_code
    assert rejected.message_vi and rejected.message_en
    ns = {"r": services.RESULT_NS}
    result = _agency_verifies(bytes(sub.result_xml))
    statuses = [r.get("status") for r in result.iterfind("r:Rows/r:Row", ns)]
    assert statuses == ["accepted", "rejected"]


def test_the_last_officer_decision_answers_the_dossier(office, employer) -> None:
    """A worker still employed elsewhere waits for an officer (one employer per person and day);
    the dossier stays in processing without a result until the officer decides."""
    from ansinh.contributions import services as contributions
    from ansinh.onestop.testing import make_officer

    elsewhere = make_employer(tax_code="0108888888")
    busy = make_person()
    contributions.report_increase(
        employer=elsewhere,
        person=busy,
        start=dt.date(2025, 1, 1),
        contract_type="indefinite",
        salary=7_000_000,
    )
    rows = [gw.increase_row(1, make_person()), gw.increase_row(2, busy)]
    sub = services.submit(_direct(employer, rows), submitter=gw.employer_org(employer)).submission
    sub = services.process_submission(sub.pk)
    queued = sub.rows.get(number=2)
    assert queued.status == RowStatus.QUEUED and not sub.result_xml
    assert Dossier.objects.get(pk=sub.dossier_id).state == DossierState.PROCESSING

    staff = make_officer(office)
    services.decide_row(queued, actor=staff, accept=False, note="Người lao động chưa báo giảm")
    sub.refresh_from_db()
    assert sub.result_xml and (sub.rows_accepted, sub.rows_rejected) == (1, 1)
    assert Dossier.objects.get(pk=sub.dossier_id).state == DossierState.RETURNED
