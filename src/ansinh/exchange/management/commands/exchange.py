"""``ansinh exchange …``: the exchange layer from the command line.

init --member VN/GOV/BHXH/benefits [--algorithm ed25519|ecdsa-p256-sha256]
show [--pem]                        our identity (and public key, to hand to peers)
peer-add ID --url URL --key FILE [--name N]   register or update a peer
peer-off ID | peers                  deactivate a peer | list peers and grants
grant ID SERVICE | revoke ID SERVICE
catalogue [--peer ID [--all]]        our services, or those a peer lets us call
call ID SERVICE [--body JSON] [--id MSGID] [--get]   call now (queued if the peer is down)
send ID SERVICE [--body JSON] [--id MSGID]           queue for delivery
deliver                              retry every due outbox message now
outbox                               counts per state
verify-log | log-head | prune-log [--before ISO-DATE]
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ansinh.core.errors import DomainError
from ansinh.exchange import client, keys, log, outbox, registry, selectors, services
from ansinh.exchange.ids import MemberId
from ansinh.exchange.models import Grant, Peer


class Command(BaseCommand):
    help = "Set up and operate the inter-agency exchange layer (identity, peers, grants, log)."
    # Scripts call this often; the system checks (which import every URL module) add seconds.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        p = sub.add_parser("init")
        p.add_argument("--member", required=True, help="INSTANCE/CLASS/MEMBER/SUBSYSTEM")
        p.add_argument("--algorithm", choices=keys.ALGORITHMS, default=keys.ED25519)
        p = sub.add_parser("show")
        p.add_argument("--pem", action="store_true", help="print only the public key (PEM)")
        p = sub.add_parser("peer-add")
        p.add_argument("peer")
        p.add_argument("--url", required=True)
        p.add_argument("--key", required=True, type=Path, help="public key or certificate PEM")
        p.add_argument("--name", default="")
        p = sub.add_parser("peer-off")
        p.add_argument("peer")
        sub.add_parser("peers")
        for name in ("grant", "revoke"):
            p = sub.add_parser(name)
            p.add_argument("peer")
            p.add_argument("service")
        p = sub.add_parser("catalogue")
        p.add_argument("--peer", default="")
        p.add_argument("--all", action="store_true", help="listMethods instead of allowedMethods")
        for name in ("call", "send"):
            p = sub.add_parser(name)
            p.add_argument("peer")
            p.add_argument("service")
            p.add_argument("--body", default="", help="JSON text, or @FILE")
            p.add_argument("--id", default=None, help="message id (default: random)")
            p.add_argument("--get", action="store_true")
        sub.add_parser("deliver")
        sub.add_parser("outbox")
        sub.add_parser("verify-log")
        sub.add_parser("log-head")
        p = sub.add_parser("prune-log")
        p.add_argument("--before", default="", help="ISO date/time; default: the retention")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"].replace("-", "_")
        try:
            getattr(self, f"do_{action}")(options)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.first.message_en}") from exc
        except OSError as exc:
            raise CommandError(str(exc)) from exc

    def _out(self, value: Any) -> None:
        self.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str))

    def do_init(self, o: dict[str, Any]) -> None:
        done = services.init_identity(MemberId.parse(o["member"]), algorithm=o["algorithm"])
        self._out(
            {
                "member": str(done.identity.member_id),
                "key_id": done.identity.key_id,
                "algorithm": done.identity.algorithm,
                "key_file": str(keys.key_file()),
                "key_created": done.key_created,
            }
        )

    def do_show(self, o: dict[str, Any]) -> None:
        identity = selectors.own_identity()
        if o["pem"]:
            self.stdout.write(identity.public_key_pem.strip())
            return
        self._out(
            {
                "member": str(identity.member_id),
                "key_id": identity.key_id,
                "algorithm": identity.algorithm,
                "public_key_pem": identity.public_key_pem,
            }
        )

    def do_peer_add(self, o: dict[str, Any]) -> None:
        peer = services.add_peer(
            MemberId.parse(o["peer"], "peer"),
            base_url=o["url"],
            public_key_pem=o["key"].read_text(),
            name=o["name"],
        )
        self._out({"peer": str(peer), "key_id": peer.key_id, "url": peer.base_url})

    def do_peer_off(self, o: dict[str, Any]) -> None:
        services.set_peer_active(selectors.get_peer(o["peer"]), False)
        self.stdout.write(f"deactivated {o['peer']}")

    def do_peers(self, o: dict[str, Any]) -> None:
        rows = []
        for peer in Peer.objects.order_by("instance", "member_class", "member_code", "subsystem"):
            grants = sorted(Grant.objects.filter(peer=peer).values_list("service", flat=True))
            rows.append({"peer": str(peer), "url": peer.base_url, "active": peer.active,
                         "key_id": peer.key_id, "grants": grants})  # fmt: skip
        self._out(rows)

    def do_grant(self, o: dict[str, Any]) -> None:
        code = o["service"]
        if registry.get(code) is None:
            self.stderr.write(f"warning: no service {code} is registered here (yet)")
        services.grant(selectors.get_peer(o["peer"]), code)
        self.stdout.write(f"granted {code} to {o['peer']}")

    def do_revoke(self, o: dict[str, Any]) -> None:
        n = services.revoke(selectors.get_peer(o["peer"]), o["service"])
        self.stdout.write(f"revoked {n}")

    def do_catalogue(self, o: dict[str, Any]) -> None:
        if not o["peer"]:
            self._out(selectors.catalogue(selectors.own_identity()))
            return
        result = client.catalogue(selectors.get_peer(o["peer"]), allowed=not o["all"])
        self._result(result)

    def _body(self, text: str) -> bytes:
        if text.startswith("@"):
            return Path(text[1:]).read_bytes()
        return text.encode() if text else b""

    def _result(self, result: client.Result, **extra: Any) -> None:
        try:
            body: Any = result.json()
        except ValueError:
            body = result.body.decode(errors="replace")
        self._out({"status": result.status, "outcome": result.outcome,
                   "message_id": result.message_id, "body": body, **extra})  # fmt: skip
        if not result.ok:
            sys.exit(2)

    def do_call(self, o: dict[str, Any]) -> None:
        row, result = outbox.call_now(
            selectors.get_peer(o["peer"]), o["service"], self._body(o["body"]),
            message_id=o["id"], method="GET" if o["get"] else "POST",
        )  # fmt: skip
        row.refresh_from_db()
        self._result(result, outbox_state=row.state)

    def do_send(self, o: dict[str, Any]) -> None:
        row = outbox.send(
            selectors.get_peer(o["peer"]), o["service"], self._body(o["body"]),
            message_id=o["id"], method="GET" if o["get"] else "POST",
        )  # fmt: skip
        row.refresh_from_db()
        self._out({"message_id": row.message_id, "state": row.state, "attempts": row.attempts})

    def do_deliver(self, o: dict[str, Any]) -> None:
        # Everything pending is due when an operator asks.
        from ansinh.exchange.models import Outbox, OutboxState

        now = timezone.now()
        Outbox.objects.filter(state=OutboxState.PENDING).update(next_attempt_at=now)
        tried = outbox.retry_due(now)
        self._out({"tried": tried, **selectors.outbox_counts()})

    def do_outbox(self, o: dict[str, Any]) -> None:
        self._out(selectors.outbox_counts())

    def do_verify_log(self, o: dict[str, Any]) -> None:
        v = log.verify()
        self._out(v.__dict__)
        if not v.ok:
            sys.exit(1)

    def do_log_head(self, o: dict[str, Any]) -> None:
        from ansinh.exchange.models import LogHead

        head = LogHead.objects.filter(pk=1).first()
        self._out({"last_id": head.last_id if head else 0,
                   "hash": head.hash if head else log.GENESIS})  # fmt: skip

    def do_prune_log(self, o: dict[str, Any]) -> None:
        before = None
        if o["before"]:
            before = dt.datetime.fromisoformat(o["before"])
            if timezone.is_naive(before):
                before = timezone.make_aware(before)
        self._out({"removed": log.prune(before)})
