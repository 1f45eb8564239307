"""The submitJob rules and the job-control rules over real HTTP: each violation is an ipsApiFault
whose reason names the field, and stores nothing; the lifecycle calls do what they say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import (
    COMMON_NS,
    NS,
    Account,
    Reply,
    Server,
    auth_header,
    envelope,
    make_account,
    post,
    stored_jobs,
)
from conftest import (
    PUBLISH_JOB as PUBLISH,
)
from lxml import etree

from ips_jobs.domain.jobs import Run, RunState
from ips_jobs.store.repository import SqlJobRepository

FUTURE = "<execTime>2099-06-01T00:00:00Z</execTime>"
CONTROLS = ("pauseJob", "resumeJob", "stopJob", "deleteJob", "executeJob")


class Client:
    def __init__(self, server: Server, account: Account) -> None:
        self.server = server
        self.account = account

    def __call__(self, operation: str, inner: str) -> Reply:
        body = f'<{operation}Param xmlns="{NS}">{inner}</{operation}Param>'
        reply = post(
            self.server.service_url,
            envelope(body, auth_header(self.account.email, self.account.password)),
        )
        assert b"Traceback" not in etree.tostring(reply.root)
        return reply

    @property
    def company(self) -> str:
        return f"<companyHandle>{self.account.company_handle}</companyHandle>"

    def submit(self, name: str, extra: str = FUTURE, job: str = PUBLISH) -> Reply:
        return self("submitJob", f"{self.company}<jobName>{name}</jobName>{extra}{job}")

    def submitted(self, name: str, extra: str = FUTURE) -> str:
        reply = self.submit(name, extra)
        assert reply.status == 200, etree.tostring(reply.root)
        handle = reply.payload().findtext(f"{{{NS}}}jobHandle")
        assert handle == f"j|{self.account.company_id}|{name}||"
        return handle

    def control(self, operation: str, handle: str) -> Reply:
        return self(operation, f"{self.company}<jobHandle>{handle}</jobHandle>")

    def scheduled(self, inner: str | None = None) -> list[etree._Element]:
        reply = self("getScheduledJobs", self.company if inner is None else inner)
        assert reply.status == 200, etree.tostring(reply.root)
        return reply.payload().findall(f"{{{NS}}}jobArray/{{{NS}}}items")

    def job(self, name: str) -> etree._Element:
        found = [j for j in self.scheduled() if j.findtext(f"{{{NS}}}name") == name]
        assert len(found) == 1, name
        return found[0]


@pytest.fixture
def client(server: Server, account: Account) -> Client:
    return Client(server, account)


def api_fault(reply: Reply, code: int, *names: str) -> str:
    """Asserts an ipsApiFault with `code` whose reason names every one of `names`."""
    assert reply.status == 500, etree.tostring(reply.root)
    element, got, reason = reply.fault()
    assert (element, got) == ("ipsApiFault", code), (element, got, reason)
    for name in names:
        assert name in reason, (name, reason)
    return reason


def stored(repository: SqlJobRepository, account: Account) -> list[tuple[object, ...]]:
    return stored_jobs(repository, account.company_id)


def parse_date(text: str | None) -> datetime:
    assert text, "no date"
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- submitJob --------------------------------------------------------------------------------
def test_exec_time_and_exec_schedule_together(
    client: Client, server_repository: SqlJobRepository
) -> None:
    both = f"{FUTURE}<execSchedule>0 0 3 * * ?</execSchedule>"
    api_fault(client.submit("both", both), 30001, "execTime", "execSchedule")
    assert stored(server_repository, client.account) == []


@pytest.mark.parametrize(
    ("job_locale", "header_locale", "accept_language", "expected"),
    [
        (None, None, None, "en-US"),  # as jdart's client submits: the captured reply says en-US
        ("de-DE", "fr-FR", "it", "de-DE"),
        (None, "fr-FR", "it", "fr-FR"),
        (None, None, "it-ch, de;q=0.9", "it-CH"),
        ("  ", None, "de;q=0.5, pt_br", "pt-BR"),
    ],
)
def test_a_job_without_a_locale_gets_the_requests_or_en_us(
    client: Client,
    job_locale: str | None,
    header_locale: str | None,
    accept_language: str | None,
    expected: str,
) -> None:
    account = client.account
    header = (
        f'<authHeader xmlns="{COMMON_NS}"><user>{account.email}</user>'
        f"<password>{account.password}</password>"
        + (f"<locale>{header_locale}</locale>" if header_locale else "")
        + "</authHeader>"
    )
    locale = f"<locale>{job_locale}</locale>" if job_locale else ""
    body = (
        f'<submitJobParam xmlns="{NS}">{client.company}<jobName>localised</jobName>{locale}'
        f"{FUTURE}{PUBLISH}</submitJobParam>"
    )
    languages = {"Accept-Language": accept_language} if accept_language else {}
    reply = post(client.server.service_url, envelope(body, header), headers=languages)
    assert reply.status == 200, etree.tostring(reply.root)
    assert client.job("localised").findtext(f"{{{NS}}}locale") == expected


def test_a_locale_too_long_to_store_is_30001(
    client: Client, server_repository: SqlJobRepository
) -> None:
    api_fault(client.submit("long locale", f"<locale>{'x' * 21}</locale>{FUTURE}"), 30001, "locale")
    assert stored(server_repository, client.account) == []


@pytest.mark.parametrize(
    "schedule",
    [
        "every day at noon",
        "61 * * * *",
        "* * *",
        "   ",
        "0 0 0 ? * 8",
        "0 0 0 31 2",  # valid, but never fires (31 February)
        "0 0 0 30 2 ?",  # the same with a day of week
        # valid, but longer than the store keeps (PostgreSQL refused it as a database error)
        " ".join([",".join(map(str, range(60)))] * 2) + " * * * ?",
    ],
)
def test_unusable_schedule_is_30001(
    client: Client, server_repository: SqlJobRepository, server: Server, schedule: str
) -> None:
    offset = len(server.log())
    reply = client.submit("sched", f"<execSchedule>{schedule}</execSchedule>")
    api_fault(reply, 30001, "execSchedule")
    assert stored(server_repository, client.account) == []
    assert "Traceback" not in server.log()[offset:]


def test_good_schedule_is_accepted(client: Client) -> None:
    """The control for the rule above: the documented example schedule is fine."""
    client.submitted("nightly", "<execSchedule>00 00 00 * * </execSchedule>")
    job = client.job("nightly")
    assert job.findtext(f"{{{NS}}}execSchedule") == "00 00 00 * * "
    assert parse_date(job.findtext(f"{{{NS}}}nextFireTime")) > datetime.now(UTC)


@pytest.mark.parametrize(
    ("given", "instant"),
    [
        ("2031-05-06T07:08:09+02:00", datetime(2031, 5, 6, 5, 8, 9, tzinfo=UTC)),
        ("2031-05-06T07:08:09.250-07:00", datetime(2031, 5, 6, 14, 8, 9, 250000, tzinfo=UTC)),
        ("2031-12-31T23:30:00+14:00", datetime(2031, 12, 31, 9, 30, tzinfo=UTC)),
        ("2031-05-06T07:08:09Z", datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)),
    ],
)
def test_exec_time_with_zone_is_that_instant(client: Client, given: str, instant: datetime) -> None:
    client.submitted("at-a-time", f"<execTime>{given}</execTime>")
    job = client.job("at-a-time")
    assert parse_date(job.findtext(f"{{{NS}}}nextFireTime")) == instant
    assert job.find(f"{{{NS}}}execSchedule") is None


def test_two_job_types(client: Client, server_repository: SqlJobRepository) -> None:
    two = PUBLISH + "<metadataPublishJob><forcePublish>true</forcePublish></metadataPublishJob>"
    reply = client.submit("two", job=two)
    api_fault(reply, 30001, "imageServingPublishJob", "metadataPublishJob")
    assert stored(server_repository, client.account) == []


@pytest.mark.parametrize(
    ("job", "field"),
    [
        (
            "<imageServingPublishJob><publishType>Everything</publishType>"
            "<emailSetting>None</emailSetting></imageServingPublishJob>",
            "publishType",
        ),
        (
            "<imageServingPublishJob><publishType>full</publishType>"
            "<emailSetting>None</emailSetting></imageServingPublishJob>",
            "publishType",
        ),
        (
            "<imageServingPublishJob><publishType>Full</publishType>"
            "<emailSetting>Sometimes</emailSetting></imageServingPublishJob>",
            "emailSetting",
        ),
        ("<videoPublishJob><emailSetting>none</emailSetting></videoPublishJob>", "emailSetting"),
        (
            "<uploadUrlsJob><urlArray><items><sourceUrl>http://example.test/a.jpg</sourceUrl>"
            "<destPath>a.jpg</destPath></items></urlArray><overwrite>true</overwrite>"
            "<readyForPublish>true</readyForPublish><createMask>false</createMask>"
            "<emailSetting>None</emailSetting><postImageServingPublishJob>"
            "<publishType>Full</publishType><emailSetting>Loud</emailSetting>"
            "</postImageServingPublishJob></uploadUrlsJob>",
            "postImageServingPublishJob/emailSetting",
        ),
    ],
)
def test_constant_outside_the_documented_set(
    client: Client, server_repository: SqlJobRepository, job: str, field: str
) -> None:
    api_fault(client.submit("constants", job=job), 30001, field)
    assert stored(server_repository, client.account) == []


def test_name_in_use_in_the_company(
    client: Client, server: Server, server_repository: SqlJobRepository
) -> None:
    client.submitted("Nightly Publish")
    before = stored(server_repository, client.account)
    reply = client.submit("Nightly Publish", "<execTime>2098-01-01T00:00:00Z</execTime>")
    assert api_fault(reply, 30000) == "Job name 'Nightly Publish' is already in use."
    assert stored(server_repository, client.account) == before
    other = Client(server, make_account(server_repository))
    other.submitted("Nightly Publish")
    assert len(stored(server_repository, other.account)) == 1


# -- unknown handles --------------------------------------------------------------------------
@pytest.mark.parametrize("company", ["c|999999999", "acme", "c|", "c|-1"])
@pytest.mark.parametrize("operation", ["submitJob", "getScheduledJobs", *CONTROLS])
def test_unknown_company_handle(client: Client, operation: str, company: str) -> None:
    inner = f"<companyHandle>{company}</companyHandle>"
    if operation == "submitJob":
        inner += f"<jobName>x</jobName>{PUBLISH}"
    elif operation in CONTROLS:
        inner += "<jobHandle>j|999999999|x||</jobHandle>"
    api_fault(client(operation, inner), 30001, "companyHandle", company)


@pytest.fixture
def foreign_handle(server: Server, server_repository: SqlJobRepository) -> str:
    """A real job of another company."""
    return Client(server, make_account(server_repository)).submitted("theirs")


@pytest.mark.parametrize("kind", ["unknown", "malformed", "other-company", "wrong-shape"])
@pytest.mark.parametrize("operation", ["getScheduledJobs", *CONTROLS])
def test_unknown_job_handle(
    client: Client,
    server_repository: SqlJobRepository,
    foreign_handle: str,
    operation: str,
    kind: str,
) -> None:
    client.submitted("mine")
    before = stored(server_repository, client.account)
    handle = {
        "unknown": f"j|{client.account.company_id}|no such job||",
        "malformed": "garbage",
        "other-company": foreign_handle,
        "wrong-shape": f"j|{client.account.company_id}|mine|",
    }[kind]
    api_fault(client.control(operation, handle), 30001, "jobHandle")
    assert stored(server_repository, client.account) == before


def test_foreign_handle_stays_untouched(
    client: Client, server_repository: SqlJobRepository, foreign_handle: str
) -> None:
    company_id = int(foreign_handle.split("|")[1])
    before = [(j.name, j.trigger_state) for j in server_repository.scheduled_jobs([company_id])]
    for operation in ("pauseJob", "deleteJob"):
        api_fault(client.control(operation, foreign_handle), 30001, "jobHandle")
    after = [(j.name, j.trigger_state) for j in server_repository.scheduled_jobs([company_id])]
    assert after == before == [("theirs", "Normal")]


# -- lifecycle --------------------------------------------------------------------------------
def _empty_return(reply: Reply, operation: str) -> None:
    assert reply.status == 200, etree.tostring(reply.root)
    payload = reply.payload()
    assert payload.tag == f"{{{NS}}}{operation}Return"
    assert len(payload) == 0


def test_pause_pause_resume(client: Client) -> None:
    handle = client.submitted("pausable")
    fire = client.job("pausable").findtext(f"{{{NS}}}nextFireTime")
    assert client.job("pausable").findtext(f"{{{NS}}}triggerState") == "Normal"
    _empty_return(client.control("pauseJob", handle), "pauseJob")
    assert client.job("pausable").findtext(f"{{{NS}}}triggerState") == "Paused"
    _empty_return(client.control("pauseJob", handle), "pauseJob")
    assert client.job("pausable").findtext(f"{{{NS}}}triggerState") == "Paused"
    _empty_return(client.control("resumeJob", handle), "resumeJob")
    job = client.job("pausable")
    assert job.findtext(f"{{{NS}}}triggerState") == "Normal"
    assert job.findtext(f"{{{NS}}}nextFireTime") == fire


def test_delete_then_reuse_the_name(client: Client) -> None:
    handle = client.submitted("short-lived")
    client.submitted("keeper")
    _empty_return(client.control("deleteJob", handle), "deleteJob")
    names = [j.findtext(f"{{{NS}}}name") for j in client.scheduled()]
    assert names == ["keeper"]
    by_name = client.scheduled(f"{client.company}<originalName>short-lived</originalName>")
    assert by_name == []
    api_fault(client.control("deleteJob", handle), 30001, "jobHandle")
    assert client.submitted("short-lived") == handle
    names = [j.findtext(f"{{{NS}}}name") for j in client.scheduled()]
    assert sorted(names) == ["keeper", "short-lived"]


def test_execute_job_wants_a_scheduled_job_not_a_run(
    client: Client, server_repository: SqlJobRepository
) -> None:
    handle = client.submitted("runnable")
    now = datetime.now(UTC).replace(microsecond=0)
    run = server_repository.add_run(
        Run(
            id=0,
            company_id=client.account.company_id,
            scheduled_job_id=None,
            name="runnable_2024-01-02-03:04:05.000",
            original_name="runnable",
            kind="imageServingPublishJob",
            detail={"publishType": "Full", "emailSetting": "None"},
            submit_user_email=client.account.email,
            locale=None,
            description=None,
            state=RunState.DONE,
            server_name="test",
            trigger_time=now - timedelta(minutes=5),
            start_date=now - timedelta(minutes=5),
            end_date=now,
            log_type="BeginImageServingPublish",
        )
    )
    logs = client("getJobLogs", client.company)
    handles = logs.payload().findall(f".//{{{NS}}}items/{{{NS}}}jobHandle")
    run_handle = f"j|{client.account.company_id}||{run.name}|{run.id}"
    assert [h.text for h in handles] == [run_handle]
    before = stored(server_repository, client.account)
    api_fault(client.control("executeJob", run_handle), 30001, "jobHandle")
    # pauseJob and resumeJob take a run handle ("an active job"); an ended run has nothing
    # to hold, which is no error.
    for operation in ("pauseJob", "resumeJob"):
        _empty_return(client.control(operation, run_handle), operation)
    assert stored(server_repository, client.account) == before
    _empty_return(client.control("executeJob", handle), "executeJob")


# -- query parameters -------------------------------------------------------------------------
@pytest.mark.parametrize(("field", "value"), [("sortBy", "Name"), ("sortDirection", "Up")])
def test_job_logs_sort_outside_the_documented_set(client: Client, field: str, value: str) -> None:
    inner = f"{client.company}<{field}>{value}</{field}>"
    api_fault(client("getJobLogs", inner), 30001, field, value)


@pytest.mark.parametrize("value", ["JobName", "StartDate", "FileErrorCount"])
def test_job_logs_documented_sort_fields(client: Client, value: str) -> None:
    reply = client("getJobLogs", f"{client.company}<sortBy>{value}</sortBy>")
    assert reply.status == 200


@pytest.mark.parametrize(
    ("inner", "field"),
    [
        ("<recordsPerPage>0</recordsPerPage>", "recordsPerPage"),
        ("<resultsPage>0</resultsPage>", "resultsPage"),
        ("<sortBy>StartDate</sortBy>", "sortBy"),
    ],
)
def test_job_log_details_limits(client: Client, inner: str, field: str) -> None:
    api_fault(client("getJobLogDetails", f"{client.company}{inner}"), 30001, field)


@pytest.mark.parametrize("per_page", [1000, 1001, 5000])
def test_job_log_details_serves_up_to_1000_per_page(client: Client, per_page: int) -> None:
    """IPS documents 1000 as the most: a client asking for more is served, not refused."""
    inner = f"{client.company}<recordsPerPage>{per_page}</recordsPerPage>"
    reply = client("getJobLogDetails", inner)
    assert reply.status == 200
    assert reply.payload().find(f"{{{NS}}}jobLogArray") is not None
