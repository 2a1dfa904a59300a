#!/usr/bin/env python
"""Inter-agency exchange suite of ``bench/run.py`` (issue 5):

``exchange``: two members (VN/GOV/SNV-HN/unemployment and VN/GOV/BHXH/benefits), each with its
own data directory and database — two SQLite files, or with ``DATABASE_URL`` two new databases
on that PostgreSQL server — and its own gunicorn server on 127.0.0.1. Both register each other
and grant ``echo``. Then one load-generator process per side calls the other side's ``echo``
with ``--threads`` threads for ``--seconds`` seconds, both directions at once: every round trip
is signed (RFC 9421, Ed25519, Content-Digest), verified, checked for replay and idempotency,
and written to the hash-chained message log of both sides (client: request + answer; server:
request + answer, nonce, stored answer). Servers: gunicorn ``gthread`` workers by default
(kept-alive connections; the client keeps one per peer and thread). Figures: round trips/s
(sum of both directions), latency p50/p99, failures, CPU per round trip of the servers, the
load generators and — on PostgreSQL — the database server's own processes (postmaster and
its children, from ``/proc``), and a ``verify-log`` of both logs afterwards.

Ends with a ``RESULT {json}`` line. Options after the suite name (see ``--help``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
SIDES = (("centre", "VN/GOV/SNV-HN/unemployment"), ("insurance", "VN/GOV/BHXH/benefits"))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", choices=("exchange",))
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--threads", type=int, default=4, help="client threads per direction")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument(
        "--server", default="gunicorn", choices=("gunicorn", "granian"),
        help="WSGI server of both sides (granian: --workers processes × --server-threads"
        " blocking threads)",
    )  # fmt: skip
    parser.add_argument("--worker-class", default="gthread", choices=("sync", "gthread"))
    parser.add_argument("--server-threads", type=int, default=4, help="gthread threads")
    parser.add_argument("--one-way", action="store_true", help="only centre → insurance")
    parser.add_argument(
        "--profile", default="", help="directory for a cProfile of one client thread per side"
    )
    return parser.parse_args(argv)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its children that are still running."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    try:
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def _postmaster(database: str | None) -> int | None:
    """The PID of the PostgreSQL server the suite uses (its backends, checkpointer, WAL writer
    are its children), read from ``postmaster.pid`` in its data directory; None on SQLite or
    when the server is not on this machine."""
    if not database:
        return None
    import psycopg

    try:
        with psycopg.connect(database, autocommit=True) as conn:
            row = conn.execute("SHOW data_directory").fetchone()
        return int((Path(row[0]) / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError, psycopg.Error):
        return None


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class Side:
    def __init__(self, root: Path, name: str, member: str, database: str | None) -> None:
        self.name, self.member = name, member
        self.dir = root / name
        self.port = _free_port()
        self.env = {k: v for k, v in os.environ.items() if k not in ("ANSINH_TESTING",)}
        self.env.update(
            ANSINH_DATA_DIR=str(self.dir),
            DJANGO_SETTINGS_MODULE="ansinh.settings",
            LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT.parent / "src"),
        )
        if database:
            self.env["DATABASE_URL"] = database
        else:
            self.env.pop("DATABASE_URL", None)
        self.server: subprocess.Popen[bytes] | None = None

    def ansinh(self, *args: str) -> str:
        done = subprocess.run(
            [str(VENV_BIN / "ansinh"), *args], env=self.env, capture_output=True, text=True,
            check=False,
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"{self.name} {args}: {done.stderr}")
        return done.stdout

    def start(self, args: argparse.Namespace) -> None:
        if args.server == "granian":
            cmd = [
                str(VENV_BIN / "granian"), "--interface", "wsgi", "--host", "127.0.0.1",
                "--port", str(self.port), "--workers", str(args.workers),
                "--blocking-threads", str(args.server_threads), "--no-ws",
                "--log-level", "warning", "ansinh.wsgi:application",
            ]  # fmt: skip
        else:
            cmd = [
                str(VENV_BIN / "gunicorn"), "ansinh.wsgi", "-b", f"127.0.0.1:{self.port}",
                "-w", str(args.workers), "-k", args.worker_class, "--log-level", "warning",
                "--preload",
            ]  # fmt: skip
            conf = self.dir / "gunicorn_conf.py"
            conf.write_text(_WARM)
            cmd += ["-c", str(conf)]
            if args.worker_class == "gthread":
                cmd += ["--threads", str(args.server_threads)]
        self.server = subprocess.Popen(cmd, env=self.env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} server did not start")

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=30)


# Django imports the URL modules on a worker's first request (seconds); do it in the master
# after --preload so every forked worker starts warm.
_WARM = """
def when_ready(server):
    from django.urls import get_resolver

    get_resolver().url_patterns
"""


def _databases() -> tuple[str | None, str | None, str]:
    base = os.environ.get("DATABASE_URL", "")
    if not base:
        return None, None, "SQLite (WAL), one file per side"
    import psycopg

    head, _, _ = base.rpartition("/")
    stamp = time.strftime("%Y%m%d%H%M%S")
    names = [f"ansinh_ex_{n}_{stamp}" for n, _ in SIDES]
    with psycopg.connect(f"{head}/postgres", autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    return f"{head}/{names[0]}", f"{head}/{names[1]}", "PostgreSQL, two databases on one server"


def run_exchange_suite(argv: list[str], *, machine: Any, **_: Any) -> None:
    args = parse_args(argv)
    pg = bool(os.environ.get("DATABASE_URL"))
    root = ROOT / ".data" / ("exchange-pg" if pg else "exchange")
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    url_a, url_b, db_label = _databases()
    sides = [Side(root, n, m, u) for (n, m), u in zip(SIDES, (url_a, url_b), strict=True)]
    print(f"machine: {machine()}; database: {db_label}; load {_load()}", flush=True)
    t0 = time.perf_counter()
    for side in sides:
        side.dir.mkdir(parents=True)
        (side.dir / "staticfiles").mkdir()
    sides[0].ansinh("migrate", "--no-input", "-v", "0")
    if pg:
        sides[1].ansinh("migrate", "--no-input", "-v", "0")
    else:
        for f in sides[0].dir.glob("ansinh.sqlite3*"):
            shutil.copy(f, sides[1].dir / f.name)
    for side in sides:
        side.ansinh("exchange", "init", "--member", side.member)
        (root / f"{side.name}.pem").write_text(side.ansinh("exchange", "show", "--pem"))
    for me, other in (sides, sides[::-1]):
        me.ansinh("exchange", "peer-add", other.member, "--url", f"http://127.0.0.1:{other.port}",
                  "--key", str(root / f"{other.name}.pem"))  # fmt: skip
        me.ansinh("exchange", "grant", other.member, "echo")
    print(f"set up in {time.perf_counter() - t0:.0f} s", flush=True)
    try:
        for side in sides:
            side.start(args)
        postmaster = _postmaster(url_a)
        start_at = time.time() + 20
        pairs = [(sides[0], sides[1])] if args.one_way else [(sides[0], sides[1]),
                                                              (sides[1], sides[0])]  # fmt: skip
        loads = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "exchange_load.py"),
                    callee.member,
                    "--threads",
                    str(args.threads),
                    "--seconds",
                    str(args.seconds),
                    "--start-at",
                    str(start_at),
                    *(["--profile", f"{args.profile}/{caller.name}.prof"] if args.profile else []),
                ],
                env=caller.env,
                stdout=subprocess.PIPE,
                text=True,
            )
            for caller, callee in pairs
        ]
        # CPU used in the timed window by the servers (master + workers) and the generators.
        time.sleep(max(0.0, start_at - time.time()) + 2.0)  # the load processes' warm-up
        cpu0 = {s.name: _cpu(s.server.pid) for s in sides if s.server}
        gen0 = [_cpu(p.pid) for p in loads]
        db0 = _cpu(postmaster) if postmaster else 0.0
        time.sleep(args.seconds)
        cpu1 = {s.name: _cpu(s.server.pid) for s in sides if s.server}
        gen1 = [_cpu(p.pid) for p in loads]
        db1 = _cpu(postmaster) if postmaster else 0.0
        outputs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in loads]
        load = _load()
    finally:
        for side in sides:
            side.stop()
    verified = {s.name: json.loads(s.ansinh("exchange", "verify-log")) for s in sides}
    total = sum(o["per_s"] for o in outputs)
    trips = max(1.0, total * args.seconds)
    server_cpu = sum(cpu1[k] - cpu0[k] for k in cpu1)
    client_cpu = sum(b - a for a, b in zip(gen0, gen1, strict=True))
    cpu_ms = {
        "server_ms_per_trip": round(server_cpu / trips * 1000, 2),
        "client_ms_per_trip": round(client_cpu / trips * 1000, 2),
        "database_ms_per_trip": round((db1 - db0) / trips * 1000, 2),
    }
    cpu_ms["total_ms_per_trip"] = round(
        cpu_ms["server_ms_per_trip"]
        + cpu_ms["client_ms_per_trip"]
        + cpu_ms["database_ms_per_trip"],
        2,
    )
    print(
        f"CPU per round trip: {cpu_ms}; 2 idle cores would give about "
        f"{2000 / max(cpu_ms['total_ms_per_trip'], 0.01):.0f}/s"
    )
    for (caller, callee), out in zip(pairs, outputs, strict=True):
        print(f"{caller.name} → {callee.name}: {out}")
    for name, v in verified.items():
        print(f"{name} log: ok={v['ok']} entries={v['checked']}")
    print(f"signed round trips/s (both directions): {total:.0f}; load after: {load}")
    figures = {
        "suite": "exchange",
        "database": db_label,
        "round_trips_per_s": round(total, 1),
        "directions": outputs,
        "cpu": cpu_ms,
        "logs_ok": all(v["ok"] for v in verified.values()),
        "log_entries": {k: v["checked"] for k, v in verified.items()},
        "threads": args.threads,
        "workers": args.workers,
        "server": args.server,
        "worker_class": args.worker_class if args.server == "gunicorn" else "",
        "seconds": args.seconds,
        "load": load,
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    print("RESULT " + json.dumps(figures, ensure_ascii=False))
