"""searchAssets of one folder over HTTP, with 1,000 assets stored and with 100,000: an index
answers both alike, a scan would not. Target (printed PASS/MISS): the larger within 2x.

    python benchmarks/search_assets.py [--small 1000] [--large 100000] [--calls 200]

For each size: a fresh SQLite database (migrated, the demo account), a folder with that many
Image assets inserted in bulk (one Core insert, not through uploads), `ips-jobs serve` on it
without an engine, then --calls searchAssets of that folder (recordsPerPage 100, the first
page, totalRows counted) over one keep-alive connection after 20 to warm up. Prints the
median and p95 per call for each size, and their ratio. The two sizes are measured in turn,
then again in the other order, so that a machine slowing down shows.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import requests
from lxml import etree
from sqlalchemy import create_engine, insert, select

from ips_jobs import app
from ips_jobs.config import Settings
from ips_jobs.store.tables import assets, companies, folders

NS = "http://www.scene7.com/IpsApi/xsd/2014-04-03"
TARGET_RATIO = 2.0
FOLDER = "bench/"


def prepared(size: int, folder: Path) -> str:
    """A migrated database with `size` assets in the demo company's folder bench/."""
    url = f"sqlite:///{folder / f'search-{size}.db'}"
    app.prepare(replace(Settings(), database_url=url))  # migrated, with the demo account
    engine = create_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as c:
        company_id, root = c.execute(select(companies.c.id, companies.c.root_path)).first()
        root_id = c.execute(
            select(folders.c.id).where(folders.c.company_id == company_id)
        ).scalar_one()
        folder_id = c.execute(
            insert(folders)
            .values(
                company_id=company_id,
                parent_id=root_id,
                path=root + FOLDER,
                created_at=now,
                modified_at=now,
                child_modified_at=now,
            )
            .returning(folders.c.id)
        ).scalar_one()
        rows = [
            {
                "company_id": company_id,
                "folder_id": folder_id,
                "name": f"asset-{n:06d}",
                "type": "Image",
                "file_name": f"asset-{n:06d}.jpg",
                "ready_for_publish": False,
                "trash_state": "NotInTrash",
                "created_at": now,
                "created_by": "bench@example.com",
                "modified_at": now,
                "modified_by": "bench@example.com",
                "file_size": 1000 + n,
                "width": 100,
                "height": 100,
                "info": {},
            }
            for n in range(size)
        ]
        for start in range(0, size, 10_000):
            c.execute(insert(assets), rows[start : start + 10_000])
    engine.dispose()
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def envelope() -> bytes:
    return (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soapenv:Header><authHeader xmlns="http://www.scene7.com/IpsApi/xsd">'
        "<user>demo@example.com</user><password>demo</password></authHeader></soapenv:Header>"
        f'<soapenv:Body><searchAssetsParam xmlns="{NS}"><companyHandle>c|1</companyHandle>'
        f"<folder>{FOLDER}</folder><includeSubfolders>false</includeSubfolders>"
        "<recordsPerPage>100</recordsPerPage><resultsPage>1</resultsPage>"
        "</searchAssetsParam></soapenv:Body></soapenv:Envelope>"
    ).encode()


def measure(url: str, size: int, calls: int, folder: Path) -> list[float]:
    """Seconds per searchAssets call against a server on `url`."""
    port = free_port()
    log = (folder / f"serve-{size}.log").open("wb")
    command = [sys.executable, "-m", "ips_jobs", "serve", "--database-url", url]
    command += ["--port", str(port), "--no-engine", "--workers", "1", "--log-level", "warning"]
    server = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}/scene7/services/IpsApiService"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("serve did not answer") from None
                time.sleep(0.2)
        body, headers = envelope(), {"Content-Type": "text/xml"}
        seconds = []
        with requests.Session() as session:
            for n in range(calls + 20):
                started = time.perf_counter()
                reply = session.post(base, data=body, headers=headers, timeout=60)
                elapsed = time.perf_counter() - started
                root = etree.fromstring(reply.content)
                total = root.findtext(f".//{{{NS}}}totalRows")
                if reply.status_code != 200 or total != str(size):
                    raise RuntimeError(f"unexpected answer: {reply.content[:300]!r}")
                if n >= 20:
                    seconds.append(elapsed)
        return seconds
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ips-search-") as name:
        folder = Path(name)
        urls = {size: prepared(size, folder) for size in (args.small, args.large)}
        results: dict[int, list[float]] = {args.small: [], args.large: []}
        for order in ((args.small, args.large), (args.large, args.small)):
            for size in order:
                results[size] += measure(urls[size], size, args.calls, folder)
        medians = {size: statistics.median(s) * 1000 for size, s in results.items()}
        for size, seconds in results.items():
            p95 = statistics.quantiles(seconds, n=20)[-1] * 1000
            print(f"{size:>8} assets: median {medians[size]:.2f} ms, p95 {p95:.2f} ms")
        ratio = medians[args.large] / medians[args.small]
        verdict = "PASS" if ratio <= TARGET_RATIO else "MISS"
        print(f"ratio {ratio:.2f} (target <= {TARGET_RATIO:g}): {verdict}")


if __name__ == "__main__":
    main()
