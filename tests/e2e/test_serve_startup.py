"""`ips-jobs serve` as a script starts it: a port of its choosing written to a file, a
throwaway database, one log format, and start-up errors that are one line naming the cause."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
import requests
from conftest import SERVICE_PATH, Served, auth_header, envelope, serving, user_env

SUBMIT = (
    '<submitJobParam xmlns="http://www.scene7.com/IpsApi/xsd/2014-04-03">'
    "<companyHandle>c|1</companyHandle><jobName>startup</jobName>"
    "<imageServingPublishJob><publishType>Full</publishType>"
    "<emailSetting>None</emailSetting></imageServingPublishJob></submitJobParam>"
)
#: One line of our text log: "2026-12-04 22:24:40,312 INFO ips_jobs.server: ..."
TEXT_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) \S+: ")


def serve(work: Path, *args: str) -> AbstractContextManager[Served]:
    """`serve --port 0 --port-file p ARGS` run in `work`, logging beside it."""
    command = [sys.executable, "-m", "ips_jobs", "serve", "--port", "0", "--port-file", "p"]
    return serving([*command, *args], work, work.parent / "serve.log", IPS_WORKERS="1")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """An empty working folder (the server's log goes beside it)."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def submit(base: str) -> str:
    answer = requests.post(
        base + SERVICE_PATH,
        data=envelope(SUBMIT, auth_header("demo@example.com", "demo")),
        headers={"Content-Type": "text/xml"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.text


@pytest.mark.parametrize("how", [["--ephemeral"], ["--database-url", "sqlite://"]])
def test_an_ephemeral_server_leaves_nothing_behind(work: Path, how: list[str]) -> None:
    with serve(work, *how) as served:
        assert "<jobHandle>j|1|startup||</jobHandle>" in submit(served.base_url)
    assert served.process.returncode == 0, served.log()
    assert list(work.iterdir()) == []
    (folder,) = re.findall(r"ephemeral database sqlite:///(\S+)/ips-jobs\.db", served.log())
    assert not Path(folder).exists()


def test_the_ready_line_and_the_root_page_point_to_the_endpoints(work: Path) -> None:
    with serve(work, "--ephemeral") as served:
        base = served.base_url
        page = requests.get(base + "/", timeout=5).text
    ready = [line for line in served.log().splitlines() if "ips-jobs ready:" in line]
    assert ready and f"{base}{SERVICE_PATH}" in ready[0] and f"dashboard {base}/_ips/" in ready[0]
    assert f"{base}{SERVICE_PATH}?wsdl" in page
    assert f"{base}/_ips/" in page


def test_text_logs_are_one_format_without_alembic_chatter(work: Path) -> None:
    with serve(work, "--ephemeral") as served:
        submit(served.base_url)
    lines = served.log().splitlines()
    assert any("gunicorn.error: Booting worker" in line for line in lines)
    assert [line for line in lines if not TEXT_LINE.match(line)] == []
    assert not [line for line in lines if "alembic" in line]
    assert any("migrating the database from empty to " in line for line in lines)


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (
            ["serve", "--database-url", "sqlite:///missing/ips.db"],
            {},
            "cannot open the SQLite database {work}/missing/ips.db: the folder {work}/missing "
            "does not exist",
        ),
        (["db", "upgrade", "--database-url", "sqlite://"], {}, "--database-url: an in-memory"),
        (["worker"], {"IPS_DATABASE_URL": "sqlite:///:memory:"}, "IPS_DATABASE_URL: an in-memory"),
        (["companies", "list"], {"IPS_EPHEMERAL": "true"}, "IPS_EPHEMERAL: only `ips-jobs serve`"),
        (["serve", "--port", "65536"], {}, "--port: 65536 is not a TCP port"),
        (["serve"], {"IPS_RUN_SECONDS_BY_TYPE": "Upload=1"}, "IPS_RUN_SECONDS_BY_TYPE: unknown"),
    ],
)
def test_a_bad_setting_is_one_line_naming_how_it_was_given(
    work: Path, args: list[str], env: dict[str, str], expected: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ips_jobs", *args],
        cwd=work,
        env=user_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: {expected.format(work=work)}")
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("token", ["", "s3cret"])
def test_listening_beyond_loopback_without_a_token_is_warned_about(work: Path, token: str) -> None:
    args = ["--ephemeral", "--host", "0.0.0.0", *(["--control-token", token] if token else [])]
    with serve(work, *args):
        pass
    warnings = [line for line in served_log(work) if "IPS_CONTROL_TOKEN" in line]
    if token:
        assert warnings == []
    else:
        assert len(warnings) == 1 and " WARNING ips_jobs.server: " in warnings[0]
        assert "open to anyone who can reach every address" not in warnings[0]
        assert "0.0.0.0" in warnings[0]


def served_log(work: Path) -> list[str]:
    return (work.parent / "serve.log").read_text().splitlines()


def test_sighup_keeps_serving(work: Path) -> None:
    """gunicorn reloads its configuration on SIGHUP (logrotate, operators): the listening
    socket handed to it at start must survive that."""
    with serve(work, "--ephemeral") as served:
        served.process.send_signal(signal.SIGHUP)
        time.sleep(2)
        assert served.process.poll() is None, served.log()
        assert requests.get(served.base_url + "/", timeout=5).status_code == 200
    assert served.process.returncode == 0, served.log()
