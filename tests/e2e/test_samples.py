"""Adobe's documented request examples, posted verbatim (inside a SOAP 1.1 envelope, as curl
would), against a server whose companies have the ids the examples use: 47, 0 and c|6.
Where Adobe documents the response too, ours is compared with it."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import (
    COMMON_NS,
    PASSWORD,
    SHARED,
    SOAP11,
    Reply,
    Server,
    auth_header,
    envelope,
    post,
    start_server,
    stop_server,
)
from lxml import etree
from sqlalchemy import delete, insert, select

from ips_jobs.clock import SystemClock
from ips_jobs.domain.admin import Admin
from ips_jobs.domain.jobs import LogCounts, LogDetail, Run, RunState, TriggerState
from ips_jobs.domain.ports import RunQuery
from ips_jobs.store import migrations
from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository
from ips_jobs.store.tables import companies, job_runs

SAMPLES = SHARED / "samples"
if not SAMPLES.is_dir():
    pytest.skip(
        f"{SAMPLES} is missing (a clone without shared/): no IPS samples to replay",
        allow_module_level=True,
    )

REQUESTS = sorted(SAMPLES.glob("adobedocs-*-request.xml"))
EMAIL = "samples@example.test"
JOB = "My Test Job"
JOB_HANDLE = "47|My Test Job|"
COMPANIES = {47: "Company 47", 0: "Scene7 System", 6: "ApiTestCo"}
ASSET = "a|732|1|535"


def operation_of(path: Path) -> str:
    match = re.fullmatch(r"adobedocs-(\w+)-request\.xml", path.name)
    assert match is not None, path
    return match[1]


def sample(name: str) -> etree._Element:
    return etree.fromstring((SAMPLES / name).read_bytes())


def canonical(element: etree._Element) -> bytes:
    """Exclusive C14N of a copy without whitespace-only text: indentation does not count."""
    clean = copy.deepcopy(element)
    for node in clean.iter():
        if node.text is not None and not node.text.strip():
            node.text = None
        if node.tail is not None and not node.tail.strip():
            node.tail = None
    return etree.tostring(clean, method="c14n", exclusive=True)


# -- a server with the documented ids ---------------------------------------------------------
@dataclass
class Site:
    server: Server
    database: Database
    repository: SqlJobRepository
    add_run: Run  # the documented upload run 47||Add_2007-09-14-15:04:34
    asset_runs: tuple[Run, Run]  # the two runs of the getAssetJobLogs example, company 6

    def send(self, request: bytes, operation: str) -> Reply:
        """Posts one request payload as curl would: SOAP 1.1, text/xml, SOAPAction."""
        body = envelope(request.decode("utf-8").strip(), auth_header(EMAIL, PASSWORD))
        return post(
            self.server.service_url,
            b"<?xml version='1.0' encoding='UTF-8'?>" + body,
            headers={"SOAPAction": operation},
        )

    def replay(self, operation: str) -> Reply:
        return self.send((SAMPLES / f"adobedocs-{operation}-request.xml").read_bytes(), operation)

    def my_test_job(self) -> int | None:
        job = self.repository.scheduled_job(47, JOB)
        return job.id if job is not None else None


def documented_run(
    company_id: int,
    name: str,
    start: str,
    email: str,
    *,
    log_type: str = "BeginUpload",
    counts: LogCounts | None = None,
) -> Run:
    started = datetime.fromisoformat(start)
    return Run(
        id=0,
        company_id=company_id,
        scheduled_job_id=None,
        name=name,
        original_name=name,
        kind="uploadUrlsJob",
        detail={"overwrite": True, "readyForPublish": True, "emailSetting": "None"},
        submit_user_email=email,
        locale=None,
        description=None,
        state=RunState.DONE,
        server_name="emulator_1",
        trigger_time=started,
        start_date=started,
        log_type=log_type,
        counts=counts or LogCounts(),
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("samples")
    url = f"sqlite:///{folder / 'ips.db'}"
    migrations.upgrade(url)
    database = Database(url)
    now = datetime.now(UTC)
    with database.write() as conn:
        conn.execute(
            insert(companies),
            [
                {"id": cid, "name": name, "root_path": f"{name}/", "created_at": now}
                for cid, name in COMPANIES.items()
            ],
        )
    repository = SqlJobRepository(database)
    Admin(repository, SystemClock()).add_user(EMAIL, PASSWORD, "IpsUser", list(COMPANIES.values()))

    # The runs the log examples talk about, stored as the job engine will store them.
    add_run = repository.add_run(
        documented_run(
            47,
            "Add_2007-09-14-15:04:34",
            "2007-09-14T22:04:58.536-07:00",
            "kmagnusson@adobe.com",
            counts=LogCounts(file_success=2, file_warning=205),
        )
    )
    started = add_run.start_date
    repository.add_log_details(
        [
            LogDetail(add_run.id, started, "BeginUpload", "Upload has begun!"),
            LogDetail(add_run.id, started, "OriginalJobName", "Add_2007-09-14-15:04:34"),
            LogDetail(add_run.id, started, "JobClient", "s7oslo"),
        ]
    )
    first = repository.add_run(
        documented_run(
            6, "Add_2007-10-24-16:11:07", "2007-10-24T16:11:07.000-07:00", "strangio@adobe.com"
        )
    )
    second = repository.add_run(
        documented_run(
            6,
            "submitServerUploadJob40_2008-06-11-11:38",
            "2008-06-11T11:38:00.000-07:00",
            "strangio@adobe.com",
        )
    )
    repository.add_log_details(
        [
            LogDetail(
                first.id,
                datetime.fromisoformat("2007-10-24T16:12:32.297-07:00"),
                "UploadSuccess",
                "ApiTestCo/blakexslttest.jpg was processed into IPS",
                asset_name="blakexslttest.jpg",
                asset_handle=ASSET,
            ),
            LogDetail(
                second.id,
                datetime.fromisoformat("2008-06-11T11:38:48.547-07:00"),
                "FileUpdated",
                "ApiTestCo/blakexslttest.jpg was processed into IPS.",
                asset_name="blakexslttest.jpg",
                asset_handle=ASSET,
            ),
            LogDetail(
                second.id,
                datetime.fromisoformat("2008-06-11T11:38:49.000-07:00"),
                "UploadSuccess",
                "ApiTestCo/another.jpg was processed into IPS.",
                asset_handle="a|732|1|536",
            ),
        ]
    )

    # The documented submitJob has no execTime: keep a job engine, where there is one, from
    # running "My Test Job" so that the documented empty getActiveJobs answer holds.
    server = start_server(url, folder / "server.log", IPS_ENGINE="false")
    try:
        yield Site(server, database, repository, add_run, (first, second))
    finally:
        stop_server(server)
        database.dispose()


@pytest.fixture
def my_test_job(site: Site) -> int:
    """'My Test Job' of company 47 exists (submitted with the documented request)."""
    job_id = site.my_test_job()
    if job_id is None:
        reply = site.replay("submitJob")
        assert reply.status == 200, etree.tostring(reply.root)
        job_id = site.my_test_job()
    assert job_id is not None
    return job_id


def empty_return(reply: Reply, operation: str, namespace: str = COMMON_NS) -> None:
    """stopJob and friends answer an empty `<op>Return/>`, as the real stopJob does."""
    assert reply.status == 200, etree.tostring(reply.root)
    assert reply.root.tag == f"{{{SOAP11}}}Envelope"
    payload = reply.payload()
    assert payload.tag == f"{{{namespace}}}{operation}Return"
    assert len(payload) == 0
    assert not (payload.text or "").strip()
    assert payload.nsmap.get(None) == namespace


# -- field-by-field comparison with a documented response -------------------------------------
_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def same_value(documented: str, got: str) -> bool:
    if _DATE.fullmatch(documented) and _DATE.fullmatch(got):
        return datetime.fromisoformat(documented) == datetime.fromisoformat(got)
    return documented == got


def assert_covers(documented: etree._Element, got: etree._Element, path: str = "") -> None:
    """Every element of the documented response is in ours, in the same order and namespace,
    with the same value (dates as instants: our server zone is UTC). Ours may have more: the
    emulator answers every namespace with the newest shapes (docs/differences.md)."""
    here = f"{path}/{etree.QName(documented).localname}"
    assert got.tag == documented.tag, here
    expected = [child for child in documented if isinstance(child.tag, str)]
    if not expected:
        assert same_value((documented.text or "").strip(), (got.text or "").strip()), (
            f"{here}: documented {documented.text!r}, got {got.text!r}"
        )
        return
    actual = list(got)
    position = 0
    for child in expected:
        for index in range(position, len(actual)):
            if actual[index].tag == child.tag:
                break
        else:
            raise AssertionError(f"{here}: no {etree.QName(child).localname} in order")
        assert_covers(child, actual[index], here)
        position = index + 1
    same_tag = [c for c in actual if c.tag in {e.tag for e in expected}]
    assert len(same_tag) == len(expected), f"{here}: extra items {etree.tostring(got)!r}"


# -- one check per documented request ---------------------------------------------------------
def check_submit_job(site: Site) -> Reply:
    if site.my_test_job() is not None:
        site.repository.delete_scheduled_job(47, JOB, datetime.now(UTC))
    reply = site.replay("submitJob")
    assert reply.status == 200, etree.tostring(reply.root)
    assert canonical(reply.payload()) == canonical(sample("adobedocs-submitJob-response.xml"))
    assert reply.payload().findtext(f"{{{COMMON_NS}}}jobHandle") == JOB_HANDLE
    job = site.repository.scheduled_job(47, JOB)
    assert job is not None
    assert (job.kind, job.detail["publishType"], job.detail["emailSetting"]) == (
        "imageServingPublishJob",
        "Full",
        "Error",
    )
    # With no execTime or execSchedule it ran at once, freeing its name (docs/differences.md).
    assert [run.original_name for run in my_test_job_runs(site)] == [JOB]
    again = site.replay("submitJob")
    assert again.payload().findtext(f"{{{COMMON_NS}}}jobHandle") == JOB_HANDLE
    assert len(my_test_job_runs(site)) == 2
    return reply


def my_test_job_runs(site: Site) -> list[Run]:
    return list(site.repository.runs(RunQuery([47], original_name=JOB)))


def forget_my_test_job_runs(site: Site) -> None:
    """The runs that submitting My Test Job started: the log examples show none."""
    with site.database.write() as conn:
        conn.execute(
            delete(job_runs).where(job_runs.c.company_id == 47, job_runs.c.original_name == JOB)
        )


def check_get_active_jobs(site: Site) -> Reply:
    forget_my_test_job_runs(site)
    reply = site.replay("getActiveJobs")
    assert reply.status == 200, etree.tostring(reply.root)
    assert canonical(reply.payload()) == canonical(sample("adobedocs-getActiveJobs-response.xml"))
    return reply


def check_get_scheduled_jobs(site: Site) -> Reply:
    # There is no system Cleanup job (docs/differences.md): schedule one like it in company 0.
    if site.repository.scheduled_job(0, "Cleanup") is None:
        submitted = site.send(
            f'<submitJobParam xmlns="{COMMON_NS}"><companyHandle>0</companyHandle>'
            "<jobName>Cleanup</jobName><execSchedule>00 00 00 * * </execSchedule>"
            "<imageServingPublishJob><publishType>Full</publishType>"
            "<emailSetting>None</emailSetting></imageServingPublishJob>"
            "</submitJobParam>".encode(),
            "submitJob",
        )
        assert submitted.payload().findtext(f"{{{COMMON_NS}}}jobHandle") == "0|Cleanup|"
        paused = site.send(
            f'<pauseJobParam xmlns="{COMMON_NS}"><companyHandle>0</companyHandle>'
            "<jobHandle>0|Cleanup|</jobHandle></pauseJobParam>".encode(),
            "pauseJob",
        )
        empty_return(paused, "pauseJob")

    reply = site.replay("getScheduledJobs")
    assert reply.status == 200, etree.tostring(reply.root)
    documented = sample("adobedocs-getScheduledJobs-response.xml")
    item = documented.find(f"{{{COMMON_NS}}}jobArray/{{{COMMON_NS}}}items")
    assert item is not None
    # What knowingly differs (docs/differences.md): no system job type or user, originalName
    # is the submitted name, the zone is the server's IANA zone and the time is ours.
    for name in ("originalName", "type", "submitUserEmail", "nextFireTime", "timeZone"):
        item.remove(item.find(f"{{{COMMON_NS}}}{name}"))
    assert_covers(documented, reply.payload())
    got = reply.payload().find(f"{{{COMMON_NS}}}jobArray/{{{COMMON_NS}}}items")
    assert got.findtext(f"{{{COMMON_NS}}}originalName") == "Cleanup"
    assert got.findtext(f"{{{COMMON_NS}}}submitUserEmail") == EMAIL
    assert got.findtext(f"{{{COMMON_NS}}}timeZone") == "UTC"
    fire = datetime.fromisoformat(got.findtext(f"{{{COMMON_NS}}}nextFireTime") or "")
    assert (fire.hour, fire.minute, fire.second, fire.utcoffset()) == (0, 0, 0, UTC.utcoffset(None))
    return reply


def check_get_job_logs(site: Site) -> Reply:
    forget_my_test_job_runs(site)
    reply = site.replay("getJobLogs")
    assert reply.status == 200, etree.tostring(reply.root)
    assert_covers(sample("adobedocs-getJobLogs-response.xml"), reply.payload())
    return reply


def check_get_job_log_details(site: Site) -> Reply:
    reply = site.replay("getJobLogDetails")
    assert reply.status == 200, etree.tostring(reply.root)
    # The documented response elides rows with a literal "..." (not well-formed as given).
    text = (SAMPLES / "adobedocs-getJobLogDetails-response.xml").read_text("utf-8")
    assert text.count("...") == 1
    documented = etree.fromstring(text.replace("...", "").encode())
    item = documented.find(f"{{{COMMON_NS}}}jobLogArray/{{{COMMON_NS}}}items")
    assert item is not None
    # The getJobLogs example shows the same run submitted by another user: we seeded that one.
    user = item.find(f"{{{COMMON_NS}}}submitUserEmail")
    assert user is not None and user.text == "some_address@adobe.com"
    user.text = site.add_run.submit_user_email
    assert_covers(documented, reply.payload())
    got = reply.payload().find(f"{{{COMMON_NS}}}jobLogArray/{{{COMMON_NS}}}items")
    assert got is not None
    # no detailTotalRows in the legacy JobLog (first seen 2016-01-14-beta), nor in the example
    assert got.find(f"{{{COMMON_NS}}}detailTotalRows") is None
    assert len(got.findall(f"{{{COMMON_NS}}}detailArray/{{{COMMON_NS}}}items")) == 3
    return reply


def check_get_asset_job_logs(site: Site) -> Reply:
    reply = site.replay("getAssetJobLogs")
    assert reply.status == 200, etree.tostring(reply.root)
    namespace = f"{COMMON_NS}/2008-01-15"
    documented = sample("adobedocs-getAssetJobLogs-response.xml")
    # The 2008 example shows run handles without the run id; ips-jobs always adds it.
    handles = documented.findall(f".//{{{namespace}}}jobHandle")
    assert [h.text for h in handles] == [f"j|6||{run.name}" for run in site.asset_runs]
    for handle, run in zip(handles, site.asset_runs, strict=True):
        handle.text = f"{handle.text}|{run.id}"
    assert_covers(documented, reply.payload())
    return reply


def check_stop_job(site: Site) -> Reply:
    job_id = site.my_test_job()
    forget_my_test_job_runs(site)
    # The documented request names the job definition; with nothing running that is a fault.
    reply = site.replay("stopJob")
    assert reply.status == 500
    assert reply.fault() == ("ipsApiFault", 30000, f"Job '{JOB_HANDLE}' is not running")
    assert reply.root.findtext(".//faultcode") == "soapenv:Server"
    assert reply.root.findtext(".//faultstring") == "ipsApiFault"

    started = datetime.now(UTC)
    run = site.repository.add_run(
        Run(
            id=0,
            company_id=47,
            scheduled_job_id=job_id,
            name=f"{JOB}_{started:%Y-%m-%d-%H:%M:%S}.000",
            original_name=JOB,
            kind="imageServingPublishJob",
            detail={"publishType": "Full", "emailSetting": "Error", "httpCompletionUrl": ""},
            submit_user_email=EMAIL,
            locale=None,
            description=None,
            state=RunState.RUNNING,
            server_name="emulator_1",
            trigger_time=started,
            start_date=started,
        )
    )
    try:
        stopped = site.replay("stopJob")
        empty_return(stopped, "stopJob")
        with site.database.read() as conn:
            state = conn.execute(select(job_runs.c.state).where(job_runs.c.id == run.id))
            assert state.scalar_one() == RunState.STOPPING.value
    finally:
        with site.database.write() as conn:
            conn.execute(delete(job_runs).where(job_runs.c.id == run.id))
    return stopped


def check_pause_job(site: Site) -> Reply:
    job_id = site.my_test_job()
    assert job_id is not None
    site.repository.set_trigger_state(job_id, set(TriggerState), TriggerState.NORMAL)
    reply = site.replay("pauseJob")
    empty_return(reply, "pauseJob")
    job = site.repository.scheduled_job(47, JOB)
    assert job is not None and job.trigger_state is TriggerState.PAUSED
    return reply


def check_resume_job(site: Site) -> Reply:
    job_id = site.my_test_job()
    assert job_id is not None
    site.repository.set_trigger_state(job_id, set(TriggerState), TriggerState.PAUSED)
    reply = site.replay("resumeJob")
    empty_return(reply, "resumeJob")
    job = site.repository.scheduled_job(47, JOB)
    assert job is not None and job.trigger_state is TriggerState.NORMAL
    return reply


def check_execute_job(site: Site) -> Reply:
    assert site.my_test_job() is not None
    before = len(my_test_job_runs(site))
    reply = site.replay("executeJob")
    empty_return(reply, "executeJob")
    assert len(my_test_job_runs(site)) == before + 1  # its run is there when the call returns
    return reply


def check_delete_job(site: Site) -> Reply:
    assert site.my_test_job() is not None
    reply = site.replay("deleteJob")
    empty_return(reply, "deleteJob")
    assert site.my_test_job() is None
    again = site.replay("deleteJob")
    assert again.fault()[:2] == ("ipsApiFault", 30001)
    return reply


CHECKS: dict[str, Callable[[Site], Reply]] = {
    "submitJob": check_submit_job,
    "getScheduledJobs": check_get_scheduled_jobs,
    "getActiveJobs": check_get_active_jobs,
    "getJobLogs": check_get_job_logs,
    "getJobLogDetails": check_get_job_log_details,
    "getAssetJobLogs": check_get_asset_job_logs,
    "stopJob": check_stop_job,
    "pauseJob": check_pause_job,
    "resumeJob": check_resume_job,
    "executeJob": check_execute_job,
    "deleteJob": check_delete_job,
}


def test_every_documented_request_has_a_check() -> None:
    assert sorted(operation_of(path) for path in REQUESTS) == sorted(CHECKS)


@pytest.mark.parametrize("request_file", REQUESTS, ids=operation_of)
def test_documented_request(request_file: Path, site: Site, my_test_job: int) -> None:
    operation = operation_of(request_file)
    assert operation in CHECKS, f"no check for {request_file.name}"
    reply = CHECKS[operation](site)
    # The answer is <op>Return in the request's namespace, declared as the default, like IPS.
    namespace = etree.QName(etree.fromstring(request_file.read_bytes())).namespace
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/xml;charset=UTF-8"
    payload = reply.payload()
    assert payload.tag == f"{{{namespace}}}{operation}Return"
    assert payload.prefix is None
