"""submitJob throughput of ips-jobs against the contenders the serving-layer issue names, in
one run, interleaved and repeated (this machine swings 2x between runs: read the ratios).

    python benchmarks/contenders.py [--rounds 3] [--duration 5] [--connections 8]

Contenders, each started here the same way (2 workers, 8 threads, where that applies):
- ips-jobs: `python -m ips_jobs serve --ephemeral` as a user starts it (engine on, demo
  account); each submitJob has a unique name and an execTime a year ahead, so what is
  measured is the durable submit itself, not the runs it would start;
- durable floor: benchmarks/bare_durable_handler.py (parse, one committed SQLite row, fixed
  answer) under the same arbiter, worker class and bridge as ips-jobs;
- bare floor: benchmarks/bare_handler.py (parse, fixed answer), same server;
- node soap: benchmarks/node_stub/server.js, the npm `soap` package's server answering
  submitJob with a handle (NODE_PATH: tests/clients/node/node_modules, which `npm ci
  --prefix tests/clients/node` installs).
Load: wrk (Debian's package), one thread, --connections keep-alive connections, a Lua
script that gives every request a unique jobName; answers other than 200 are counted.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICE = "/scene7/services/IpsApiService"
NS = "http://www.scene7.com/IpsApi/xsd/2022-11-01-beta"

LUA = r"""
local counter = 0
local prefix = [[PREFIX]]
local suffix = [[SUFFIX]]
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml; charset=UTF-8"
local id = "0"
init = function(args) id = args[1] end
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, prefix .. id .. "-" .. counter .. suffix)
end
done = function(summary, latency, requests)
  io.write(string.format("p50 %.3f p99 %.3f\n", latency:percentile(50) / 1000,
    latency:percentile(99) / 1000))
end
"""


def envelope_parts() -> tuple[str, str]:
    """The submitJob envelope around its jobName, as a user of the demo account sends it."""
    prefix = (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soapenv:Header><authHeader xmlns="http://www.scene7.com/IpsApi/xsd">'
        "<user>demo@example.com</user><password>demo</password></authHeader></soapenv:Header>"
        f'<soapenv:Body><submitJobParam xmlns="{NS}"><companyHandle>c|1</companyHandle>'
        "<jobName>bench-"
    )
    suffix = (
        "</jobName><execTime>2099-01-01T00:00:00Z</execTime>"
        "<imageServingPublishJob><publishType>Full</publishType><emailSetting>None"
        "</emailSetting></imageServingPublishJob></submitJobParam></soapenv:Body>"
        "</soapenv:Envelope>"
    )
    return prefix, suffix


@dataclass
class Contender:
    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    rates: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    errors: int = 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(contender: Contender, log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            contender.command,
            env={**os.environ, **contender.env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=ROOT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{contender.name} exited:\n{log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{contender.port}/", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{contender.name} did not answer within 60 s") from None
                time.sleep(0.2)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wrk(port: int, script: Path, seconds: float, connections: int) -> tuple[float, float, int]:
    """(requests/s, p99 ms, answers other than 200) of one wrk run."""
    url = f"http://127.0.0.1:{port}{SERVICE}"
    unique = f"{time.time_ns()}"  # every run's jobNames are new: names must not repeat
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "-s", str(script), url, unique],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p99 = float(re.search(r"p99 ([\d.]+)", out)[1])  # type: ignore[index]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, p99, int(bad[1]) if bad else 0


def contenders(python: str, folder: Path) -> list[Contender]:
    node_modules = ROOT / "tests/clients/node/node_modules"
    floor_db = folder / "floor.db"
    sys.path.insert(0, str(ROOT))
    from benchmarks import bare_durable_handler

    bare_durable_handler.create(str(floor_db))
    gunicorn = [python, "-m", "gunicorn", "-k", "ips_jobs.server.HttpWorker", "-w", "2"]
    gunicorn += ["--keep-alive", "30", "--log-level", "warning", "-b"]
    found = [
        Contender("ips-jobs", [python, "-m", "ips_jobs", "serve", "--ephemeral"]),
        Contender("durable floor", gunicorn, {"BARE_DATABASE": str(floor_db)}),
        Contender("bare floor", gunicorn[:]),
        Contender(
            "node soap",
            ["node", str(ROOT / "benchmarks/node_stub/server.js")],
            {"NODE_PATH": str(node_modules)},
        ),
    ]
    for contender in found:
        contender.port = free_port()
        if contender.name == "ips-jobs":
            contender.command += ["--port", str(contender.port), "--log-level", "warning"]
        elif contender.name == "node soap":
            contender.command.append(str(contender.port))
        else:
            app = "bare_durable_handler" if "durable" in contender.name else "bare_handler"
            contender.command += [f"127.0.0.1:{contender.port}", f"benchmarks.{app}:asgi"]
    if not (node_modules / "soap").is_dir():
        print("node soap: skipped (run `npm ci --prefix tests/clients/node`)", flush=True)
        found.pop()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")
    folder = Path(tempfile.mkdtemp(prefix="ips-contenders-"))
    prefix, suffix = envelope_parts()
    script = folder / "submit.lua"
    script.write_text(LUA.replace("PREFIX", prefix).replace("SUFFIX", suffix))
    found = contenders(args.python, folder)
    with ExitStack() as stack:
        for contender in found:
            stack.enter_context(running(contender, folder / f"{contender.port}.log"))
        for round_ in range(args.rounds):
            order = found if round_ % 2 == 0 else found[::-1]
            for contender in order:
                wrk(contender.port, script, args.warmup, args.connections)
                rate, p99, bad = wrk(contender.port, script, args.duration, args.connections)
                contender.rates.append(rate)
                contender.p99.append(p99)
                contender.errors += bad
                print(f"round {round_ + 1} {contender.name:14} {rate:8.0f} req/s  "
                      f"p99 {p99:6.1f} ms  non-200 {bad}", flush=True)  # fmt: skip
    ips = found[0]
    print("\nmedian of rounds; ratio: ips-jobs / contender, per round then median")
    for contender in found:
        ratios = [a / b for a, b in zip(ips.rates, contender.rates, strict=True)]
        print(
            f"{contender.name:14} {statistics.median(contender.rates):8.0f} req/s  "
            f"p99 {statistics.median(contender.p99):6.1f} ms  "
            f"ips-jobs/it {statistics.median(ratios):5.2f} "
            f"({', '.join(f'{r:.2f}' for r in ratios)})  non-200 {contender.errors}"
        )
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
