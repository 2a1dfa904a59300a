"""The JSON API against its own OpenAPI schema, with schemathesis generating requests.

Every operation is called with generated parameters and bodies (valid and invalid): no request
may cause a server error, declared responses must match the schema, and every error response
must have the documented shape ``{code, field, message_vi, message_en}``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from ansinh.access.testing import make_org, token_for
from ansinh.access.testing import make_user as make_staff
from ansinh.api import api
from ansinh.contributions import services as ledger
from ansinh.places.testing import admin_units, admin_units_package  # noqa: F401
from ansinh.registry.testing import make_employer, make_person
from ansinh.wsgi import application


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    """Requests go through the real WSGI handler, which closes the database connection when a
    request ends; the test's transaction lives on that connection, so keep it open, as
    Django's own test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_headers(admin_units: None, keep_test_connection: None) -> dict[str, str]:  # noqa: F811
    org = make_org(kind="central", scope_codes=(), nationwide=True)
    user = make_staff("administrator", org=org, is_superuser=True, is_staff=True)
    employer = make_employer()
    person = make_person()
    ledger.report_increase(
        employer=employer,
        person=person,
        start=dt.date(2026, 1, 1),
        contract_type="indefinite",
        salary=9_000_000,
    )
    return {"Authorization": f"Bearer {token_for(user)}", "X-Purpose": "test"}


def _load_schema() -> Any:
    # Built from the API object itself (no request needed at import time); calls go to the
    # WSGI application in-process, so they see the test database.
    loaded = schemathesis.openapi.from_dict(json.loads(json.dumps(api.get_openapi_schema())))
    loaded.app = application
    return loaded


schema = _load_schema()


def error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    # 405 for an undeclared method is answered by the router before our handlers run.
    if 400 <= response.status_code < 500 and response.status_code != 405:
        body = response.json()
        for key in ("code", "field", "message_vi", "message_en"):
            assert key in body, f"{case.method} {case.path}: error without {key}: {body}"
        assert body["code"] and body["message_vi"] and body["message_en"]
    return None


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case: Any, api_headers: dict[str, str]) -> None:
    case.call_and_validate(
        headers=api_headers,
        checks=[not_a_server_error, response_schema_conformance, error_shape],
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/registry/persons?q=an%00", None),
        ("get", "/api/v1/registry/persons/0010%0090", None),
        ("post", "/api/v1/registry/persons/batch", '{"rows": [{"full_name": "A\\u0000"}]}'),
    ],
)
def test_control_characters_are_refused_not_a_server_error(
    client: Any, api_headers: dict[str, str], method: str, path: str, body: str | None
) -> None:
    """A NUL byte cannot be stored by PostgreSQL; it must be a clear 4xx on both databases."""
    headers = {"HTTP_AUTHORIZATION": api_headers["Authorization"], "HTTP_X_PURPOSE": "test"}
    if method == "get":
        response = client.get(path, **headers)
    else:
        response = client.post(path, body, content_type="application/json", **headers)
    assert 400 <= response.status_code < 500
    assert response.json()["code"]
