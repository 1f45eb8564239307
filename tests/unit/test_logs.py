"""The log formats: text as before, json one object per line with the record's extra fields."""

from __future__ import annotations

import json
import logging
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest

from ips_jobs import logs
from ips_jobs.config import Settings
from ips_jobs.errors import ConfigError


@pytest.fixture
def stderr(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """What the test logged on stderr (configure() picks up capsys's sys.stderr)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    yield lambda: capsys.readouterr().err
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logging.captureWarnings(False)
    sys.excepthook, threading.excepthook = sys.__excepthook__, threading.__excepthook__


def test_json_lines_carry_time_level_logger_message_and_extras(stderr: Callable[[], str]) -> None:
    logs.configure("info", "json")
    log = logging.getLogger("ips_jobs.test")
    log.debug("not at info")
    log.info("hello %s", "there", extra={"operation": "submitJob", "elapsed_ms": 1.5})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    lines = stderr().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "INFO" and first["logger"] == "ips_jobs.test"
    assert first["message"] == "hello there"
    assert (first["operation"], first["elapsed_ms"]) == ("submitJob", 1.5)
    assert first["time"].endswith("Z")
    when = datetime.fromisoformat(first["time"].replace("Z", "+00:00"))
    assert when.utcoffset() == timedelta(0)
    assert "args" not in first and "msg" not in first  # no LogRecord internals
    assert second["level"] == "ERROR"
    assert "ValueError: boom" in second["exception"]


def test_text_stays_human_readable(stderr: Callable[[], str]) -> None:
    logs.configure("warning", "text")
    logging.getLogger("ips_jobs.test").info("hidden")
    logging.getLogger("ips_jobs.test").warning("shown %d", 1)
    (line,) = stderr().splitlines()
    assert line.endswith(" WARNING ips_jobs.test: shown 1")


def test_log_format_is_a_validated_setting() -> None:
    assert Settings.from_env({}).log_format == "text"
    assert Settings.from_env({"IPS_LOG_FORMAT": "json"}).log_format == "json"
    with pytest.raises(ConfigError, match="IPS_LOG_FORMAT"):
        Settings.from_env({"IPS_LOG_FORMAT": "JSONL"})


def test_json_mode_logs_uncaught_exceptions_and_warnings(stderr: Callable[[], str]) -> None:
    logs.configure("info", "json")
    try:
        raise RuntimeError("nobody caught me")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    worker = threading.Thread(target=lambda: 1 / 0, name="doomed")
    worker.start()
    worker.join()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("old stuff", DeprecationWarning, stacklevel=1)
    entries = [json.loads(line) for line in stderr().splitlines()]
    assert [e["level"] for e in entries] == ["CRITICAL", "CRITICAL", "WARNING"]
    assert "RuntimeError: nobody caught me" in entries[0]["exception"]
    assert entries[1]["message"] == "uncaught exception in thread doomed"
    assert "ZeroDivisionError" in entries[1]["exception"]
    assert "old stuff" in entries[2]["message"]
