"""How long an uploadUrlsJob of local files takes, end to end.

    python benchmarks/uploads.py [--files 100] [--size 512]

Starts `ips-jobs serve --ephemeral` (runs end as soon as their work is done: IPS_RUN_SECONDS
0) with a server directory holding --files PNG images of --size x --size random pixels (about
0.8 MB each at 512), submits one uploadUrlsJob naming them all as file: URLs (as the demo
user), and waits until getJobLogs shows the run ended. Prints the seconds from the submit to
the end and checks that every file became an asset (fileSuccessCount). Target (printed
PASS/MISS): under 10 s for 100 files.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from lxml import etree
from PIL import Image

NS = "http://www.scene7.com/IpsApi/xsd/2014-04-03"
TARGET_SECONDS = 10.0


def soap(base: str, operation: str, inner: str) -> etree._Element:
    body = (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soapenv:Header><authHeader xmlns="http://www.scene7.com/IpsApi/xsd">'
        "<user>demo@example.com</user><password>demo</password><appName>bench</appName>"
        "<appVersion>1</appVersion></authHeader></soapenv:Header><soapenv:Body>"
        f'<{operation}Param xmlns="{NS}">{inner}</{operation}Param>'
        "</soapenv:Body></soapenv:Envelope>"
    )
    reply = requests.post(
        f"{base}/scene7/services/IpsApiService",
        data=body.encode(),
        headers={"Content-Type": "text/xml; charset=UTF-8"},
        timeout=60,
    )
    reply.raise_for_status()
    return etree.fromstring(reply.content)


def images(folder: Path, count: int, size: int) -> list[Path]:
    paths = []
    for n in range(count):
        path = folder / f"image-{n:04d}.png"
        Image.frombytes("RGB", (size, size), os.urandom(size * size * 3)).save(path)
        paths.append(path)
    return paths


def serve(folder: Path, server_directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {
        **os.environ,
        "IPS_SERVER_DIRECTORY": str(server_directory),
        "IPS_RUN_SECONDS": "0",
        "IPS_POLL_SECONDS": "0.05",
        "IPS_LOG_LEVEL": "warning",
    }
    port_file = folder / "port"
    command = [sys.executable, "-m", "ips_jobs", "serve", "--ephemeral", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--port-file", str(port_file), "--workers", "1"], env=env, cwd=folder
    )
    deadline = time.monotonic() + 60
    while not port_file.is_file():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("ips-jobs serve did not start")
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port_file.read_text().strip()}"
    while requests.get(f"{base}/_ips/health", timeout=5).status_code != 200:
        time.sleep(0.05)
    return process, base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ips-bench-uploads-") as temporary:
        folder = Path(temporary)
        (folder / "in").mkdir()
        paths = images(folder / "in", args.files, args.size)
        total_bytes = sum(p.stat().st_size for p in paths)
        process, base = serve(folder, folder / "in")
        try:
            items = "".join(
                f"<items><sourceUrl>{p.as_uri()}</sourceUrl>"
                f"<destPath>bench/{p.name}</destPath></items>"
                for p in paths
            )
            started = time.monotonic()
            soap(
                base,
                "submitJob",
                "<companyHandle>c|1</companyHandle><jobName>bench</jobName>"
                f"<uploadUrlsJob><urlArray>{items}</urlArray><overwrite>true</overwrite>"
                "<readyForPublish>true</readyForPublish><createMask>false</createMask>"
                "<emailSetting>None</emailSetting></uploadUrlsJob>",
            )
            while True:
                logs = soap(base, "getJobLogs", "<companyHandle>c|1</companyHandle>")
                ended = logs.find(f".//{{{NS}}}endDate")
                if ended is not None:
                    break
                time.sleep(0.02)
            seconds = time.monotonic() - started
            succeeded = int(logs.findtext(f".//{{{NS}}}fileSuccessCount") or 0)
        finally:
            process.terminate()
            process.wait(timeout=60)
    verdict = "PASS" if seconds < TARGET_SECONDS and succeeded == args.files else "MISS"
    print(
        f"uploadUrlsJob of {args.files} file: URLs ({total_bytes / 1e6:.1f} MB): "
        f"{seconds:.2f} s, {succeeded} assets made; target < {TARGET_SECONDS:g} s: {verdict}"
    )


if __name__ == "__main__":
    main()
