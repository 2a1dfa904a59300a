"""The JSON API against its own OpenAPI schema, with schemathesis generating requests.

Every operation is called with generated parameters and bodies (valid and invalid): no request
may cause a server error, declared responses must match the schema, and every error response
must have the documented shape ``{code, field, message_vi, message_en}``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import schemathesis
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
def api_headers(admin_units: None) -> dict[str, str]:  # noqa: F811 - fixture imported above
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
