"""`ips-jobs serve --log-format json`: every line on stderr (gunicorn's, the app's, the
engine process's) is one JSON object, and a SOAP call leaves its request log line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import requests
from conftest import SERVICE_PATH, envelope, free_port, wait_for

SUBMIT = (
    '<submitJobParam xmlns="http://www.scene7.com/IpsApi/xsd/2014-04-03">'
    "<companyHandle>c|1</companyHandle><jobName>json logs</jobName>"
    "<imageServingPublishJob><publishType>Full</publishType>"
    "<emailSetting>None</emailSetting></imageServingPublishJob></submitJobParam>"
)
DEMO_AUTH = (
    '<authHeader xmlns="http://www.scene7.com/IpsApi/xsd"><user>demo@example.com</user>'
    "<password>demo</password><appName>tests</appName><appVersion>1</appVersion></authHeader>"
)


def wait_until_up(process: subprocess.Popen[bytes], url: str, stderr: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, f"serve exited early:\n{stderr.read_text()}"
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.05)
    raise AssertionError(f"serve did not answer within 60 s:\n{stderr.read_text()}")


def test_serve_with_json_logs_writes_only_json_lines(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPS_")}
    command = [
        sys.executable,
        "-m",
        "ips_jobs",
        "serve",
        "--log-format",
        "json",
        "--port",
        str(port),
        "--database-url",
        f"sqlite:///{tmp_path / 'ips.db'}",
        "--workers",
        "1",
        "--run-seconds",
        "0",
    ]
    stdout_path, stderr_path = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            command, stdout=out, stderr=err, env=env, cwd=tmp_path, start_new_session=True
        )
        try:
            wait_until_up(process, f"http://127.0.0.1:{port}/", stderr_path)
            reply = requests.post(
                f"http://127.0.0.1:{port}{SERVICE_PATH}",
                data=envelope(SUBMIT, DEMO_AUTH),
                headers={"Content-Type": "text/xml; charset=UTF-8"},
                timeout=30,
            )
            assert reply.status_code == 200, reply.text
            assert b"<jobHandle>" in reply.content
            # The engine process (started beside gunicorn) runs the job and logs it.
            wait_for(lambda: '"run 1 (json logs_' in stderr_path.read_text(), timeout=30)
        finally:
            process.terminate()
            process.wait(timeout=30)

    lines = [line for line in stderr_path.read_text().splitlines() if line.strip()]
    assert lines, "nothing logged"
    entries = []
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
        assert isinstance(entry, dict), line
        assert {"time", "level", "logger", "message"} <= entry.keys(), line
        assert datetime.fromisoformat(entry["time"].replace("Z", "+00:00")).utcoffset() is not None
        entries.append(entry)

    loggers = {entry["logger"] for entry in entries}
    assert "gunicorn.error" in loggers  # gunicorn's own log is JSON too
    assert "ips_jobs.engine" in loggers  # and so is the engine process's
    requests_logged = [
        entry
        for entry in entries
        if entry["logger"] == "ips_jobs.requests"
        and entry["message"].startswith("submitJob by demo@example.com: ok")
    ]
    assert len(requests_logged) == 1, lines
    assert requests_logged[0]["level"] == "INFO"
