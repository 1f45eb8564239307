"""`ips-jobs serve` keeps its job engine running: a killed engine is started again (logged) and
the jobs acknowledged meanwhile run; stopping serve stops the engine for good; a serve whose
engine SQLite refuses says so once and does not retry."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from conftest import (
    ENGINE_ENV,
    Account,
    Reply,
    Server,
    caller,
    make_account,
    q,
    start_server,
    stop_server,
    wait_for,
)
from conftest import (
    PUBLISH_JOB as PUBLISH,
)
from lxml import etree

from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository

#: What serve logs when its engine dies, and when it has started another.
DEATH = re.compile(r"WARNING ips_jobs\.server: job engine \(pid (\d+)\) (.*); starting it again")
RESTART = re.compile(r"INFO ips_jobs\.server: job engine restarted \(pid (\d+)\)")


@pytest.fixture
def engine_server(tmp_path: Path) -> Iterator[Server]:
    """A server of its own with the engine on (the tests kill its engine or stop it)."""
    running = start_server(
        f"sqlite:///{tmp_path / 'ips.db'}", tmp_path / "server.log", **ENGINE_ENV
    )
    yield running
    if running.process.poll() is None:
        stop_server(running)
    else:
        running.log_file.close()


def engine_pids(server: Server) -> set[int]:
    """The pids of the engines /_ips/health lists (those with a recent heartbeat)."""
    try:
        health = requests.get(f"{server.base_url}/_ips/health", timeout=5).json()
    except (requests.ConnectionError, requests.Timeout, ValueError):
        return set()
    return {int(engine["pid"]) for engine in health["engine"]["processes"]}


def running(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie, dead but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def submit(call: Callable[..., Reply], account: Account, name: str) -> None:
    reply = call(
        "submitJob",
        f"<companyHandle>{account.company_handle}</companyHandle><jobName>{name}</jobName>"
        f"{PUBLISH}",
    )
    assert reply.status == 200, etree.tostring(reply.root)


def ended_runs(call: Callable[..., Reply], account: Account) -> list[etree._Element]:
    """The company's getJobLogs entries that have an endDate (the run is over)."""
    reply = call("getJobLogs", f"<companyHandle>{account.company_handle}</companyHandle>")
    assert reply.status == 200, etree.tostring(reply.root)
    logs = reply.payload().findall(f"{q('jobLogArray')}/{q('items')}")
    return [log for log in logs if log.findtext(q("endDate"))]


def active(call: Callable[..., Reply], account: Account, name: str) -> list[etree._Element]:
    reply = call(
        "getActiveJobs",
        f"<companyHandle>{account.company_handle}</companyHandle><originalName>{name}</originalName>",
    )
    return reply.payload().findall(f"{q('jobArray')}/{q('items')}")


def test_a_killed_engine_is_started_again_and_runs_the_jobs_taken_meanwhile(
    engine_server: Server,
) -> None:
    [first] = wait_for(lambda: engine_pids(engine_server), timeout=30)
    database = Database(engine_server.database_url)
    try:
        account = make_account(SqlJobRepository(database))
        call = caller(engine_server, account)

        os.kill(first, signal.SIGKILL)
        submit(call, account, "after the kill")  # acknowledged while no engine runs

        [second] = wait_for(lambda: engine_pids(engine_server) - {first}, timeout=10)
        [log] = wait_for(lambda: ended_runs(call, account), timeout=15)
        assert log.findtext(q("originalJobName")) == "after the kill"
        assert log.findtext(q("fatalError")) == "false"
        assert active(call, account, "after the kill") == []
    finally:
        database.dispose()

    server_log = engine_server.log()
    deaths = DEATH.findall(server_log)
    assert len(deaths) == 1, server_log  # one line for the one death
    [(pid, how)] = deaths
    assert pid == str(first), server_log
    assert how.startswith("was killed by SIGKILL after "), server_log
    assert RESTART.findall(server_log) == [str(second)], server_log


@pytest.mark.parametrize("how", ["SIGTERM to serve", "Ctrl-C"])
def test_stopping_serve_stops_its_engine_for_good(engine_server: Server, how: str) -> None:
    """Ctrl-C reaches the engine too (SIGINT to the terminal's process group), so the engine
    may end before serve stops it: it must not be taken for a death and started again."""
    [engine] = wait_for(lambda: engine_pids(engine_server), timeout=30)
    if how == "Ctrl-C":
        os.killpg(engine_server.process.pid, signal.SIGINT)  # start_server made it a group
    else:
        engine_server.process.terminate()
    assert engine_server.process.wait(timeout=60) == 0, engine_server.log()

    assert not running(engine)
    server_log = engine_server.log()
    assert DEATH.findall(server_log) == [], server_log
    assert RESTART.findall(server_log) == [], server_log
    assert re.search(r"ips_jobs\.engine: job engine \S+ stopped", server_log), server_log


def test_a_serve_refused_an_engine_by_sqlite_says_so_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ips.db'}"
    first = start_server(url, tmp_path / "first.log", **ENGINE_ENV)
    try:
        [engine] = wait_for(lambda: engine_pids(first), timeout=30)
        second = start_server(url, tmp_path / "second.log", **ENGINE_ENV)
        try:
            refused = "exited with status 3: another engine runs on this SQLite database"
            wait_for(lambda: refused in second.log(), timeout=30)
            # A restart loop would have tried again by now (the first retry comes in 0.5 s).
            time.sleep(3)
            log = second.log()
            assert log.count("SQLite allows one engine") == 1, log
            assert log.count(refused) == 1, log
            assert DEATH.findall(log) == [] and RESTART.findall(log) == [], log
            assert engine_pids(second) == {engine}  # the first serve's engine runs the jobs
        finally:
            stop_server(second)
    finally:
        stop_server(first)
