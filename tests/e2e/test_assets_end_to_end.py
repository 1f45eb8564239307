"""What a real IPS client does around an upload, over real SOAP against a real server with
its engine: upload two images that a loopback HTTP server serves, look them up, search their
folder, upload one again, rename onto a taken name, export both and download the ZIP, delete
one, and see that another company's user sees none of it."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote

import pytest
import requests
from conftest import (
    ENGINE_ENV,
    Account,
    FileHandler,
    Reply,
    Server,
    caller,
    loopback_http,
    make_account,
    q,
    start_server,
    stop_server,
    wait_for,
)
from PIL import Image

from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository


def png(width: int, height: int, color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


Call = Callable[..., Reply]
IMAGES = {"red.png": png(40, 30, "red"), "blue.png": png(16, 64, "blue")}


class _Images(FileHandler):
    files: ClassVar[Mapping[str, bytes]] = {f"/{n}": body for n, body in IMAGES.items()}


@pytest.fixture(scope="module")
def images() -> Iterator[str]:
    """A loopback HTTP server of the two images; yields its base URL."""
    with loopback_http(_Images) as base:
        yield base


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("assets-e2e")
    running = start_server(f"sqlite:///{folder / 'ips.db'}", folder / "server.log", **ENGINE_ENV)
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def accounts(served: Server) -> Iterator[tuple[Account, Account]]:
    database = Database(served.database_url)
    repository = SqlJobRepository(database)
    yield make_account(repository), make_account(repository)
    database.dispose()


def upload_job(base: str, overwrite: bool, *names: str) -> str:
    items = "".join(
        f"<items><sourceUrl>{base}/{name}</sourceUrl><destPath>shots/{name}</destPath></items>"
        for name in names
    )
    return (
        f"<uploadUrlsJob><urlArray>{items}</urlArray>"
        f"<overwrite>{'true' if overwrite else 'false'}</overwrite>"
        "<readyForPublish>true</readyForPublish><createMask>false</createMask>"
        "<emailSetting>None</emailSetting></uploadUrlsJob>"
    )


def run_job(call: Call, account: Account, name: str, job: str) -> list[tuple[str, str]]:
    """Submits `job`, waits for its run to end; its log rows' (type, asset handle)."""
    company = account.company_handle
    reply = call(
        "submitJob", f"<companyHandle>{company}</companyHandle><jobName>{name}</jobName>{job}"
    )
    assert reply.status == 200, reply.root

    def ended() -> list[tuple[str, str]] | None:
        logs = call(
            "getJobLogDetails",
            f"<companyHandle>{company}</companyHandle><originalName>{name}</originalName>",
        ).payload()
        items = logs.findall(f"{q('jobLogArray')}/{q('items')}")
        if not items or not items[0].findtext(q("endDate")):
            return None
        return [
            (d.findtext(q("logType")) or "", d.findtext(q("assetHandle")) or "")
            for d in items[0].iter(q("items"))
            if d.find(q("logType")) is not None
        ]

    return wait_for(ended, timeout=60)


def by_name(call: Call, account: Account, *names: str) -> list[dict[str, str]]:
    items = "".join(f"<items>{n}</items>" for n in names)
    reply: Reply = call(
        "getAssetsByName",
        f"<companyHandle>{account.company_handle}</companyHandle><nameArray>{items}</nameArray>",
    )
    assert reply.status == 200, reply.root
    found = []
    for item in reply.payload().findall(f"{q('assetArray')}/{q('items')}"):
        info = item.find(q("imageInfo"))
        found.append(
            {
                "handle": item.findtext(q("assetHandle")) or "",
                "name": item.findtext(q("name")) or "",
                "folder": item.findtext(q("folder")) or "",
                "width": info.findtext(q("width")) if info is not None else "",
                "height": info.findtext(q("height")) if info is not None else "",
                "size": info.findtext(q("fileSize")) if info is not None else "",
            }
        )
    return found


def test_an_upload_is_looked_up_searched_renamed_exported_and_deleted(
    served: Server, accounts: tuple[Account, Account], images: str, tmp_path: Path
) -> None:
    mine, other = accounts
    call = caller(served, mine)
    company = mine.company_handle
    rows = run_job(call, mine, "first upload", upload_job(images, True, "red.png", "blue.png"))
    assert [kind for kind, _ in rows].count("UploadSuccess") == 2, rows

    red, blue = by_name(call, mine, "red", "blue")
    assert (red["width"], red["height"], red["size"]) == ("40", "30", str(len(IMAGES["red.png"])))
    assert (blue["width"], blue["height"]) == ("16", "64")
    assert red["folder"].endswith("shots/")

    search = call(
        "searchAssets",
        f"<companyHandle>{company}</companyHandle><folder>shots</folder>"
        "<includeSubfolders>false</includeSubfolders>",
    ).payload()
    found = {i.findtext(q("assetHandle")) for i in search.iter(q("items"))}
    assert found == {red["handle"], blue["handle"]}
    assert search.findtext(q("totalRows")) == "2"

    again = run_job(call, mine, "again", upload_job(images, True, "red.png"))
    assert ("FileUpdated", red["handle"]) in again, again
    assert by_name(call, mine, "red")[0]["handle"] == red["handle"]
    skipped = run_job(call, mine, "skipped", upload_job(images, False, "red.png"))
    assert "DuplicateSkipped" in [kind for kind, _ in skipped], skipped

    taken = call(
        "renameAsset",
        f"<companyHandle>{company}</companyHandle><assetHandle>{blue['handle']}</assetHandle>"
        "<newName>red</newName><validateName>true</validateName>",
    )
    assert taken.status == 500
    assert taken.fault() == ("ipsApiFault", 30000, "Asset ID 'red' is already in use.")

    handles = "".join(f"<items>{h}</items>" for h in (red["handle"], blue["handle"]))
    export = run_job(
        call,
        mine,
        "export",
        f"<exportJob><assetHandleArray>{handles}</assetHandleArray>"
        "<fmt>orig</fmt><emailSetting>None</emailSetting></exportJob>",
    )
    assert "Error" not in [kind for kind, _ in export], export
    details = call(
        "getJobLogDetails",
        f"<companyHandle>{company}</companyHandle><originalName>export</originalName>",
    ).payload()
    # where ExportScene7Assets.java looks: //assetName[starts-with(text(),'http')]
    urls = [n.text for n in details.iter(q("assetName")) if (n.text or "").startswith("http")]
    assert urls, "the export names no download URL"
    url = str(urls[0])
    archive = zipfile.ZipFile(io.BytesIO(requests.get(url, timeout=30).content))
    contents = sorted(archive.read(name) for name in archive.namelist())
    assert contents == sorted(IMAGES.values())

    deleted = call(
        "deleteAsset",
        f"<companyHandle>{company}</companyHandle><assetHandle>{blue['handle']}</assetHandle>",
    )
    assert deleted.status == 200
    assert [a["name"] for a in by_name(call, mine, "red", "blue")] == ["red"]

    stranger = caller(served, other)
    assert by_name(stranger, other, "red", "blue") == []
    peek = stranger(
        "getAssets",
        f"<companyHandle>{other.company_handle}</companyHandle>"
        f"<assetHandleArray><items>{red['handle']}</items></assetHandleArray>",
    )
    assert peek.status == 200
    assert peek.payload().findall(f"{q('assetArray')}/{q('items')}") == []


class _SlowImages(_Images):
    """The images, each after a pause: a run's real work is still going on while it is
    advanced by hand."""

    def do_GET(self) -> None:
        time.sleep(0.5)
        super().do_GET()


def test_a_manual_run_reaches_the_progress_asked_for_once_its_work_gets_there(
    served: Server, accounts: tuple[Account, Account]
) -> None:
    """An advance asked for while the files are still being fetched is kept until the work
    has done that far, not dropped."""
    account = accounts[0]
    call = caller(served, account)
    company = account.company_handle
    name = "fetched by hand"
    control = requests.post(
        served.base_url + "/_ips/run-controls", json={"job_name": name, "manual": True}, timeout=30
    )
    assert control.status_code == 201, control.text

    def active() -> list[tuple[str, str]]:
        reply = call(
            "getActiveJobs",
            f"<companyHandle>{company}</companyHandle><originalName>{name}</originalName>",
        )
        return [
            (j.findtext(q("jobHandle")) or "", j.findtext(q("progress")) or "")
            for j in reply.payload().findall(f"{q('jobArray')}/{q('items')}")
        ]

    with loopback_http(_SlowImages) as slow:
        names = ("red.png", "blue.png")
        items = "".join(
            f"<items><sourceUrl>{slow}/{n}</sourceUrl><destPath>manual/{i}-{n}</destPath></items>"
            for i in range(2)
            for n in names
        )
        job = upload_job(slow, True).replace(
            "<urlArray></urlArray>", f"<urlArray>{items}</urlArray>"
        )
        reply = call(
            "submitJob", f"<companyHandle>{company}</companyHandle><jobName>{name}</jobName>{job}"
        )
        assert reply.status == 200, reply.root
        [(handle, progress)] = wait_for(active)
        assert progress == "0"  # four files at 0.5 s each: the first is not there yet

        def begun() -> bool:
            """The run's first step is written: advancing before it is a race the engine
            loses (the step's write clears the advance asked for meanwhile)."""
            reply = call(
                "getJobLogDetails",
                f"<companyHandle>{company}</companyHandle><originalName>{name}</originalName>",
            )
            return "BeginUpload" in [t.text for t in reply.payload().iter(q("logType"))]

        wait_for(begun)
        path = f"/_ips/jobs/{quote(handle, safe='')}/advance"
        moved = requests.post(served.base_url + path, json={"progress": 50}, timeout=30)
        assert moved.status_code == 200, moved.text
        wait_for(lambda: active() == [(handle, "50")], timeout=30)
        time.sleep(1.5)  # the other two files arrive meanwhile; the run stays where asked
        assert active() == [(handle, "50")]
        ended = requests.post(served.base_url + path, json={"outcome": "success"}, timeout=30)
        assert ended.status_code == 200, ended.text
        wait_for(lambda: active() == [], timeout=30)
    assert len(by_name(call, account, *[f"{i}-{n[:-4]}" for i in range(2) for n in names])) == 4
