"""The population-registry stand-in (``ansinh popreg serve``): a small HTTP service, standard
library only, that holds the synthetic population as the ground truth of identity and answers
verification requests as the national population database (Cơ sở dữ liệu quốc gia về dân cư)
would: ID + full name + birth date → match, mismatch per field, unknown, or deceased.

It runs as its own process, without Django, so tests and the demo talk to it over HTTP exactly
as ansinh would talk to the real registry. Its log holds request ids and outcomes, never a name
or a number.

Data file: JSON Lines, one person a line: ``{"id", "name", "dob", "status"}`` with status
``alive`` or ``deceased`` (written by ``ansinh popreg export``).
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
    ) -> None:
        self.people = people
        self.key = key
        self.clients = clients
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

        def do_POST(self) -> None:
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
    registry = Registry(load_population(data), key, client_keys)
    return ThreadingHTTPServer((host, port), _handler(registry))


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


def serve(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s popreg %(message)s")
    server = make_server(
        host=args.host, port=args.port, data=args.data, key_file=args.key, clients=dict(args.client)
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
