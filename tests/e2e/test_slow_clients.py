"""Slow and hostile clients cannot starve `ips-jobs serve`.

The server here has one worker with two threads, and each attack holds more connections
than that: under gunicorn's threaded workers (before) each such connection held a thread and
no other request was answered. Request heads have one deadline (--header-timeout 1), bodies
one for the whole body (--body-timeout 2), not per read; a connection is closed after a 408 or
413, so the rest of a refused body is never taken for the client's next request.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests
from conftest import COMMON_NS, Server, auth_header, envelope, server_on_its_own
from lxml import etree

ATTACKERS = 8
HEAD_SECONDS = 1.0
BODY_SECONDS = 2.0


@pytest.fixture(scope="module")
def narrow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with server_on_its_own(
        tmp_path_factory,
        "narrow",
        IPS_THREADS="2",
        IPS_HEADER_TIMEOUT=str(HEAD_SECONDS),
        IPS_BODY_TIMEOUT=str(BODY_SECONDS),
    ) as running:
        yield running


def _address(server: Server) -> tuple[str, int]:
    host, port = server.base_url.removeprefix("http://").split(":")
    return host, int(port)


class Attackers:
    """`count` threads each running `attack(socket, stop)` on a connection of its own."""

    def __init__(self, server: Server, attack: Callable[[socket.socket, threading.Event], None]):
        self.address = _address(server)
        self.attack = attack
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(ATTACKERS)]

    def _run(self) -> None:
        with (
            socket.create_connection(self.address, timeout=10) as sock,
            contextlib.suppress(OSError),
        ):
            self.attack(sock, self.stop)

    def __enter__(self) -> Attackers:
        for thread in self.threads:
            thread.start()
        time.sleep(0.3)  # every attacker has connected and begun
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)


def _soap_call_answers(server: Server) -> float:
    """Seconds a real SOAP call (getJobLogs of the demo company) took; fails past 5 s."""
    body = envelope(
        '<getJobLogsParam xmlns="http://www.scene7.com/IpsApi/xsd/2022-11-01-beta">'
        "<companyHandle>c|1</companyHandle></getJobLogsParam>",
        auth_header("demo@example.com", "demo"),
    )
    started = time.monotonic()
    reply = requests.post(
        server.service_url, data=body, headers={"Content-Type": "text/xml"}, timeout=5
    )
    assert reply.status_code == 200, reply.content
    return time.monotonic() - started


def _exchange(server: Server, data: bytes, timeout: float = 15) -> tuple[bytes, float]:
    """Sends `data` on a fresh connection and reads until the server closes it: (all that
    came back, seconds until the close)."""
    started = time.monotonic()
    with socket.create_connection(_address(server), timeout=timeout) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer, time.monotonic() - started


def _trickle(data: bytes, pause: float) -> Callable[[socket.socket, threading.Event], None]:
    def attack(sock: socket.socket, stop: threading.Event) -> None:
        for byte in data:
            if stop.is_set():
                return
            sock.sendall(bytes([byte]))
            stop.wait(pause)

    return attack


SLOW_HEAD = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
SUBMIT_HEAD = (
    b"POST /scene7/services/IpsApiService HTTP/1.1\r\nHost: x\r\n"
    b"Content-Type: text/xml\r\nContent-Length: 100000\r\n\r\n"
)


def test_requests_are_answered_while_heads_arrive_a_byte_at_a_time(narrow: Server) -> None:
    with Attackers(narrow, _trickle(SLOW_HEAD, 0.2)):
        for _ in range(3):
            assert _soap_call_answers(narrow) < 2


def test_requests_are_answered_while_bodies_trickle_in(narrow: Server) -> None:
    def attack(sock: socket.socket, stop: threading.Event) -> None:
        sock.sendall(SUBMIT_HEAD)
        _trickle(b"<" * 100000, 0.1)(sock, stop)

    with Attackers(narrow, attack):
        for _ in range(3):
            assert _soap_call_answers(narrow) < 2


def test_requests_are_answered_while_answers_go_unread(narrow: Server) -> None:
    pipelined = b"GET /scene7/services/IpsApiService?wsdl HTTP/1.1\r\nHost: x\r\n\r\n" * 20

    def attack(sock: socket.socket, stop: threading.Event) -> None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        while not stop.is_set():
            sock.sendall(pipelined)
            stop.wait(0.05)

    with Attackers(narrow, attack):
        for _ in range(3):
            assert _soap_call_answers(narrow) < 2


def test_a_head_late_as_a_whole_gets_408_and_the_connection_is_closed(narrow: Server) -> None:
    """Each byte comes well within the deadline; the whole head does not."""
    address = _address(narrow)
    started = time.monotonic()
    with socket.create_connection(address, timeout=15) as sock:
        answer = b""
        for byte in SLOW_HEAD:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.05)
            if time.monotonic() - started > HEAD_SECONDS + 1:
                break
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"text/plain" in answer and b"connection: close" in answer.lower()
    assert HEAD_SECONDS <= time.monotonic() - started < HEAD_SECONDS + 3


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(narrow: Server) -> None:
    with socket.create_connection(_address(narrow), timeout=15) as sock:
        started = time.monotonic()
        assert sock.recv(100) == b""
    assert HEAD_SECONDS <= time.monotonic() - started < HEAD_SECONDS + 3


def test_a_body_trickled_past_the_deadline_is_a_408_fault_and_the_connection_closes(
    narrow: Server,
) -> None:
    """A byte every 0.1 s never lets a single read wait long: the deadline is for the whole
    body. The bytes sent after the answer are not read as a next request."""
    started = time.monotonic()
    with socket.create_connection(_address(narrow), timeout=15) as sock:
        sock.sendall(SUBMIT_HEAD)
        answer = b""
        sock.settimeout(0.1)
        give_up = started + BODY_SECONDS + 5
        while not answer.endswith(b"</soapenv:Envelope>") and time.monotonic() < give_up:
            try:
                sock.sendall(b"<")
            except OSError:
                break
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                break
            answer += chunk
        sock.settimeout(5)
        while chunk := sock.recv(65536):
            answer += chunk
    seconds = time.monotonic() - started
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer
    assert b"connection: close" in head.lower()
    root = etree.fromstring(body)
    assert root.findtext(f".//{{{COMMON_NS}}}code") == "30003"
    assert BODY_SECONDS <= seconds < BODY_SECONDS + 3


def test_an_oversized_head_is_a_431_text(narrow: Server) -> None:
    head = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"b" * 200_000 + b"\r\n\r\n"
    answer, _ = _exchange(narrow, head)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert b"text/plain" in answer and b"<html" not in answer.lower()


@pytest.mark.parametrize(
    "request_line",
    [b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x16\x03\x01\x02\x00 not http\r\n\r\n"],
)
def test_malformed_http_gets_a_short_text_answer(narrow: Server, request_line: bytes) -> None:
    answer, seconds = _exchange(narrow, request_line)
    status, _, rest = answer.partition(b"\r\n")
    assert status.startswith(b"HTTP/1.1 400"), answer
    assert b"text/plain" in rest and b"<html" not in rest.lower()
    assert len(answer) < 500
    assert seconds < 2


def test_a_client_that_half_closes_after_its_request_gets_the_answer(narrow: Server) -> None:
    """`nc -N` and clients that shut their sending side once the request is out."""
    with socket.create_connection(_address(narrow), timeout=15) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert b"ips-jobs" in answer
