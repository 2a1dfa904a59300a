"""huey's SQLite queue with ``synchronous=NORMAL`` (hàng đợi công việc nền).

``huey.SqliteHuey`` leaves SQLite at ``synchronous=FULL``: every enqueue fsyncs, 1 ms on an idle
disk and 10–20 ms while other jobs write, and the web workers serialise on the queue file's lock
while they wait. In WAL mode ``NORMAL`` cannot corrupt the file; a power cut may lose the last
few enqueues — the same guarantee as the main SQLite database, which runs at ``NORMAL`` too (see
``settings.SQLITE_OPTIONS``), so a task is never more durable than the row it is about. Redis
(``HUEY_BACKEND=redis``) stays the production option.
"""

from __future__ import annotations

import sqlite3

from huey import SqliteHuey
from huey.storage import SqliteStorage


class NormalSyncSqliteStorage(SqliteStorage):
    def _create_connection(self) -> sqlite3.Connection:
        conn = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn


class NormalSyncSqliteHuey(SqliteHuey):
    storage_class = NormalSyncSqliteStorage
