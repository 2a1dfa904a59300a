"""The lean WSGI paths: routing, fall-through to Django, host and size checks, errors."""

from __future__ import annotations

import json

import pytest
from django.core.wsgi import get_wsgi_application

from ansinh.core.fastpath import FastPathDispatcher, FastRequest, FastResponse, Route, wsgi_call

pytestmark = pytest.mark.django_db

SEEN: list[FastRequest] = []


def echo(request: FastRequest) -> FastResponse | None:
    if request.headers.get("x-decline"):
        return None
    SEEN.append(request)
    return FastResponse.json(200, {"len": len(request.body), "url": request.url()})


def boom(request: FastRequest) -> FastResponse:
    raise RuntimeError("no personal data here")


@pytest.fixture
def app(settings):
    settings.FAST_PATHS = [
        Route("POST", "/fast/", f"{__name__}.echo", max_body=100),
        ("*", "/boom/", f"{__name__}.boom"),
    ]
    SEEN.clear()
    return FastPathDispatcher(get_wsgi_application())


def test_listed_route_answered_by_its_handler(app):
    status, headers, body = wsgi_call(app, "POST", "/fast/x", body=b"abc", query="a=1")
    assert status == 200
    assert json.loads(body) == {"len": 3, "url": "http://testserver/fast/x?a=1"}
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Length"] == str(len(body))
    assert SEEN[0].headers["content-length"] == "3"


def test_other_method_and_declined_requests_go_to_django(app):
    status, _, _ = wsgi_call(app, "GET", "/fast/x")
    assert status == 404 and not SEEN  # Django's own 404: no such URL
    status, _, _ = wsgi_call(app, "POST", "/fast/x", body=b"abc", headers={"X-Decline": "1"})
    assert status in (403, 404) and not SEEN  # Django saw it (CSRF or no URL)


def test_host_not_allowed_is_refused(app):
    status, _, body = wsgi_call(app, "POST", "/fast/x", host="evil.example")
    assert status == 400 and json.loads(body)["code"] == "bad_host"


def test_body_over_the_route_limit_is_refused_unread(app):
    status, _, body = wsgi_call(app, "POST", "/fast/x", body=b"x" * 101)
    assert status == 413 and json.loads(body)["code"] == "body_too_large"
    assert not SEEN


def test_unexpected_error_is_a_json_500(app, caplog):
    status, _, body = wsgi_call(app, "PUT", "/boom/")
    assert status == 500
    answer = json.loads(body)
    assert answer["code"] == "internal_error" and answer["message_vi"] and answer["message_en"]
