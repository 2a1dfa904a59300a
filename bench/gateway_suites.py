#!/usr/bin/env python
"""E-transaction gateway suites of ``bench/run.py`` (issue 4):

* ``gateway-intake``: pre-signed D02-LT dossiers (1, 50 and 1,000 rows) posted to a real
  gunicorn server (``POST /api/v1/gateway/submissions``) by a load generator in a separate
  process with ``--connections`` keep-alive connections: received, verified, stored and
  answered with the agency-signed receipt. Processing is not run (huey only enqueues; no
  consumer), so intake is measured alone. Each server configuration of ``--servers`` (sync
  workers, gthread workers × threads) gets fresh dossiers on the same fresh database
  (``bench/.data/gateway/``; with ``DATABASE_URL``, a new database created on that server and
  the logs in ``bench/.data/gateway-pg/``). Server time per request comes from gunicorn's
  access log (``%(D)s``: from the request read to the response written, no network), server
  CPU from the workers' ``/proc/<pid>/stat``; the verification share is
  ``sum(Submission.verify_ms) / sum(server time)``. gunicorn's sync workers close the
  connection after each answer (the client reconnects); gthread workers keep it alive. Before
  the server runs, ``services.submit`` is timed and profiled in-process (cProfile) on one-row
  dossiers.
* ``gateway-processing``: dossiers of 1, 50 and 1,000 rows submitted in-process, then each
  decided by ``services.process_submission`` (start of processing, ``processing.process`` for
  the rows, the signed result and the closing of the one-stop dossier), timed per dossier;
  rows/s and the 1,000-row time against the < 2 s goal.

Both end with ``RESULT {json}`` lines. Options after the suite name (see ``--help``).
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import itertools
import json
import os
import pstats
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
# PostgreSQL runs keep their logs and signed bodies apart from the SQLite data set.
DATA = ROOT / ".data" / ("gateway-pg" if os.environ.get("DATABASE_URL") else "gateway")
VENV_BIN = Path(sys.executable).parent
SUITES = ("gateway-intake", "gateway-processing")
URL = "/api/v1/gateway/submissions"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", choices=SUITES)
    parser.add_argument("--one", type=int, default=1000, help="one-row dossiers per server")
    parser.add_argument("--fifty", type=int, default=40, help="50-row dossiers per server")
    parser.add_argument("--thousand", type=int, default=4, help="1,000-row dossiers per server")
    parser.add_argument(
        "--servers",
        default="sync:2,sync:3,sync:4,gthread:2x4",
        help="servers: gunicorn sync:<workers> or gthread:<workers>x<threads>, "
        "granian:<workers>x<threads>",
    )
    parser.add_argument(
        "--connections", type=int, default=0, help="client connections (0: 2 × server slots)"
    )
    parser.add_argument("--profile", type=int, default=200, help="in-process profiled submits")
    parser.add_argument("--runs", type=int, default=3, help="processing: dossiers per size")
    parser.add_argument(
        "--huey-sync",
        choices=("default", "normal", "full"),
        default="default",
        help="huey's SQLite queue: as configured (default: synchronous=NORMAL since "
        "ansinh.core.queue), or forced to NORMAL or FULL (an fsync per enqueue, huey's own "
        "default) for comparison",
    )
    return parser.parse_args(argv)


def _result(suite: str, **figures: Any) -> None:
    print("RESULT " + json.dumps({"suite": suite, **figures}, ensure_ascii=False, default=str))
    sys.stdout.flush()


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[k], 1)


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- database and bootstrap ----------------------------------------------------------------------


def _fresh_database(data_dir: Path) -> str:
    """SQLite: an empty directory. PostgreSQL: a new database on ``DATABASE_URL``'s server,
    which then points at it (for this process and the server's)."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    (data_dir / "staticfiles").mkdir()  # whitenoise looks for it
    base = os.environ.get("DATABASE_URL", "")
    if not base:
        return "SQLite (WAL) " + str(data_dir / "ansinh.sqlite3")
    import psycopg

    name = f"ansinh_gw_{time.strftime('%Y%m%d%H%M%S')}"
    head, _, _ = base.rpartition("/")
    with psycopg.connect(f"{head}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = f"{head}/{name}"
    return f"PostgreSQL database {name}"


class World:
    """Office, I-VAN (certificate, API token), employers registered with it, known persons."""

    def __init__(self, *, employers: int, persons: int) -> None:
        from django.core.management import call_command

        from ansinh.gateway import signing
        from ansinh.gateway import testing as gw
        from ansinh.onestop.testing import make_office
        from ansinh.places.models import AdminUnit, UnitSystem
        from ansinh.places.testing import ensure_units_loaded
        from ansinh.registry.models import Person
        from ansinh.registry.testing import default_commune_code, make_employer

        t0 = time.perf_counter()
        call_command("migrate", verbosity=0)
        ensure_units_loaded()
        commune = default_commune_code()
        province = AdminUnit.objects.get(code=commune, system=UnitSystem.CURRENT).province_code
        self.office = make_office(province_code=province)
        gw.trust_test_ca()
        signing.agency_certificate()  # create the agency key pair before any worker starts
        self.ivan = gw.make_ivan()
        self.employers = []
        for n in range(employers):
            emp = make_employer(tax_code=f"01{n + 1:08d}", address_unit_code=commune)
            gw.register_etrans(emp, ivan=self.ivan.provider)
            self.employers.append(emp)
        ids = _register_persons(persons, commune)
        self.persons = list(
            Person.objects.filter(pk__in=ids).select_related("address_unit").order_by("pk")
        )
        self._next_person = 0
        self.seconds = time.perf_counter() - t0

    def take(self, n: int, *, distinct: bool) -> list[Any]:
        """``n`` persons: fresh ones (``distinct``, for processing) or round the pool."""
        if distinct:
            start = self._next_person
            self._next_person += n
            assert self._next_person <= len(self.persons), "not enough persons"
            return self.persons[start : start + n]
        start = self._next_person % len(self.persons)
        self._next_person += n
        return [self.persons[(start + i) % len(self.persons)] for i in range(n)]

    def signed(
        self, tag: str, rows: int, index: int, *, distinct: bool = False
    ) -> tuple[str, bytes]:
        """One D02-LT increase dossier, signed by the I-VAN for one of its employers."""
        from ansinh.gateway import testing as gw

        employer = self.employers[index % len(self.employers)]
        people = self.take(rows, distinct=distinct)
        tx = f"B{tag}-{rows}-{index:05d}"
        package = gw.package_600(
            employer,
            [gw.increase_row(i, p) for i, p in enumerate(people, start=1)],
            transaction_id=tx,
            ivan_code=self.ivan.provider.code,
        )
        return tx, gw.signed(package, self.ivan.identity)


def _register_persons(n: int, commune: str) -> list[int]:
    """Known workers (as in ``bench/gateway_processing.py``), each with a health insurance card
    from an earlier employment."""
    import datetime as dt
    import random

    from gateway_processing import _NAMES, _unique_personal_ids

    from ansinh.registry.models import HealthInsuranceCard
    from ansinh.registry.services import register_persons_batch

    rng = random.Random(44)
    ids: list[int] = []
    people = _unique_personal_ids(n, rng)
    for i in range(0, n, 2000):
        persons = register_persons_batch(
            [
                {
                    "personal_id": pid,
                    "full_name": rng.choice(_NAMES),
                    "date_of_birth": dob,
                    "sex": sex,
                    "address_unit_code": commune,
                }
                for pid, dob, sex in people[i : i + 2000]
            ],
            actor=None,
        )
        HealthInsuranceCard.objects.bulk_create(
            [
                HealthInsuranceCard(
                    person=p,
                    number=f"DN401{9_800_000_000 + p.pk}",
                    short_number=str(9_800_000_000 + p.pk),
                    participant_group="DN",
                    benefit_level=4,
                    province_code="01",
                    initial_facility_code="01001",
                    valid_from=dt.date(2024, 1, 1),
                )
                for p in persons
            ],
            batch_size=500,
        )
        ids += [p.pk for p in persons]
    return ids


# --- in-process profile of services.submit --------------------------------------------------------

#: (file suffix, function) → label: the parts of one submit, by cumulative time.
_PARTS = {
    ("gateway/xmlsafe.py", "parse"): "xmlsafe.parse",
    ("gateway/signing.py", "verify"): "signing.verify (signature + chain + revocation)",
    ("gateway/formats.py", "validate"): "formats.validate (XSD)",
    ("gateway/formats.py", "read"): "formats.read",
    ("gateway/services.py", "_employer"): "employer look-up (remembered)",
    ("gateway/services.py", "_authorise"): "_authorise",
    ("gateway/services.py", "receiving_office"): "receiving_office",
    ("gateway/services.py", "_accept"): "_accept (store + dossier + receipt)",
    ("onestop/services.py", "receive_dossier"): "  onestop.receive_dossier",
    ("gateway/signing.py", "sign_as_agency"): "  signing.sign_as_agency (receipt)",
    ("gateway/services.py", "_after_accept"): "_after_accept (huey enqueue)",
    ("gateway/services.py", "submit"): "services.submit (total)",
}


def profile_submit(world: World, n: int) -> dict[str, Any]:
    """Time ``services.submit`` in this process for ``n`` one-row dossiers (after 20 warm-up),
    then profile another ``n``; the parts' cumulative times per dossier."""
    from django.db import connection

    from ansinh.gateway import services
    from ansinh.gateway.models import Submission

    org = world.ivan.provider.organisation
    bodies = [world.signed("W", 1, i)[1] for i in range(20)]
    timed = [world.signed("T", 1, i)[1] for i in range(n)]
    profiled = [world.signed("P", 1, i)[1] for i in range(n)]
    for body in bodies:
        services.submit(body, submitter=org, user=world.ivan.user)
    t0, c0 = time.perf_counter(), time.process_time()
    for body in timed:
        services.submit(body, submitter=org, user=world.ivan.user)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    statements = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    prof = cProfile.Profile()
    with connection.execute_wrapper(count):
        prof.enable()
        for body in profiled:
            services.submit(body, submitter=org, user=world.ivan.user)
        prof.disable()
    stats = pstats.Stats(prof)
    parts: dict[str, float] = {}
    for (filename, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        for (suffix, name), label in _PARTS.items():
            if func == name and filename.endswith(suffix):
                parts[label] = round(ct / n * 1000, 2)
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
    top = out.getvalue()
    verify = [
        v
        for v in Submission.objects.filter(transaction_id__startswith="BT-").values_list(
            "verify_ms", flat=True
        )
        if v is not None
    ]
    return {
        "dossiers": n,
        "per_s_in_process": round(n / wall, 1),
        "ms_per_dossier": round(wall / n * 1000, 2),
        "cpu_ms_per_dossier": round(cpu / n * 1000, 2),
        "sql_statements_per_dossier": round(statements / n, 1),
        "verify_ms_mean": round(statistics.fmean(verify), 2) if verify else None,
        "profiled_parts_ms": {label: parts.get(label) for label in _PARTS.values()},
        "top_tottime": top,
    }


# --- server and load generator -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_HUEY_SYNC = """
def post_worker_init(worker):
    from huey.contrib.djhuey import HUEY

    if hasattr(HUEY.storage, "filename"):  # SqliteStorage: one connection per process
        HUEY.storage.conn.execute("pragma synchronous=%s")
"""


def huey_sync(mode: str) -> None:
    """This process's huey queue at ``synchronous=mode`` (the ``--huey-sync`` experiment)."""
    from huey.contrib.djhuey import HUEY

    if hasattr(HUEY.storage, "filename"):
        HUEY.storage.conn.execute(f"pragma synchronous={mode.upper()}")


def _server_cmd(
    spec: str, port: int, log_dir: Path, huey_sync: str = "default"
) -> tuple[list[str], int]:
    """``sync:<workers>`` / ``gthread:<workers>x<threads>`` (gunicorn) or
    ``granian:<workers>x<threads>`` (granian's WSGI interface, blocking threads per worker)."""
    kind, _, size = spec.partition(":")
    workers, _, threads = size.partition("x")
    w, t = int(workers), int(threads or 1)
    if kind == "granian":
        if huey_sync != "default":
            raise SystemExit("--huey-sync is for gunicorn servers")
        cmd = [
            str(VENV_BIN / "granian"),
            "--interface",
            "wsgi",
            "--workers",
            str(w),
            "--blocking-threads",
            str(t),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--access-log",
            "--access-log-fmt",
            "%(status)d %(dt_ms).3f %(path)s",
            "ansinh.wsgi:application",
        ]
        return cmd, w * t
    hook: list[str] = []
    if huey_sync != "default":
        (log_dir / "gunicorn_conf.py").write_text(_HUEY_SYNC % huey_sync.upper())
        hook = ["-c", str(log_dir / "gunicorn_conf.py")]
    cmd = [
        str(VENV_BIN / "gunicorn"),
        "-k",
        kind,
        "-w",
        str(w),
        "--threads",
        str(t),
        "-b",
        f"127.0.0.1:{port}",
        "--timeout",
        "300",
        "--access-logfile",
        str(log_dir / "access.log"),
        "--access-logformat",
        "%(s)s %(D)s %(U)s",
        "--error-logfile",
        str(log_dir / "error.log"),
        *hook,
        "ansinh.wsgi",
    ]
    return cmd, w * t


def _start_server(
    cmd: list[str], port: int, data_dir: Path, output: Path | None = None
) -> subprocess.Popen[bytes]:
    """The server, its output (granian: access log and errors) to ``output`` if given."""
    env = {k: v for k, v in os.environ.items() if k != "ANSINH_TESTING"}
    env.update(
        ANSINH_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="ansinh.settings",
        LOG_LEVEL="WARNING",
        DEBUG="0",
    )
    sink = output.open("ab") if output is not None else None
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT.parent, start_new_session=True, stdout=sink, stderr=sink
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/gateway/agency-certificate")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the server did not answer")


def _stop_server(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)  # its own session: gunicorn and its workers only
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _post_all(
    port: int,
    headers: dict[str, str],
    bodies: list[bytes],
    counter: itertools.count[int],
    ready: threading.Barrier,
    sink: list[tuple[float, str]],
) -> None:
    """One client connection (kept alive while the server allows) posting the next body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    ready.wait()
    while (i := next(counter)) < len(bodies):
        t0 = time.perf_counter()
        try:
            conn.request("POST", URL, body=bodies[i], headers=headers)
            answer = conn.getresponse()
            answer.read()
            status = str(answer.status)
        except (OSError, http.client.HTTPException) as exc:
            status = type(exc).__name__
            conn.close()
        sink.append(((time.perf_counter() - t0) * 1000, status))  # list.append is atomic
    conn.close()


def loadgen(manifest: Path) -> None:
    """The load generator (a separate process): for each phase, ``connections`` threads with
    one keep-alive connection each post the phase's bodies as fast as answers come back."""
    spec = json.loads(manifest.read_text())
    port, token, conns = spec["port"], spec["token"], spec["connections"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/xml"}
    out = []
    for phase in spec["phases"]:
        bodies = [Path(p).read_bytes() for p in phase["files"]]
        sink: list[tuple[float, str]] = []
        ready = threading.Barrier(conns + 1)
        counter = itertools.count()
        threads = [
            threading.Thread(target=_post_all, args=(port, headers, bodies, counter, ready, sink))
            for _ in range(conns)
        ]
        for t in threads:
            t.start()
        ready.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        out.append(
            {
                "name": phase["name"],
                "rows": phase["rows"],
                "dossiers": len(bodies),
                "wall_s": round(wall, 3),
                "latencies": [round(ms, 2) for ms, _ in sink],
                "statuses": dict(Counter(status for _, status in sink)),
            }
        )
    out[-1]["client_cpu_s"] = round(time.process_time(), 3)
    print(json.dumps(out))


def _tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by gunicorn's workers (the master's children)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # ppid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _postmaster() -> int | None:
    """The PostgreSQL server of ``DATABASE_URL`` (its postmaster, found by port), if local."""
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return None
    port = url.rsplit(":", 1)[-1].split("/", 1)[0]
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"postgres") and f"-p {port}".encode() in b" ".join(args):
            return int(cmdline.parent.name)
    return None


def _db_cpu(pid: int | None) -> float | None:
    """CPU seconds of the PostgreSQL server: the postmaster, its finished children (reaped:
    cutime/cstime) and its live backends."""
    if pid is None:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    try:
        own = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    total = sum(int(own[i]) for i in (11, 12, 13, 14)) / tick
    return total + _tree_cpu(pid)


def _access_log(path: Path) -> list[tuple[str, float]]:
    """(status, server ms) of each POST to the submissions URL, in order: gunicorn writes
    ``status µs path``, granian ``… status ms path`` (after its log prefix)."""
    rows = []
    for line in path.read_text(errors="replace").splitlines() if path.exists() else ():
        parts = line.split()[-3:]
        if len(parts) == 3 and parts[2] == URL and parts[0].isdigit():
            took = parts[1]
            rows.append((parts[0], float(took) if "." in took else int(took) / 1000))
    return rows


def run_server(
    world: World, spec: str, connections: int, args: argparse.Namespace, tag: str
) -> dict[str, Any]:
    """Fresh pre-signed dossiers, one server with ``spec``, the load generator, the figures."""
    from django.db.models import Sum

    from ansinh.gateway.models import Submission, Verdict

    port = _free_port()
    run_dir = DATA / "runs" / tag
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    t0 = time.perf_counter()
    phases = []
    plan = [("warm-up", 1, 30), ("1 row", 1, args.one), ("50 rows", 50, args.fifty)]
    plan.append(("1,000 rows", 1000, args.thousand))
    txs: dict[str, list[str]] = {}
    for name, rows, count in plan:
        files = []
        txs[name] = []
        for i in range(count):
            tx, body = world.signed(f"{tag}{'W' if name == 'warm-up' else ''}{rows}", rows, i)
            path = run_dir / f"{tx}.xml"
            path.write_bytes(body)
            files.append(str(path))
            txs[name].append(tx)
        phases.append({"name": name, "rows": rows, "files": files})
    sign_s = time.perf_counter() - t0
    cmd, slots = _server_cmd(spec, port, run_dir, args.huey_sync)
    conns = connections or min(16, max(4, 2 * slots))
    load_before = _load()
    granian = spec.startswith("granian")
    proc = _start_server(cmd, port, DATA, run_dir / "access.log" if granian else None)
    postmaster = _postmaster()
    client = []
    try:
        for phase in phases:
            manifest = run_dir / f"manifest-{len(client)}.json"
            manifest.write_text(
                json.dumps(
                    {
                        "port": port,
                        "token": world.ivan.token,
                        "connections": conns,
                        "phases": [phase],
                    }
                )
            )
            cpu0, db0 = _tree_cpu(proc.pid), _db_cpu(postmaster)
            done = subprocess.run(
                [sys.executable, __file__, "_loadgen", str(manifest)],
                capture_output=True,
                check=True,
                timeout=3600,
            )
            (answer,) = json.loads(done.stdout)
            answer["server_cpu_s"] = round(_tree_cpu(proc.pid) - cpu0, 3)
            db1 = _db_cpu(postmaster)
            answer["db_cpu_s"] = round(db1 - db0, 3) if db0 is not None and db1 else None
            client.append(answer)
    finally:
        _stop_server(proc)
    load_after = _load()
    log = _access_log(run_dir / "access.log")
    error_log = run_dir / ("access.log" if granian else "error.log")
    errors = error_log.read_text(errors="replace")
    locked = errors.count("database is locked")
    tracebacks = errors.count("Traceback")
    figures = []
    offset = 0
    for phase in client:
        n = phase["dossiers"]
        server = log[offset : offset + n]
        offset += n
        server_ms = sum(ms for _s, ms in server)
        agg = Submission.objects.filter(
            transaction_id__in=txs[phase["name"]], verdict=Verdict.ACCEPTED
        ).aggregate(verify=Sum("verify_ms"))
        accepted = Submission.objects.filter(
            transaction_id__in=txs[phase["name"]], verdict=Verdict.ACCEPTED
        ).count()
        verify = agg["verify"] or 0.0
        lat = phase["latencies"]
        figures.append(
            {
                "phase": phase["name"],
                "rows": phase["rows"],
                "dossiers": n,
                "accepted": accepted,
                "statuses": phase["statuses"],
                "wall_s": phase["wall_s"],
                "dossiers_per_s": round(n / phase["wall_s"], 1),
                "rows_per_s": round(n * phase["rows"] / phase["wall_s"]),
                "p50_ms": _pct(lat, 50),
                "p99_ms": _pct(lat, 99),
                "server_ms_mean": round(server_ms / max(len(server), 1), 1),
                "server_p50_ms": _pct([ms for _s, ms in server], 50),
                "verify_ms_mean": round(verify / max(accepted, 1), 1),
                "verify_share": round(verify / server_ms, 3) if server_ms else None,
                "server_cpu_ms_per_dossier": round(phase["server_cpu_s"] * 1000 / n, 1),
                "client_cpu_ms_per_dossier": round(phase["client_cpu_s"] * 1000 / n, 1),
                # PostgreSQL's own CPU (its server on the same cores), None on SQLite.
                "db_cpu_ms_per_dossier": (
                    round(phase["db_cpu_s"] * 1000 / n, 1)
                    if phase["db_cpu_s"] is not None
                    else None
                ),
            }
        )
    return {
        "server": " ".join(cmd[1:8]),
        "spec": spec,
        "huey_sync": args.huey_sync,
        "connections": conns,
        "presign_s": round(sign_s, 1),
        "load_before": load_before,
        "load_after": load_after,
        "database_locked_errors": locked,
        "server_tracebacks": tracebacks,
        "phases": [f for f in figures if f["phase"] != "warm-up"],
    }


def suite_intake(args: argparse.Namespace, machine: str, database: str) -> None:
    persons = max(args.one, args.fifty * 50, args.thousand * 1000, 1000)
    world = World(employers=20, persons=persons)
    print(f"bootstrap {world.seconds:.1f} s: {len(world.persons)} persons, 20 employers")
    if args.huey_sync != "default":
        huey_sync(args.huey_sync)
    prof = profile_submit(world, args.profile)
    top = prof.pop("top_tottime")
    print(f"in-process services.submit, one-row: {prof['per_s_in_process']}/s")
    print(json.dumps(prof["profiled_parts_ms"], indent=1, ensure_ascii=False))
    print(top)
    _result(
        "gateway-intake-profile",
        database=database,
        huey_sync=args.huey_sync,
        load=_load(),
        **prof,
    )
    best = None
    for n, spec in enumerate(args.servers.split(",")):
        out = run_server(world, spec.strip(), args.connections, args, f"s{n}")
        for ph in out["phases"]:
            print(
                f"{spec:12} {ph['phase']:10} {ph['dossiers_per_s']:7.1f} dossiers/s "
                f"({ph['rows_per_s']:,} rows/s) p50 {ph['p50_ms']} ms p99 {ph['p99_ms']} ms, "
                f"server {ph['server_ms_mean']} ms, verify {ph['verify_ms_mean']} ms "
                f"(share {ph['verify_share']}), server CPU {ph['server_cpu_ms_per_dossier']} ms, "
                f"database CPU {ph['db_cpu_ms_per_dossier']} ms, "
                f"{ph['statuses']}"
            )
        print(
            f"  connections {out['connections']}, 'database is locked' "
            f"{out['database_locked_errors']}, tracebacks {out['server_tracebacks']}, load "
            f"{out['load_before']} → {out['load_after']}"
        )
        _result("gateway-intake", database=database, machine=machine, **out)
        one = out["phases"][0]["dossiers_per_s"]
        if best is None or one > best[1]:
            best = (spec, one)
    assert best is not None
    print(f"best one-row intake: {best[1]}/s with server {best[0]} (goal ≥ 200/s)")


# --- processing ------------------------------------------------------------------------------


def suite_processing(args: argparse.Namespace, machine: str, database: str) -> None:
    from django.db import connection

    from ansinh.gateway import processing, services

    plan = [(1, max(20, args.runs)), (50, max(5, args.runs)), (1000, args.runs)]
    world = World(employers=20, persons=sum(r * n for r, n in plan) + 60)
    org = world.ivan.provider.organisation
    submitted: dict[int, list[int]] = {}
    warm = [world.signed("PW", 1, i, distinct=True)[1] for i in range(3)]
    warm.append(world.signed("PW", 50, 9, distinct=True)[1])
    warm_ids = [services.submit(b, submitter=org).submission.pk for b in warm]
    for rows, count in plan:
        bodies = [world.signed("PR", rows, i, distinct=True)[1] for i in range(count)]
        submitted[rows] = [services.submit(b, submitter=org).submission.pk for b in bodies]
    for pk in warm_ids:
        services.process_submission(pk)

    inner: list[float] = []
    real = processing.process

    def timed(submission: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return real(submission, **kw)
        finally:
            inner.append(time.perf_counter() - t0)

    processing.process = timed  # type: ignore[assignment]
    statements = [0]

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements[0] += 1
        return execute(sql, params, many, context)

    figures = []
    try:
        for rows, ids in submitted.items():
            inner.clear()
            walls, cpus = [], []
            statements[0] = 0
            for pk in ids:
                with connection.execute_wrapper(count):
                    t0, c0 = time.perf_counter(), time.process_time()
                    sub = services.process_submission(pk)
                    walls.append(time.perf_counter() - t0)
                    cpus.append(time.process_time() - c0)
                assert sub.rows_accepted == rows and sub.result_xml, (
                    sub.rows_accepted,
                    sub.rows_rejected,
                    sub.rows_queued,
                )
            median = statistics.median(walls)
            figures.append(
                {
                    "rows": rows,
                    "dossiers": len(ids),
                    "median_s": round(median, 4),
                    "runs_s": [round(w, 3) for w in walls] if rows > 1 else None,
                    # CPU of this process: ours when other work shares the cores (the whole
                    # database on SQLite; on PostgreSQL the server's share is not in it).
                    "cpu_median_s": round(statistics.median(cpus), 4),
                    "process_rows_median_s": round(statistics.median(inner), 4),
                    "rows_per_s": round(rows / median),
                    # SQL statements per dossier, everything included (start, rows, result).
                    "statements": round(statements[0] / len(ids)),
                    "load": _load(),
                    "goal_met": rows != 1000 or median < 2.0,
                }
            )
    finally:
        processing.process = real  # type: ignore[assignment]
    for f in figures:
        print(
            f"{f['rows']:5} rows: {f['median_s']} s median of {f['dossiers']} "
            f"(CPU {f['cpu_median_s']} s; processing.process {f['process_rows_median_s']} s), "
            f"{f['rows_per_s']:,} rows/s, {f['statements']} statements, load {f['load']}"
        )
    _result(
        "gateway-processing",
        database=database,
        vendor=connection.vendor,
        machine=machine,
        load=_load(),
        figures=figures,
    )


def run_gateway_suite(
    argv: list[str], *, setup_django: Callable[[Path], None], machine: Callable[[], str]
) -> None:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))
    data_dir = DATA if args.suite == "gateway-intake" else DATA / "processing"
    database = _fresh_database(data_dir)
    setup_django(data_dir)
    print(f"machine: {machine()}; database: {database}; load average {_load()}")
    if args.suite == "gateway-intake":
        suite_intake(args, machine(), database)
    else:
        suite_processing(args, machine(), database)


if __name__ == "__main__":
    if sys.argv[1:2] == ["_loadgen"]:
        loadgen(Path(sys.argv[2]))
    else:
        sys.path.insert(0, str(ROOT))
        from run import machine, setup_django

        sys.path.insert(0, str(ROOT.parent / "src"))
        run_gateway_suite(sys.argv[1:], setup_django=setup_django, machine=machine)
