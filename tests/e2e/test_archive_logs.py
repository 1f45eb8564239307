"""The beta archived-log operations over real HTTP with raw SOAP: getArchivedJobLogDetails and
getAssetArchivedJobLogs answer exactly what getJobLogDetails and getAssetJobLogs answer for the
same run or asset (ips-jobs keeps no archive apart from its logs), only in the namespaces whose
schema has them; every other namespace refuses them as an unknown operation, as IPS would."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from conftest import (
    BASE_TIME,
    Account,
    Reply,
    Server,
    caller,
    detail_row,
    make_account,
    seed_run,
)
from lxml import etree

from ips_jobs.domain.jobs import Run, RunState
from ips_jobs.resources import wsdl_folder
from ips_jobs.store.repository import SqlJobRepository
from ips_jobs.wire.namespaces import VERSIONS, payload_ns

Call = Callable[..., Reply]

ARCHIVED = ("getArchivedJobLogDetails", "getAssetArchivedJobLogs")
BETAS = ("2021-01-11-beta", "2021-04-26-beta", "2022-11-01-beta")
WITHOUT = (None, *(v for v in VERSIONS if v not in BETAS))
ASSET = "a|777"
NS22 = payload_ns("2022-11-01-beta")
WSDL = "http://schemas.xmlsoap.org/wsdl/"


def run_handle(account: Account, run: Run) -> str:
    return f"j|{account.company_id}||{run.name}|{run.id}"


def company(account: Account) -> str:
    return f"<companyHandle>{account.company_handle}</companyHandle>"


def answer(reply: Reply, operation: str, namespace: str) -> etree._Element:
    """The `<op>Return` of a reply, checked to be in the request's namespace."""
    assert reply.status == 200, etree.tostring(reply.root)
    payload = reply.payload()
    assert etree.QName(payload).text == f"{{{namespace}}}{operation}Return"
    return payload


def content(payload: etree._Element) -> list[bytes]:
    """What is inside an `<op>Return`, to compare two operations' answers."""
    return [etree.tostring(child) for child in payload]


def archived_as_live(call: Call, live: str, inner: str, namespace: str) -> etree._Element:
    """The archived operation's answer, checked to hold exactly what the live one answers."""
    archived = ARCHIVED[0] if live == "getJobLogDetails" else ARCHIVED[1]
    live_answer = answer(call(live, inner, namespace), live, namespace)
    archived_answer = answer(call(archived, inner, namespace), archived, namespace)
    assert content(archived_answer) == content(live_answer)
    return archived_answer


def outcome(reply: Reply) -> tuple[str, int, str] | list[bytes]:
    """A fault's (element, code, reason), else the content of the answer."""
    return content(reply.payload()) if reply.status == 200 else reply.fault()


@pytest.fixture
def seeded(server_repository: SqlJobRepository, account: Account) -> Run:
    """A finished upload run with three detail rows, two of them about ASSET."""
    run = seed_run(
        server_repository,
        account,
        "Nightly upload",
        BASE_TIME,
        state=RunState.DONE,
        kind="uploadUrlsJob",
        end=BASE_TIME + timedelta(minutes=5),
    )
    server_repository.add_log_details(
        [
            detail_row(run, 1, "BeginUpload", "Upload has begun!"),
            detail_row(run, 2, "UploadSuccess", "blake.jpg was processed", asset_handle=ASSET),
            detail_row(run, 3, "FileUpdated", "blake.jpg was updated", asset_handle=ASSET),
        ]
    )
    return run


@pytest.mark.parametrize("version", BETAS)
@pytest.mark.parametrize(
    "extra",
    [
        "",
        "<logTypeArray><items>UploadSuccess</items><items>FileUpdated</items></logTypeArray>"
        "<recordsPerPage>1</recordsPerPage><resultsPage>2</resultsPage>"
        "<sortBy>LogType</sortBy><sortDirection>Descending</sortDirection>",
    ],
)
def test_archived_details_are_the_live_details(
    call: Call, account: Account, seeded: Run, version: str, extra: str
) -> None:
    namespace = payload_ns(version)
    inner = f"{company(account)}<jobHandle>{run_handle(account, seeded)}</jobHandle>{extra}"
    archived = archived_as_live(call, "getJobLogDetails", inner, namespace)
    log = archived.find(f"{{{namespace}}}jobLogArray/{{{namespace}}}items")
    assert log is not None
    assert log.findtext(f"{{{namespace}}}jobHandle") == run_handle(account, seeded)
    assert log.findtext(f"{{{namespace}}}detailTotalRows") == ("2" if extra else "3")
    rows = log.findall(f"{{{namespace}}}detailArray/{{{namespace}}}items")
    assert len(rows) == (1 if extra else 3)


@pytest.mark.parametrize("version", BETAS)
def test_archived_asset_logs_are_the_live_asset_logs(
    call: Call, account: Account, seeded: Run, version: str
) -> None:
    namespace = payload_ns(version)
    inner = f"{company(account)}<assetHandle>{ASSET}</assetHandle>"
    archived = archived_as_live(call, "getAssetJobLogs", inner, namespace)
    items = archived.findall(f"{{{namespace}}}jobLogArray/{{{namespace}}}items")
    assert [i.findtext(f"{{{namespace}}}logType") for i in items] == [
        "UploadSuccess",
        "FileUpdated",
    ]
    assert {i.findtext(f"{{{namespace}}}jobHandle") for i in items} == {run_handle(account, seeded)}


def test_an_unknown_asset_has_an_empty_archive(call: Call, account: Account) -> None:
    inner = f"{company(account)}<assetHandle>a|0|0|0</assetHandle>"
    archived = answer(call("getAssetArchivedJobLogs", inner, NS22), "getAssetArchivedJobLogs", NS22)
    assert [etree.QName(c).localname for c in archived] == ["jobLogArray"]
    assert len(archived[0]) == 0


def test_another_companys_logs_stay_hidden(
    server: Server, server_repository: SqlJobRepository, account: Account, seeded: Run
) -> None:
    """A member of another company gets what the live operations give it: 20006 for the
    company it is not in, nothing of the run's rows for its own."""
    other = make_account(server_repository)
    as_other = caller(server, other)
    pairs = (
        ("getJobLogDetails", f"<jobHandle>{run_handle(account, seeded)}</jobHandle>"),
        ("getAssetJobLogs", f"<assetHandle>{ASSET}</assetHandle>"),
    )
    for (live, inner), archived in zip(pairs, ARCHIVED, strict=True):
        foreign = as_other(archived, company(account) + inner, NS22)
        assert foreign.fault()[:2] == ("authorizationFault", 20006)
        assert foreign.fault() == as_other(live, company(account) + inner, NS22).fault()
        own = as_other(archived, company(other) + inner, NS22)
        assert outcome(own) == outcome(as_other(live, company(other) + inner, NS22))
        assert b"blake.jpg" not in etree.tostring(own.root)


def test_the_archived_details_need_a_job_handle(call: Call, account: Account) -> None:
    """jobHandle is required in getArchivedJobLogDetailsParam (not in getJobLogDetailsParam)."""
    element, code, _ = call("getArchivedJobLogDetails", company(account), NS22).fault()
    assert (element, code) == ("ipsApiFault", 30002)


@pytest.mark.parametrize("version", WITHOUT, ids=lambda v: v or "legacy")
@pytest.mark.parametrize("operation", ARCHIVED)
def test_namespaces_without_them_answer_unknown_operation(
    call: Call, account: Account, operation: str, version: str | None
) -> None:
    inner = f"{company(account)}<jobHandle>j|1||x|1</jobHandle><assetHandle>a|1</assetHandle>"
    reply = call(operation, inner, payload_ns(version))
    assert reply.fault() == ("ipsApiFault", 30003, f"Unknown operation '{operation}Param'")


@pytest.mark.parametrize("version", (None, *VERSIONS), ids=lambda v: v or "legacy")
def test_only_the_beta_wsdls_declare_them(version: str | None) -> None:
    name = "IpsApi.wsdl" if version is None else f"IpsApi-{version}.wsdl"
    root = etree.parse(str(wsdl_folder() / name)).getroot()
    declared = {op.get("name") for op in root.iterfind(f"{{{WSDL}}}portType/{{{WSDL}}}operation")}
    assert "getJobLogDetails" in declared
    assert {op for op in ARCHIVED if op in declared} == (
        set(ARCHIVED) if version in BETAS else set()
    )
