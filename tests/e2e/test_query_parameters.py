"""Query parameters as IPS documents them, over real HTTP with raw SOAP: a constant that is not
accepted gets a fault naming the accepted values, `includeWaitingJobs` is read, and the
parameters ips_jobs/parameters.py marks honoured do what the table says."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from conftest import BASE_TIME, NS, Account, Reply, detail_row, seed_run
from lxml import etree

from ips_jobs import parameters
from ips_jobs.domain.jobs import Run, RunState
from ips_jobs.store.repository import SqlJobRepository

Call = Callable[..., Reply]


def company(account: Account) -> str:
    return f"<companyHandle>{account.company_handle}</companyHandle>"


def answer(reply: Reply, operation: str) -> etree._Element:
    assert reply.status == 200, etree.tostring(reply.root)
    payload = reply.payload()
    assert etree.QName(payload).localname == f"{operation}Return"
    return payload


def texts(payload: etree._Element, path: str) -> list[str]:
    return [e.text or "" for e in payload.iterfind(path, {"i": NS})]


def honoured(operation: str, name: str) -> None:
    """The table claims it; the test that calls this proves it."""
    assert parameters.support(operation, name) == parameters.HONOURED, (operation, name)


def logged_runs(repository: SqlJobRepository, account: Account, *hours: int) -> list[Run]:
    """Finished runs of one job, started `hours` after BASE_TIME, seeded in that order."""
    return [
        seed_run(
            repository,
            account,
            "Nightly publish",
            BASE_TIME + timedelta(hours=hour),
            state=RunState.DONE,
            end=BASE_TIME + timedelta(hours=hour, minutes=5),
            log_type="BeginImageServingPublish",
        )
        for hour in hours
    ]


def log_names(call: Call, account: Account, inner: str = "") -> list[str]:
    payload = answer(call("getJobLogs", company(account) + inner), "getJobLogs")
    return texts(payload, "i:jobLogArray/i:items/i:jobName")


# -- constants: the fault names the accepted values ---------------------------------------------
@pytest.mark.parametrize("operation", ["getJobLogs", "getJobLogDetails"])
@pytest.mark.parametrize("given", ["Up", "ascending", "DESCENDING"])
def test_a_bad_sort_direction_is_a_fault_naming_the_accepted_values(
    call: Call, account: Account, operation: str, given: str
) -> None:
    """Case still matters (`ascending` is refused), but the caller learns the spelling."""
    reply = call(operation, f"{company(account)}<sortDirection>{given}</sortDirection>")
    assert reply.status == 500
    assert reply.fault() == (
        "ipsApiFault",
        30001,
        f"Invalid value for 'sortDirection': '{given}' (accepted: Ascending, Descending)",
    )


def test_a_bad_sort_field_names_the_sort_fields(call: Call, account: Account) -> None:
    reply = call("getJobLogDetails", f"{company(account)}<sortBy>Size</sortBy>")
    assert reply.fault() == (
        "ipsApiFault",
        30001,
        "Invalid value for 'sortBy': 'Size' (accepted: Date, LogType)",
    )


def test_a_bad_publish_type_is_a_fault_naming_the_accepted_values(
    call: Call, account: Account
) -> None:
    job = (
        "<imageServingPublishJob><publishType>full</publishType>"
        "<emailSetting>None</emailSetting></imageServingPublishJob>"
    )
    reply = call("submitJob", f"{company(account)}<jobName>Publish</jobName>{job}")
    assert reply.status == 500
    assert reply.fault() == (
        "ipsApiFault",
        30001,
        "Invalid value for 'imageServingPublishJob/publishType': 'full' "
        "(accepted: Full, FullWithSearch, Incremental)",
    )
    scheduled = answer(call("getScheduledJobs", company(account)), "getScheduledJobs")
    assert texts(scheduled, "i:jobArray/i:items") == []  # nothing was scheduled


# -- getActiveJobs includeWaitingJobs: read, no effect yet ----------------------------------------
def active_names(call: Call, account: Account, inner: str = "") -> list[str]:
    payload = answer(call("getActiveJobs", company(account) + inner), "getActiveJobs")
    return texts(payload, "i:jobArray/i:items/i:name")


@pytest.mark.parametrize("given", ["true", "false", "1", "0"])
def test_include_waiting_jobs_adds_the_jobs_waiting_for_their_client(
    call: Call, account: Account, server_repository: SqlJobRepository, given: str
) -> None:
    """An uploadPost job waiting for its client's next post is listed only on request."""
    runs = [
        seed_run(server_repository, account, "Upload", BASE_TIME, state=RunState.NEW),
        seed_run(server_repository, account, "Publish", BASE_TIME + timedelta(minutes=1)),
        seed_run(
            server_repository,
            account,
            "Posted",
            BASE_TIME + timedelta(minutes=2),
            state=RunState.WAITING_CLIENT,
            kind="uploadPostJob",
            detail={
                "overwrite": True,
                "readyForPublish": False,
                "createMask": False,
                "emailSetting": "None",
            },
        ),
    ]
    busy = [run.name for run in runs[:2]]
    assert active_names(call, account) == busy
    listed = active_names(call, account, f"<includeWaitingJobs>{given}</includeWaitingJobs>")
    assert listed == ([*busy, runs[2].name] if given in ("true", "1") else busy)


@pytest.mark.parametrize("given", ["maybe", "yes", "TRUE", ""])
def test_include_waiting_jobs_must_be_a_boolean(call: Call, account: Account, given: str) -> None:
    reply = call(
        "getActiveJobs", f"{company(account)}<includeWaitingJobs>{given}</includeWaitingJobs>"
    )
    assert reply.status == 500
    element, code, reason = reply.fault()
    assert (element, code) == ("ipsApiFault", 30001)
    assert reason.startswith("Invalid value for 'includeWaitingJobs'"), reason


# -- getJobLogs --------------------------------------------------------------------------------
def test_sort_direction_without_sort_by_orders_by_date(
    call: Call, account: Account, server_repository: SqlJobRepository
) -> None:
    """IPS documents sortDirection on its own; without sortBy the logs come in date order."""
    honoured("getJobLogs", "sortDirection")
    middle, oldest, newest = logged_runs(server_repository, account, 1, 0, 2)
    oldest_first = [oldest.name, middle.name, newest.name]
    ascending = "<sortDirection>Ascending</sortDirection>"
    descending = "<sortDirection>Descending</sortDirection>"
    assert log_names(call, account, ascending) == oldest_first
    assert log_names(call, account, descending) == oldest_first[::-1]
    assert log_names(call, account) == oldest_first[::-1]  # the default: newest first


def test_num_rows_and_the_date_window_select_runs(
    call: Call, account: Account, server_repository: SqlJobRepository
) -> None:
    for name in ("numRows", "startDate", "endDate"):
        honoured("getJobLogs", name)
    runs = logged_runs(server_repository, account, 0, 1, 2, 3)
    names = [run.name for run in runs]
    ascending = "<sortBy>StartDate</sortBy><sortDirection>Ascending</sortDirection>"

    def stamp(hours: int) -> str:
        return (BASE_TIME + timedelta(hours=hours)).isoformat()

    window = f"<startDate>{stamp(1)}</startDate><endDate>{stamp(2)}</endDate>"
    assert log_names(call, account, ascending + window) == names[1:3]
    assert log_names(call, account, ascending + "<numRows>2</numRows>") == names[:2]


# -- getJobLogDetails logTypeArray ---------------------------------------------------------------
def test_log_types_filter_and_an_unknown_one_matches_nothing(
    call: Call, account: Account, server_repository: SqlJobRepository
) -> None:
    """A type IPS does not know is a filter like any other, not a fault."""
    honoured("getJobLogDetails", "logTypeArray")
    [run] = logged_runs(server_repository, account, 0)
    server_repository.add_log_details(
        [
            detail_row(run, 0, "BeginImageServingPublish", "Publish has begun"),
            detail_row(run, 1, "ImageServingPublishSuccess", "red.jpg was published"),
            detail_row(run, 2, "EndImageServingPublish", "Publish has ended"),
        ]
    )

    def detail_types(*log_types: str) -> list[str]:
        items = "".join(f"<items>{t}</items>" for t in log_types)
        inner = f"{company(account)}<originalName>{run.original_name}</originalName>"
        payload = answer(
            call("getJobLogDetails", f"{inner}<logTypeArray>{items}</logTypeArray>"),
            "getJobLogDetails",
        )
        return texts(payload, "i:jobLogArray/i:items/i:detailArray/i:items/i:logType")

    assert detail_types("ImageServingPublishSuccess", "EndImageServingPublish") == [
        "ImageServingPublishSuccess",
        "EndImageServingPublish",
    ]
    assert detail_types("ImageServingPublishSuccess", "NoSuchLogType") == [
        "ImageServingPublishSuccess"
    ]
    assert detail_types("NoSuchLogType") == []
