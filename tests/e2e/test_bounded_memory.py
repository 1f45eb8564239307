"""Hostile requests cost nothing that stays: a flood of huge unknown `<user>` values does not
grow a worker's memory, the request journal, the database file or the server log, and a
password is masked in the journal whatever encoding the request declares."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import (
    COMMON_NS,
    NS,
    PASSWORD,
    Server,
    make_account,
    start_server,
    stop_server,
    wait_for,
)
from conftest import (
    PUBLISH_JOB as PUBLISH,
)

from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository

MIB = 1024 * 1024
KIB = 1024


def submit_as(
    user: str, password: str = "wrong", declaration: str = "", company: str = "c|1"
) -> str:
    """A submitJob envelope (text, to be encoded by the caller) sent as `user`."""
    return (
        f"{declaration}"
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        f'<soapenv:Header><authHeader xmlns="{COMMON_NS}"><user>{user}</user>'
        f"<password>{password}</password></authHeader></soapenv:Header>"
        f'<soapenv:Body><submitJobParam xmlns="{NS}"><companyHandle>{company}</companyHandle>'
        f"<jobName>hostile</jobName>{PUBLISH}</submitJobParam></soapenv:Body>"
        "</soapenv:Envelope>"
    )


def workers(server: Server) -> list[int]:
    """The gunicorn workers: the children of the serve process (the engine is off)."""
    pid = server.process.pid
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return children


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def flood(server: Server, count: int, size: int | None = None) -> None:
    """`count` submitJobs, each as a distinct unknown user of `size` characters (by default
    100 KiB to 1 MiB), over one keep-alive connection; every one is refused."""
    with requests.Session() as session:
        for n in range(count):
            length = size or 100 * KIB + (n % 10) * 100 * KIB
            user = f"{n:06d}-{uuid.uuid4().hex}".ljust(length, "u")
            response = session.post(
                server.service_url,
                data=submit_as(user).encode(),
                headers={"Content-Type": "text/xml; charset=UTF-8"},
                timeout=60,
            )
            assert response.status_code == 500, response.text[:300]
            assert b"authenticationFault" in response.content


def journal(server: Server, at_least: int) -> list[dict[str, Any]]:
    """The request journal, newest first, once it holds `at_least` entries."""

    def entries() -> list[dict[str, Any]] | None:
        got = requests.get(server.base_url + "/_ips/requests", params={"limit": 1000}, timeout=60)
        found: list[dict[str, Any]] = got.json()
        return found if len(found) >= at_least else None

    return wait_for(entries, timeout=60)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Server]:
    """A server of its own (one worker, the journal on), whose memory and log are ours."""
    running = start_server(f"sqlite:///{tmp_path / 'ips.db'}", tmp_path / "server.log")
    yield running
    stop_server(running)


def test_distinct_huge_unknown_users_do_not_grow_the_worker(served: Server) -> None:
    [worker] = workers(served)
    flood(served, 20)  # the allocator's pools and the worker's caches warm up first
    before = rss_kib(worker)
    flood(served, 300)
    grown = (rss_kib(worker) - before) / 1024
    assert grown < 40, f"the worker grew by {grown:.0f} MiB for 300 refused logins"


def test_wrong_passwords_on_every_thread_do_not_grow_the_worker(served: Server) -> None:
    """Each password check takes a 19 MiB Argon2 block. glibc used to keep such blocks in
    each request thread's arena once one had been freed (216-271 MB workers after a soak):
    now every one is unmapped when freed."""
    database = Database(served.database_url)
    try:
        account = make_account(SqlJobRepository(database))
    finally:
        database.dispose()
    body = submit_as(account.email, "wrong", company=account.company_handle).encode()

    def wrong_logins(count: int) -> None:
        with requests.Session() as session:
            for _ in range(count):
                answer = session.post(
                    served.service_url, data=body, headers={"Content-Type": "text/xml"}, timeout=60
                )
                assert b"authenticationFault" in answer.content, answer.text[:300]

    def on_every_thread(count: int) -> None:
        threads = [threading.Thread(target=wrong_logins, args=(count,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    [worker] = workers(served)
    flood(served, 20)  # the worker's pools and caches warm up, without a password check
    before = rss_kib(worker)
    on_every_thread(4)
    grown = (rss_kib(worker) - before) / 1024
    assert grown < 40, f"the worker grew by {grown:.0f} MiB for 32 wrong passwords"


def test_huge_users_keep_the_journal_database_and_log_small(served: Server, tmp_path: Path) -> None:
    flood(served, 301, size=MIB)
    entries = journal(served, 301)
    answer = requests.get(served.base_url + "/_ips/requests", params={"limit": 1000}, timeout=60)
    assert len(answer.content) < 30 * MIB, f"/_ips/requests answered {len(answer.content)} B"
    for entry in entries:
        assert len(entry["caller"]) <= 256 and entry["caller"].endswith("…")
        assert len(entry["request"]) < 70 * KIB
    files = [tmp_path / name for name in ("ips.db", "ips.db-wal")]
    stored = sum(f.stat().st_size for f in files if f.exists())
    assert stored < 60 * MIB, f"the database takes {stored / MIB:.0f} MiB"
    logged = os.path.getsize(served.log_path)
    assert logged < MIB, f"the server log took {logged / MIB:.0f} MiB"


@pytest.mark.parametrize(
    ("encoding", "declared", "bom"),
    [
        ("utf-16-le", "UTF-16", b"\xff\xfe"),
        ("utf-16-be", "UTF-16", b"\xfe\xff"),
        ("utf-16-le", "UTF-16LE", b""),
        ("latin-1", "ISO-8859-1", b""),
        ("utf-8", "UTF-8", b"\xef\xbb\xbf"),
    ],
)
def test_passwords_are_masked_in_every_encoding(
    server: Server, encoding: str, declared: str, bom: bytes
) -> None:
    database = Database(server.database_url)
    try:
        account = make_account(SqlJobRepository(database))
    finally:
        database.dispose()
    secret = "s\u00e9cret-" + uuid.uuid4().hex[:8]  # é: Latin-1 and UTF-16 write it apart
    requests.delete(server.base_url + "/_ips/requests", timeout=30)
    declaration = f'<?xml version="1.0" encoding="{declared}"?>'
    for user, password in ((account.email, PASSWORD), ("nobody@example.test", secret)):
        envelope = submit_as(user, password, declaration, account.company_handle)
        body = bom + envelope.encode(encoding)
        response = requests.post(
            server.service_url,
            data=body,
            headers={"Content-Type": "text/xml"},
            timeout=30,
        )
        assert response.status_code in (200, 500), response.text[:300]
    refused, accepted = journal(server, 2)[:2]
    assert accepted["status"] == 200, accepted["response"][:500]
    assert refused["fault_code"] is not None
    for entry, password in ((accepted, PASSWORD), (refused, secret)):
        request = entry["request"]
        assert password not in request.replace("\x00", "")  # UTF-16 read as UTF-8 has NULs
        assert "<password>****</password>" in request, request[:500]
        assert "submitJobParam" in request  # decoded, so still readable


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_a_utf16_body_without_mark_or_declaration_is_kept_masked(
    server: Server, encoding: str
) -> None:
    """The parser refuses such a body, but the journal keeps every request: the password
    must not stay readable between the NULs of the text read as UTF-8."""
    marker = uuid.uuid4().hex
    secret = f"secret{marker}"
    body = submit_as(f"nobody-{marker}@example.test", secret).encode(encoding)
    response = requests.post(
        server.service_url, data=body, headers={"Content-Type": "text/xml"}, timeout=30
    )
    assert response.status_code == 500
    request = str(newest_journal_entry(server, f"nobody-{marker}")["request"])
    assert secret not in request.replace("\x00", "") and "<password>****</password>" in request


def newest_journal_entry(server: Server, marker: str) -> dict[str, object]:
    def find() -> dict[str, object] | None:
        entries = requests.get(server.base_url + "/_ips/requests", timeout=30).json()
        return next((e for e in entries if marker in e["request"]), None)

    return wait_for(find)


def test_a_password_longer_than_the_kept_body_stays_masked(server: Server) -> None:
    """The body is cut at 64 Ki characters; a password running past the cut is masked to
    the end, not left readable for want of its end tag."""
    marker = uuid.uuid4().hex
    secret = "secret-" + marker + "p" * (100 * KIB)
    body = submit_as(f"nobody-{marker}@example.test", secret).encode()
    response = requests.post(
        server.service_url, data=body, headers={"Content-Type": "text/xml"}, timeout=30
    )
    assert response.status_code == 500
    entry = newest_journal_entry(server, f"nobody-{marker}")
    request = str(entry["request"])
    assert "secret-" not in request and "ppp" not in request
    assert "<password>****" in request and request.endswith(f"[cut; {len(body)} bytes in all]")


def test_a_user_with_a_newline_cannot_forge_a_log_line(server: Server) -> None:
    marker = uuid.uuid4().hex
    user = f"{marker}\n2026-01-01 00:00:00,000 INFO ips_jobs.requests: forged {marker}"
    response = requests.post(
        server.service_url,
        data=submit_as(user).encode(),
        headers={"Content-Type": "text/xml"},
        timeout=30,
    )
    assert response.status_code == 500
    lines = wait_for(lambda: [line for line in server.log().splitlines() if marker in line])
    assert len(lines) == 1 and "\\x0a2026-01-01" in lines[0], lines


def test_a_password_element_spelled_in_utf7_is_masked(server: Server) -> None:
    """UTF-7 can spell `<password>` as `+ADw-password+AD4-`: the parser reads the element,
    so the journal must too."""
    marker = uuid.uuid4().hex
    secret = f"secret{marker}"
    text = submit_as(f"nobody-{marker}@example.test", secret, '<?xml version="1.0"?>')
    text = text.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-7"?>')
    text = text.replace("<password>", "+ADw-password+AD4-").replace(
        "</password>", "+ADw-/password+AD4-"
    )
    response = requests.post(
        server.service_url,
        data=text.encode("ascii"),
        headers={"Content-Type": "text/xml"},
        timeout=30,
    )
    assert response.status_code == 500 and b"authenticationFault" in response.content
    request = str(newest_journal_entry(server, f"nobody-{marker}")["request"])
    assert secret not in request and "<password>****</password>" in request
