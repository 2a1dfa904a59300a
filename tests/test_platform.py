"""The platform itself: health endpoint, OpenAPI schema, database settings."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client


@pytest.mark.django_db
def test_health_reports_database(client: Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == connection.vendor


@pytest.mark.django_db
def test_openapi_schema_is_served(client: Client) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "ansinh API"


def test_sqlite_runs_in_wal_with_immediate_transactions() -> None:
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("PostgreSQL run")
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]
    assert "busy_timeout" in db["OPTIONS"]["init_command"]


_WRITER = """
import os, sys, django
django.setup()
from django.db import connection, transaction
for _ in range(int(sys.argv[1])):
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SELECT COALESCE(MAX(n), 0) FROM counter")
            (n,) = cur.fetchone()
            cur.execute("INSERT INTO counter (n) VALUES (%s)", [n + 1])
print("ok")
"""


def test_sqlite_concurrent_writers_do_not_hit_database_is_locked(tmp_path: Path) -> None:
    """Read-then-write transactions from several processes at once: under SQLite's default
    DEFERRED transactions two of them upgrade their read locks together and one fails with
    "database is locked"; with IMMEDIATE transactions and a busy timeout they queue."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("PostgreSQL run")
    db = tmp_path / "concurrency.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE counter (n INTEGER PRIMARY KEY)")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "DJANGO_SETTINGS_MODULE": "ansinh.settings_test",
    }
    rounds, workers = 150, 3
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(rounds)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == "ok"
    with sqlite3.connect(db) as conn:
        (count, top) = conn.execute("SELECT COUNT(*), MAX(n) FROM counter").fetchone()
    # Every transaction saw the previous one's row: no lost update, no lock error.
    assert count == top == rounds * workers


@pytest.mark.django_db
def test_vietnamese_by_default_even_for_an_english_browser(client: Client) -> None:
    response = client.get("/access/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.status_code == 200
    assert "Đăng nhập" in response.content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/access/login/"})
    assert "Sign in" in client.get("/access/login/").content.decode()


@pytest.mark.django_db
def test_every_admin_changelist_opens_for_an_administrator(client: Client) -> None:
    from django.contrib import admin
    from django.urls import reverse

    from ansinh.access.testing import login_verified, make_user

    admin_user = make_user("administrator", is_staff=True, is_superuser=True)
    login_verified(client, admin_user)
    for model in admin.site._registry:
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url
