"""An exportJob's download as a client fetches it: poll getJobLogDetails by originalName for
the detail row whose assetName is an http URL, then GET that URL and unpack the ZIP."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator

import pytest
import requests
from conftest import (
    ENGINE_ENV,
    Account,
    Reply,
    Server,
    account_and_caller,
    q,
    server_on_its_own,
    wait_for,
)
from conftest import (
    PUBLISH_JOB as PUBLISH,
)
from lxml import etree

Call = Callable[..., Reply]


def export_job(*handles: str) -> str:
    items = "".join(f"<items>{h}</items>" for h in handles)
    return (
        f"<exportJob><assetHandleArray>{items}</assetHandleArray><fmt>orig</fmt>"
        "<emailSetting>All</emailSetting></exportJob>"
    )


@pytest.fixture(scope="module")
def engine_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with server_on_its_own(tmp_path_factory, "exports", **ENGINE_ENV) as running:
        yield running


@pytest.fixture
def soap(engine_server: Server) -> Iterator[tuple[Account, Call]]:
    with account_and_caller(engine_server) as soap:
        yield soap
    requests.delete(f"{engine_server.base_url}/_ips/faults", timeout=10)


def submit(call: Call, account: Account, name: str, job: str) -> None:
    reply = call(
        "submitJob",
        f"<companyHandle>{account.company_handle}</companyHandle><jobName>{name}</jobName>{job}",
    )
    assert reply.status == 200, etree.tostring(reply.root)


def job_logs(call: Call, account: Account, name: str) -> list[etree._Element]:
    reply = call(
        "getJobLogDetails",
        f"<companyHandle>{account.company_handle}</companyHandle><originalName>{name}</originalName>",
    )
    assert reply.status == 200, etree.tostring(reply.root)
    return reply.payload().findall(f"{q('jobLogArray')}/{q('items')}")


def download_url(call: Call, account: Account, name: str) -> str | None:
    """What ExportScene7Assets.java looks for: //assetName[starts-with(text(),'http')]."""
    for log in job_logs(call, account, name):
        for asset_name in log.iter(q("assetName")):
            if (asset_name.text or "").startswith("http"):
                return asset_name.text
    return None


def finished_run_id(call: Call, account: Account, name: str) -> int:
    """The run id of the job's ended run (the last part of its run handle)."""
    [log] = wait_for(
        lambda: [log for log in job_logs(call, account, name) if log.findtext(q("endDate"))]
    )
    return int((log.findtext(q("jobHandle")) or "").rsplit("|", 1)[1])


def test_export_download_is_a_zip_of_the_assets_files(
    soap: tuple[Account, Call],
) -> None:
    """Handles that name no asset leave the ZIP empty (tests/e2e/test_asset_jobs.py exports
    real files)."""
    account, call = soap
    handles = [f"a|{account.company_id}|1|101", f"a|{account.company_id}|1|102"]
    submit(call, account, "export two", export_job(*handles, handles[0]))
    url = wait_for(lambda: download_url(call, account, "export two"))

    response = requests.get(url, timeout=30)

    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/zip"
    run_id = int(url.partition("?")[0].rsplit("/", 1)[1].removesuffix(".zip"))
    assert response.headers["Content-Disposition"] == f'attachment; filename="{run_id}.zip"'
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    assert archive.namelist() == []
    # the same run gives the same archive, for as long as its log is kept
    assert requests.get(url, timeout=30).content == response.content


def test_export_download_is_gone_with_the_run_log(
    soap: tuple[Account, Call], engine_server: Server
) -> None:
    account, call = soap
    submit(call, account, "export reset", export_job(f"a|{account.company_id}|1|7"))
    url = wait_for(lambda: download_url(call, account, "export reset"))
    assert requests.get(url, timeout=30).status_code == 200

    reset = requests.post(f"{engine_server.base_url}/_ips/reset", timeout=30)
    assert reset.status_code == 200, reset.text

    gone = requests.get(url, timeout=30)
    assert gone.status_code == 404
    assert gone.headers["Content-Type"].startswith("application/json")
    assert "no run" in gone.json()["error"]


def test_only_the_url_the_run_logged_opens_its_zip(soap: tuple[Account, Call]) -> None:
    """The download needs no control token (SOAP clients fetch it) and run ids are counted:
    without the key of the logged URL anyone could fetch every company's exported files."""
    account, call = soap
    submit(call, account, "keyed export", export_job(f"a|{account.company_id}|1|7"))
    url = wait_for(lambda: download_url(call, account, "keyed export"))
    bare, _, key = url.partition("?key=")
    assert len(key) >= 20
    assert requests.get(url, timeout=30).status_code == 200
    for wrong in (bare, f"{bare}?key=", f"{bare}?key={key[:-1]}x"):
        refused = requests.get(wrong, timeout=30)
        assert refused.status_code == 404, wrong
        assert "has reported no download at this URL" in refused.json()["error"]


def test_no_download_for_an_unknown_run_or_a_run_that_is_no_export(
    soap: tuple[Account, Call], engine_server: Server
) -> None:
    account, call = soap
    submit(call, account, "a publish", PUBLISH)
    publish_run = finished_run_id(call, account, "a publish")
    base = f"{engine_server.base_url}/_ips/exports"

    for path, says in [
        (f"{base}/{publish_run}.zip", "not an exportJob"),
        (f"{base}/987654321.zip", "no run 987654321"),
        (f"{base}/99999999999.zip", "no run"),
    ]:
        response = requests.get(path, timeout=30)
        assert response.status_code == 404, path
        assert response.headers["Content-Type"].startswith("application/json")
        assert says in response.json()["error"]


def test_a_failed_export_reports_no_download_and_serves_none(
    soap: tuple[Account, Call], engine_server: Server
) -> None:
    account, call = soap
    rule = requests.post(
        f"{engine_server.base_url}/_ips/faults",
        json={"effect": "fatal_run", "job_name": "doomed export"},
        timeout=30,
    )
    assert rule.status_code == 201, rule.text
    submit(call, account, "doomed export", export_job(f"a|{account.company_id}|1|9"))
    run_id = finished_run_id(call, account, "doomed export")

    assert download_url(call, account, "doomed export") is None
    response = requests.get(f"{engine_server.base_url}/_ips/exports/{run_id}.zip", timeout=30)
    assert response.status_code == 404
    assert "has reported no download at this URL" in response.json()["error"]
