"""Memory stays bounded: send many SOAP requests with the request journal on and watch the
peak RSS of every server process.

    python benchmarks/memory_soak.py [--requests 200000] [--clients 8] [--journal-size 1000]

Starts `python -m ips_jobs serve` (fresh SQLite file, the job engine on with zero-length runs,
the journal on), then sends --requests requests over --clients keep-alive connections: a mix
of submitJob, getScheduledJobs, getActiveJobs and getJobLogs (every 4th is a submitJob, so the
engine runs a quarter of them). Every 2 s it samples VmRSS of the master, the workers and the
engine; at the end it prints each process's peak (VmHWM), the request rate, and the journal's
row count (bounded by --journal-size). Target: every process under 300 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

SERVICE_PATH = "/scene7/services/IpsApiService"
HEADER = (
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header>'
    '<authHeader xmlns="http://www.scene7.com/IpsApi/xsd"><user>demo@example.com</user>'
    "<password>demo</password></authHeader></soapenv:Header><soapenv:Body>"
)
NS = "http://www.scene7.com/IpsApi/xsd/2014-04-03"
TARGET_MB = 300


def body(n: int, client: int) -> bytes:
    kind = n % 4
    if kind == 0:
        inner = (
            f'<submitJobParam xmlns="{NS}"><companyHandle>c|1</companyHandle>'
            f"<jobName>soak-{client}-{n}</jobName><imageServingPublishJob>"
            "<publishType>Full</publishType><emailSetting>None</emailSetting>"
            "</imageServingPublishJob></submitJobParam>"
        )
    elif kind == 1:
        inner = (
            f'<getScheduledJobsParam xmlns="{NS}"><jobHandle>j|1|soak-{client}-0||</jobHandle>'
            "</getScheduledJobsParam>"
        )
    elif kind == 2:
        inner = (
            f'<getActiveJobsParam xmlns="{NS}"><companyHandle>c|1</companyHandle>'
            "</getActiveJobsParam>"
        )
    else:
        inner = (
            f'<getJobLogsParam xmlns="{NS}"><companyHandle>c|1</companyHandle>'
            "<numRows>10</numRows></getJobLogsParam>"
        )
    return (HEADER + inner + "</soapenv:Body></soapenv:Envelope>").encode()


def client_process(port: int, ids: list[int], per_client: int, errors: mp.Value) -> None:
    def run(client: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for n in range(per_client):
            conn.request("POST", SERVICE_PATH, body(n, client), {"Content-Type": "text/xml"})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                with errors.get_lock():
                    errors.value += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def tree(pid: int) -> list[int]:
    found = [pid]
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        found += tree(int(child))
    return found


def status(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])  # kB
    return 0


def label(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")[:60]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--journal-size", type=int, default=1000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "IPS_RUN_SECONDS": "0",
        "IPS_LOG_LEVEL": "warning",
        "IPS_JOURNAL_SIZE": str(args.journal_size),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ips_jobs",
            "serve",
            "--port",
            str(port),
            "--database-url",
            f"sqlite:///{folder / 'soak.db'}",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    peaks: dict[int, tuple[str, int]] = {}
    try:
        for _ in range(300):
            try:
                if requests.get(base + "/_ips/health", timeout=1).json()["engine"]["running"]:
                    break
            except (requests.ConnectionError, ValueError, KeyError):
                pass
            time.sleep(0.1)
        errors = mp.Value("i", 0)
        per_client = args.requests // args.clients
        procs = [
            mp.Process(
                target=client_process,
                args=(port, list(range(p, args.clients, 2)), per_client, errors),
            )
            for p in range(2)
        ]
        started = time.monotonic()
        for proc in procs:
            proc.start()
        while any(proc.is_alive() for proc in procs):
            for pid in tree(server.pid):
                with contextlib.suppress(FileNotFoundError):
                    peak = max(peaks.get(pid, ("", 0))[1], status(pid, "VmHWM"))
                    peaks[pid] = (label(pid), peak)
            done = time.monotonic() - started
            print(f"\r{done:6.0f} s", end="", flush=True)
            time.sleep(2)
        elapsed = time.monotonic() - started
        sent = per_client * args.clients
        journal = requests.get(base + "/_ips/requests?limit=10000", timeout=30).json()
        print(
            f"\nsent {sent} requests in {elapsed:.0f} s ({sent / elapsed:.0f} req/s), "
            f"{errors.value} errors; journal holds {len(journal)} entries "
            f"(limit {args.journal_size})"
        )
        print("peak RSS (VmHWM) per server process:")
        worst = 0
        for pid, (name, kb) in sorted(peaks.items()):
            worst = max(worst, kb)
            print(f"  {pid:>7}  {kb / 1024:7.1f} MB  {name}")
        print(
            f"largest: {worst / 1024:.1f} MB; "
            f"sum: {sum(kb for _, kb in peaks.values()) / 1024:.1f} MB"
            f" -> {'PASS' if worst / 1024 < TARGET_MB else 'MISS'} (each < {TARGET_MB} MB)"
        )
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
