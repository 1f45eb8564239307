"""What a real Python client sees: zeep clients built from the WSDLs the server serves, calling
every operation, with every way of authenticating, over SOAP 1.1 and 1.2."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import requests
import zeep
import zeep.exceptions
from conftest import (
    BASE_TIME,
    COMMON_NS,
    PASSWORD,
    PUBLISH,
    SOAP11,
    SOAP12,
    Account,
    Server,
    detail_row,
    make_account,
    seed_run,
)
from lxml import etree
from zeep.plugins import HistoryPlugin
from zeep.transports import Transport

from ips_jobs.domain.jobs import LogAux, LogCounts, Run, RunState, TaskProgress
from ips_jobs.store.repository import SqlJobRepository

WSDL_NS = "http://www.scene7.com/IpsApi"
VERSIONED_WSDL = "/scene7/webservice/IpsApi-2014-04-03.wsdl"
#: Jobs are submitted to run at this time unless a test is about execTime or execSchedule, so
#: that they stay scheduled whether or not a job engine runs beside the server.
LATER = datetime(2099, 1, 1, tzinfo=UTC)


# -- the served WSDLs -------------------------------------------------------------------------
@dataclass(frozen=True)
class Flavor:
    """One served WSDL: where it is, its payload namespace, and the handles it speaks."""

    id: str
    wsdl_path: str
    namespace: str
    legacy: bool
    #: What this version's types hold (ips-versions.md §2.3, §2.8): User's role element, and
    #: whether JobLog has originalJobName and detailTotalRows.
    role: str = "role"
    original_job_name: bool = True
    detail_total_rows: bool = True

    def company(self, account: Account) -> str:
        return str(account.company_id) if self.legacy else account.company_handle

    def definition(self, account: Account, name: str) -> str:
        if self.legacy:
            return f"{account.company_id}|{name}|"
        return f"j|{account.company_id}|{name}||"

    def run(self, account: Account, run: Run) -> str:
        if self.legacy:
            return f"{account.company_id}||{run.name}"
        return f"j|{account.company_id}||{run.name}|{run.id}"

    def user(self, account: Account) -> str:
        if self.legacy:
            return f"{account.user_id}|{account.email}"
        return f"u|{account.user_id}|{account.email}"


FLAVORS = [
    Flavor(
        "IpsApi-2014-04-03.wsdl",
        VERSIONED_WSDL,
        f"{COMMON_NS}/2014-04-03",
        legacy=False,
        role="defaultRole",
        detail_total_rows=False,
    ),
    Flavor(
        "IpsApiService?wsdl",
        "/scene7/services/IpsApiService?wsdl",
        f"{COMMON_NS}/2022-11-01-beta",
        legacy=False,
    ),
    Flavor(
        "IpsApi.wsdl",
        "/scene7/webservice/IpsApi.wsdl",
        COMMON_NS,
        legacy=True,
        original_job_name=False,
        detail_total_rows=False,
    ),
]
VERSIONED = FLAVORS[0]
NEWEST_WSDL = FLAVORS[1].wsdl_path


# -- clients ----------------------------------------------------------------------------------
@dataclass
class Ips:
    """A zeep client plus the SOAP headers every call carries; `ips.submitJob(...)`."""

    client: zeep.Client
    history: HistoryPlugin
    headers: list[Any] | None
    service: Any = None

    def __getattr__(self, operation: str) -> Callable[..., Any]:
        method = getattr(self.service or self.client.service, operation)

        def call(**kwargs: Any) -> Any:
            if self.headers is not None:
                kwargs["_soapheaders"] = self.headers
            return method(**kwargs)

        return call

    def received(self) -> etree._Element:
        """The last response envelope, as it came over the wire."""
        return self.history.last_received["envelope"]

    def payload(self) -> etree._Element:
        body = self.received()[-1]
        return body[0]

    def assert_empty(self, array: str) -> None:
        """zeep reads an empty array as None: check the wire had the element, and empty."""
        found = self.payload().findall(f"{{*}}{array}")
        assert len(found) == 1, etree.tostring(self.payload())
        assert len(found[0]) == 0, etree.tostring(found[0])


@pytest.fixture
def open_client(server: Server) -> Iterator[Callable[..., Ips]]:
    """Opens zeep clients on the served WSDLs and closes their HTTP sessions afterwards."""
    sessions: list[requests.Session] = []

    def _open(
        account: Account | None,
        path: str = VERSIONED_WSDL,
        basic: tuple[str, str] | None = None,
        headers: list[Any] | None = None,
    ) -> Ips:
        session = requests.Session()
        sessions.append(session)
        if basic is not None:
            session.auth = basic
        history = HistoryPlugin()
        client = zeep.Client(
            server.base_url + path, transport=Transport(session=session), plugins=[history]
        )
        if headers is None and account is not None:
            headers = [authenticate(client, account.email, account.password)]
        return Ips(client, history, headers)

    yield _open
    for session in sessions:
        session.close()


@pytest.fixture(scope="module")
def stranger(server_repository: SqlJobRepository) -> Account:
    """Someone with a company of their own, whom the test's account shares nothing with."""
    return make_account(server_repository)


def authenticate(client: zeep.Client, email: str, password: str) -> Any:
    element = client.get_element(f"{{{COMMON_NS}}}authHeader")
    return element(user=email, password=password, appName="zeep-tests", appVersion="1.0")


def ips_fault(error: zeep.exceptions.Fault) -> tuple[str, int, str]:
    """(fault element, code, reason) from the detail of a zeep Fault."""
    assert error.detail is not None
    elements = [child for child in error.detail if isinstance(child.tag, str)]
    assert len(elements) == 1, etree.tostring(error.detail)
    element = elements[0]
    assert etree.QName(element).namespace == COMMON_NS
    code = element.findtext(f"{{{COMMON_NS}}}code")
    reason = element.findtext(f"{{{COMMON_NS}}}reason")
    return etree.QName(element).localname, int(code or -1), reason or ""


def expect_fault(call: Callable[[], Any]) -> tuple[str, int, str]:
    with pytest.raises(zeep.exceptions.Fault) as caught:
        call()
    return ips_fault(caught.value)


def submit_publish(ips: Ips, flavor: Flavor, account: Account, name: str) -> str:
    return ips.submitJob(
        companyHandle=flavor.company(account),
        jobName=name,
        execTime=LATER,
        imageServingPublishJob=PUBLISH,
    )


# -- every operation, through each served WSDL ------------------------------------------------
@pytest.mark.parametrize("flavor", FLAVORS, ids=lambda f: f.id)
def test_every_operation_through_each_served_wsdl(
    flavor: Flavor,
    open_client: Callable[..., Ips],
    account: Account,
    server_repository: SqlJobRepository,
) -> None:
    ips = open_client(account, flavor.wsdl_path)
    company = flavor.company(account)

    def answered_in_request_namespace(operation: str) -> None:
        payload = ips.payload()
        assert payload.tag == f"{{{flavor.namespace}}}{operation}Return"

    assert ips.checkLogin(companyHandle=company, email=account.email, password=PASSWORD) == (
        "ValidLogin"
    )
    answered_in_request_namespace("checkLogin")
    info = ips.getCompanyInfo(companyName=account.company_name)
    assert (info.companyHandle, info.name) == (company, account.company_name)
    answered_in_request_namespace("getCompanyInfo")
    me = ips.getUserInfo()
    assert (me.userHandle, me.email, getattr(me, flavor.role)) == (
        flavor.user(account),
        account.email,
        "IpsUser",
    )

    name = "Nightly publish"
    handle = submit_publish(ips, flavor, account, name)
    assert handle == flavor.definition(account, name)
    answered_in_request_namespace("submitJob")

    scheduled = ips.getScheduledJobs(companyHandle=company)
    assert [(j.jobHandle, j.name, j.type, j.triggerState) for j in scheduled] == [
        (handle, name, "ImageServingPublish", "Normal")
    ]
    assert scheduled[0].companyHandle == company
    assert scheduled[0].imageServingPublishJob.publishType == "Full"

    assert ips.pauseJob(companyHandle=company, jobHandle=handle) is None
    answered_in_request_namespace("pauseJob")
    assert ips.getScheduledJobs(jobHandle=handle)[0].triggerState == "Paused"
    assert ips.resumeJob(companyHandle=company, jobHandle=handle) is None
    assert ips.getScheduledJobs(jobHandle=handle)[0].triggerState == "Normal"

    running = seed_run(server_repository, account, name, BASE_TIME + timedelta(hours=1))
    done = seed_run(
        server_repository,
        account,
        name,
        BASE_TIME,
        state=RunState.DONE,
        end=BASE_TIME + timedelta(minutes=5),
        log_type="EndImageServingPublish",
        counts=LogCounts(file_success=3, total_file=3),
    )
    server_repository.add_log_details(
        [
            detail_row(done, 1, "BeginImageServingPublish", "Publish has begun"),
            detail_row(
                done,
                2,
                "ImageServingPublishSuccess",
                "Shoes/red.jpg was published",
                asset_name="red.jpg",
                asset_type="MasterImage",
                asset_handle=f"a|{account.company_id}|1|77",
            ),
        ]
    )

    active = ips.getActiveJobs(companyHandle=company)
    assert [(j.jobHandle, j.name, j.originalName, j.state) for j in active] == [
        (flavor.run(account, running), running.name, name, "Running")
    ]
    answered_in_request_namespace("getActiveJobs")

    logs = ips.getJobLogs(companyHandle=company)
    assert [log.jobHandle for log in logs] == [
        flavor.run(account, running),
        flavor.run(account, done),
    ]
    assert (logs[1].jobName, logs[1].fileSuccessCount, logs[1].totalFileCount) == (
        done.name,
        3,
        3,
    )
    if flavor.original_job_name:
        assert logs[1].originalJobName == name

    details = ips.getJobLogDetails(companyHandle=company, jobHandle=flavor.run(account, done))
    assert len(details) == 1
    if flavor.detail_total_rows:
        assert details[0].detailTotalRows == 2
    assert [(d.logType, d.logMessage) for d in details[0].detailArray["items"]] == [
        ("BeginImageServingPublish", "Publish has begun"),
        ("ImageServingPublishSuccess", "Shoes/red.jpg was published"),
    ]

    operations = ips.client.service._operations
    if flavor.legacy:  # getAssetJobLogs came with 4.0 (2008-01-15)
        assert "getAssetJobLogs" not in operations
    else:
        asset_logs = ips.getAssetJobLogs(
            companyHandle=company, assetHandle=f"a|{account.company_id}|1|77"
        )
        assert [(a.jobHandle, a.jobName, a.logType) for a in asset_logs] == [
            (flavor.run(account, done), done.name, "ImageServingPublishSuccess")
        ]
        answered_in_request_namespace("getAssetJobLogs")

    assert ips.stopJob(companyHandle=company, jobHandle=flavor.run(account, running)) is None
    answered_in_request_namespace("stopJob")
    assert [j.state for j in ips.getActiveJobs(companyHandle=company)] == ["Stopping"]

    assert ips.executeJob(companyHandle=company, jobHandle=handle) is None
    answered_in_request_namespace("executeJob")
    assert ips.deleteJob(companyHandle=company, jobHandle=handle) is None
    answered_in_request_namespace("deleteJob")
    assert ips.getScheduledJobs(companyHandle=company) is None
    ips.assert_empty("jobArray")


# -- submitJob and getScheduledJobs -----------------------------------------------------------
def test_image_serving_publish_job_is_echoed_with_the_server_default(
    open_client: Callable[..., Ips], account: Account
) -> None:
    ips = open_client(account)
    handle = ips.submitJob(
        companyHandle=account.company_handle,
        jobName="Publish it",
        execTime=LATER,
        description="from zeep",
        locale="en-US",
        imageServingPublishJob={"publishType": "Incremental", "emailSetting": "Error"},
    )
    assert handle == f"j|{account.company_id}|Publish it||"
    [job] = ips.getScheduledJobs(companyHandle=account.company_handle, originalName="Publish it")
    assert (job.name, job.originalName, job.submitUserEmail) == (
        "Publish it",
        "Publish it",
        account.email,
    )
    assert (job.description, job.locale, job.timeZone) == ("from zeep", "en-US", "UTC")
    assert job.imageServingPublishJob.publishType == "Incremental"
    assert job.imageServingPublishJob.emailSetting == "Error"
    echoed = ips.payload().find(f".//{{{VERSIONED.namespace}}}imageServingPublishJob")
    assert [etree.QName(child).localname for child in echoed] == [
        "publishType",
        "emailSetting",
        "httpCompletionUrl",
    ]
    assert echoed[2].text is None


def test_upload_urls_job_is_echoed_with_server_defaults_and_no_urls(
    open_client: Callable[..., Ips], account: Account
) -> None:
    ips = open_client(account)
    urls = [
        {"sourceUrl": f"https://images.example.test/{n}.jpg", "destPath": f"shoes/{n}.jpg"}
        for n in ("red", "blue", "green")
    ]
    handle = ips.submitJob(
        companyHandle=account.company_handle,
        jobName="Fetch shoes",
        execTime=LATER,
        uploadUrlsJob={
            "urlArray": {"items": urls},
            "overwrite": True,
            "readyForPublish": True,
            "createMask": False,
            "emailSetting": "None",
        },
    )
    [job] = ips.getScheduledJobs(jobHandle=handle)
    assert job.type == "UrlUpload"
    upload = job.uploadUrlsJob
    assert upload.numUrls == 3
    assert (upload.overwrite, upload.readyForPublish, upload.createMask) == (True, True, False)
    assert upload.preserveCrop is True
    assert upload.preservePublishState is False
    assert upload.postJobOnlyIfFiles is False
    assert upload.pdfOptions.process == "render"
    assert (upload.pdfOptions.pdfCatalog, upload.pdfOptions.extractLinks) == (True, True)
    assert upload.postScriptOptions.resolution == 72.0
    assert upload.illustratorOptions.colorspace == "Auto"
    assert upload.photoshopOptions.process == "None"
    assert upload.colorManagementOptions.colorManagement == "Default"
    assert upload.inDesignOptions.process == "None"

    # As the real service: the URLs are counted, not echoed: <urlArray/> is empty.
    ns = VERSIONED.namespace
    url_array = ips.payload().find(f".//{{{ns}}}uploadUrlsJob/{{{ns}}}urlArray")
    assert url_array is not None
    assert len(url_array) == 0
    assert ips.payload().findtext(f".//{{{ns}}}uploadUrlsJob/{{{ns}}}numUrls") == "3"


def test_export_job_is_listed_with_its_assets(
    open_client: Callable[..., Ips], account: Account
) -> None:
    ips = open_client(account)
    assets = [f"a|{account.company_id}|1|{n}" for n in (11, 12)]
    handle = ips.submitJob(
        companyHandle=account.company_handle,
        jobName="Export originals",
        execTime=LATER,
        exportJob={"assetHandleArray": {"items": assets}, "fmt": "orig", "emailSetting": "All"},
    )
    [job] = ips.getScheduledJobs(jobHandle=handle)
    assert job.type == "Export"
    assert job.exportJob.assetHandleArray["items"] == assets
    assert (job.exportJob.fmt, job.exportJob.emailSetting) == ("orig", "All")
    assert job.imageServingPublishJob is None


def test_exec_time_with_a_zone_becomes_the_next_fire_time(
    open_client: Callable[..., Ips], account: Account
) -> None:
    ips = open_client(account)
    when = datetime(2031, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=-7)))
    handle = ips.submitJob(
        companyHandle=account.company_handle,
        jobName="Later",
        execTime=when,
        imageServingPublishJob=PUBLISH,
    )
    [job] = ips.getScheduledJobs(jobHandle=handle)
    assert job.nextFireTime == when
    ns = VERSIONED.namespace
    assert ips.payload().findtext(f".//{{{ns}}}nextFireTime") == "2031-05-06T14:08:09.000Z"
    assert job.execSchedule is None
    assert job.triggerState == "Normal"


def test_exec_schedule_is_echoed_with_its_next_fire_time(
    open_client: Callable[..., Ips], account: Account
) -> None:
    ips = open_client(account)
    before = datetime.now(UTC)
    handle = ips.submitJob(
        companyHandle=account.company_handle,
        jobName="Every midnight",
        execSchedule="00 00 00 * * ",
        imageServingPublishJob=PUBLISH,
    )
    [job] = ips.getScheduledJobs(jobHandle=handle)
    assert job.execSchedule == "00 00 00 * * "
    fire = job.nextFireTime
    assert before < fire <= before + timedelta(days=1)
    assert (fire.hour, fire.minute, fire.second) == (0, 0, 0)
    assert fire.utcoffset() == timedelta(0)


# -- queries over seeded runs -----------------------------------------------------------------
def test_get_active_jobs_by_company_definition_and_run_handle(
    open_client: Callable[..., Ips], account: Account, server_repository: SqlJobRepository
) -> None:
    ips = open_client(account)
    company = account.company_handle
    submit_publish(ips, VERSIONED, account, "Publish")
    urls = {"items": [{"sourceUrl": "https://x.test/a.jpg", "destPath": "a.jpg"}]}
    upload_detail = {
        "urlArray": urls,
        "overwrite": True,
        "readyForPublish": True,
        "createMask": False,
        "emailSetting": "None",
    }
    ips.submitJob(
        companyHandle=company, jobName="Upload", execTime=LATER, uploadUrlsJob=upload_detail
    )
    task = TaskProgress(
        task_type="com.scene7.upload.UploadAsyncTaskMonitor",
        task_state="Processing",
        num_processed=1,
        num_processing=0,
        num_pending=2,
        progress=0.25,
        progress_message="",
        last_progress_update=BASE_TIME + timedelta(seconds=5),
    )
    publish = seed_run(
        server_repository,
        account,
        "Publish",
        BASE_TIME,
        progress_message="Starting to generate manifest files.",
    )
    upload = seed_run(
        server_repository,
        account,
        "Upload",
        BASE_TIME + timedelta(minutes=1),
        kind="uploadUrlsJob",
        detail=upload_detail,
        tasks=(task,),
    )
    seed_run(
        server_repository,
        account,
        "Publish",
        BASE_TIME - timedelta(days=1),
        state=RunState.DONE,
        end=BASE_TIME - timedelta(days=1) + timedelta(minutes=3),
    )

    by_company = ips.getActiveJobs(companyHandle=company)
    assert [j.jobHandle for j in by_company] == [
        f"j|{account.company_id}||{publish.name}|{publish.id}",
        f"j|{account.company_id}||{upload.name}|{upload.id}",
    ]
    first = by_company[0]
    assert (first.type, first.state, first.originalName) == (
        "ImageServingPublish",
        "Running",
        "Publish",
    )
    assert first.progressMessage == "Starting to generate manifest files."
    assert first.startDate == BASE_TIME
    assert first.imageServingPublishJob.publishType == "Full"

    second = by_company[1]
    assert second.type == "UrlUpload"
    assert second.uploadUrlsJob.numUrls == 1
    [progress] = second.taskProgressArray["items"]
    assert (progress.taskType, progress.taskState, progress.numPending) == (
        "com.scene7.upload.UploadAsyncTaskMonitor",
        "Processing",
        2,
    )
    assert progress.progress == 0.25

    by_definition = ips.getActiveJobs(jobHandle=f"j|{account.company_id}|Publish||")
    assert [j.name for j in by_definition] == [publish.name]
    by_run = ips.getActiveJobs(
        companyHandle=company, jobHandle=f"j|{account.company_id}||{upload.name}|{upload.id}"
    )
    assert [j.name for j in by_run] == [upload.name]
    assert [j.name for j in ips.getActiveJobs(originalName="Upload")] == [upload.name]
    assert ips.getActiveJobs(originalName="Nothing like this") is None
    ips.assert_empty("jobArray")


def test_get_job_logs_sorts_and_limits(
    open_client: Callable[..., Ips], account: Account, server_repository: SqlJobRepository
) -> None:
    ips = open_client(account)
    runs = [
        seed_run(
            server_repository,
            account,
            name,
            BASE_TIME + timedelta(hours=hour),
            state=RunState.DONE,
            end=BASE_TIME + timedelta(hours=hour, minutes=10),
            log_type="EndUpload",
            counts=LogCounts(file_success=hour, file_error=errors, total_file=hour + errors),
            kind="uploadUrlsJob",
            detail={"overwrite": True, "emailSetting": "None"},
        )
        for hour, name, errors in ((1, "Bravo", 5), (2, "Alpha", 0), (3, "Charlie", 2))
    ]

    newest_first = ips.getJobLogs(companyHandle=account.company_handle)
    assert [log.jobName for log in newest_first] == [r.name for r in reversed(runs)]
    log = newest_first[0]
    assert (log.originalJobName, log.logType, log.submitUserEmail) == (
        "Charlie",
        "EndUpload",
        account.email,
    )
    assert (log.fileSuccessCount, log.fileErrorCount, log.totalFileCount) == (3, 2, 5)
    assert log.fatalError is False
    assert log.startDate == BASE_TIME + timedelta(hours=3)
    assert log.endDate == BASE_TIME + timedelta(hours=3, minutes=10)
    assert log.detailArray is None

    oldest_two = ips.getJobLogs(
        companyHandle=account.company_handle,
        sortBy="StartDate",
        sortDirection="Ascending",
        numRows=2,
    )
    assert [log.originalJobName for log in oldest_two] == ["Bravo", "Alpha"]
    oldest_first = ips.getJobLogs(companyHandle=account.company_handle, sortDirection="Ascending")
    assert [log.originalJobName for log in oldest_first] == ["Bravo", "Alpha", "Charlie"]
    by_name = ips.getJobLogs(
        companyHandle=account.company_handle, sortBy="JobName", sortDirection="Ascending"
    )
    assert [log.originalJobName for log in by_name] == ["Alpha", "Bravo", "Charlie"]
    by_errors = ips.getJobLogs(
        companyHandle=account.company_handle, sortBy="FileErrorCount", sortDirection="Descending"
    )
    assert [log.fileErrorCount for log in by_errors] == [5, 2, 0]
    window = ips.getJobLogs(
        companyHandle=account.company_handle,
        startDate=BASE_TIME + timedelta(hours=1, minutes=30),
        endDate=BASE_TIME + timedelta(hours=2, minutes=30),
    )
    assert [log.originalJobName for log in window] == ["Alpha"]

    assert expect_fault(
        lambda: ips.getJobLogs(companyHandle=account.company_handle, sortBy="Size")
    )[:2] == ("ipsApiFault", 30001)


def test_get_job_log_details_pages_filters_and_sorts(
    open_client: Callable[..., Ips], account: Account, server_repository: SqlJobRepository
) -> None:
    ips = open_client(account, NEWEST_WSDL)  # detailTotalRows: 2016-01-14-beta and later
    run = seed_run(
        server_repository,
        account,
        "Upload shoes",
        BASE_TIME,
        state=RunState.DONE,
        kind="uploadUrlsJob",
        detail={"overwrite": True, "emailSetting": "None"},
        end=BASE_TIME + timedelta(minutes=10),
        log_type="BeginUpload",
    )
    warning = LogAux("Colour profile ignored", "UploadWarning", BASE_TIME + timedelta(minutes=3))
    rows = [
        detail_row(run, 0, "BeginUpload", "Upload has begun!"),
        detail_row(run, 1, "OriginalJobName", "Upload shoes"),
        detail_row(
            run,
            2,
            "UploadSuccess",
            "shoes/red.jpg was processed into IPS",
            asset_name="red.jpg",
            asset_type="MasterImage",
            asset_handle="a|1|1|1",
        ),
        detail_row(
            run,
            3,
            "UploadSuccess",
            "shoes/blue.jpg was processed into IPS",
            asset_name="blue.jpg",
            asset_type="MasterImage",
            aux=(warning,),
        ),
        detail_row(run, 4, "EndUpload", "Upload has ended"),
    ]
    server_repository.add_log_details(rows)
    run_handle = f"j|{account.company_id}||{run.name}|{run.id}"

    def details(**kwargs: Any) -> tuple[int, list[tuple[str, str]]]:
        [log] = ips.getJobLogDetails(companyHandle=account.company_handle, **kwargs)
        assert log.jobHandle == run_handle
        items = log.detailArray["items"] if log.detailArray else []
        return log.detailTotalRows, [(item.logType, item.logMessage) for item in items]

    everything = [(row.log_type, row.log_message) for row in rows]
    assert details(jobHandle=run_handle) == (5, everything)
    assert details(originalName="Upload shoes") == (5, everything)
    assert details(jobHandle=run_handle, recordsPerPage=2, resultsPage=2) == (5, everything[2:4])
    assert details(jobHandle=run_handle, recordsPerPage=2, resultsPage=3) == (5, everything[4:])
    assert details(jobHandle=run_handle, recordsPerPage=2, resultsPage=4) == (5, [])
    assert details(jobHandle=run_handle, recordsPerPage=5000) == (5, everything)
    assert details(
        jobHandle=run_handle, logTypeArray={"items": ["UploadSuccess", "EndUpload"]}
    ) == (3, everything[2:])
    # A log type IPS does not know filters like any other: it matches nothing.
    assert details(
        jobHandle=run_handle, logTypeArray={"items": ["UploadSuccess", "NoSuchLogType"]}
    ) == (2, everything[2:4])
    assert details(jobHandle=run_handle, logTypeArray={"items": ["NoSuchLogType"]}) == (0, [])
    assert details(jobHandle=run_handle, sortBy="Date", sortDirection="Descending") == (
        5,
        everything[::-1],
    )
    by_type = details(jobHandle=run_handle, sortBy="LogType", sortDirection="Ascending")
    assert [log_type for log_type, _ in by_type[1]] == sorted(row.log_type for row in rows)

    [log] = ips.getJobLogDetails(
        companyHandle=account.company_handle,
        jobHandle=run_handle,
        logTypeArray={"items": ["UploadSuccess"]},
    )
    red, blue = log.detailArray["items"]
    assert (red.assetName, red.assetType, red.assetHandle) == ("red.jpg", "MasterImage", "a|1|1|1")
    assert red.dateCreated == BASE_TIME + timedelta(minutes=2)
    assert red.auxArray is None
    [aux] = blue.auxArray["items"]
    assert (aux.logType, aux.logMessage) == ("UploadWarning", "Colour profile ignored")

    assert expect_fault(
        lambda: ips.getJobLogDetails(
            companyHandle=account.company_handle, jobHandle=run_handle, recordsPerPage=0
        )
    )[:2] == ("ipsApiFault", 30001)


def test_get_asset_job_logs_lists_every_run_that_touched_the_asset(
    open_client: Callable[..., Ips], account: Account, server_repository: SqlJobRepository
) -> None:
    ips = open_client(account)
    asset = f"a|{account.company_id}|1|535"
    first = seed_run(
        server_repository, account, "Add", BASE_TIME, state=RunState.DONE, kind="uploadUrlsJob"
    )
    second = seed_run(
        server_repository,
        account,
        "Update",
        BASE_TIME + timedelta(days=1),
        state=RunState.DONE,
        kind="uploadUrlsJob",
    )
    server_repository.add_log_details(
        [
            detail_row(first, 1, "UploadSuccess", "blake.jpg was processed", asset_handle=asset),
            detail_row(first, 2, "UploadSuccess", "other.jpg was processed", asset_handle="a|9"),
            detail_row(second, 1, "FileUpdated", "blake.jpg was updated", asset_handle=asset),
        ]
    )
    logs = ips.getAssetJobLogs(companyHandle=account.company_handle, assetHandle=asset)
    assert [(log.jobName, log.logType, log.logMessage) for log in logs] == [
        (first.name, "UploadSuccess", "blake.jpg was processed"),
        (second.name, "FileUpdated", "blake.jpg was updated"),
    ]
    assert logs[0].jobHandle == f"j|{account.company_id}||{first.name}|{first.id}"
    assert logs[0].submitUserEmail == account.email
    assert logs[0].logDate == BASE_TIME + timedelta(minutes=1)
    assert ips.getAssetJobLogs(companyHandle=account.company_handle, assetHandle="a|0|0|0") is None
    ips.assert_empty("jobLogArray")


# -- controls ---------------------------------------------------------------------------------
def test_stop_job_stops_running_runs_and_faults_without_one(
    open_client: Callable[..., Ips], account: Account, server_repository: SqlJobRepository
) -> None:
    ips = open_client(account)
    company = account.company_handle
    definition = submit_publish(ips, VERSIONED, account, "Stoppable")

    reason = expect_fault(lambda: ips.stopJob(companyHandle=company, jobHandle=definition))
    assert reason[:2] == ("ipsApiFault", 30000)
    assert definition in reason[2]

    run = seed_run(server_repository, account, "Stoppable", BASE_TIME)
    assert ips.stopJob(companyHandle=company, jobHandle=definition) is None
    [active] = ips.getActiveJobs(companyHandle=company)
    assert (active.name, active.state) == (run.name, "Stopping")

    done = seed_run(
        server_repository,
        account,
        "Stoppable",
        BASE_TIME - timedelta(days=1),
        state=RunState.DONE,
    )
    done_handle = f"j|{account.company_id}||{done.name}|{done.id}"
    assert expect_fault(lambda: ips.stopJob(companyHandle=company, jobHandle=done_handle))[:2] == (
        "ipsApiFault",
        30000,
    )
    missing = f"j|{account.company_id}||nothing_2024|999999999"
    assert expect_fault(lambda: ips.stopJob(companyHandle=company, jobHandle=missing))[:2] == (
        "ipsApiFault",
        30001,
    )


def test_pause_and_resume_move_the_trigger_state(
    open_client: Callable[..., Ips], account: Account
) -> None:
    ips = open_client(account)
    company = account.company_handle
    handle = submit_publish(ips, VERSIONED, account, "Pausable")

    def state() -> str:
        [job] = ips.getScheduledJobs(jobHandle=handle)
        return str(job.triggerState)

    assert ips.pauseJob(companyHandle=company, jobHandle=handle) is None
    assert state() == "Paused"
    assert ips.pauseJob(companyHandle=company, jobHandle=handle) is None
    assert state() == "Paused"
    assert ips.resumeJob(companyHandle=company, jobHandle=handle) is None
    assert state() == "Normal"
    assert expect_fault(
        lambda: ips.pauseJob(companyHandle=company, jobHandle=f"j|{account.company_id}|Nope||")
    )[:2] == ("ipsApiFault", 30001)


def test_execute_job_starts_a_run_before_it_answers(
    open_client: Callable[..., Ips], account: Account
) -> None:
    ips = open_client(account, NEWEST_WSDL)  # ActiveJob/triggerTime: 2016-01-14-beta on
    handle = ips.submitJob(
        companyHandle=account.company_handle,
        jobName="Run me now",
        execSchedule="0 0 3 * * ?",
        imageServingPublishJob=PUBLISH,
    )
    before = datetime.now(UTC) - timedelta(seconds=1)
    assert ips.executeJob(companyHandle=account.company_handle, jobHandle=handle) is None
    [run] = ips.getActiveJobs(companyHandle=account.company_handle, originalName="Run me now")
    assert run.state == "New"  # this server has no engine: nothing but executeJob made it
    assert before <= run.triggerTime <= datetime.now(UTC)
    [job] = ips.getScheduledJobs(jobHandle=handle)
    assert (job.execSchedule, job.triggerState) == ("0 0 3 * * ?", "Normal")
    assert expect_fault(
        lambda: ips.executeJob(
            companyHandle=account.company_handle, jobHandle=f"j|{account.company_id}|Nope||"
        )
    )[:2] == ("ipsApiFault", 30001)


def test_delete_job_removes_the_schedule_and_the_name_can_be_reused(
    open_client: Callable[..., Ips], account: Account
) -> None:
    ips = open_client(account)
    company = account.company_handle
    handle = submit_publish(ips, VERSIONED, account, "Short lived")
    duplicate = expect_fault(lambda: submit_publish(ips, VERSIONED, account, "Short lived"))
    assert duplicate == ("ipsApiFault", 30000, "Job name 'Short lived' is already in use.")

    assert ips.deleteJob(companyHandle=company, jobHandle=handle) is None
    assert ips.getScheduledJobs(companyHandle=company) is None
    ips.assert_empty("jobArray")
    assert expect_fault(lambda: ips.deleteJob(companyHandle=company, jobHandle=handle))[:2] == (
        "ipsApiFault",
        30001,
    )
    assert submit_publish(ips, VERSIONED, account, "Short lived") == handle


# -- accounts ---------------------------------------------------------------------------------
def test_check_login_says_valid_or_invalid(
    open_client: Callable[..., Ips], account: Account, stranger: Account
) -> None:
    ips = open_client(account)
    assert ips.checkLogin(email=account.email, password=PASSWORD) == "ValidLogin"
    assert (
        ips.checkLogin(companyHandle=account.company_handle, email=account.email, password=PASSWORD)
        == "ValidLogin"
    )
    assert ips.checkLogin(email=account.email, password="wrong") == "InvalidLogin"
    assert ips.checkLogin(email="nobody@example.test", password=PASSWORD) == "InvalidLogin"
    assert (
        ips.checkLogin(
            companyHandle=stranger.company_handle, email=account.email, password=PASSWORD
        )
        == "InvalidLogin"
    )
    assert ips.payload().tag == f"{{{VERSIONED.namespace}}}checkLoginReturn"


def test_get_company_info_by_name_and_by_handle(
    open_client: Callable[..., Ips], account: Account, stranger: Account
) -> None:
    ips = open_client(account)
    by_name = ips.getCompanyInfo(companyName=account.company_name)
    assert by_name.companyHandle == account.company_handle
    assert by_name.name == account.company_name
    assert by_name.rootPath.endswith("/")
    by_handle = ips.getCompanyInfo(companyHandle=by_name.companyHandle)
    assert (by_handle.companyHandle, by_handle.name) == (account.company_handle, by_name.name)

    assert expect_fault(lambda: ips.getCompanyInfo(companyName=stranger.company_name))[:2] == (
        "ipsApiFault",
        30001,
    )
    assert expect_fault(lambda: ips.getCompanyInfo(companyHandle=stranger.company_handle))[:2] == (
        "authorizationFault",
        20006,
    )


def test_get_user_info_of_the_caller_and_of_a_colleague(
    open_client: Callable[..., Ips], account: Account, stranger: Account
) -> None:
    ips = open_client(account, NEWEST_WSDL)  # isIpsAdmin: 2016-01-14-beta on
    me = ips.getUserInfo()
    assert me.userHandle == f"u|{account.user_id}|{account.email}"
    assert (me.email, me.isValid, me.isIpsAdmin, me.role) == (
        account.email,
        True,
        False,
        "IpsUser",
    )
    assert ips.getUserInfo(email=account.email).userHandle == me.userHandle
    assert ips.getUserInfo(userHandle=me.userHandle).email == account.email

    assert expect_fault(lambda: ips.getUserInfo(email=stranger.email))[:2] == (
        "ipsApiFault",
        30001,
    )


# -- three ways to authenticate ---------------------------------------------------------------
def test_http_basic_auth_alone_like_the_public_python_client(
    open_client: Callable[..., Ips], account: Account
) -> None:
    ips = open_client(None, basic=(account.email, account.password))
    info = ips.getCompanyInfo(companyHandle=account.company_handle)
    assert info.name == account.company_name
    handle = submit_publish(ips, VERSIONED, account, "Basic")
    assert handle == f"j|{account.company_id}|Basic||"
    assert ips.getUserInfo().email == account.email
    sent = ips.history.last_sent["envelope"]
    assert sent.find(f"{{{SOAP11}}}Header") is None or len(sent.find(f"{{{SOAP11}}}Header")) == 0

    wrong = open_client(None, basic=(account.email, "not-the-password"))
    assert expect_fault(lambda: wrong.getUserInfo()) == (
        "authenticationFault",
        10001,
        "Invalid username/password",
    )


def test_legacy_auth_user_and_auth_password_headers(
    open_client: Callable[..., Ips], account: Account
) -> None:
    user = etree.Element(f"{{{WSDL_NS}}}AuthUser")
    user.text = account.email
    password = etree.Element(f"{{{WSDL_NS}}}AuthPassword")
    password.text = account.password
    ips = open_client(None, headers=[user, password])
    handle = submit_publish(ips, VERSIONED, account, "Legacy headers")
    assert handle == f"j|{account.company_id}|Legacy headers||"
    header = ips.history.last_sent["envelope"].find(f"{{{SOAP11}}}Header")
    assert [etree.QName(h).localname for h in header] == ["AuthUser", "AuthPassword"]

    password.text = "wrong"
    assert expect_fault(lambda: ips.getUserInfo())[:2] == ("authenticationFault", 10001)


def test_no_credentials_is_an_authentication_fault(
    open_client: Callable[..., Ips], account: Account
) -> None:
    ips = open_client(None)
    error = expect_fault(lambda: ips.getScheduledJobs(companyHandle=account.company_handle))
    assert error[:2] == ("authenticationFault", 10000)


# -- SOAP 1.2 ---------------------------------------------------------------------------------
def test_soap12_port_answers_in_soap12(open_client: Callable[..., Ips], account: Account) -> None:
    ips = open_client(account)
    ips.service = ips.client.bind("IpsApiService", "IpsApiSoap12Port")
    handle = submit_publish(ips, VERSIONED, account, "Over SOAP 1.2")
    assert handle == f"j|{account.company_id}|Over SOAP 1.2||"

    sent = ips.history.last_sent
    assert sent["envelope"].tag == f"{{{SOAP12}}}Envelope"
    assert sent["http_headers"]["Content-Type"].startswith("application/soap+xml")
    received = ips.history.last_received
    assert received["envelope"].tag == f"{{{SOAP12}}}Envelope"
    assert received["http_headers"]["Content-Type"].startswith("application/soap+xml")
    assert ips.payload().tag == f"{{{VERSIONED.namespace}}}submitJobReturn"
    assert [j.jobHandle for j in ips.getScheduledJobs(jobHandle=handle)] == [handle]

    with pytest.raises(zeep.exceptions.Fault) as caught:
        ips.stopJob(companyHandle=account.company_handle, jobHandle=handle)
    assert ips_fault(caught.value)[:2] == ("ipsApiFault", 30000)
    assert caught.value.code == "soapenv:Receiver"
    assert ips.received().tag == f"{{{SOAP12}}}Envelope"


# -- faults -----------------------------------------------------------------------------------
def test_faults_carry_the_ips_fault_code_and_reason(
    open_client: Callable[..., Ips], account: Account, stranger: Account
) -> None:
    ips = open_client(account)
    company = account.company_handle

    with pytest.raises(zeep.exceptions.Fault) as caught:
        ips.submitJob(
            companyHandle=company,
            jobName="Two kinds",
            imageServingPublishJob=PUBLISH,
            videoPublishJob={"emailSetting": "None"},
        )
    assert caught.value.message == "ipsApiFault"
    assert caught.value.code == "soapenv:Server"
    element, code, reason = ips_fault(caught.value)
    assert (element, code) == ("ipsApiFault", 30001)
    assert "imageServingPublishJob" in reason and "videoPublishJob" in reason

    assert expect_fault(lambda: ips.submitJob(companyHandle=company, jobName="No kind")) == (
        "ipsApiFault",
        30002,
        "Missing required parameter 'one of " + ", ".join(JOB_TYPE_NAMES) + "'",
    )
    both = expect_fault(
        lambda: ips.submitJob(
            companyHandle=company,
            jobName="Both times",
            execTime=datetime(2031, 1, 1, tzinfo=UTC),
            execSchedule="0 3 * * *",
            imageServingPublishJob=PUBLISH,
        )
    )
    assert both[:2] == ("ipsApiFault", 30001)
    assert "execSchedule" in both[2]
    bad_email = expect_fault(
        lambda: ips.submitJob(
            companyHandle=company,
            jobName="Bad e-mail setting",
            imageServingPublishJob={"publishType": "Full", "emailSetting": "Sometimes"},
        )
    )
    assert bad_email[:2] == ("ipsApiFault", 30001)
    assert "imageServingPublishJob/emailSetting" in bad_email[2]

    with pytest.raises(zeep.exceptions.Fault) as caught:
        ips.getScheduledJobs(companyHandle=stranger.company_handle)
    assert caught.value.message == "AuthorizationException"
    assert caught.value.code == "soapenv:Client"
    assert ips_fault(caught.value) == (
        "authorizationFault",
        20006,
        f"User does not have access to company '{stranger.company_handle}'",
    )
    assert expect_fault(lambda: ips.getActiveJobs(companyHandle=company, jobHandle="not a handle"))[
        :2
    ] == ("ipsApiFault", 30001)


JOB_TYPE_NAMES = (
    "imageServingPublishJob",
    "imageRenderingPublishJob",
    "videoPublishJob",
    "serverDirectoryPublishJob",
    "metadataPublishJob",
    "uploadDirectoryJob",
    "uploadUrlsJob",
    "optimizeImagesJob",
    "ripPdfsJob",
    "reprocessAssetsJob",
    "createVideoSitemapJob",
    "exportJob",
    "automatedSetGenerationJob",
)
