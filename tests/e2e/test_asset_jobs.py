"""Jobs that act on assets, over real SOAP: uploads fetch real files (from a loopback HTTP
server of the test, and from the server directory) and make assets, publish jobs mark them,
exports pack their files. The assets are checked in the store itself."""

from __future__ import annotations

import io
import re
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from conftest import (
    ENGINE_ENV,
    Account,
    FileHandler,
    Reply,
    Server,
    account_and_caller,
    free_port,
    loopback_http,
    q,
    server_on_its_own,
    wait_for,
)
from lxml import etree
from PIL import Image

from ips_jobs.config import Settings
from ips_jobs.domain.assets import Asset
from ips_jobs.engine.fetch import Fetcher, FetchError
from ips_jobs.errors import ConfigError
from ips_jobs.store.assets import SqlAssetRepository
from ips_jobs.store.database import Database
from ips_jobs.store.files import FileStore
from ips_jobs.store.repository import SqlJobRepository

Call = Callable[..., Reply]
#: The server's assets and jobs, read straight from its database.
Store = tuple[SqlAssetRepository, SqlJobRepository]


def image(size: tuple[int, int], color: str, fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


RED = image((40, 30), "red", "PNG")
BLUE = image((64, 48), "blue", "JPEG")
GREEN = image((20, 10), "green", "PNG")
FILES = {"/red.png": RED, "/blue.jpg": BLUE, "/green.png": GREEN}


class _Files(FileHandler):
    files = FILES

    def do_GET(self) -> None:
        if self.path == "/to-file":
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
            return
        if self.path == "/to-metadata":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        if self.path == "/slow":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.05)
            return
        super().do_GET()


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    """A loopback HTTP server with the images of FILES, a 404 and a redirect to file:."""
    with loopback_http(_Files) as base:
        yield base


@pytest.fixture(scope="module")
def server_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("server-directory")
    (folder / "drop" / "sub").mkdir(parents=True)
    (folder / "drop" / "one.png").write_bytes(RED)
    (folder / "drop" / "sub" / "two.jpg").write_bytes(BLUE)
    (folder / "drop" / ".hidden.png").write_bytes(GREEN)
    return folder


@pytest.fixture(scope="module")
def asset_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("asset-store")


@pytest.fixture(scope="module")
def engine_server(
    tmp_path_factory: pytest.TempPathFactory, server_directory: Path, asset_store: Path
) -> Iterator[Server]:
    env = {
        **ENGINE_ENV,
        "IPS_SERVER_DIRECTORY": str(server_directory),
        "IPS_ASSET_STORE": str(asset_store),
    }
    with server_on_its_own(tmp_path_factory, "asset-jobs", **env) as running:
        yield running


@pytest.fixture(scope="module")
def store(engine_server: Server) -> Iterator[Store]:
    database = Database(engine_server.database_url)
    yield SqlAssetRepository(database), SqlJobRepository(database)
    database.dispose()


@pytest.fixture
def soap(engine_server: Server) -> Iterator[tuple[Account, Call]]:
    with account_and_caller(engine_server) as soap:
        yield soap


def run(call: Call, account: Account, name: str, job: str) -> etree._Element:
    """Submits the job and waits for its run to end."""
    reply = call(
        "submitJob",
        f"<companyHandle>{account.company_handle}</companyHandle><jobName>{name}</jobName>{job}",
    )
    assert reply.status == 200, etree.tostring(reply.root)
    return finished(call, account, name)


def finished(call: Call, account: Account, name: str) -> etree._Element:
    """The job's ended run, with its detail rows."""

    def ended() -> list[etree._Element]:
        reply = call(
            "getJobLogDetails",
            f"<companyHandle>{account.company_handle}</companyHandle>"
            f"<originalName>{name}</originalName>",
        )
        logs = reply.payload().findall(f"{q('jobLogArray')}/{q('items')}")
        return [log for log in logs if log.findtext(q("endDate"))]

    [log] = wait_for(ended)
    return log


def rows(log: etree._Element, *types: str) -> list[dict[str, str]]:
    """The detail rows of these log types, as {element: text}."""
    found = []
    for item in log.findall(f"{q('detailArray')}/{q('items')}"):
        row = {etree.QName(e).localname: e.text or "" for e in item}
        if row["logType"] in types:
            found.append(row)
    return found


def count(log: etree._Element, name: str) -> int:
    return int(log.findtext(q(name)) or "-1")


def upload(
    call: Call, account: Account, name: str, urls: dict[str, str], overwrite: bool
) -> etree._Element:
    items = "".join(
        f"<items><sourceUrl>{source}</sourceUrl><destPath>{dest}</destPath></items>"
        for source, dest in urls.items()
    )
    return run(
        call,
        account,
        name,
        f"<uploadUrlsJob><urlArray>{items}</urlArray>"
        f"<overwrite>{str(overwrite).lower()}</overwrite>"
        "<readyForPublish>true</readyForPublish><createMask>false</createMask>"
        "<emailSetting>None</emailSetting></uploadUrlsJob>",
    )


def red_and_blue(web: str, folder: str) -> dict[str, str]:
    """The upload of RED and BLUE into `folder`."""
    return {f"{web}/red.png": f"{folder}/red.png", f"{web}/blue.jpg": f"{folder}/blue.jpg"}


def handle_job(kind: str, *handles: str) -> str:
    items = "".join(f"<items>{h}</items>" for h in handles)
    return (
        f"<{kind}><assetHandleArray>{items}</assetHandleArray>{_REQUIRED[kind]}"
        f"<emailSetting>None</emailSetting></{kind}>"
    )


#: What each job type needs besides its handles and emailSetting.
_REQUIRED = {
    "exportJob": "<fmt>orig</fmt>",
    "reprocessAssetsJob": "<createMask>false</createMask>",
    "automatedSetGenerationJob": "<readyForPublish>false</readyForPublish>"
    "<autoSetCreationOptions><autoSetsArray/></autoSetCreationOptions>",
}


def assets_named(store: Store, account: Account, *names: str) -> dict[str, Asset]:
    return {a.name: a for a in store[0].assets_by_name(account.company_id, list(names))}


def root(store: Store, account: Account) -> str:
    company = store[1].company(account.company_id)
    assert company is not None
    return company.root_path


def test_upload_urls_job_makes_assets_of_the_fetched_files(
    soap: tuple[Account, Call],
    web: str,
    store: Store,
    asset_store: Path,
) -> None:
    account, call = soap
    log = upload(
        call,
        account,
        "two images",
        {f"{web}/red.png": "/photos/red.png", f"{web}/blue.jpg": "photos/blue"},
        overwrite=True,
    )

    assert count(log, "fileSuccessCount") == 2
    assert count(log, "fileErrorCount") == 0
    assert count(log, "totalFileCount") == 2
    assets = assets_named(store, account, "red", "blue")
    red, blue = assets["red"], assets["blue"]
    assert (red.info.width, red.info.height, red.info.file_size) == (40, 30, len(RED))
    assert (blue.info.width, blue.info.height, blue.info.file_size) == (64, 48, len(BLUE))
    assert red.type == blue.type == "Image"
    assert red.folder == blue.folder == f"{root(store, account)}photos/"
    assert (red.file_name, blue.file_name) == ("red.png", "blue.jpg")  # blue: the format's
    assert red.ready_for_publish
    key = red.info.optimized_file or ""
    assert (asset_store / key[:2] / key).read_bytes() == RED  # kept by its SHA-256
    successes = rows(log, "UploadSuccess")
    assert [(r["assetName"], r["assetHandle"]) for r in successes] == [
        ("red", f"a|{red.id}"),
        ("blue", f"a|{blue.id}"),
    ]
    assert successes[0]["logMessage"] == f"{red.folder}red.png was processed into IPS"
    assert successes[0]["assetType"] == "MasterImage"


def test_uploading_a_name_again_updates_it_or_skips_it(
    soap: tuple[Account, Call], web: str, store: Store
) -> None:
    account, call = soap
    upload(call, account, "first", {f"{web}/red.png": "a/pic.png"}, overwrite=True)
    [first] = assets_named(store, account, "pic").values()

    updated = upload(call, account, "again", {f"{web}/green.png": "a/pic.png"}, overwrite=True)

    [row] = rows(updated, "FileUpdated")
    assert row["assetHandle"] == f"a|{first.id}"
    assert count(updated, "fileUpdateCount") == 1
    assert count(updated, "fileSuccessCount") == 0
    [now] = assets_named(store, account, "pic").values()
    assert now.id == first.id
    assert (now.info.width, now.info.file_size) == (20, len(GREEN))

    skipped = upload(call, account, "skip", {f"{web}/blue.jpg": "a/pic.png"}, overwrite=False)

    [row] = rows(skipped, "DuplicateSkipped")
    assert row["assetHandle"] == f"a|{first.id}"
    assert count(skipped, "fileDuplicateCount") == 1
    [kept] = assets_named(store, account, "pic").values()
    assert kept.info.file_size == len(GREEN)


def test_a_file_url_reads_inside_the_server_directory_only(
    soap: tuple[Account, Call],
    server_directory: Path,
    store: Store,
) -> None:
    account, call = soap
    (server_directory / "link.png").symlink_to("/etc/passwd")
    inside = (server_directory / "drop" / "one.png").as_uri()
    escaping = f"file://{server_directory}/drop/../../x.png"
    linked = (server_directory / "link.png").as_uri()

    log = upload(
        call,
        account,
        "local",
        {inside: "l/one.png", escaping: "l/esc.png", linked: "l/link.png"},
        overwrite=True,
    )

    [row] = rows(log, "UploadSuccess")
    [one] = assets_named(store, account, "one").values()
    assert row["assetHandle"] == f"a|{one.id}" and one.info.file_size == len(RED)
    errors = [r["logMessage"] for r in rows(log, "UploadError")]
    assert len(errors) == 2
    assert all("outside the server directory" in e for e in errors)


def test_a_file_that_cannot_be_fetched_is_an_upload_error_with_the_reason(
    soap: tuple[Account, Call], web: str, store: Store
) -> None:
    account, call = soap
    closed = f"http://127.0.0.1:{free_port()}/x.png"
    log = upload(
        call,
        account,
        "broken",
        {
            closed: "x/closed.png",
            f"{web}/missing.png": "x/missing.png",
            f"{web}/to-file": "x/redirected.png",
            "file:///etc/passwd": "x/passwd.txt",
            "http://169.254.169.254/latest/meta-data/": "x/metadata.pdf",
            f"{web}/to-metadata": "x/redirected-metadata.pdf",
            f"{web}/red.png": "x/fine.png",
        },
        overwrite=True,
    )

    errors = [r["logMessage"] for r in rows(log, "UploadError")]
    assert len(errors) == 6
    assert "refused" in errors[0].lower()
    assert "HTTP 404" in errors[1]
    assert "file:" in errors[2] and "HTTP 302" in errors[2]
    assert "outside the server directory" in errors[3]
    assert all("169.254.169.254, a link-local address" in e for e in errors[4:]), errors
    assert count(log, "fileErrorCount") == 6
    assert count(log, "fileSuccessCount") == 1
    assert set(
        assets_named(store, account, "closed", "missing", "redirected", "passwd", "fine")
    ) == {"fine"}


def test_an_export_zip_holds_the_files_and_unknown_handles_are_errors(
    soap: tuple[Account, Call],
    web: str,
    store: Store,
    engine_server: Server,
) -> None:
    account, call = soap
    upload(call, account, "to export", red_and_blue(web, "e"), overwrite=True)
    assets = assets_named(store, account, "red", "blue")
    with account_and_caller(engine_server) as (other, other_call):
        upload(other_call, other, "theirs", {f"{web}/green.png": "g.png"}, overwrite=True)
        [theirs] = assets_named(store, other, "g").values()
    handles = [f"a|{assets['red'].id}", f"{assets['blue'].id}|1|{assets['blue'].id}"]
    unknown = ["a|987654321", f"a|{theirs.id}", "not-a-handle"]

    log = run(call, account, "export", handle_job("exportJob", *handles, *unknown))

    assert [r["logMessage"] for r in rows(log, "GetFailure")] == [
        f"Asset '{h}' was not found" for h in unknown
    ]
    assert count(log, "fileSuccessCount") == 2
    assert count(log, "fileErrorCount") == 3
    [ready] = rows(log, "ReturnSuccess")
    response = requests.get(ready["assetName"], timeout=30)
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["blue.jpg", "red.png"]
    assert archive.read("red.png") == RED
    assert archive.read("blue.jpg") == BLUE


@pytest.mark.parametrize(
    ("kind", "success", "failure"),
    [
        ("reprocessAssetsJob", "ReoptimizeSuccess", "ReoptimizeFailure"),
        ("automatedSetGenerationJob", "TemplateMergeSuccess", "TemplateMergeError"),
    ],
)
def test_jobs_with_asset_handles_check_them(
    soap: tuple[Account, Call],
    web: str,
    store: Store,
    kind: str,
    success: str,
    failure: str,
) -> None:
    account, call = soap
    upload(call, account, "one", {f"{web}/red.png": "r/red.png"}, overwrite=True)
    [red] = assets_named(store, account, "red").values()

    log = run(call, account, kind, handle_job(kind, f"a|{red.id}", "a|987654321"))

    assert [r["assetHandle"] for r in rows(log, success)] == [f"a|{red.id}"]
    assert [r["logMessage"] for r in rows(log, failure)] == ["Asset 'a|987654321' was not found"]


def test_a_publish_job_publishes_the_assets_ready_for_it(
    soap: tuple[Account, Call], web: str, store: Store
) -> None:
    account, call = soap
    upload(call, account, "ready", red_and_blue(web, "p"), overwrite=True)
    publish = (
        "<imageServingPublishJob><publishType>{}</publishType>"
        "<emailSetting>None</emailSetting></imageServingPublishJob>"
    )

    full = run(call, account, "full", publish.format("Full"))
    increment = run(call, account, "increment", publish.format("Incremental"))

    [row] = rows(full, "ImageServingPublishSuccess")
    assert row["logMessage"] == "2 asset(s) published (ImageServing)"
    assert count(full, "fileSuccessCount") == 2
    assert count(increment, "fileSuccessCount") == 0  # nothing changed since
    for asset in assets_named(store, account, "red", "blue").values():
        [publication] = store[0].publications(account.company_id, asset.id)
        assert (publication.context_name, publication.publish_format) == ("ImageServing", "Full")


def test_an_upload_directory_job_uploads_the_files_of_a_server_folder(
    soap: tuple[Account, Call], store: Store
) -> None:
    account, call = soap
    job = (
        "<uploadDirectoryJob><destFolder>dropped</destFolder><serverDir>{}</serverDir>"
        "<overwrite>true</overwrite><readyForPublish>false</readyForPublish>"
        "<includeSubfolders>true</includeSubfolders><createMask>false</createMask>"
        "<processMetadataFiles>false</processMetadataFiles>"
        "<emailSetting>None</emailSetting></uploadDirectoryJob>"
    )

    log = run(call, account, "directory", job.format("/drop"))
    escape = run(call, account, "escape", job.format("../"))

    assert [r["assetName"] for r in rows(log, "UploadSuccess")] == ["one", "two"]
    assets = assets_named(store, account, "one", "two", ".hidden")
    top = f"{root(store, account)}dropped/"
    assert (assets["one"].folder, assets["two"].folder) == (top, f"{top}sub/")
    assert assets["two"].info.file_size == len(BLUE)
    assert ".hidden" not in assets
    [error] = rows(escape, "UploadError")
    assert "outside the server directory" in error["logMessage"]


def test_simulated_uploads_fetch_nothing(tmp_path_factory: pytest.TempPathFactory) -> None:
    env = {**ENGINE_ENV, "IPS_UPLOADS": "simulate"}
    with (
        server_on_its_own(tmp_path_factory, "simulated", **env) as running,
        account_and_caller(running) as (account, call),
    ):
        log = upload(call, account, "sim", {"http://unreachable.test/a.jpg": "s/a.jpg"}, True)
        [row] = rows(log, "UploadSuccess")
        assert row["assetHandle"].startswith(f"a|{account.company_id}|1|")
        database = Database(running.database_url)
        try:
            assert SqlAssetRepository(database).assets_by_name(account.company_id, ["a"]) == []
        finally:
            database.dispose()


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("IPS_UPLOADS", "download", "IPS_UPLOADS: use fetch or simulate, not 'download'"),
        ("IPS_SERVER_DIRECTORY", "/no/such/folder", "IPS_SERVER_DIRECTORY: '/no/such/folder'"),
        ("IPS_FETCH_TIMEOUT", "0", "IPS_FETCH_TIMEOUT: must be more than 0 seconds"),
        ("IPS_MAX_FILE_BYTES", "0", "IPS_MAX_FILE_BYTES: must be at least 1"),
    ],
)
def test_upload_settings_are_checked(variable: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)):
        Settings.from_env({variable: value})


@pytest.mark.parametrize(
    ("path", "timeout", "max_bytes", "says"),
    [
        ("/slow", 0.5, 1000, "timed out after 0.5 s"),
        ("/red.png", 5, 10, "larger than 10 bytes"),
    ],
)
def test_a_fetch_stops_at_its_time_and_size_limits(
    web: str, tmp_path: Path, path: str, timeout: float, max_bytes: int, says: str
) -> None:
    fetcher = Fetcher(FileStore(tmp_path / "files"), timeout, max_bytes, None)
    started = time.monotonic()

    with pytest.raises(FetchError, match=says):
        fetcher.fetch(web + path)

    assert time.monotonic() - started < 2
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # no partial file left
