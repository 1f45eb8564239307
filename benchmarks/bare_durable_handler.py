"""A second floor for benchmarks/soap_throughput.py: the bare handler plus the one thing a
durable submitJob cannot skip, a row committed to SQLite before the answer.

Same parse and fixed reply as benchmarks/bare_handler.py; then one INSERT of the jobName and
the time in its own transaction, with plain sqlite3 (no SQLAlchemy), the file set up
as ips-jobs sets up its own (WAL, synchronous=NORMAL), and the writers of a process queued on
one lock with BEGIN IMMEDIATE retried, as ips-jobs' writers are. No authentication, no
validation, no job engine. The table must exist: soap_throughput creates it. The file is
named by BARE_DATABASE.

    BARE_DATABASE=/tmp/floor.db IPS_THREADS=8 python -m gunicorn \
        -k ips_jobs.server.HttpWorker -w 2 --keep-alive 30 -b 127.0.0.1:8082 \
        benchmarks.bare_durable_handler:asgi
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from benchmarks import bare_handler
from benchmarks.bare_handler import StartResponse

TABLE = "CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, name TEXT UNIQUE, at TEXT)"

_local = threading.local()
_write_lock = threading.Lock()


def create(path: str) -> None:
    """The file and its table, before any worker starts (two creating it would race)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(TABLE)
    conn.close()


def stored(path: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM jobs").fetchone()[0])
    finally:
        conn.close()


def _connection() -> sqlite3.Connection:
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(os.environ["BARE_DATABASE"], isolation_level=None)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=0")
        _local.conn = conn
    return conn


def _insert(job_name: str) -> None:
    conn = _connection()
    with _write_lock:
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                time.sleep(0.0005)
        try:
            conn.execute(
                "INSERT INTO jobs (name, at) VALUES (?, ?)",
                (job_name, datetime.now(UTC).isoformat()),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """The bare handler's answer, given only once the request's job is committed."""
    if environ.get("REQUEST_METHOD") != "POST":
        return bare_handler.app(environ, start_response)
    job_name = bare_handler.read_job_name(environ)
    if not job_name:
        return bare_handler.not_a_submit_job(start_response)
    _insert(job_name)
    return bare_handler.answer(start_response)


asgi = bare_handler.bridged(app)
