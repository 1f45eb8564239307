"""Does a server keep answering while slow or hostile clients hold connections?

    python benchmarks/slow_clients.py --port 8080 [--clients 16] [--seconds 8]

For each attack, `--clients` connections attack at once while a probe asks for `GET /` (the
short page that lists the endpoints) every 0.1 s, a fresh connection each time with a 2 s
timeout; the line printed is how many probes were answered and their median latency:

- slow_headers: request headers sent one byte a second;
- trickle_body: a POST whose Content-Length promises 100,000 bytes, sent a byte every 0.5 s;
- unread: keep-alive connections pipelining WSDL requests and never reading the answers;
- malformed: connections sending a TLS handshake instead of HTTP, each attacker 20 a second
  (faster, a server that answers at once leaves the probe no free local port: TIME_WAIT).

Point it at `ips-jobs serve`, or at benchmarks/granian_bridge.py under granian or uvicorn.
Everything stays on the machine; each attack is bounded.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import threading
import time
from collections.abc import Callable

PROBE = b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"


class Attack:
    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)
        self.stop = threading.Event()
        self.sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def connect(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=5)
        with self._lock:
            self.sockets.append(sock)
        return sock

    def slow_headers(self) -> None:
        sock = self.connect()
        for byte in b"GET / HTTP/1.1\r\nHost: bench\r\nX-Slow: " + b"a" * 1000:
            if self.stop.is_set() or not self._send(sock, bytes([byte])):
                return
            self.stop.wait(1)

    def trickle_body(self) -> None:
        sock = self.connect()
        head = (
            b"POST /scene7/services/IpsApiService HTTP/1.1\r\nHost: bench\r\n"
            b"Content-Type: text/xml\r\nContent-Length: 100000\r\n\r\n"
        )
        self._send(sock, head)
        while not self.stop.is_set() and self._send(sock, b"<"):
            self.stop.wait(0.5)

    def unread(self) -> None:
        sock = self.connect()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        requests = b"GET /scene7/services/IpsApiService?wsdl HTTP/1.1\r\nHost: bench\r\n\r\n" * 20
        while not self.stop.is_set() and self._send(sock, requests):
            self.stop.wait(0.05)

    def malformed(self) -> None:
        while not self.stop.is_set():
            try:
                with socket.create_connection(self.address, timeout=2) as sock:
                    sock.sendall(b"\x16\x03\x01\x02\x00 not http \r\n\r\n")
                    sock.recv(100)
            except OSError:
                pass
            self.stop.wait(0.05)

    def close(self) -> None:
        self.stop.set()
        with self._lock:
            for sock in self.sockets:
                sock.close()

    @staticmethod
    def _send(sock: socket.socket, data: bytes) -> bool:
        try:
            sock.sendall(data)
        except OSError:
            return False
        return True


def probe(address: tuple[str, int], seconds: float) -> tuple[int, int, float | None]:
    """(answered, asked, median latency in ms) of probes over `seconds`."""
    answered, asked, latencies = 0, 0, []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        asked += 1
        started = time.monotonic()
        try:
            with socket.create_connection(address, timeout=2) as sock:
                sock.settimeout(2)
                sock.sendall(PROBE)
                reply = b""
                while chunk := sock.recv(65536):
                    reply += chunk
            if reply.startswith(b"HTTP/1.1 200"):
                answered += 1
                latencies.append((time.monotonic() - started) * 1000)
        except OSError:
            pass
        time.sleep(0.1)
    return answered, asked, statistics.median(latencies) if latencies else None


def run(host: str, port: int, clients: int, seconds: float) -> None:
    for name in ("slow_headers", "trickle_body", "unread", "malformed"):
        attack = Attack(host, port)
        target: Callable[[], None] = getattr(attack, name)
        threads = [threading.Thread(target=target, daemon=True) for _ in range(clients)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        answered, asked, median = probe((host, port), seconds)
        attack.close()
        shown = "-" if median is None else f"{median:.1f} ms"
        print(f"{name:14} {answered:4}/{asked:<4} probes answered, median {shown}", flush=True)
        time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clients", type=int, default=16, help="attacking connections")
    parser.add_argument("--seconds", type=float, default=8.0, help="probing time per attack")
    args = parser.parse_args()
    run(args.host, args.port, args.clients, args.seconds)


if __name__ == "__main__":
    main()
