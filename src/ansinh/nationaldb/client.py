"""ansinh's client of the population registry (popreg protocol, ``popreg/protocol.py``).

Configured by ``NATIONALDB_POPREG_URL``, ``NATIONALDB_POPREG_CLIENT_ID``,
``NATIONALDB_POPREG_CLIENT_KEY`` (our private key PEM), ``NATIONALDB_POPREG_SERVER_KEY`` (the
registry's public key PEM) and ``NATIONALDB_POPREG_TIMEOUT`` (seconds). Every failure becomes a
:class:`PopregError` with a code the caller stores as a pending check; nothing personal is
logged (request ids and codes only).

With ``NATIONALDB_POPREG_MEMBER`` set (e.g. ``VN/GOV/C06/popreg``) and that member registered
as an exchange peer, the same body goes through the exchange layer instead (``ansinh.exchange``:
RFC 9421 signatures both ways, the message logged in the hash-chained log) to the registry's
``verifyIdentity`` service; the answers and the stored results are the same.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from ansinh.nationaldb import keys
from ansinh.nationaldb.popreg import protocol
from ansinh.nationaldb.popreg.server import EXCHANGE_SERVICE

log = logging.getLogger(__name__)


class PopregError(Exception):
    """No valid answer: ``service_down``, ``timeout``, ``bad_signature`` (the answer did not
    verify), ``rejected`` (the registry refused our request), ``bad_response``,
    ``not_configured``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Answer:
    request_id: str
    outcome: str
    fields: dict[str, str] = field(default_factory=dict)


class PopregClient:
    def __init__(
        self,
        *,
        url: str,
        client_id: str,
        key: Ed25519PrivateKey,
        server_key: Ed25519PublicKey,
        timeout: float = 5.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.client_id = client_id
        self.key = key
        self.server_key = server_key
        self.timeout = timeout

    def verify(
        self, *, request_id: str, personal_id: str, full_name: str, date_of_birth: dt.date
    ) -> Answer:
        body = _query(personal_id, full_name, date_of_birth)
        ts = str(int(time.time()))
        signature = protocol.sign(
            self.key, protocol.request_message(self.client_id, request_id, ts, body)
        )
        request = urllib.request.Request(  # noqa: S310 - the URL is configuration, http(s) only
            self.url + protocol.VERIFY_PATH,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Client-Id": self.client_id,
                "X-Request-Id": request_id,
                "X-Timestamp": ts,
                "X-Signature": signature,
            },
        )
        if not self.url.startswith(("http://", "https://")):
            raise PopregError("not_configured")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status, headers, raw = response.status, response.headers, response.read(65536)
        except urllib.error.HTTPError as exc:
            status, headers, raw = exc.code, exc.headers, exc.read(65536)
        except TimeoutError as exc:
            log.warning("population registry: timeout (request %s)", request_id)
            raise PopregError("timeout") from exc
        except (urllib.error.URLError, ConnectionError, OSError) as exc:
            if isinstance(getattr(exc, "reason", None), TimeoutError | socket.timeout):
                raise PopregError("timeout") from exc
            log.warning("population registry: unreachable (request %s)", request_id)
            raise PopregError("service_down") from exc
        return self._answer(request_id, status, headers, raw)

    def _answer(self, request_id: str, status: int, headers: object, raw: bytes) -> Answer:
        get = getattr(headers, "get", lambda _k, _d="": _d)
        echoed, ts, signature = (
            get("X-Request-Id", ""),
            get("X-Timestamp", ""),
            get("X-Signature", ""),
        )
        message = protocol.response_message(status, echoed, ts, raw)
        if echoed != request_id or not protocol.signature_ok(self.server_key, signature, message):
            log.warning("population registry: answer with a bad signature (request %s)", request_id)
            raise PopregError("bad_signature")
        if not ts.isdigit() or abs(time.time() - int(ts)) > protocol.MAX_SKEW:
            raise PopregError("bad_signature")
        if status != 200:
            log.warning("population registry refused request %s (HTTP %s)", request_id, status)
            raise PopregError("rejected")
        return _parse_answer(request_id, raw)


def _query(personal_id: str, full_name: str, date_of_birth: dt.date) -> bytes:
    return json.dumps(
        {
            "personal_id": personal_id,
            "full_name": full_name,
            "date_of_birth": date_of_birth.isoformat(),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")


def _parse_answer(request_id: str, raw: bytes) -> Answer:
    try:
        body = json.loads(raw.decode("utf-8"))
        outcome = body["outcome"]
        fields = {k: v for k, v in body.get("fields", {}).items() if k in protocol.FIELDS}
    except (ValueError, KeyError, AttributeError, TypeError) as exc:
        raise PopregError("bad_response") from exc
    if outcome not in protocol.OUTCOMES or not all(
        v in ("match", "mismatch") for v in fields.values()
    ):
        raise PopregError("bad_response")
    return Answer(request_id, outcome, fields)


class ExchangePopregClient:
    """The same question through the exchange layer, to the registry's ``verifyIdentity``."""

    def __init__(self, member: str) -> None:
        self.member = member

    def verify(
        self, *, request_id: str, personal_id: str, full_name: str, date_of_birth: dt.date
    ) -> Answer:
        from ansinh.core.errors import DomainError
        from ansinh.exchange import client, selectors

        try:
            peer = selectors.get_peer(self.member)
            result = client.call(
                peer,
                EXCHANGE_SERVICE,
                _query(personal_id, full_name, date_of_birth),
                message_id=request_id,
            )
        except DomainError as exc:  # no exchange identity, or no such peer
            log.warning("population registry via exchange: %s (request %s)", exc.code, request_id)
            raise PopregError("not_configured") from exc
        if result.outcome == "peer_down":
            log.warning("population registry: unreachable (request %s)", request_id)
            raise PopregError("service_down")
        if not result.verified:
            log.warning("population registry: answer with a bad signature (request %s)", request_id)
            raise PopregError("bad_signature")
        if result.status != 200:
            log.warning("population registry refused request %s (%s)", request_id, result.outcome)
            raise PopregError("rejected")
        return _parse_answer(request_id, result.body)


def default_client() -> PopregClient:
    """The client configured in settings; raises ``PopregError('not_configured')``."""
    member = getattr(settings, "NATIONALDB_POPREG_MEMBER", "")
    if member:
        return ExchangePopregClient(member)  # type: ignore[return-value]
    url = getattr(settings, "NATIONALDB_POPREG_URL", "")
    key_file = getattr(settings, "NATIONALDB_POPREG_CLIENT_KEY", "") or (
        keys.key_dir() / "popreg" / "client.key"
    )
    server_file = getattr(settings, "NATIONALDB_POPREG_SERVER_KEY", "") or (
        keys.key_dir() / "popreg" / "server.pub"
    )
    if not url:
        return _Unconfigured(PopregError("not_configured"))  # type: ignore[return-value]
    try:
        key = keys.read_private_pem(Path(key_file))
        server_key = keys.read_public_pem(Path(server_file))
    except (OSError, ValueError):
        return _Unconfigured(PopregError("not_configured"))  # type: ignore[return-value]
    return PopregClient(
        url=url,
        client_id=getattr(settings, "NATIONALDB_POPREG_CLIENT_ID", "ansinh"),
        key=key,
        server_key=server_key,
        timeout=float(getattr(settings, "NATIONALDB_POPREG_TIMEOUT", 5)),
    )


class _Unconfigured:
    """Stands in for a client when settings are missing: every check stays pending."""

    def __init__(self, error: PopregError) -> None:
        self.error = error

    def verify(self, **_kw: object) -> Answer:
        raise PopregError(self.error.code)
