"""The population-registry stand-in (``ansinh popreg serve``): a small HTTP service, standard
library only, that holds the synthetic population as the ground truth of identity and answers
verification requests as the national population database (Cơ sở dữ liệu quốc gia về dân cư)
would: ID + full name + birth date → match, mismatch per field, unknown, or deceased.

It runs as its own process, without Django, so tests and the demo talk to it over HTTP exactly
as ansinh would talk to the real registry. Its log holds request ids and outcomes, never a name
or a number.

Data file: JSON Lines, one person a line: ``{"id", "name", "dob", "status"}`` with status
``alive`` or ``deceased`` (written by ``ansinh popreg export``).

Two doors to the same answer: the popreg protocol (``POST /v1/verify``, ``protocol.py``), and,
when started with ``--member``, the exchange profile ansinh uses between agencies
(``POST /r1/{member}/verifyIdentity`` with ``X-Road-Client``/``X-Road-Id`` and RFC 9421
signatures both ways, ``docs/exchange.md``), for callers registered with ``--peer``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from ansinh.nationaldb.popreg import protocol

#: The service name on the exchange door.
EXCHANGE_SERVICE = "verifyIdentity"
#: Refusals of the exchange door: code → (HTTP status, field, Vietnamese, English).
_REFUSALS: dict[str, tuple[int, str, str, str]] = {
    "unknown_service": (404, "service", "Không có dịch vụ này.", "No such service."),
    "body_too_large": (413, "body", "Thông điệp quá lớn.", "The message is too large."),
    "unknown_peer": (
        403,
        "x-road-client",
        "Bên gọi chưa được đăng ký.",
        "The caller is not registered.",
    ),
    "message_id_missing": (400, "x-road-id", "Thiếu mã thông điệp.", "The message id is missing."),
    "replayed_message": (
        401,
        "signature",
        "Thông điệp đã được nhận trước đó.",
        "This signed message was already received.",
    ),
    "body_not_json": (400, "body", "Nội dung không phải JSON.", "The body is not JSON."),
}

log = logging.getLogger("ansinh.popreg")


@dataclass(frozen=True)
class Resident:
    name: str
    dob: str
    deceased: bool


def load_population(path: Path) -> dict[str, Resident]:
    people: dict[str, Resident] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            people[str(row["id"])] = Resident(
                name=str(row["name"]),
                dob=str(row["dob"]),
                deceased=row.get("status") == "deceased",
            )
    return people


def answer(people: dict[str, Resident], query: dict[str, Any]) -> dict[str, Any]:
    """The registry's answer to one verification query (already authenticated)."""
    resident = people.get(str(query.get("personal_id", "")))
    if resident is None:
        return {"outcome": "unknown", "fields": {}}
    fields = {
        "personal_id": "match",
        "full_name": "match"
        if protocol.same_name(str(query.get("full_name", "")), resident.name)
        else "mismatch",
        "date_of_birth": "match"
        if str(query.get("date_of_birth", "")) == resident.dob
        else ("mismatch"),
    }
    if resident.deceased:
        outcome = "deceased"
    elif all(v == "match" for v in fields.values()):
        outcome = "match"
    else:
        outcome = "mismatch"
    return {"outcome": outcome, "fields": fields}


class ReplayGuard:
    """Request ids seen within the accepted clock window; a repeat is refused."""

    def __init__(self, window: int = protocol.MAX_SKEW * 2) -> None:
        self.window = window
        self.seen: OrderedDict[str, float] = OrderedDict()
        self.lock = threading.Lock()

    def first_time(self, key: str, now: float) -> bool:
        with self.lock:
            while self.seen and next(iter(self.seen.values())) < now - self.window:
                self.seen.popitem(last=False)
            if key in self.seen:
                return False
            self.seen[key] = now
            return True


class Registry:
    def __init__(
        self,
        people: dict[str, Resident],
        key: Ed25519PrivateKey,
        clients: dict[str, Ed25519PublicKey],
        member: str = "",
        peers: dict[str, Any] | None = None,
    ) -> None:
        self.people = people
        self.key = key
        self.clients = clients
        self.member = member  # our exchange identity; "" leaves the exchange door shut
        self.peers = peers or {}  # exchange callers: member id → public key
        self.replays = ReplayGuard()


def _handler(registry: Registry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "popreg/1"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:
            return  # the access log would carry nothing useful; outcomes are logged below

        def _send(self, status: int, body: dict[str, Any], request_id: str) -> None:
            raw = json.dumps(body, separators=(",", ":")).encode("utf-8")
            ts = str(int(time.time()))
            signature = protocol.sign(
                registry.key, protocol.response_message(status, request_id, ts, raw)
            )
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.send_header("X-Request-Id", request_id)
            self.send_header("X-Timestamp", ts)
            self.send_header("X-Signature", signature)
            self.end_headers()
            self.wfile.write(raw)

        def _error(self, status: int, code: str, request_id: str) -> None:
            log.info("request %s refused: %s", request_id[:36], code)
            self._send(status, {"error": code}, request_id)

        def do_GET(self) -> None:
            if self.path == "/health":
                self._send(200, {"status": "ok", "persons": len(registry.people)}, "")
            else:
                self._error(404, "not_found", "")

        def _exchange(self) -> None:
            """The exchange door: the same checks, in the same order, as ansinh's own
            exchange server (exchange/server.py), for the one service this stand-in offers."""
            from ansinh.core.errors import DomainError
            from ansinh.exchange import keys as exchange_keys
            from ansinh.exchange import signatures

            headers = {k.lower(): v for k, v in self.headers.items()}
            service = f"{registry.member}/{EXCHANGE_SERVICE}"
            base = {
                "x-road-client": headers.get("x-road-client", "")[:200],
                "x-road-id": headers.get("x-road-id", "")[:100],
                "x-road-service": service,
                "x-road-request-hash": signatures.request_hash(headers.get("signature", "")),
            }

            def send(status: int, body: dict[str, Any], error: str = "") -> None:
                raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
                out = {**base, "content-type": "application/json"}
                if error:
                    out["x-road-error"] = error
                    log.info("exchange message %s refused: %s", base["x-road-id"][:40], error)
                signed = signatures.sign_response(
                    status,
                    out,
                    raw,
                    key=registry.key,
                    key_id=exchange_keys.key_id(registry.key.public_key()),
                )
                self.send_response(status)
                for name, value in signed.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def refuse(code: str) -> None:
                status, field, vi, en = _REFUSALS[code]
                error = {"code": code, "field": field, "message_vi": vi, "message_en": en}
                send(status, error, code)

            if self.path.split("?")[0] != f"/r1/{service}":
                return refuse("unknown_service")
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                length = -1
            if length < 0 or length > protocol.MAX_BODY:
                return refuse("body_too_large")
            body = self.rfile.read(length)
            public = registry.peers.get(base["x-road-client"])
            if public is None:
                return refuse("unknown_peer")
            if not base["x-road-id"]:
                return refuse("message_id_missing")
            url = f"http://{self.headers.get('Host', '')}{self.path}"
            try:
                verified = signatures.verify_request(
                    "POST", url, headers, body, public=public, key_id=exchange_keys.key_id(public)
                )
            except DomainError as exc:
                return send(exc.status, exc.first.as_dict(), exc.code)
            if not registry.replays.first_time(f"nonce/{verified.nonce}", time.time()):
                return refuse("replayed_message")
            try:
                query = json.loads(body.decode("utf-8"))
                if not isinstance(query, dict):
                    raise ValueError("not an object")
            except (UnicodeDecodeError, ValueError):
                return refuse("body_not_json")
            result = answer(registry.people, query)
            log.info("exchange message %s answered: %s", base["x-road-id"][:40], result["outcome"])
            return send(200, {"request_id": base["x-road-id"], **result})

        def do_POST(self) -> None:
            if registry.member and self.path.startswith("/r1/"):
                return self._exchange()
            request_id = self.headers.get("X-Request-Id", "")[:36]
            if self.path != protocol.VERIFY_PATH:
                return self._error(404, "not_found", request_id)
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                length = -1
            if length < 0 or length > protocol.MAX_BODY:
                return self._error(413, "body_too_large", request_id)
            body = self.rfile.read(length)
            client_id = self.headers.get("X-Client-Id", "")
            ts = self.headers.get("X-Timestamp", "")
            client_key = registry.clients.get(client_id)
            if not request_id or client_key is None:
                return self._error(401, "unknown_client", request_id)
            message = protocol.request_message(client_id, request_id, ts, body)
            if not protocol.signature_ok(client_key, self.headers.get("X-Signature", ""), message):
                return self._error(401, "bad_signature", request_id)
            now = time.time()
            if not ts.isdigit() or abs(now - int(ts)) > protocol.MAX_SKEW:
                return self._error(401, "stale", request_id)
            if not registry.replays.first_time(f"{client_id}/{request_id}", now):
                return self._error(409, "replayed", request_id)
            try:
                query = json.loads(body.decode("utf-8"))
                if not isinstance(query, dict):
                    raise ValueError("not an object")
            except (UnicodeDecodeError, ValueError):
                return self._error(400, "bad_request", request_id)
            result = answer(registry.people, query)
            log.info("request %s answered: %s", request_id, result["outcome"])
            self._send(200, {"request_id": request_id, **result}, request_id)
            return None

    return Handler


def make_server(
    *,
    host: str,
    port: int,
    data: Path,
    key_file: Path,
    clients: dict[str, Path],
    member: str = "",
    peers: dict[str, Path] | None = None,
) -> ThreadingHTTPServer:
    key = load_pem_private_key(key_file.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SystemExit(f"{key_file}: not an Ed25519 private key")
    client_keys: dict[str, Ed25519PublicKey] = {}
    for client_id, path in clients.items():
        pub = load_pem_public_key(path.read_bytes())
        if not isinstance(pub, Ed25519PublicKey):
            raise SystemExit(f"{path}: not an Ed25519 public key")
        client_keys[client_id] = pub
    peer_keys: dict[str, Any] = {}
    if member:
        _settings_for_exchange()
        from ansinh.exchange import keys as exchange_keys
        from ansinh.exchange.ids import MemberId

        member = str(MemberId.parse(member))
        for peer, path in (peers or {}).items():
            peer_keys[str(MemberId.parse(peer))] = exchange_keys.load_public(path.read_bytes())[0]
    registry = Registry(load_population(data), key, client_keys, member, peer_keys)
    return ThreadingHTTPServer((host, port), _handler(registry))


def _settings_for_exchange() -> None:
    """Run without Django's settings (``python -m``), the exchange code reads its defaults
    (freshness window, clock skew) from an empty configuration."""
    from django.conf import settings

    if not settings.configured:
        settings.configure()


def _client_arg(value: str) -> tuple[str, Path]:
    client_id, sep, path = value.partition("=")
    if not sep or not client_id or not path:
        raise argparse.ArgumentTypeError("use CLIENT_ID=PUBLIC_KEY.pem")
    return client_id, Path(path)


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--data", type=Path, required=True, help="population JSON Lines file")
    parser.add_argument("--key", type=Path, required=True, help="the registry's private key PEM")
    parser.add_argument(
        "--client",
        type=_client_arg,
        action="append",
        default=[],
        metavar="ID=PUBLIC_KEY.pem",
        help="a client allowed to ask, with its public key (repeatable)",
    )
    parser.add_argument(
        "--member",
        default="",
        help="open the exchange door under this member id, e.g. VN/GOV/C06/popreg",
    )
    parser.add_argument(
        "--peer",
        type=_client_arg,
        action="append",
        default=[],
        metavar="MEMBER=PUBLIC_KEY.pem",
        help="an exchange member allowed to call verifyIdentity (repeatable; key or certificate)",
    )


def serve(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s popreg %(message)s")
    server = make_server(
        host=args.host,
        port=args.port,
        data=args.data,
        key_file=args.key,
        clients=dict(args.client),
        member=getattr(args, "member", ""),
        peers=dict(getattr(args, "peer", [])),
    )
    host, port = server.server_address[:2]
    print(f"popreg listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ansinh.nationaldb.popreg")
    sub = parser.add_subparsers(dest="command", required=True)
    add_serve_arguments(sub.add_parser("serve", help="run the population-registry stand-in"))
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args)


if __name__ == "__main__":
    main(sys.argv[1:])
