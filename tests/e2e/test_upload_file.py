"""POST /scene7/UploadFile, the servlet of desktop and browser uploads, as its clients post it:
multipart/form-data (built here by requests, as by any HTTP client library) with an `auth`
part (an authHeader document), an `uploadParams` part (an uploadPostParam document) and the
files. The answer is a bare `<uploadPostReturn>` with a run handle, which the client follows
with getActiveJobs, getJobLogDetails and the asset operations; a refused post keeps nothing."""

from __future__ import annotations

import http.client
import io
import re
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from conftest import (
    Account,
    Reply,
    Server,
    caller,
    make_account,
    server_on_its_own,
    wait_for,
)
from lxml import etree
from PIL import Image

from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository
from ips_jobs.wire.namespaces import COMMON_NS

PATH = "/scene7/UploadFile"
DOCS_NS = "http://www.scene7.com/IpsApi/xsd/2014-04-03"
NS = "http://www.scene7.com/IpsApi/xsd/2017-10-29-beta"
#: How long a job not ended with endJob waits for its next post (IPS: 30 minutes): long on
#: the module's server (a job ended within it was ended by endJob or stopJob), short on the
#: one that shows the wait running out.
WAIT_SECONDS = 60
SHORT_WAIT_SECONDS = 1
#: The largest post this server takes (IPS_MAX_FILE_BYTES).
MAX_BYTES = 4 * 1024 * 1024
#: A job that ends well within this ended because it was told to, not by the wait.
ENDS_WITHIN = 15.0
#: The longest pause an UploadFile body may make (IPS_BODY_TIMEOUT).
PAUSE_SECONDS = 1.0


@dataclass
class Site:
    server: Server
    account: Account
    store: Path

    def stored(self) -> set[str]:
        """The files in the server's file store."""
        return {p.name for p in self.store.rglob("*") if p.is_file()}


@contextmanager
def a_site(tmp_path_factory: pytest.TempPathFactory, wait: float) -> Iterator[Site]:
    store = tmp_path_factory.mktemp("upload-file-store")
    with server_on_its_own(
        tmp_path_factory,
        "upload-file",
        IPS_ENGINE="true",
        IPS_RUN_SECONDS="0",
        IPS_UPLOAD_WAIT=str(wait),
        IPS_MAX_FILE_BYTES=str(MAX_BYTES),
        IPS_ASSET_STORE=str(store),
        IPS_BODY_TIMEOUT=str(PAUSE_SECONDS),
    ) as server:
        database = Database(server.database_url)
        account = make_account(SqlJobRepository(database))
        database.dispose()
        yield Site(server, account, store)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with a_site(tmp_path_factory, WAIT_SECONDS) as made:
        yield made


@pytest.fixture(scope="module")
def quick_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server whose uploadPost jobs wait SHORT_WAIT_SECONDS for their next post."""
    with a_site(tmp_path_factory, SHORT_WAIT_SECONDS) as made:
        yield made


def jpeg(color: str, size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def auth(account: Account, password: str | None = None, status: str | None = "200") -> str:
    """The docs' auth part: an authHeader in 2014-04-03, answering faults with HTTP 200."""
    fault_status = f"<faultHttpStatusCode>{status}</faultHttpStatusCode>" if status else ""
    return (
        f'<authHeader xmlns="{DOCS_NS}"><user>{account.email}</user>'
        f"<password>{password or account.password}</password><locale>en-US</locale>"
        "<appName>MyUploadServletTest</appName><appVersion>1.0</appVersion>"
        f"{fault_status}</authHeader>"
    )


def upload_params(account: Account, job: str, *extra: str, overwrite: str = "true") -> str:
    """The docs' uploadParams part (with `extra` elements after jobName/jobHandle)."""
    return (
        f'<uploadPostParam xmlns="{DOCS_NS}"><companyHandle>{account.company_handle}'
        f"</companyHandle>{job}{''.join(extra)}<uploadParams><overwrite>{overwrite}</overwrite>"
        "<readyForPublish>true</readyForPublish><preservePublishState>true"
        "</preservePublishState><createMask>true</createMask><preserveCrop>true</preserveCrop>"
        "<photoshopOptions><process>MaintainLayers</process><layerOptions><layerNaming>"
        "AppendNumber</layerNaming><anchor>Northwest</anchor><createTemplate>true"
        "</createTemplate><extractText>true</extractText><extendLayers>false</extendLayers>"
        "</layerOptions></photoshopOptions><emailSetting>None</emailSetting></uploadParams>"
        "</uploadPostParam>"
    )


Files = list[tuple[str, tuple[str | None, bytes | str, str]]]


def parts(auth_part: str | None, params: str | None, *files: tuple[str, bytes]) -> Files:
    """The multipart parts, in the docs' order: auth, uploadParams, then the files."""
    found: Files = []
    if auth_part is not None:
        found.append(("auth", (None, auth_part, "text/plain; charset=US-ASCII")))
    if params is not None:
        found.append(("uploadParams", (None, params, "text/plain; charset=US-ASCII")))
    for number, (name, data) in enumerate(files, start=1):
        found.append((f"file{number}", (name, data, "application/octet-stream")))
    return found


@dataclass
class Answer:
    status: int
    root: etree._Element

    @property
    def job_handle(self) -> str:
        assert self.root.tag == f"{{{DOCS_NS}}}uploadPostReturn", etree.tostring(self.root)
        return str(self.root.findtext(f"{{{DOCS_NS}}}jobHandle"))

    def fault(self) -> tuple[str, int, str]:
        assert etree.QName(self.root).namespace == COMMON_NS, etree.tostring(self.root)
        code = self.root.findtext(f"{{{COMMON_NS}}}code")
        return (
            etree.QName(self.root).localname,
            int(code or 0),
            str(self.root.findtext(f"{{{COMMON_NS}}}reason")),
        )


def upload(site: Site, files: Files, **kwargs: object) -> Answer:
    reply = requests.post(site.server.base_url + PATH, files=files, timeout=30, **kwargs)  # type: ignore[arg-type]
    assert reply.headers["Content-Type"].startswith("text/xml"), reply.text
    return Answer(reply.status_code, etree.fromstring(reply.content))


def soap(site: Site, operation: str, inner: str) -> Reply:
    return caller(site.server, site.account)(operation, inner, NS)


def active(site: Site, handle: str, waiting: bool) -> list[str]:
    """The states getActiveJobs gives the job, with or without includeWaitingJobs."""
    flag = f"<includeWaitingJobs>{str(waiting).lower()}</includeWaitingJobs>"
    reply = soap(
        site,
        "getActiveJobs",
        f"<companyHandle>{site.account.company_handle}</companyHandle>"
        f"<jobHandle>{handle}</jobHandle>{flag}",
    )
    return [str(s.text) for s in reply.payload().iter(f"{{{NS}}}state")]


def log_rows(site: Site, handle: str, within: float = ENDS_WITHIN) -> list[tuple[str, str]]:
    """(logType, assetName) of the job's detail rows, once the job has ended (within
    `within` seconds)."""

    def ended() -> list[tuple[str, str]] | None:
        reply = soap(
            site,
            "getJobLogDetails",
            f"<companyHandle>{site.account.company_handle}</companyHandle>"
            f"<jobHandle>{handle}</jobHandle>",
        )
        log = reply.payload().find(f".//{{{NS}}}items")
        if log is None or log.find(f"{{{NS}}}endDate") is None:
            return None
        return [
            (str(row.findtext(f"{{{NS}}}logType")), row.findtext(f"{{{NS}}}assetName") or "")
            for row in log.iter(f"{{{NS}}}detailArray")
            for row in row
        ]

    return wait_for(ended, timeout=within)


def assets_named(site: Site, *names: str) -> list[tuple[str, str]]:
    """(folder, fileName) of the company's assets of these names."""
    items = "".join(f"<items>{n}</items>" for n in names)
    reply = soap(
        site,
        "getAssetsByName",
        f"<companyHandle>{site.account.company_handle}</companyHandle>"
        f"<nameArray>{items}</nameArray>",
    )
    return sorted(
        (str(a.findtext(f"{{{NS}}}folder")), str(a.findtext(f"{{{NS}}}fileName")))
        for a in reply.payload().iter(f"{{{NS}}}items")
        if a.find(f"{{{NS}}}assetHandle") is not None
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_the_documented_post_waits_for_more_then_uploads_its_files(quick_site: Site) -> None:
    """The docs' example: a jobName, no endJob, files whose filename holds the whole path
    (root first, with a `//`). The job waits for the next post (WaitingClient, listed only
    with includeWaitingJobs), then, the wait over, makes its files assets."""
    site = quick_site
    job, folder = unique("uploadFileServlet"), unique("UploadFileServlet")
    root = site.account.company_name.replace(" ", "")
    answer = upload(
        site,
        parts(
            auth(site.account),
            upload_params(site.account, f"<jobName>{job}</jobName>"),
            (f"{root}/{folder}//{job}-1.jpg", jpeg("red")),
            (f"{root}/{folder}//{job}-2.jpg", jpeg("blue")),
        ),
    )
    assert answer.status == 200
    handle = answer.job_handle
    assert re.fullmatch(rf"j\|{site.account.company_id}\|\|{job}\|\d+", handle), handle
    assert active(site, handle, waiting=True) == ["WaitingClient"]
    assert active(site, handle, waiting=False) == []
    rows = log_rows(site, handle)
    assert ("UploadSuccess", f"{job}-1") in rows and ("UploadSuccess", f"{job}-2") in rows
    assert rows[0][0] == "BeginUpload" and rows[-1][0] == "EndUpload"
    assert assets_named(site, f"{job}-1", f"{job}-2") == [
        (f"{root}/{folder}/", f"{job}-1.jpg"),
        (f"{root}/{folder}/", f"{job}-2.jpg"),
    ]
    assert active(site, handle, waiting=True) == []


def test_follow_up_posts_add_files_and_end_job_ends_the_job(site: Site) -> None:
    """First post by jobName, the next by the returned jobHandle; endJob true hands the job
    to the engine at once; a post after that is refused."""
    job = unique("desktop")
    first = upload(
        site,
        parts(
            auth(site.account),
            upload_params(
                site.account, f"<jobName>{job}</jobName>", "<destFolder>posts</destFolder>"
            ),
            (f"{job}-a.jpg", jpeg("green")),
        ),
    )
    handle = first.job_handle
    status = soap(site, "getUploadTaskStatus", f"<jobHandle>{handle}</jobHandle>").payload()
    assert [f.text for f in status.iter(f"{{{NS}}}file")] == [f"posts/{job}-a.jpg"]
    assert status.findtext(f".//{{{NS}}}isJobStopped") == "false"
    second = upload(
        site,
        parts(
            auth(site.account),
            upload_params(
                site.account,
                f"<jobHandle>{handle}</jobHandle>",
                "<destFolder>posts</destFolder>",
                f"<fileName>{job}-b.jpg</fileName>",
                "<endJob>true</endJob>",
            ),
            ("whatever.jpg", jpeg("yellow")),
        ),
    )
    assert second.job_handle == handle
    rows = log_rows(site, handle)  # long before the wait would have ended it
    assert [r for r in rows if r[0] == "UploadSuccess"] == [
        ("UploadSuccess", f"{job}-a"),
        ("UploadSuccess", f"{job}-b"),
    ]
    root = site.account.company_name.replace(" ", "")
    assert assets_named(site, f"{job}-a", f"{job}-b") == [
        (f"{root}/posts/", f"{job}-a.jpg"),
        (f"{root}/posts/", f"{job}-b.jpg"),
    ]
    status = soap(site, "getUploadTaskStatus", f"<jobHandle>{handle}</jobHandle>").payload()
    assert status.findtext(f".//{{{NS}}}isJobStopped") == "true"
    assert [s.text for s in status.iter(f"{{{NS}}}processingStatus")] == ["Completed"] * 2
    late = upload(
        site,
        parts(
            auth(site.account),
            upload_params(site.account, f"<jobHandle>{handle}</jobHandle>"),
            ("late.jpg", jpeg("black")),
        ),
    )
    assert late.fault()[:2] == ("ipsApiFault", 30000)


def test_a_follow_up_post_from_another_address_is_refused(site: Site) -> None:
    """IPS takes every post of a job from the IP address that opened it."""
    job = unique("ip")
    handle = upload(
        site,
        parts(auth(site.account), upload_params(site.account, f"<jobName>{job}</jobName>")),
    ).job_handle
    prepared = requests.Request(
        "POST",
        site.server.base_url + PATH,
        files=parts(
            auth(site.account),
            upload_params(
                site.account, f"<jobHandle>{handle}</jobHandle>", "<endJob>true</endJob>"
            ),
            ("other.jpg", jpeg("white")),
        ),
    ).prepare()
    address = urlsplit(site.server.base_url)
    connection = http.client.HTTPConnection(
        address.hostname or "", address.port, timeout=30, source_address=("127.0.0.2", 0)
    )
    try:
        connection.request("POST", PATH, prepared.body, dict(prepared.headers))  # type: ignore[arg-type]
        reply = connection.getresponse()
        root = etree.fromstring(reply.read())
    finally:
        connection.close()
    assert Answer(reply.status, root).fault()[:2] == ("ipsApiFault", 30001)
    assert active(site, handle, waiting=True) == ["WaitingClient"]


@pytest.mark.parametrize(
    "case",
    [
        "bad password",
        "no auth part",
        "other company",
        "both jobName and jobHandle",
        "bad path",
        "path too long",
        "bad job name",
    ],
)
def test_a_refused_post_keeps_nothing(site: Site, case: str) -> None:
    job = unique("refused")
    account = site.account
    auth_part: str | None = auth(account, password="wrong" if case == "bad password" else None)
    job_element = f"<jobName>{job}</jobName>"
    extra: list[str] = []
    if case == "no auth part":
        auth_part = None
    elif case == "other company":
        database = Database(site.server.database_url)
        account = make_account(SqlJobRepository(database))  # one the caller is not a member of
        database.dispose()
    elif case == "both jobName and jobHandle":
        job_element += f"<jobHandle>j|{account.company_id}||x|1</jobHandle>"
    elif case == "bad path":
        extra.append("<destFolder>../..</destFolder>")
    elif case == "path too long":
        extra.append(f"<destFolder>{'/' * 1100}a</destFolder>")
    elif case == "bad job name":
        job_element = f"<jobName>{job}|x</jobName>"
    before = site.stored()
    params = upload_params(account, job_element, *extra)
    answer = upload(site, parts(auth_part, params, (f"{job}.jpg", jpeg("red", (64, 64)))))
    element, code, _ = answer.fault()
    expected = {
        "bad password": ("authenticationFault", 10001),
        "no auth part": ("authenticationFault", 10000),
        "other company": ("authorizationFault", 20006),
        "both jobName and jobHandle": ("ipsApiFault", 30001),
        "bad path": ("ipsApiFault", 30001),
        "path too long": ("ipsApiFault", 30001),
        "bad job name": ("ipsApiFault", 30001),
    }[case]
    assert (element, code) == expected
    assert answer.status == (500 if case == "no auth part" else 200)
    assert site.stored() == before
    assert opened(site, job) == []


def opened(site: Site, job: str) -> list[str]:
    """The handles of the runs of that name, waiting ones and ended ones."""
    reply = soap(
        site,
        "getJobLogs",
        f"<companyHandle>{site.account.company_handle}</companyHandle>",
    )
    logs = [
        str(item.findtext(f"{{{NS}}}jobHandle"))
        for item in reply.payload().iter(f"{{{NS}}}items")
        if (item.findtext(f"{{{NS}}}originalJobName") or "").startswith(job)
    ]
    waiting = soap(
        site,
        "getActiveJobs",
        f"<companyHandle>{site.account.company_handle}</companyHandle>"
        f"<originalName>{job}</originalName><includeWaitingJobs>true</includeWaitingJobs>",
    )
    return logs + [str(j.text) for j in waiting.payload().iter(f"{{{NS}}}jobHandle")]


def multipart_body(*chunks: bytes, boundary: str = "XyZ") -> bytes:
    return b"".join(chunks) + f"--{boundary}--\r\n".encode()


def field(
    name: str, value: str | bytes, filename: str | None = None, boundary: str = "XyZ"
) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    data = value.encode() if isinstance(value, str) else value
    return f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"


@pytest.mark.parametrize(
    "case",
    [
        "not multipart",
        "no boundary",
        "cut short",
        "no uploadParams part",
        "uploadParams not XML",
        "entity in uploadParams",
        "another operation",
        "auth part not an authHeader",
        "uploadParams over 1 MiB",
    ],
)
def test_a_bad_body_gets_an_ips_fault_and_keeps_nothing(site: Site, case: str) -> None:
    good_auth = auth(site.account)
    good_params = upload_params(site.account, f"<jobName>{unique('bad')}</jobName>")
    image = field("file1", jpeg("red", (70, 70)), "bad.jpg")
    content_type = "multipart/form-data; boundary=XyZ"
    body = {
        "not multipart": good_params.encode(),
        "no boundary": multipart_body(field("auth", good_auth), field("uploadParams", good_params)),
        "cut short": multipart_body(
            field("auth", good_auth), field("uploadParams", good_params), image
        )[:-40],
        "no uploadParams part": multipart_body(field("auth", good_auth), image),
        "uploadParams not XML": multipart_body(
            field("auth", good_auth), field("uploadParams", "<a>"), image
        ),
        "entity in uploadParams": multipart_body(
            field("auth", good_auth),
            field(
                "uploadParams",
                '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + good_params,
            ),
            image,
        ),
        "another operation": multipart_body(
            field("auth", good_auth),
            field("uploadParams", f'<getJobLogsParam xmlns="{DOCS_NS}"/>'),
            image,
        ),
        "auth part not an authHeader": multipart_body(
            field("auth", "<nothing/>"), field("uploadParams", good_params), image
        ),
        "uploadParams over 1 MiB": multipart_body(
            field("auth", good_auth),
            field("uploadParams", good_params.replace("</jobName>", "</jobName>" + " " * 2**20)),
            image,
        ),
    }[case]
    if case == "not multipart":
        content_type = "text/xml"
    elif case == "no boundary":
        content_type = "multipart/form-data"
    before = site.stored()
    reply = requests.post(
        site.server.base_url + PATH, data=body, headers={"Content-Type": content_type}, timeout=30
    )
    # a fault found once a good auth part was read takes its faultHttpStatusCode (200)
    unread = ("not multipart", "no boundary", "cut short", "auth part not an authHeader")
    assert reply.status_code == (500 if case in unread else 200)
    root = etree.fromstring(reply.content)
    assert Answer(reply.status_code, root).fault()[:2] == ("ipsApiFault", 30003)
    assert site.stored() == before


def test_a_post_over_the_limit_is_refused_and_keeps_nothing(site: Site) -> None:
    before = site.stored()
    big = bytes(MAX_BYTES + 1)
    answer = upload(
        site,
        parts(
            auth(site.account),
            upload_params(site.account, f"<jobName>{unique('big')}</jobName>"),
            ("big.bin", big),
        ),
    )
    assert answer.status == 413
    assert answer.fault()[:2] == ("ipsApiFault", 30003)
    assert site.stored() == before


def test_soap_upload_post_opens_a_job_that_the_servlet_fills(site: Site) -> None:
    """uploadPost as a SOAP operation (beta namespaces) carries no files: it opens a job,
    which getActiveJobs shows with its uploadPostJob, and an UploadFile post fills and ends."""
    job = unique("soap")
    reply = soap(
        site,
        "uploadPost",
        f"<companyHandle>{site.account.company_handle}</companyHandle><jobName>{job}</jobName>"
        "<uploadParams><overwrite>false</overwrite><readyForPublish>false</readyForPublish>"
        "<createMask>false</createMask><emailSetting>None</emailSetting></uploadParams>",
    )
    handle = str(reply.payload().findtext(f"{{{NS}}}jobHandle"))
    listed = soap(
        site,
        "getActiveJobs",
        f"<companyHandle>{site.account.company_handle}</companyHandle>"
        "<includeWaitingJobs>true</includeWaitingJobs>",
    ).payload()
    mine = [j for j in listed.iter(f"{{{NS}}}items") if j.findtext(f"{{{NS}}}jobHandle") == handle]
    assert len(mine) == 1
    assert mine[0].findtext(f"{{{NS}}}state") == "WaitingClient"
    assert mine[0].findtext(f"{{{NS}}}type") == "UploadPost"
    assert mine[0].findtext(f"{{{NS}}}uploadPostJob/{{{NS}}}overwrite") == "false"
    filled = upload(
        site,
        parts(
            auth(site.account),
            upload_params(site.account, f"<jobHandle>{handle}</jobHandle><endJob>true</endJob>"),
            (f"{job}.jpg", jpeg("teal")),
        ),
    )
    assert filled.job_handle == handle
    assert ("UploadSuccess", job) in log_rows(site, handle)


def test_stop_job_ends_a_waiting_job_with_nothing_uploaded(site: Site) -> None:
    job = unique("stopped")
    handle = upload(
        site,
        parts(
            auth(site.account),
            upload_params(site.account, f"<jobName>{job}</jobName>"),
            (f"{job}.jpg", jpeg("navy")),
        ),
    ).job_handle
    assert active(site, handle, waiting=True) == ["WaitingClient"]
    stopped = soap(
        site,
        "stopJob",
        f"<companyHandle>{site.account.company_handle}</companyHandle>"
        f"<jobHandle>{handle}</jobHandle>",
    )
    assert stopped.status == 200
    rows = log_rows(site, handle)  # long before the wait would have ended it
    assert [r for r in rows if r[0] == "UploadSuccess"] == []
    assert assets_named(site, job) == []


def test_old_namespaces_list_waiting_jobs_they_cannot_ask_for(site: Site) -> None:
    """getActiveJobs of a version without includeWaitingJobs (2014-04-03, the docs' UploadFile
    example's) lists the job its client is filling: IPS documents polling it there."""
    job = unique("polled")
    handle = upload(
        site, parts(auth(site.account), upload_params(site.account, f"<jobName>{job}</jobName>"))
    ).job_handle
    reply = caller(site.server, site.account)(
        "getActiveJobs",
        f"<companyHandle>{site.account.company_handle}</companyHandle>"
        f"<jobHandle>{handle}</jobHandle>",
        DOCS_NS,
    )
    assert [s.text for s in reply.payload().iter(f"{{{DOCS_NS}}}state")] == ["WaitingClient"]
    assert active(site, handle, waiting=False) == []  # 2017-10-29-beta has the flag


def test_upload_post_is_not_an_operation_of_older_namespaces(site: Site) -> None:
    reply = caller(site.server, site.account)(
        "uploadPost",
        f"<companyHandle>{site.account.company_handle}</companyHandle><jobName>x</jobName>",
        DOCS_NS,
    )
    assert reply.fault()[:2] == ("ipsApiFault", 30003)


def test_fault_rules_and_the_journal_see_upload_file(site: Site) -> None:
    control = site.server.base_url + "/_ips"
    rule = requests.post(
        f"{control}/faults",
        json={
            "effect": "fault",
            "operation": "uploadPost",
            "code": 30000,
            "reason": "Busy",
            "remaining": 1,
        },
        timeout=30,
    )
    assert rule.status_code == 201
    job = unique("ruled")
    files = parts(auth(site.account), upload_params(site.account, f"<jobName>{job}</jobName>"))
    assert upload(site, files).fault() == ("ipsApiFault", 30000, "Busy")
    assert upload(site, files).job_handle  # the rule was used up
    journal = requests.get(f"{control}/requests?operation=uploadPost&limit=2", timeout=30).json()
    assert [entry["transport"] for entry in journal] == ["UploadFile", "UploadFile"]
    assert site.account.password not in journal[0]["request"]
    assert "uploadPostParam" in journal[0]["request"]


def test_get_upload_task_status_of_a_job_of_another_company_is_not_found(site: Site) -> None:
    handle = upload(
        site,
        parts(
            auth(site.account), upload_params(site.account, f"<jobName>{unique('own')}</jobName>")
        ),
    ).job_handle
    database = Database(site.server.database_url)
    stranger = make_account(SqlJobRepository(database))
    database.dispose()
    reply = caller(site.server, stranger)(
        "getUploadTaskStatus", f"<jobHandle>{handle}</jobHandle>", NS
    )
    assert reply.fault()[:2] == ("ipsApiFault", 30001)


def test_method_other_than_post_is_explained(site: Site) -> None:
    reply = requests.get(site.server.base_url + PATH, timeout=30)
    assert reply.status_code == 405
    assert "multipart" in reply.text


def send_slowly(
    site: Site, files: Files, pieces: int, pause: float, stop_after: int
) -> tuple[int, etree._Element]:
    """Posts the multipart body in `pieces`, `pause` s apart, the first `stop_after` only
    (then waits for the answer): the answer's status and document."""
    prepared = requests.Request("POST", site.server.base_url + PATH, files=files).prepare()
    body = prepared.body if isinstance(prepared.body, bytes) else b""
    address = urlsplit(site.server.base_url)
    head = f"POST {PATH} HTTP/1.1\r\nHost: {address.netloc}\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in prepared.headers.items()
    )
    size = -(-len(body) // pieces)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(head.encode() + b"\r\n")
        try:
            for index in range(stop_after):
                time.sleep(pause)
                sock.sendall(body[index * size : (index + 1) * size])
        except OSError:  # the server answered and closed before the body was all sent
            pass
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, etree.fromstring(response.read())


def noise_jpeg() -> bytes:
    """An image of about 200 kB (noise does not compress)."""
    out = io.BytesIO()
    Image.effect_noise((400, 400), 90).convert("RGB").save(out, "JPEG", quality=95)
    return out.getvalue()


def test_a_slow_upload_may_take_longer_than_the_body_timeout(site: Site) -> None:
    """A large file on a slow line: the body takes 2.4 s, more than IPS_BODY_TIMEOUT (1 s),
    but never pauses for that long and comes faster than MIN_FILE_RATE on average."""
    job = unique("slow")
    image = noise_jpeg()
    assert len(image) > 120_000  # past 1 s + 120 kB / 32 kB/s = 4.7 s, well after 2.4 s
    files = parts(
        auth(site.account),
        upload_params(site.account, f"<jobName>{job}</jobName>", "<endJob>true</endJob>"),
        (f"{job}.jpg", image),
    )
    status, root = send_slowly(site, files, pieces=6, pause=0.4, stop_after=6)
    assert status == 200
    handle = Answer(status, root).job_handle
    assert ("UploadSuccess", job) in log_rows(site, handle)


def test_an_upload_that_stops_arriving_gets_a_timeout_and_keeps_nothing(site: Site) -> None:
    before = site.stored()
    files = parts(
        auth(site.account),
        upload_params(site.account, f"<jobName>{unique('stalled')}</jobName>"),
        ("stalled.jpg", jpeg("orange")),
    )
    status, root = send_slowly(site, files, pieces=4, pause=0.1, stop_after=2)
    assert status == 408
    assert Answer(status, root).fault()[:2] == ("ipsApiFault", 30003)
    assert site.stored() == before


def test_an_upload_that_trickles_on_is_cut_off(site: Site) -> None:
    """Never a pause as long as IPS_BODY_TIMEOUT, but far slower than MIN_FILE_RATE: cut off
    soon after IPS_BODY_TIMEOUT, not kept for as long as the client goes on."""
    before = site.stored()
    files = parts(
        auth(site.account),
        upload_params(site.account, f"<jobName>{unique('trickle')}</jobName>"),
        ("trickle.jpg", jpeg("gray")),
    )
    started = time.monotonic()
    status, root = send_slowly(site, files, pieces=40, pause=0.3, stop_after=40)
    assert status == 408
    assert time.monotonic() - started < 6  # the whole trickle would take 12 s
    assert Answer(status, root).fault()[:2] == ("ipsApiFault", 30003)
    assert site.stored() == before
