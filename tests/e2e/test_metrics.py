"""GET /_ips/metrics over HTTP: Prometheus text that adds up every process (gunicorn workers
and the engine), with gauges read from the database at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from conftest import (
    ENGINE_ENV,
    NS,
    Account,
    Reply,
    Server,
    auth_header,
    caller,
    envelope,
    make_account,
    post,
    start_server,
    stop_server,
    wait_for,
)
from conftest import (
    PUBLISH_JOB as PUBLISH,
)
from prometheus_client.parser import text_string_to_metric_families

from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository

#: The metrics count every call: the strict client's replays would be counted too.
pytestmark = pytest.mark.no_replay

VIDEO = "<videoPublishJob><emailSetting>None</emailSetting></videoPublishJob>"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(server: Server) -> Samples:
    response = requests.get(server.base_url + "/_ips/metrics", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def submit(call: Callable[..., Reply], account: Account, name: str, job: str) -> Reply:
    reply = call(
        "submitJob",
        f"<companyHandle>{account.company_handle}</companyHandle><jobName>{name}</jobName>{job}",
    )
    assert reply.status == 200
    return reply


@pytest.fixture(scope="module")
def metrics_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Two gunicorn workers and the engine, so the counters must be added up across them."""
    folder = tmp_path_factory.mktemp("metrics")
    running = start_server(
        f"sqlite:///{folder / 'ips.db'}", folder / "server.log", "--workers", "2", **ENGINE_ENV
    )
    yield running
    stop_server(running)


@pytest.fixture
def soap(metrics_server: Server) -> Iterator[tuple[Account, Callable[..., Reply]]]:
    database = Database(metrics_server.database_url)
    account = make_account(SqlJobRepository(database))
    yield account, caller(metrics_server, account)
    database.dispose()


def test_soap_calls_are_counted_by_operation_and_outcome(metrics_server: Server, soap) -> None:
    account, call = soap
    before = scrape(metrics_server)
    inner = f"<companyHandle>{account.company_handle}</companyHandle>"
    assert call("getActiveJobs", inner).status == 200
    wrong = post(
        metrics_server.service_url,
        envelope(
            f'<getActiveJobsParam xmlns="{NS}">{inner}</getActiveJobsParam>',
            auth_header(account.email, "not-the-password"),
        ),
    )
    code = wrong.fault()[1]
    rule = requests.post(
        metrics_server.base_url + "/_ips/faults",
        json={
            "operation": "getJobLogs",
            "effect": "http_status",
            "http_status": 503,
            "remaining": 1,
        },
        timeout=10,
    )
    assert rule.status_code == 201
    injected = requests.post(
        metrics_server.service_url,
        data=envelope(
            f'<getJobLogsParam xmlns="{NS}">{inner}</getJobLogsParam>',
            auth_header(account.email, account.password),
        ),
        headers={"Content-Type": "text/xml"},
        timeout=10,
    )
    assert injected.status_code == 503

    after = scrape(metrics_server)
    counted = "ips_requests_total"
    ok = {"operation": "getActiveJobs", "outcome": "ok"}
    fault = {"operation": "getActiveJobs", "outcome": str(code)}
    bare = {"operation": "getJobLogs", "outcome": "503"}
    assert value(after, counted, **ok) - value(before, counted, **ok) == 1
    assert value(after, counted, **fault) - value(before, counted, **fault) == 1
    assert value(after, counted, **bare) - value(before, counted, **bare) == 1
    timed = "ips_request_seconds_count"
    assert (
        value(after, timed, operation="getActiveJobs")
        - value(before, timed, operation="getActiveJobs")
        == 2
    )
    assert value(after, "ips_request_seconds_bucket", operation="getActiveJobs", le="+Inf") == (
        value(after, timed, operation="getActiveJobs")
    )
    # Every worker answers the same totals.
    for _ in range(4):
        again = scrape(metrics_server)
        assert value(again, counted, **ok) == value(after, counted, **ok)


def test_a_finished_run_is_counted_with_its_start_delay(metrics_server: Server, soap) -> None:
    account, call = soap
    done = {"type": "ImageServingPublish", "result": "done"}
    before = scrape(metrics_server)
    submit(call, account, "publish", PUBLISH)

    def counted() -> Samples | None:
        now = scrape(metrics_server)
        grew = value(now, "ips_runs_total", **done) > value(before, "ips_runs_total", **done)
        return now if grew else None

    after = wait_for(counted)
    assert value(after, "ips_runs_total", **done) - value(before, "ips_runs_total", **done) == 1
    delays = "ips_run_start_delay_seconds_count"
    assert value(after, delays) - value(before, delays) >= 1
    assert value(after, "ips_run_start_delay_seconds_sum") >= 0
    assert value(after, "ips_runs", type="ImageServingPublish", state="Done") >= 1
    assert value(after, "ips_engines_alive") == 1
    assert value(after, "ips_database_up") == 1


def test_the_runs_gauge_shows_a_manual_run_as_running(metrics_server: Server, soap) -> None:
    account, call = soap
    base = metrics_server.base_url
    made = requests.post(
        base + "/_ips/run-controls", json={"manual": True, "job_type": "VideoPublish"}, timeout=10
    )
    assert made.status_code == 201
    try:
        submit(call, account, "manual", VIDEO)
        running = {"type": "VideoPublish", "state": "Running"}
        wait_for(lambda: value(scrape(metrics_server), "ips_runs", **running) == 1)
        assert value(scrape(metrics_server), "ips_queue_depth") == 0

        stopped = {"type": "VideoPublish", "result": "stopped"}
        before = value(scrape(metrics_server), "ips_runs_total", **stopped)
        active = call(
            "getActiveJobs",
            f"<companyHandle>{account.company_handle}</companyHandle>"
            "<originalName>manual</originalName>",
        )
        handle = active.payload().findtext(f"{{{NS}}}jobArray/{{{NS}}}items/{{{NS}}}jobHandle")
        stop = call(
            "stopJob",
            f"<companyHandle>{account.company_handle}</companyHandle><jobHandle>{handle}</jobHandle>",
        )
        assert stop.status == 200
        wait_for(lambda: value(scrape(metrics_server), "ips_runs_total", **stopped) == before + 1)
        wait_for(lambda: value(scrape(metrics_server), "ips_runs", **running) == 0)
    finally:
        requests.delete(base + f"/_ips/run-controls/{made.json()['id']}", timeout=10)


def test_queue_depth_counts_due_schedules_while_no_engine_runs(server: Server, account) -> None:
    call = caller(server, account)
    before = scrape(server)
    submit(call, account, "waiting", PUBLISH)
    after = scrape(server)
    assert value(after, "ips_queue_depth") - value(before, "ips_queue_depth") == 1
    assert value(after, "ips_engines_alive") == 0
    running = {"type": "ImageServingPublish", "state": "Running"}
    assert value(after, "ips_runs", **running) == value(before, "ips_runs", **running)


def test_the_metrics_directory_is_made_for_serve_and_removed_after(tmp_path: Path) -> None:
    server = start_server(f"sqlite:///{tmp_path / 'ips.db'}", tmp_path / "server.log", **ENGINE_ENV)
    try:
        health = wait_for(
            lambda: requests.get(server.base_url + "/_ips/health", timeout=10).json()["engine"][
                "processes"
            ]
        )
        environ = Path(f"/proc/{health[0]['pid']}/environ")
        if not environ.exists():
            pytest.skip("needs /proc to see the engine's environment")
        variables = dict(
            item.split("=", 1) for item in environ.read_text().split("\0") if "=" in item
        )
        folder = Path(variables["PROMETHEUS_MULTIPROC_DIR"])
        assert folder.is_dir()
        requests.post(server.service_url, data=b"<x/>", headers={"Content-Type": "text/xml"})
        assert list(folder.glob("*.db"))
    finally:
        stop_server(server)
    assert not folder.exists()
