"""``POST /api/v1/gateway/submissions`` without Django's middleware and django-ninja
(``ansinh.core.fastpath``, listed in ``settings.FAST_PATHS``).

Intake is called by I-VAN software many times a second (goal: 200 one-row dossiers/s on two
cores); the request/response machinery around ``services.submit`` cost about as much CPU as the
submission itself. This handler does exactly what the ninja endpoint (``gateway.api.submit``,
still the reference and still used for every request this one declines) does: the same bearer
token check (``api.token_user``: revocation, expiry, ``is_active``, read on every request), the
same submitter check, callback URL check, body limit, ``services.submit`` with its evidence, and
the same JSON bodies (rendered by the same encoder) and status codes.

It declines — Django answers as before — whatever is not the plain bearer-token case: another
path, no ``Authorization: Bearer`` header, a token that does not authenticate (a session cookie
may still, else Django's 401), and a body over ``GATEWAY_MAX_BYTES`` (refused by the reference
path with its evidence).
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from django.db import InterfaceError, OperationalError, connection
from ninja.responses import NinjaJSONEncoder

from ansinh.core.errors import DomainError
from ansinh.core.fastpath import FastRequest, FastResponse
from ansinh.gateway import api, callbacks, services

PATH = "/api/v1/gateway/submissions"
CONTENT_TYPE = "application/json; charset=utf-8"

# Django logs every 4xx/5xx answer on this logger (``django.utils.log.log_response``).
request_log = logging.getLogger("django.request")


def _json(status: int, data: Any) -> FastResponse:
    # As django-ninja renders it (JSONRenderer: NinjaJSONEncoder, json.dumps defaults).
    body = json.dumps(data, cls=NinjaJSONEncoder).encode()
    return FastResponse(status, body, {"Content-Type": CONTENT_TYPE})


def bearer_token(request: FastRequest) -> str | None:
    """The token as ninja's ``HttpBearer`` reads it, or None when there is no bearer header."""
    value = request.headers.get("authorization", "")
    if not value:
        return None
    parts = value.split(" ")
    if parts[0].lower() != "bearer":
        return None
    return " ".join(parts[1:])


def authenticate(token: str) -> Any:
    """``api.token_user`` with the connection's health check folded into it.

    ``CONN_HEALTH_CHECKS`` runs a ``SELECT 1`` before the first statement of every request, in
    case the server dropped the kept connection while it was idle — a round trip on every
    submission. The token look-up is itself a read: it goes first, and if the connection
    turns out dead (OperationalError/InterfaceError) it is closed and the look-up run once
    more on a new one, which is what the health check would have done. Any other error, or a
    second failure, is raised as before.
    """
    folded = (
        connection.connection is not None
        and connection.health_check_enabled
        and not connection.health_check_done
        and not connection.in_atomic_block
    )
    if not folded:
        return api.token_user(token)
    connection.health_check_done = True  # the look-up below is the check
    try:
        return api.token_user(token)
    except (OperationalError, InterfaceError):
        connection.close()
        return api.token_user(token)


def submit(request: FastRequest) -> FastResponse | None:
    """Receive one signed dossier; ``None`` hands the request to Django (see the module)."""
    if request.path != PATH:
        return None
    token = bearer_token(request)
    if token is None:
        return None
    user = authenticate(token)
    if user is None:
        return None
    if len(request.body) > api.max_bytes():
        return None
    try:
        user, org = api.submitter_of(user)
        callback = callbacks.check_url(request.headers.get("x-callback-url", ""))
        intake = services.submit(request.body, submitter=org, user=user, callback_url=callback)
    except DomainError as exc:
        request_log.warning("%s: %s", HTTPStatus(exc.status).phrase, request.path)
        return _json(exc.status, exc.as_dict())
    return _json(*api.receipt_answer(intake))
