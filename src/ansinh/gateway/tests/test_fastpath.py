"""The lean intake route (``gateway.fastpath``) answers exactly as the django-ninja endpoint it
stands in for: the same request through both gives the same status, the same JSON body (ids
and times aside), the same evidence kept and the same log line; whatever it does not handle
it hands to Django unchanged (Decree 166/2016/NĐ-CP Art. 9–11 on who may submit; the
gateway's error codes in docs/gateway-security.md)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.utils import timezone
from lxml import etree
from signxml import XMLVerifier

from ansinh.access.models import ApiToken
from ansinh.access.testing import make_user, token_for
from ansinh.core.fastpath import FastPathDispatcher, wsgi_call
from ansinh.gateway import fastpath, services, signing, submitters
from ansinh.gateway import testing as gw
from ansinh.gateway.models import Submission
from ansinh.onestop.models import Dossier
from ansinh.onestop.testing import make_office
from ansinh.registry.testing import make_employer, make_person

pytestmark = pytest.mark.django_db

PATH = fastpath.PATH
DECLINED = 599  # what the stand-in for Django answers in ``fast_only``


def _declined(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response(f"{DECLINED} Declined", [("Content-Type", "text/plain")])
    return [b"declined"]


@pytest.fixture
def apps(settings) -> Iterator[dict[str, Any]]:
    """The reference (Django, ninja) and the lean route in front of it; the test's database
    connection is kept open across requests as Django's test client keeps it."""
    settings.FAST_PATHS = [("POST", PATH, "ansinh.gateway.fastpath.submit")]
    settings.GATEWAY_CALLBACK_ALLOW_PRIVATE = False
    django_app = get_wsgi_application()
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    with mock.patch("django.db.close_old_connections", lambda: None):
        yield {
            "reference": django_app,
            "fast": FastPathDispatcher(django_app),
            "fast_only": FastPathDispatcher(_declined),
        }
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world():
    office = make_office(province_code="01")
    ivan = gw.make_ivan()
    employer = make_employer(tax_code="0101234568")
    gw.register_etrans(employer, ivan=ivan.provider)
    return office, ivan, employer


def _dossier(ivan, employer, tx: str) -> bytes:
    package = gw.package_600(
        employer,
        [gw.increase_row(1, make_person())],
        transaction_id=tx,
        ivan_code=ivan.provider.code,
    )
    return gw.signed(package, ivan.identity)


def _effects(since: int) -> dict[str, Any]:
    """What a request left behind: submissions (accepted or kept as evidence) with their
    events, and one-stop dossiers."""
    subs = Submission.objects.filter(pk__gt=since).order_by("pk")
    return {
        "submissions": [
            (
                s.verdict,
                s.error_code,
                s.transaction_id,
                s.submitted_by_id,
                s.channel,
                s.callback_url,
                s.signer_kind,
                s.digest,
                bytes(s.raw),
                [e for e in s.events.order_by("id").values_list("step", "detail")],
                s.rows.count(),
            )
            for s in subs
        ],
        "errors": [s.errors for s in subs],
        "dossiers": Dossier.objects.filter(channel="gateway").count(),
    }


def _receipt_facts(body: dict[str, Any]) -> dict[str, str]:
    """The signed receipt, checked against the agency's certificate, reduced to what does not
    depend on the moment of the request."""
    pem = signing.agency_certificate().public_bytes(Encoding.PEM).decode()
    xml = base64.b64decode(body["receipt_xml"])
    signed = XMLVerifier().verify(etree.fromstring(xml), x509_cert=pem).signed_xml
    ns = {"r": services.RECEIPT_NS}
    return {
        name: signed.findtext(f"r:{name}", namespaces=ns)
        for name in ("DossierCode", "TransactionId", "Procedure", "Digest", "Rows", "Status")
    }


def _normalised(body: dict[str, Any]) -> dict[str, Any]:
    out = dict(body)
    for key in ("received_at", "due_at"):
        if out.get(key) is not None:
            dt.datetime.fromisoformat(out[key].replace("Z", "+00:00"))  # well-formed
            out[key] = "<time>"
    if "evidence_id" in out:
        assert isinstance(out["evidence_id"], int)
        out["evidence_id"] = "<id>"
    if "receipt_xml" in out:
        out["receipt_xml"] = _receipt_facts(body)
    return out


def _call(app: Any, body: bytes, headers: dict[str, str], path: str = PATH) -> Any:
    return wsgi_call(app, "POST", path, body=body, headers=headers)


def _both(
    apps: dict[str, Any], body: bytes, headers: dict[str, str], caplog: Any, path: str = PATH
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The same request through the reference and through the lean route, each on the same
    database state (a savepoint rolled back after each)."""
    answers = []
    since = Submission.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    for name in ("reference", "fast"):
        caplog.clear()
        savepoint = transaction.savepoint()
        with caplog.at_level(logging.WARNING, logger="django.request"):
            status, _headers, data = _call(apps[name], body, headers, path)
        token_used = sorted(
            str(t) for t in ApiToken.objects.values_list("last_used_at", flat=True) if t
        )
        answers.append(
            (
                status,
                _normalised(json.loads(data)) if data else None,
                _effects(since),
                [r.getMessage() for r in caplog.records if r.name == "django.request"],
                len(token_used),
            )
        )
        transaction.savepoint_rollback(savepoint)
    return answers[0], answers[1]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/xml"}


def test_the_lean_route_answers_the_plain_case_itself(apps, world) -> None:
    _office, ivan, employer = world
    status, headers, data = _call(
        apps["fast_only"], _dossier(ivan, employer, "F-1"), _bearer(ivan.token)
    )
    assert status == 201
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(data)["transaction_id"] == "F-1"
    assert Submission.objects.get(transaction_id="F-1").submitted_by_id == ivan.user.pk


def test_a_new_dossier_gets_the_same_receipt(apps, world, caplog) -> None:
    _office, ivan, employer = world
    ref, fast = _both(apps, _dossier(ivan, employer, "F-2"), _bearer(ivan.token), caplog)
    assert ref[0] == 201 and ref == fast
    assert ref[1]["receipt_xml"]["TransactionId"] == "F-2"
    assert len(ref[2]["submissions"]) == 1 and ref[2]["dossiers"] == 1


def test_a_replay_gets_the_same_receipt_again(apps, world, caplog) -> None:
    """Idempotency on the transaction id: the same bytes twice, 200 and the first receipt."""
    _office, ivan, employer = world
    data = _dossier(ivan, employer, "F-3")
    first = services.submit(data, submitter=ivan.provider.organisation, user=ivan.user)
    ref, fast = _both(apps, data, _bearer(ivan.token), caplog)
    assert ref[0] == 200 and ref == fast
    assert ref[1]["replayed"] is True
    assert ref[1]["receipt_xml"]["DossierCode"] == first.submission.dossier.code


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("reused_id", 409, "transaction_id_reused"),
        ("tampered", 400, "signature_invalid"),
        ("malformed", 400, "malformed_xml"),
        ("unsigned", 400, "signature_missing"),
        ("suspended", 403, "ivan_suspended"),
        ("not_registered", 403, "employer_not_with_this_ivan"),
    ],
)
def test_refusals_are_the_same_with_the_same_evidence(
    apps, world, caplog, case, status, code
) -> None:
    _office, ivan, employer = world
    body = _dossier(ivan, employer, "F-4")
    if case == "reused_id":
        services.submit(body, submitter=ivan.provider.organisation, user=ivan.user)
        body = _dossier(ivan, employer, "F-4")
    elif case == "tampered":
        body = body.replace(b"8000000", b"9000000", 1)
    elif case == "malformed":
        body = body[: len(body) // 2]
    elif case == "unsigned":
        root = etree.fromstring(body)
        root.remove(root[-1])
        body = etree.tostring(root)
    elif case == "suspended":
        submitters.suspend_ivan(ivan.provider, reason="Vi phạm hợp đồng")
    elif case == "not_registered":
        other = make_employer(tax_code="0101234569")
        gw.register_etrans(other)
        body = _dossier(ivan, other, "F-5")
    ref, fast = _both(apps, body, _bearer(ivan.token), caplog)
    assert ref[0] == status and ref[1]["code"] == code
    assert ref == fast
    assert ref[1]["evidence_id"] == "<id>" and ref[2]["submissions"][-1][0] == "refused"
    assert ref[3], "Django logs the 4xx answer; so does the lean route"


def test_callback_urls_are_checked_and_kept_alike(apps, world, caplog) -> None:
    _office, ivan, employer = world
    bad = {**_bearer(ivan.token), "X-Callback-Url": "http://localhost/hook"}
    ref, fast = _both(apps, _dossier(ivan, employer, "F-6"), bad, caplog)
    assert ref[0] == 400 and ref[1]["code"] == "callback_url_invalid" and ref == fast
    assert ref[2]["submissions"] == []  # refused before intake, as in the reference
    good = {**_bearer(ivan.token), "X-Callback-Url": "https://ivan.example.vn/hook"}
    ref, fast = _both(apps, _dossier(ivan, employer, "F-7"), good, caplog)
    assert ref[0] == 201 and ref == fast
    assert ref[2]["submissions"][0][5] == "https://ivan.example.vn/hook"


def test_an_employer_submitting_itself_and_a_user_who_may_not_submit(apps, world, caplog) -> None:
    office, _ivan, _employer = world
    employer = make_employer(tax_code="0101234570")
    gw.register_etrans(employer)
    user = make_user("employer", org=gw.employer_org(employer))
    package = gw.package_600(employer, [gw.increase_row(1, make_person())], transaction_id="F-8")
    body = gw.signed(package, gw.employer_identity(employer))
    ref, fast = _both(apps, body, _bearer(token_for(user)), caplog)
    assert ref[0] == 201 and ref == fast
    officer = make_user("officer", org=office.organisation)
    ref, fast = _both(apps, body, _bearer(token_for(officer)), caplog)
    assert ref[0] == 403 and ref[1]["code"] == "not_a_submitter" and ref == fast


def test_the_token_is_checked_on_every_request(apps, world, caplog) -> None:
    """Revoked, expired or inactive: the lean route declines and Django answers (403 from the
    session's CSRF check, or 401) as the reference does; a stale ``last_used_at`` is refreshed
    alike."""
    _office, ivan, employer = world
    body = _dossier(ivan, employer, "F-9")
    token = ApiToken.objects.get(user=ivan.user)
    ApiToken.objects.filter(pk=token.pk).update(
        last_used_at=timezone.now() - dt.timedelta(minutes=5)
    )
    ref, fast = _both(apps, body, _bearer(ivan.token), caplog)
    assert ref[0] == 201 and ref == fast and ref[4] == 1
    for change in (
        {"revoked_at": timezone.now()},
        {"revoked_at": None, "expires_at": timezone.now() - dt.timedelta(seconds=1)},
    ):
        ApiToken.objects.filter(pk=token.pk).update(**change)
        assert _call(apps["fast_only"], body, _bearer(ivan.token))[0] == DECLINED
        ref, fast = _both(apps, body, _bearer(ivan.token), caplog)
        assert ref[0] in (401, 403) and ref == fast
    ApiToken.objects.filter(pk=token.pk).update(expires_at=None)
    type(ivan.user).objects.filter(pk=ivan.user.pk).update(is_active=False)
    assert _call(apps["fast_only"], body, _bearer(ivan.token))[0] == DECLINED
    ref, fast = _both(apps, body, _bearer(ivan.token), caplog)
    assert ref[0] in (401, 403) and ref == fast


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/xml"},
        {"Authorization": "Basic aXZhbjpzZWNyZXQ=", "Content-Type": "application/xml"},
        {"Authorization": "Bearer ans_not-a-token", "Content-Type": "application/xml"},
    ],
)
def test_requests_without_a_valid_bearer_token_go_to_django(apps, world, caplog, headers) -> None:
    _office, ivan, employer = world
    body = _dossier(ivan, employer, "F-10")
    assert _call(apps["fast_only"], body, headers)[0] == DECLINED
    ref, fast = _both(apps, body, headers, caplog)
    # Session authentication's CSRF check answers first when no token authenticates.
    assert ref[0] in (401, 403) and ref == fast


def test_an_oversized_body_and_other_paths_go_to_django(apps, world, caplog, settings) -> None:
    """Over GATEWAY_MAX_BYTES the reference refuses with ``too_large`` (413) and keeps the
    evidence; the lean route leaves that to it. Other paths are not its business."""
    _office, ivan, employer = world
    body = _dossier(ivan, employer, "F-11")
    settings.GATEWAY_MAX_BYTES = len(body) - 1
    assert _call(apps["fast_only"], body, _bearer(ivan.token))[0] == DECLINED
    ref, fast = _both(apps, body, _bearer(ivan.token), caplog)
    assert ref[0] == 413 and ref[1]["code"] == "too_large" and ref == fast
    assert ref[2]["submissions"][0][0] == "refused"
    settings.GATEWAY_MAX_BYTES = len(body)
    other = PATH + "/F-11/receipt"
    assert _call(apps["fast_only"], body, _bearer(ivan.token), other)[0] == DECLINED
