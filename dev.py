#!/usr/bin/env python3
"""Developer entry point: ``python3 dev.py run`` (demo) and ``python3 dev.py test`` (suite).

Only the Python standard library is used here, so both commands work on a fresh machine that has
nothing but Python 3.11 and access to the package registries. Everything is installed into
``.venv`` next to this file; Debian packages (PostgreSQL, Chromium) are installed with apt-get
when missing and the user is root.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
VAR = Path(os.environ.get("ANSINH_DATA_DIR", ROOT / "var"))


def say(msg: str) -> None:
    print(f"\033[1m==> {msg}\033[0m", flush=True)


def run(cmd: list[str], **kw) -> None:
    subprocess.run(cmd, check=True, **kw)


def ensure_venv(extras: str = "") -> None:
    """Create .venv and install the project; skipped when pyproject.toml has not changed."""
    if not PY.exists():
        say("creating virtual environment .venv")
        run([sys.executable, "-m", "venv", str(VENV)])
    spec = (ROOT / "pyproject.toml").read_bytes() + extras.encode()
    stamp = VENV / f".installed-{hashlib.sha256(spec).hexdigest()[:16]}"
    if stamp.exists():
        return
    say("installing ansinh and its dependencies into .venv")
    run([str(PY), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-U", "pip"])
    target = f".[{extras}]" if extras else "."
    run(
        [str(PY), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-e", target],
        cwd=ROOT,
    )
    stamp.touch()


def apt_install(*packages: str) -> bool:
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return False
    say(f"installing Debian packages: {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], env=env)
    run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return True


def pg_bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_postgres() -> str:
    """Start a throw-away PostgreSQL on 127.0.0.1 and return its URL."""
    if os.environ.get("ANSINH_TEST_PG_URL"):
        return os.environ["ANSINH_TEST_PG_URL"]
    if pg_bindir() is None:
        apt_install("postgresql")
    bindir = pg_bindir()
    if bindir is None:
        sys.exit("PostgreSQL is required for the test suite: install Debian's postgresql package")
    datadir = Path(tempfile.mkdtemp(prefix="ansinh-pg-"))
    port = free_port()
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(datadir, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    say(f"starting a throw-away PostgreSQL on 127.0.0.1:{port}")
    run(
        [
            *as_postgres,
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        stdout=subprocess.DEVNULL,
    )
    opts = (
        f"-p {port} -c listen_addresses=127.0.0.1 -k {datadir} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    run(
        [
            *as_postgres,
            str(bindir / "pg_ctl"),
            "-D",
            str(datadir),
            "-o",
            opts,
            "-w",
            "-l",
            str(datadir / "log"),
            "start",
        ],
        stdout=subprocess.DEVNULL,
    )

    def stop() -> None:
        subprocess.run(
            [*as_postgres, str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "fast", "stop"],
            stdout=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(datadir, ignore_errors=True)

    atexit.register(stop)
    return f"postgres://postgres@127.0.0.1:{port}/ansinh"


def ensure_chromium() -> None:
    if not Path("/usr/bin/chromium").exists():
        apt_install("chromium", "fonts-dejavu-core")
    if not Path("/usr/bin/xmlsec1").exists():
        apt_install("xmlsec1")


def cmd_test(args: list[str]) -> int:
    ensure_venv("test")
    ensure_chromium()
    pg_url = start_postgres()
    bin_ = VENV / "bin"
    say("lint: ruff check + ruff format --check")
    run([str(bin_ / "ruff"), "check", "src", "tests", "bench", "dev.py", "conftest.py"], cwd=ROOT)
    run(
        [str(bin_ / "ruff"), "format", "--check", "src", "tests", "bench", "dev.py", "conftest.py"],
        cwd=ROOT,
    )
    say("checking that migrations match the models")
    run(
        [str(bin_ / "ansinh"), "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": "sqlite:///:memory:"},
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    suites = (("SQLite", env), ("PostgreSQL", {**env, "DATABASE_URL": pg_url}))
    cmd = [str(bin_ / "pytest"), "-q", *args]
    if os.environ.get("ANSINH_TEST_SERIAL"):
        codes = []
        for name, run_env in suites:
            say(f"test suite on {name}")
            codes.append(subprocess.run(cmd, cwd=ROOT, env=run_env).returncode)
    else:
        codes = run_suites_side_by_side(cmd, suites)
    failed = [name for (name, _), rc in zip(suites, codes, strict=True) if rc != 0]
    for name in failed:
        say(f"test suite FAILED on {name}")
    return 1 if failed else 0


def run_suites_side_by_side(cmd: list[str], suites: tuple[tuple[str, dict], ...]) -> list[int]:
    """Run the suite on both databases at once — each run is mostly one busy process, so two
    cores finish both in little more than the slower one's time (ANSINH_TEST_SERIAL=1 runs
    them one after the other). Each run writes its own log, printed whole when it ends."""
    logdir = Path(tempfile.mkdtemp(prefix="ansinh-test-logs-"))
    running = []
    for name, run_env in suites:
        log = (logdir / f"{name}.log").open("wb")
        proc = subprocess.Popen(cmd, cwd=ROOT, env=run_env, stdout=log, stderr=subprocess.STDOUT)
        running.append((name, proc, log))
    say(f"test suite on {' and '.join(n for n, _ in suites)} side by side (logs in {logdir})")
    started = time.monotonic()
    codes: dict[str, int] = {}
    while len(codes) < len(running):
        time.sleep(5)
        for name, proc, log in running:
            if name in codes or proc.poll() is None:
                continue
            codes[name] = proc.returncode
            log.close()
            minutes = (time.monotonic() - started) / 60
            say(f"test suite on {name} finished after {minutes:.1f} min (exit {proc.returncode})")
            sys.stdout.write((logdir / f"{name}.log").read_text(errors="replace"))
            sys.stdout.flush()
        elapsed = int(time.monotonic() - started)
        if elapsed and elapsed % 120 < 5 and len(codes) < len(running):
            print(f"    … {elapsed // 60} min, still running", flush=True)
    return [codes[name] for name, _, _ in running]


def cmd_run(args: list[str]) -> int:
    ensure_venv()
    VAR.mkdir(parents=True, exist_ok=True)
    ansinh = str(VENV / "bin" / "ansinh")
    env = {**os.environ, "ANSINH_DATA_DIR": str(VAR)}
    say("migrating the database")
    run([ansinh, "migrate", "--no-input", "-v", "0"], env=env)
    say("loading reference data (administrative units, rule tables, roles)")
    run([ansinh, "bootstrap"], env=env)
    say("generating the demo data set unless already present")
    run([ansinh, "demo", "--if-missing"], env=env)
    run([ansinh, "collectstatic", "--no-input", "-v", "0"], env=env)
    say("starting the task worker (huey) and the web server on http://127.0.0.1:8000")
    worker = subprocess.Popen([ansinh, "run_huey", "--quiet"], env=env)
    server = subprocess.Popen(
        [
            str(VENV / "bin" / "gunicorn"),
            "ansinh.wsgi",
            "-b",
            "127.0.0.1:8000",
            "-w",
            "3",
            "--access-logfile",
            "-",
        ],
        env=env,
    )
    wait_for(8000)
    run([ansinh, "demo", "--logins"], env=env)
    centre = start_centre(ansinh, env)

    def shutdown(*_: object) -> None:
        for p in (server, worker, *centre):
            p.terminate()

    signal.signal(signal.SIGTERM, shutdown)
    try:
        return server.wait()
    except KeyboardInterrupt:
        shutdown()
        return 0
    finally:
        for p in (worker, *centre):
            p.terminate()
            p.wait(10)


INSURANCE_MEMBER = "VN/GOV/BHXH/benefits"
CENTRE_MEMBER = "VN/GOV/SNV-HN/unemployment"
#: What each side lets the other call (docs/unemployment.md, docs/benefits.md).
INSURANCE_GRANTS = (
    "bhtnHistory", "benefitHistory", "notifyDecision", "paymentStatus", "reemploymentFeed",
)  # fmt: skip
CENTRE_GRANTS = ("benefitCase",)


def wait_for(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"nothing answers on 127.0.0.1:{port}")


def start_centre(ansinh: str, insurance_env: dict[str, str]) -> list[subprocess.Popen]:
    """The employment service centre as a second deployment (its own data directory and
    SQLite database) on 127.0.0.1:8001, paired with this one through the exchange layer:
    keys swapped, peers registered, each side granting the other its services. Then three
    people whose employment ended in the insurance side's data file claims at the centre,
    which fetches their histories over the exchange."""
    centre_dir = VAR / "centre"
    centre_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ANSINH_DATA_DIR": str(centre_dir)}
    env["UNEMPLOYMENT_INSURANCE_PEER"] = INSURANCE_MEMBER
    say("setting up the employment service centre (second deployment) on http://127.0.0.1:8001")
    run([ansinh, "migrate", "--no-input", "-v", "0"], env=env)
    run([ansinh, "bootstrap"], env=env, stdout=subprocess.DEVNULL)
    run([ansinh, "collectstatic", "--no-input", "-v", "0"], env=env)
    sides = (
        (insurance_env, INSURANCE_MEMBER, "http://127.0.0.1:8000", INSURANCE_GRANTS),
        (env, CENTRE_MEMBER, "http://127.0.0.1:8001", CENTRE_GRANTS),
    )
    pems = []
    for side_env, member, _url, _grants in sides:
        run(
            [ansinh, "exchange", "init", "--member", member],
            env=side_env,
            stdout=subprocess.DEVNULL,
        )
        pem = centre_dir / f"{member.replace('/', '_')}.pem"
        shown = subprocess.run(
            [ansinh, "exchange", "show", "--pem"], env=side_env, check=True, capture_output=True
        )
        pem.write_bytes(shown.stdout)
        pems.append(pem)
    for (me_env, _m, _u, grants), (_e, other, other_url, _g), other_pem in (
        (sides[0], sides[1], pems[1]),
        (sides[1], sides[0], pems[0]),
    ):
        run(
            [ansinh, "exchange", "peer-add", other, "--url", other_url, "--key", str(other_pem)],
            env=me_env,
            stdout=subprocess.DEVNULL,
        )
        for service in grants:
            run(
                [ansinh, "exchange", "grant", other, service], env=me_env, stdout=subprocess.DEVNULL
            )
    run([ansinh, "unemployment", "demo-centre"], env=env)
    worker = subprocess.Popen([ansinh, "run_huey", "--quiet"], env=env)
    server = subprocess.Popen(
        [str(VENV / "bin" / "gunicorn"), "ansinh.wsgi", "-b", "127.0.0.1:8001", "-w", "2"],
        env=env,
    )
    wait_for(8001)
    applicants = centre_dir / "applicants.json"
    run(
        [ansinh, "unemployment", "applicants", "--count", "3", "--out", str(applicants)],
        env=insurance_env,
    )
    run([ansinh, "unemployment", "demo", "--applicants", str(applicants)], env=env)
    run([ansinh, "demo", "--logins"], env=env)
    say("centre: http://127.0.0.1:8001/unemployment/ (logins above); insurance side: :8000")
    return [server, worker]


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test"}:
        print(__doc__)
        print("usage: python3 dev.py run | test [pytest arguments]")
        return 2
    return {"run": cmd_run, "test": cmd_test}[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
