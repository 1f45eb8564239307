"""The control plane under /_ips/ as a test suite uses it: over real HTTP against real
`ips-jobs serve` processes. Most tests share one server with the job engine on
(IPS_RUN_SECONDS=0); fault rules and run controls are emptied around every test, and every
test works in its own company unless it resets the database on purpose."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from conftest import (
    ENGINE_ENV,
    NS,
    PASSWORD,
    Account,
    Reply,
    Server,
    auth_header,
    caller,
    detail_row,
    envelope,
    make_account,
    q,
    seed_run,
    start_server,
    stop_server,
    wait_for,
)
from conftest import (
    PUBLISH_JOB as PUBLISH,
)
from lxml import etree
from sqlalchemy import select

from ips_jobs.domain.assets import AssetDraft, AssetInfo
from ips_jobs.domain.jobs import RunState
from ips_jobs.store.assets import SqlAssetRepository
from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository
from ips_jobs.store.tables import companies

Call = Callable[..., Reply]


def upload(*sources: str) -> str:
    items = "".join(
        f"<items><sourceUrl>{src}</sourceUrl><destPath>f/{i}.jpg</destPath></items>"
        for i, src in enumerate(sources)
    )
    return (
        f"<uploadUrlsJob><urlArray>{items}</urlArray><overwrite>true</overwrite>"
        "<readyForPublish>true</readyForPublish><createMask>false</createMask>"
        "<emailSetting>None</emailSetting></uploadUrlsJob>"
    )


FOUR_URLS = upload(*(f"http://example.test/{n}.jpg" for n in "abcd"))


# -- the control API --------------------------------------------------------------------------
class Control:
    """A thin client for /_ips/: every call returns the requests.Response."""

    def __init__(self, server: Server) -> None:
        self.base = server.base_url + "/_ips"

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(self.base + path, params=params, timeout=30)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return requests.post(self.base + path, json=body, timeout=30, **kwargs)

    def delete(self, path: str) -> requests.Response:
        return requests.delete(self.base + path, timeout=30)

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        """The JSON of a call expected to succeed with `status`."""
        if method == "GET":
            response = self.get(path)
        elif method == "DELETE":
            response = self.delete(path)
        else:
            response = self.post(path, body)
        assert response.status_code == status, response.text
        assert response.headers["Content-Type"].startswith("application/json")
        return response.json()

    def health(self) -> dict[str, Any]:
        return self.ok("GET", "/health")

    def rule(self, **fields: Any) -> dict[str, Any]:
        return self.ok("POST", "/faults", fields, 201)

    def rule_now(self, rule_id: int) -> dict[str, Any]:
        [found] = [r for r in self.ok("GET", "/faults") if r["id"] == rule_id]
        return found

    def journal(self, **params: Any) -> list[dict[str, Any]]:
        response = self.get("/requests", **params)
        assert response.status_code == 200, response.text
        return response.json()


def error_of(response: requests.Response, status: int) -> str:
    """The `error` of a JSON error answer with `status`."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert isinstance(error, str)
    return error


# -- SOAP as a client sees it -----------------------------------------------------------------
def submit(call: Call, company: str, name: str, job: str, extra: str = "") -> str:
    reply = call(
        "submitJob",
        f"<companyHandle>{company}</companyHandle><jobName>{name}</jobName>{extra}{job}",
    )
    assert reply.status == 200, etree.tostring(reply.root)
    return reply.payload().findtext(q("jobHandle")) or ""


def logs(call: Call, company: str, name: str) -> list[etree._Element]:
    reply = call(
        "getJobLogDetails",
        f"<companyHandle>{company}</companyHandle><originalName>{name}</originalName>",
    )
    assert reply.status == 200, etree.tostring(reply.root)
    return reply.payload().findall(f"{q('jobLogArray')}/{q('items')}")


def finished(call: Call, company: str, name: str) -> list[etree._Element]:
    return [log for log in logs(call, company, name) if log.findtext(q("endDate"))]


def active(call: Call, company: str, name: str) -> list[etree._Element]:
    reply = call(
        "getActiveJobs",
        f"<companyHandle>{company}</companyHandle><originalName>{name}</originalName>",
    )
    assert reply.status == 200, etree.tostring(reply.root)
    return reply.payload().findall(f"{q('jobArray')}/{q('items')}")


def running(call: Call, company: str, name: str) -> list[etree._Element]:
    return [r for r in active(call, company, name) if r.findtext(q("state")) == "Running"]


def detail_types(log: etree._Element) -> list[str]:
    return [i.findtext(q("logType")) or "" for i in log.findall(f"{q('detailArray')}/{q('items')}")]


def details(log: etree._Element) -> list[etree._Element]:
    return log.findall(f"{q('detailArray')}/{q('items')}")


def scheduled(call: Call, handle: str) -> etree._Element | None:
    """The scheduled job `handle` names, or None when getScheduledJobs says there is none."""
    reply = call("getScheduledJobs", f"<jobHandle>{handle}</jobHandle>")
    if reply.status == 500:
        assert reply.fault()[:2] == ("ipsApiFault", 30001), etree.tostring(reply.root)
        assert f"no such job '{handle}'" in reply.fault()[2]
        return None
    assert reply.status == 200, etree.tostring(reply.root)
    return reply.payload().find(f"{q('jobArray')}/{q('items')}")


def active_jobs(call: Call, company: str) -> Reply:
    return call("getActiveJobs", f"<companyHandle>{company}</companyHandle>")


# -- servers and fixtures ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def engine_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("control")
    # The uploads here name URLs that do not exist: what is tested is how runs are driven.
    running_server = start_server(
        f"sqlite:///{folder / 'ips.db'}",
        folder / "server.log",
        **ENGINE_ENV,
        IPS_UPLOADS="simulate",
    )
    yield running_server
    stop_server(running_server)


@pytest.fixture
def ctl(engine_server: Server) -> Iterator[Control]:
    """The control API of the shared server, with no fault rules or run controls left over."""
    control = Control(engine_server)
    control.ok("DELETE", "/faults")
    control.ok("DELETE", "/run-controls")
    yield control
    control.ok("DELETE", "/faults")
    control.ok("DELETE", "/run-controls")


@pytest.fixture
def soap(engine_server: Server, ctl: Control) -> Iterator[tuple[Account, Call]]:
    database = Database(engine_server.database_url)
    account = make_account(SqlJobRepository(database))
    yield account, caller(engine_server, account)
    database.dispose()


def new_account(server: Server) -> tuple[Account, Call]:
    database = Database(server.database_url)
    try:
        account = make_account(SqlJobRepository(database))
    finally:
        database.dispose()
    return account, caller(server, account)


SEED = {
    "companies": [{"name": "Acme", "id": 47}, {"name": "Beta"}],
    "users": [
        {"email": "dev@acme.test", "password": "s3cret", "companies": ["Acme"]},
        {"email": "ops@beta.test", "password": "0ps", "role": "IpsUser", "companies": ["Beta"]},
    ],
    "jobs": [
        {
            "company": "Acme",
            "user": "dev@acme.test",
            "jobName": "nightly publish",
            "execSchedule": "0 0 3 * * ?",
            "imageServingPublishJob": {"publishType": "Full", "emailSetting": "None"},
        }
    ],
}
SEED_TOML = """
[[companies]]
name = "Acme"
id = 47

[[users]]
email = "dev@acme.test"
password = "s3cret"
companies = ["Acme"]

[[jobs]]
company = "c|47"
user = "dev@acme.test"
jobName = "nightly publish"
execSchedule = "0 0 3 * * ?"
imageServingPublishJob = { publishType = "Full", emailSetting = "None" }

[[jobs]]
company = "Acme"
user = "dev@acme.test"
jobName = "new year upload"
execTime = 2035-01-01T03:00:00Z
uploadUrlsJob = { urlArray = { items = [{ sourceUrl = "http://example.test/a.jpg", destPath = "a.jpg" }] }, overwrite = true, readyForPublish = true, createMask = false, emailSetting = "None" }
"""  # noqa: E501


def acme(server: Server) -> Call:
    """SOAP as the seeded user of c|47."""
    return caller(server, Account(47, "Acme", 0, "dev@acme.test", "s3cret"))


# -- health -----------------------------------------------------------------------------------
def test_health_reports_the_database_and_the_running_engine(ctl: Control) -> None:
    health = wait_for(lambda: (h := ctl.health())["engine"]["running"] and h)
    assert health["status"] == "ok"
    assert health["database"]["status"] == "ok"
    assert health["database"]["dialect"] == "sqlite"
    assert set(health["database"]["rows"]) >= {"companies", "users", "job_runs", "journal"}
    [engine] = health["engine"]["processes"]
    assert engine["pid"] > 0 and engine["heartbeat"]


def test_health_says_no_engine_runs_with_no_engine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ips.db'}"
    # the flag wins over IPS_ENGINE=true
    server = start_server(url, tmp_path / "server.log", "--no-engine", IPS_ENGINE="true")
    try:
        ctl = Control(server)
        health = ctl.health()
        assert health["database"]["status"] == "ok"
        assert health["engine"] == {"running": False, "processes": []}
        # No engine hides anywhere: SQLite allows one, and a worker started now gets it
        # (it would exit with "SQLite allows one engine" if serve had started its own).
        with (tmp_path / "worker.log").open("wb") as worker_log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "ips_jobs", "worker", "--database-url", url],
                stdout=worker_log,
                stderr=subprocess.STDOUT,
            )
            try:
                health = wait_for(
                    lambda: (
                        worker.poll() is None and ctl.health()["engine"]["running"] and ctl.health()
                    )
                )
                assert [p["pid"] for p in health["engine"]["processes"]] == [worker.pid]
            finally:
                worker.terminate()
                worker.wait(timeout=30)
    finally:
        stop_server(server)


# -- reset ------------------------------------------------------------------------------------
def test_reset_empties_jobs_runs_logs_journal_and_rules_but_keeps_accounts(
    ctl: Control, soap: tuple[Account, Call]
) -> None:
    account, call = soap
    company = account.company_handle
    submit(call, company, "before reset", PUBLISH)
    wait_for(lambda: finished(call, company, "before reset"))
    submit(call, company, "schedule", PUBLISH, "<execSchedule>0 0 3 * * ?</execSchedule>")
    ctl.rule(effect="fault", code=30000, operation="deleteJob", job_name="nothing")
    ctl.ok("POST", "/run-controls", {"job_name": "nothing", "seconds": 5}, 201)
    rows = ctl.health()["database"]["rows"]
    assert rows["scheduled_jobs"] >= 2 and rows["job_runs"] >= 1 and rows["fault_rules"] == 1
    accounts = (rows["companies"], rows["users"])
    active_jobs(call, company)  # the last SOAP call right before the reset

    assert ctl.ok("POST", "/reset") == {"reset": True, "accounts": False}

    assert ctl.journal() == []
    rows = ctl.health()["database"]["rows"]
    assert (rows["scheduled_jobs"], rows["job_runs"], rows["fault_rules"], rows["journal"]) == (
        0,
        0,
        0,
        0,
    )
    assert (rows["companies"], rows["users"]) == accounts
    assert ctl.ok("GET", "/faults") == []
    assert ctl.ok("GET", "/run-controls") == []
    # the account still logs in, and its job logs and schedules are gone
    assert logs(call, company, "before reset") == []
    reply = call("getJobLogs", f"<companyHandle>{company}</companyHandle>")
    assert reply.payload().findall(f"{q('jobLogArray')}/{q('items')}") == []
    assert scheduled(call, f"j|{account.company_id}|schedule||") is None


def _root(database: Database, company_id: int) -> str:
    with database.read() as c:
        return str(
            c.execute(
                select(companies.c.root_path).where(companies.c.id == company_id)
            ).scalar_one()
        )


def test_reset_empties_assets_and_folders_but_keeps_each_companys_root(
    ctl: Control, soap: tuple[Account, Call], engine_server: Server
) -> None:
    account, _ = soap
    database = Database(engine_server.database_url)
    try:
        root = _root(database, account.company_id)
        store = SqlAssetRepository(database)
        now = datetime.now(UTC)
        store.add_folder(account.company_id, f"{root}kept-till-reset/", now)
        draft = AssetDraft("photo", "Image", f"{root}kept-till-reset/", "photo.jpg")
        store.add_asset(account.company_id, draft, now, account.email)
        rows = ctl.health()["database"]["rows"]
        assert rows["assets"] >= 1 and rows["folders"] > rows["companies"]

        ctl.ok("POST", "/reset")

        rows = ctl.health()["database"]["rows"]
        assert rows["assets"] == 0
        assert rows["folders"] == rows["companies"]  # the roots, which go with a company
        assert [f.path for f in store.folders(account.company_id, root)] == [root]
    finally:
        database.dispose()


# -- assets ------------------------------------------------------------------------------------
def test_assets_lists_each_companys_folders_and_newest_assets_and_one_with_its_history(
    ctl: Control, soap: tuple[Account, Call], engine_server: Server
) -> None:
    account, _ = soap
    database = Database(engine_server.database_url)
    try:
        root = _root(database, account.company_id)
        store = SqlAssetRepository(database)
        now = datetime.now(UTC)
        store.add_folder(account.company_id, f"{root}shoes/red/", now)
        info = AssetInfo(file_size=1234, width=64, height=48)
        first = store.add_asset(
            account.company_id,
            AssetDraft("boot", "Image", f"{root}shoes/", "boot.jpg", info=info),
            now,
            account.email,
        )
        second = store.add_asset(
            account.company_id,
            AssetDraft("<b>sandal</b>", "Image", f"{root}shoes/red/", "sandal.png"),
            now + timedelta(seconds=1),
            account.email,
        )
        repository = SqlJobRepository(database)
        run = seed_run(repository, account, "upload", now, state=RunState.DONE, end=now)
        handle = f"a|{first.id}"
        repository.add_log_details(
            [detail_row(run, 0, "UploadSuccess", "boot.jpg uploaded", asset_handle=handle)]
        )
    finally:
        database.dispose()

    [listed] = ctl.ok("GET", f"/assets?company={account.company_handle}")
    assert listed["company"] == account.company_handle
    assert listed["folders"] == [root, f"{root}shoes/", f"{root}shoes/red/"]
    assert listed["assets_total"] == 2
    assert [a["handle"] for a in listed["assets"]] == [f"a|{second.id}", handle]  # newest first
    boot = listed["assets"][1]
    assert (boot["name"], boot["folder"], boot["width"], boot["height"]) == (
        "boot",
        f"{root}shoes/",
        64,
        48,
    )
    one = ctl.ok("GET", f"/assets/{first.id}")
    assert one["name"] == "boot"
    assert [(h["log_type"], h["message"]) for h in one["history"]] == [
        ("UploadSuccess", "boot.jpg uploaded")
    ]
    assert error_of(ctl.get("/assets/999999999"), 404) == "no asset a|999999999"
    assert "company" in error_of(ctl.get("/assets", company="c|999999999"), 400)
    assert "limit" in error_of(ctl.get("/assets", limit="0"), 400)

    state = ctl.get("/state", open=f"asset-{first.id}").json()
    section = state["sections"]["assets"]
    assert "boot.jpg uploaded" in section and f"a|{second.id}" in section
    assert "&lt;b&gt;sandal&lt;/b&gt;" in section and "<b>sandal" not in section


def test_reset_with_accounts_removes_companies_and_users(
    ctl: Control, soap: tuple[Account, Call]
) -> None:
    account, call = soap
    assert active_jobs(call, account.company_handle).status == 200
    assert ctl.ok("POST", "/reset", {"accounts": True}) == {"reset": True, "accounts": True}
    rows = ctl.health()["database"]["rows"]
    assert (rows["companies"], rows["users"]) == (0, 0)
    reply = active_jobs(call, account.company_handle)
    assert reply.status == 500
    assert reply.fault()[:2] == ("authenticationFault", 10001)


def test_reset_and_the_same_seed_give_the_same_ids_and_handles(
    ctl: Control, engine_server: Server
) -> None:
    """Companies, users and jobs start again at 1; run ids do not (never reused, see
    test_control_hardening.py)."""

    def from_scratch() -> tuple[dict[str, Any], str]:
        ctl.ok("POST", "/reset", {"accounts": True})
        seeded = ctl.ok("POST", "/seed", SEED)
        call = acme(engine_server)
        handle = submit(call, "c|47", "once", PUBLISH)
        wait_for(lambda: finished(call, "c|47", "once"))
        return seeded, handle

    first = from_scratch()
    second = from_scratch()
    assert first == second
    seeded, handle = first
    assert seeded["created"] == {
        "companies": ["c|47", "c|48"],
        "users": ["u|1|dev@acme.test", "u|2|ops@beta.test"],
        "folders": [],
        "assets": [],
        "jobs": ["j|47|nightly publish||"],
    }
    assert handle == "j|47|once||"


# -- seed -------------------------------------------------------------------------------------
def test_seed_from_json_creates_companies_users_and_scheduled_jobs(
    ctl: Control, engine_server: Server
) -> None:
    ctl.ok("POST", "/reset", {"accounts": True})
    seeded = ctl.ok("POST", "/seed", SEED)
    assert seeded["existing"] == {
        "companies": [],
        "users": [],
        "folders": [],
        "assets": [],
        "jobs": [],
    }
    assert seeded["created"]["companies"] == ["c|47", "c|48"]
    call = acme(engine_server)
    job = scheduled(call, "j|47|nightly publish||")
    assert job is not None
    assert job.findtext(q("execSchedule")) == "0 0 3 * * ?"
    assert job.findtext(q("triggerState")) == "Normal"
    assert "T03:00:00" in (job.findtext(q("nextFireTime")) or "")
    assert job.findtext(q("submitUserEmail")) == "dev@acme.test"
    # the users log in with their passwords, into their companies only
    beta = caller(engine_server, Account(48, "Beta", 2, "ops@beta.test", "0ps"))
    assert active_jobs(beta, "c|48").status == 200
    assert active_jobs(beta, "c|47").fault()[:2] == ("authorizationFault", 20006)


def test_seed_from_toml(ctl: Control, engine_server: Server) -> None:
    ctl.ok("POST", "/reset", {"accounts": True})
    response = ctl.post(
        "/seed", data=SEED_TOML.encode(), headers={"Content-Type": "application/toml"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == {
        "companies": ["c|47"],
        "users": ["u|1|dev@acme.test"],
        "folders": [],
        "assets": [],
        "jobs": ["j|47|nightly publish||", "j|47|new year upload||"],
    }
    call = acme(engine_server)
    nightly = scheduled(call, "j|47|nightly publish||")
    assert nightly is not None and nightly.findtext(q("execSchedule")) == "0 0 3 * * ?"
    later = scheduled(call, "j|47|new year upload||")
    assert later is not None
    assert (later.findtext(q("nextFireTime")) or "").startswith("2035-01-01T03:00:00")
    assert later.find(q("uploadUrlsJob")) is not None


def test_seed_twice_reports_everything_existing_and_creates_nothing(ctl: Control) -> None:
    ctl.ok("POST", "/reset", {"accounts": True})
    first = ctl.ok("POST", "/seed", SEED)
    rows = ctl.health()["database"]["rows"]
    second = ctl.ok("POST", "/seed", SEED)
    assert second == {
        "created": {"companies": [], "users": [], "folders": [], "assets": [], "jobs": []},
        "existing": first["created"],
    }
    assert ctl.health()["database"]["rows"] == rows


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"companies": [{"id": 47}]}, "companies[0].name"),
        ({"companies": [{"name": "Acme", "id": "47"}]}, "companies[0].id"),
        ({"users": [{"email": "x@y.test", "companies": ["Acme"]}]}, "users[0].password"),
        (
            {"users": [{"email": "x@y.test", "password": "p", "companies": "Acme"}]},
            "users[0].companies",
        ),
        (
            {"jobs": [{"company": "c|47", "user": "nobody@y.test", "jobName": "j"}]},
            "jobs[0].user",
        ),
        ({"jobs": [{"company": "Nowhere", "user": "u", "jobName": "j"}]}, "jobs[0].company"),
        ({"companies": {"name": "Acme"}}, "companies"),
        ({"widgets": []}, "widgets"),
    ],
)
def test_seed_errors_name_the_field(ctl: Control, document: Any, field: str) -> None:
    error = error_of(ctl.post("/seed", document), 400)
    assert f"'{field}" in error, error


def test_seed_errors_name_fields_of_jobs_and_bad_documents(ctl: Control) -> None:
    ctl.ok("POST", "/reset", {"accounts": True})
    ctl.ok("POST", "/seed", {k: SEED[k] for k in ("companies", "users")})
    job = dict(SEED["jobs"][0])
    error = error_of(ctl.post("/seed", {"jobs": [{**job, "bogus": 1}]}), 400)
    assert "'jobs[0].bogus'" in error
    error = error_of(ctl.post("/seed", {"jobs": [{**job, "execSchedule": "whenever"}]}), 400)
    assert "jobs[0]" in error or "execSchedule" in error, error
    error = error_of(ctl.post("/seed", {"companies": [{"name": "Acme", "id": 12}]}), 400)
    assert "'companies[0].id'" in error and "c|47" in error
    bad_json = ctl.post(
        "/seed", data=b'{"companies": [', headers={"Content-Type": "application/json"}
    )
    assert "not valid JSON" in error_of(bad_json, 400)
    bad_toml = ctl.post("/seed", data=b"[[companies]\n", headers={"Content-Type": "text/x-toml"})
    assert "not valid TOML" in error_of(bad_toml, 400)
    not_text = ctl.post("/seed", data=b"\xff\xfe[[", headers={"Content-Type": "application/toml"})
    assert "'seed'" in error_of(not_text, 400)


def test_seed_reads_json_sent_without_a_json_content_type(ctl: Control) -> None:
    """`curl --data-binary @seed.json` sends application/x-www-form-urlencoded."""
    ctl.ok("POST", "/reset", {"accounts": True})
    for content_type in ("application/x-www-form-urlencoded", "text/plain", ""):
        response = ctl.post(
            "/seed", data=json.dumps(SEED).encode(), headers={"Content-Type": content_type}
        )
        assert response.status_code == 200, response.text
        assert (
            len(response.json()["existing"]["companies"] + response.json()["created"]["companies"])
            == 2
        )


# -- fault rules on SOAP calls ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "element"),
    [(30002, "ipsApiFault"), (20003, "authorizationFault"), (10002, "authenticationFault")],
)
def test_fault_rule_answers_with_that_ips_fault(
    ctl: Control, soap: tuple[Account, Call], code: int, element: str
) -> None:
    account, call = soap
    ctl.rule(effect="fault", operation="getActiveJobs", code=code, reason="Injected for a test")
    reply = active_jobs(call, account.company_handle)
    assert reply.status == 500
    assert reply.fault() == (element, code, "Injected for a test")


def test_fault_rule_rejects_a_code_ips_does_not_have(ctl: Control) -> None:
    error = error_of(ctl.post("/faults", {"effect": "fault", "code": 40000}), 400)
    assert "'code'" in error
    error = error_of(ctl.post("/faults", {"effect": "boom"}), 400)
    assert "'effect'" in error
    error = error_of(ctl.post("/faults", {"effect": "fault", "code": 30000, "colour": 1}), 400)
    assert "'colour'" in error


def test_fault_rule_with_remaining_applies_exactly_that_often(
    ctl: Control, soap: tuple[Account, Call]
) -> None:
    account, call = soap
    rule = ctl.rule(effect="fault", operation="getActiveJobs", code=30000, remaining=2)
    statuses = [active_jobs(call, account.company_handle).status for _ in range(4)]
    assert statuses == [500, 500, 200, 200]
    now = ctl.rule_now(rule["id"])
    assert (now["hits"], now["remaining"]) == (2, 0)


def test_fault_rule_probability_zero_never_applies_and_one_always(
    ctl: Control, soap: tuple[Account, Call]
) -> None:
    account, call = soap
    never = ctl.rule(effect="fault", operation="getActiveJobs", code=30000, probability=0)
    always = ctl.rule(effect="fault", operation="getJobLogs", code=30001, probability=1)
    company = f"<companyHandle>{account.company_handle}</companyHandle>"
    for _ in range(10):
        assert call("getActiveJobs", company).status == 200
        reply = call("getJobLogs", company)
        assert reply.status == 500 and reply.fault()[1] == 30001
    assert ctl.rule_now(never["id"])["hits"] == 0
    assert ctl.rule_now(always["id"])["hits"] == 10


def test_fault_rule_matches_on_operation_and_company(
    ctl: Control, soap: tuple[Account, Call], engine_server: Server
) -> None:
    account, call = soap
    other, other_call = new_account(engine_server)
    ctl.rule(effect="fault", operation="getActiveJobs", company=account.company_handle, code=30000)
    ctl.rule(effect="fault", operation="getJobLogs", company_id=other.company_id, code=30001)
    assert active_jobs(call, account.company_handle).status == 500
    assert active_jobs(other_call, other.company_handle).status == 200
    mine = call("getJobLogs", f"<companyHandle>{account.company_handle}</companyHandle>")
    assert mine.status == 200
    theirs = other_call("getJobLogs", f"<companyHandle>{other.company_handle}</companyHandle>")
    assert theirs.status == 500 and theirs.fault()[1] == 30001


def test_fault_rule_matches_on_job_name(ctl: Control, soap: tuple[Account, Call]) -> None:
    account, call = soap
    ctl.rule(effect="fault", operation="submitJob", job_name="refused", code=30003)
    ok = call(
        "submitJob",
        f"<companyHandle>{account.company_handle}</companyHandle><jobName>fine</jobName>{PUBLISH}",
    )
    assert ok.status == 200
    refused = call(
        "submitJob",
        f"<companyHandle>{account.company_handle}</companyHandle><jobName>refused</jobName>"
        f"{PUBLISH}",
    )
    assert refused.status == 500 and refused.fault()[1] == 30003
    # the refused job was not stored
    assert scheduled(call, f"j|{account.company_id}|refused||") is None


@pytest.mark.parametrize("job_type", ["UrlUpload", "uploadUrlsJob"])
def test_fault_rule_matches_on_job_type_in_either_form(
    ctl: Control, soap: tuple[Account, Call], job_type: str
) -> None:
    account, call = soap
    rule = ctl.rule(effect="fault", job_type=job_type, code=30000, reason="no uploads today")
    assert rule["job_type"] == "UrlUpload"
    head = f"<companyHandle>{account.company_handle}</companyHandle>"
    refused = call("submitJob", f"{head}<jobName>up</jobName>{upload('http://e.test/a.jpg')}")
    assert refused.status == 500
    assert refused.fault() == ("ipsApiFault", 30000, "no uploads today")
    assert call("submitJob", f"{head}<jobName>pub</jobName>{PUBLISH}").status == 200


def test_http_status_rule_answers_with_a_plain_body(
    ctl: Control, soap: tuple[Account, Call], engine_server: Server
) -> None:
    account, _ = soap
    ctl.rule(effect="http_status", operation="getActiveJobs", http_status=503, reason="busy")
    body = f'<getActiveJobsParam xmlns="{NS}"><companyHandle>{account.company_handle}'
    body += "</companyHandle></getActiveJobsParam>"
    response = requests.post(
        engine_server.service_url,
        data=envelope(body, auth_header(account.email, account.password)),
        headers={"Content-Type": "text/xml; charset=UTF-8"},
        timeout=30,
    )
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == "busy"


def test_latency_rule_delays_its_call_without_blocking_other_requests(
    ctl: Control, soap: tuple[Account, Call]
) -> None:
    account, call = soap
    latency_ms = 3000
    rule = ctl.rule(effect="latency", operation="getActiveJobs", latency_ms=latency_ms, remaining=1)
    slow: dict[str, Any] = {}

    def slow_call() -> None:
        started = time.monotonic()
        slow["reply"] = active_jobs(call, account.company_handle)
        slow["elapsed"] = time.monotonic() - started
        slow["done"] = time.monotonic()

    thread = threading.Thread(target=slow_call)
    thread.start()
    try:
        # the rule's hit is counted before the wait: the slow call is now inside the server
        wait_for(lambda: ctl.rule_now(rule["id"])["hits"] == 1)
        fast = call("getJobLogs", f"<companyHandle>{account.company_handle}</companyHandle>")
        fast_done = time.monotonic()
        assert fast.status == 200
        assert "done" not in slow, "the other request waited for the delayed one"
    finally:
        thread.join(timeout=60)
    assert slow["reply"].status == 200
    assert slow["elapsed"] >= latency_ms / 1000
    assert fast_done < slow["done"]


def test_drop_rule_closes_the_connection_and_the_server_goes_on(
    ctl: Control, soap: tuple[Account, Call], engine_server: Server
) -> None:
    account, call = soap
    rule = ctl.rule(effect="drop", operation="getActiveJobs", remaining=1)
    with pytest.raises(requests.ConnectionError):
        active_jobs(call, account.company_handle)
    assert ctl.rule_now(rule["id"])["hits"] == 1
    assert active_jobs(call, account.company_handle).status == 200
    assert engine_server.process.poll() is None
    assert "without starting response" not in engine_server.log()  # dropped, not a failure


def test_delete_one_rule_and_all_rules(ctl: Control, soap: tuple[Account, Call]) -> None:
    account, call = soap
    first = ctl.rule(effect="fault", operation="getActiveJobs", code=30000)
    second = ctl.rule(effect="fault", operation="getJobLogs", code=30000)
    third = ctl.rule(effect="fault", operation="getScheduledJobs", code=30000)
    assert ctl.ok("DELETE", f"/faults/{first['id']}") == {"deleted": 1}
    assert [r["id"] for r in ctl.ok("GET", "/faults")] == [second["id"], third["id"]]
    assert active_jobs(call, account.company_handle).status == 200
    assert f"{first['id']}" in error_of(ctl.delete(f"/faults/{first['id']}"), 400)
    assert ctl.ok("DELETE", "/faults") == {"deleted": 2}
    assert ctl.ok("GET", "/faults") == []
    reply = call("getJobLogs", f"<companyHandle>{account.company_handle}</companyHandle>")
    assert reply.status == 200


# -- fault rules on runs ----------------------------------------------------------------------
def test_fatal_run_rule_ends_the_run_with_a_fatal_error(
    ctl: Control, soap: tuple[Account, Call]
) -> None:
    account, call = soap
    company = account.company_handle
    ctl.rule(effect="fatal_run", job_name="doomed", reason="Disk on fire")
    submit(call, company, "doomed", PUBLISH)
    submit(call, company, "spared", PUBLISH)
    [log] = wait_for(lambda: finished(call, company, "doomed"))
    assert log.findtext(q("fatalError")) == "true"
    fatal = [d for d in details(log) if d.findtext(q("logType")) == "FatalError"]
    assert [d.findtext(q("logMessage")) for d in fatal] == ["Disk on fire"]
    [spared] = wait_for(lambda: finished(call, company, "spared"))
    assert spared.findtext(q("fatalError")) == "false"
    assert "FatalError" not in detail_types(spared)


def test_upload_errors_rule_fails_every_url(ctl: Control, soap: tuple[Account, Call]) -> None:
    account, call = soap
    company = account.company_handle
    ctl.rule(effect="upload_errors", job_type="uploadUrlsJob", company=company)
    submit(call, company, "uploads", FOUR_URLS)
    [log] = wait_for(lambda: finished(call, company, "uploads"))
    types = detail_types(log)
    assert types.count("UploadError") == 4
    assert "UploadSuccess" not in types
    assert types[-1] == "EndUpload"
    assert log.findtext(q("fileErrorCount")) == "4"
    assert log.findtext(q("fileSuccessCount")) == "0"
    assert log.findtext(q("totalFileCount")) == "4"
    assert log.findtext(q("fatalError")) == "false"
    assert "0 succeeded, 4 failed" in (details(log)[-1].findtext(q("logMessage")) or "")


# -- run controls -----------------------------------------------------------------------------
def test_run_control_seconds_makes_one_job_type_slow(
    ctl: Control, soap: tuple[Account, Call]
) -> None:
    account, call = soap
    company = account.company_handle
    control = ctl.ok("POST", "/run-controls", {"job_type": "uploadUrlsJob", "seconds": 120}, 201)
    assert control["job_type"] == "UrlUpload" and control["seconds"] == 120
    assert ctl.ok("GET", "/run-controls") == [control]
    submit(call, company, "slow upload", FOUR_URLS)
    wait_for(lambda: running(call, company, "slow upload"))
    submit(call, company, "quick publish", PUBLISH)
    wait_for(lambda: finished(call, company, "quick publish"))
    [run] = running(call, company, "slow upload")
    assert finished(call, company, "slow upload") == []
    reply = call(
        "stopJob",
        f"<companyHandle>{company}</companyHandle><jobHandle>{run.findtext(q('jobHandle'))}"
        "</jobHandle>",
    )
    assert reply.status == 200
    wait_for(lambda: finished(call, company, "slow upload"))


def advance_url(ctl: Control, handle: str) -> str:
    path = f"/jobs/{quote(handle, safe='')}/advance"
    assert "%7C" in path and "|" not in path
    return ctl.base + path


def test_manual_run_moves_only_when_advanced_and_ends_with_success(
    ctl: Control, soap: tuple[Account, Call]
) -> None:
    account, call = soap
    company = account.company_handle
    ctl.ok("POST", "/run-controls", {"job_name": "by hand", "manual": True}, 201)
    submit(call, company, "by hand", FOUR_URLS)
    # it stops after its first step: the Begin rows are written, nothing else (a run is
    # Running a moment before its first step has written them)
    [log] = wait_for(
        lambda: (
            running(call, company, "by hand")
            and [lg for lg in logs(call, company, "by hand") if detail_types(lg)]
        )
    )
    assert detail_types(log) == ["BeginUpload", "OriginalJobName", "JobClient"]
    [run] = running(call, company, "by hand")
    assert run.findtext(q("progress")) == "0"
    handle = run.findtext(q("jobHandle")) or ""

    response = requests.post(advance_url(ctl, handle), json={"progress": 50}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json() == {"runs": [int(handle.rsplit("|", 1)[-1])]}
    wait_for(
        lambda: [r.findtext(q("progress")) for r in active(call, company, "by hand")] == ["50"]
    )
    assert running(call, company, "by hand")
    assert detail_types(logs(call, company, "by hand")[0]).count("UploadSuccess") == 2

    response = requests.post(advance_url(ctl, handle), json={"outcome": "success"}, timeout=30)
    assert response.status_code == 200, response.text
    [log] = wait_for(lambda: finished(call, company, "by hand"))
    assert log.findtext(q("fatalError")) == "false"
    assert detail_types(log) == [
        "BeginUpload",
        "OriginalJobName",
        "JobClient",
        *["UploadSuccess"] * 4,
        "EndUpload",
    ]
    assert active(call, company, "by hand") == []

    again = requests.post(advance_url(ctl, handle), json={"outcome": "success"}, timeout=30)
    assert handle in error_of(again, 400)


def test_manual_run_advanced_to_failure_ends_with_a_fatal_error(
    ctl: Control, soap: tuple[Account, Call]
) -> None:
    account, call = soap
    company = account.company_handle
    ctl.ok("POST", "/run-controls", {"job_type": "ImageServingPublish", "manual": True}, 201)
    handle = submit(call, company, "to fail", PUBLISH)
    wait_for(lambda: running(call, company, "to fail") and logs(call, company, "to fail"))
    # the job's own handle (j|<company>|<name>||) names its active runs too
    response = requests.post(advance_url(ctl, handle), json={"outcome": "failure"}, timeout=30)
    assert response.status_code == 200, response.text
    [log] = wait_for(lambda: finished(call, company, "to fail"))
    assert log.findtext(q("fatalError")) == "true"
    assert detail_types(log)[-1] == "FatalError"
    assert active(call, company, "to fail") == []


def test_advance_errors_are_json(ctl: Control, soap: tuple[Account, Call]) -> None:
    account, _ = soap
    handle = f"j|{account.company_id}||nothing_2024-01-01-00:00:00.000|999999"
    error = error_of(requests.post(advance_url(ctl, handle), json={"progress": 5}, timeout=30), 400)
    assert handle in error
    bad = requests.post(advance_url(ctl, handle), json={"progress": 101}, timeout=30)
    assert "'progress'" in error_of(bad, 400)
    bad = requests.post(advance_url(ctl, handle), json={"outcome": "maybe"}, timeout=30)
    assert "'outcome'" in error_of(bad, 400)
    bad = requests.post(advance_url(ctl, handle), data=b"{", timeout=30)
    assert "JSON" in error_of(bad, 400)


# -- schedules --------------------------------------------------------------------------------
def test_fire_runs_a_paused_daily_schedule_now(ctl: Control, soap: tuple[Account, Call]) -> None:
    account, call = soap
    company = account.company_handle
    handle = submit(call, company, "daily", PUBLISH, "<execSchedule>0 0 3 * * ?</execSchedule>")
    reply = call(
        "pauseJob", f"<companyHandle>{company}</companyHandle><jobHandle>{handle}</jobHandle>"
    )
    assert reply.status == 200
    response = requests.post(f"{ctl.base}/schedules/{quote(handle, safe='')}/fire", timeout=30)
    assert response.status_code == 202, response.text
    assert response.json() == {"fired": handle}
    [log] = wait_for(lambda: finished(call, company, "daily"))
    assert log.findtext(q("fatalError")) == "false"
    job = scheduled(call, handle)
    assert job is not None and job.findtext(q("triggerState")) == "Paused"
    unknown = quote(f"j|{account.company_id}|no such job||", safe="")
    assert "no such job" in error_of(
        requests.post(f"{ctl.base}/schedules/{unknown}/fire", timeout=30), 400
    )


# -- the request journal ----------------------------------------------------------------------
@pytest.mark.no_replay  # the journal would show the strict client's replays
def test_journal_records_each_soap_call_with_masked_passwords(
    ctl: Control, soap: tuple[Account, Call]
) -> None:
    account, call = soap
    company = account.company_handle
    assert ctl.ok("DELETE", "/requests")["deleted"] >= 0
    assert ctl.journal() == []
    login = call(
        "checkLogin",
        f"<companyHandle>{company}</companyHandle><email>{account.email}</email>"
        f"<password>{PASSWORD}</password>",
    )
    assert login.status == 200
    assert active_jobs(call, company).status == 200
    refused = active_jobs(call, "c|999999")
    fault_code = refused.fault()[1]

    entries = ctl.journal()
    assert [e["operation"] for e in entries] == ["getActiveJobs", "getActiveJobs", "checkLogin"]
    newest, ok, checked = entries
    assert newest["id"] > ok["id"] > checked["id"]
    for entry in entries:
        assert entry["caller"] == account.email
        assert entry["duration_ms"] >= 0
        assert PASSWORD not in entry["request"] and PASSWORD not in entry["response"]
        assert entry["response"].startswith("<")
    assert (ok["status"], ok["fault_code"]) == (200, None)
    assert "getActiveJobsReturn" in ok["response"]
    assert company in ok["request"]
    assert (newest["status"], newest["fault_code"]) == (500, fault_code)
    assert "c|999999" in newest["request"] and str(fault_code) in newest["response"]
    assert checked["request"].count("<password>****</password>") == 2  # header and body
    assert "ValidLogin" in checked["response"]


@pytest.mark.no_replay  # the journal would show the strict client's replays
def test_journal_filters_by_operation_time_and_limit(
    ctl: Control, soap: tuple[Account, Call]
) -> None:
    account, call = soap
    company = f"<companyHandle>{account.company_handle}</companyHandle>"
    ctl.ok("DELETE", "/requests")
    for operation in ("getActiveJobs", "getJobLogs", "getActiveJobs", "getJobLogs"):
        assert call(operation, company).status == 200
    everything = ctl.journal()
    assert len(everything) == 4
    ids = [e["id"] for e in everything]  # newest first

    only = ctl.journal(operation="getJobLogs")
    assert [e["id"] for e in only] == [ids[0], ids[2]]
    assert ctl.journal(operation="deleteJob") == []
    assert [e["id"] for e in ctl.journal(limit=2)] == ids[:2]

    middle = everything[2]["time"]  # the second call
    assert [e["id"] for e in ctl.journal(since=middle)] == ids[:3]
    assert [e["id"] for e in ctl.journal(until=middle)] == ids[2:]
    assert [e["id"] for e in ctl.journal(since=middle, until=everything[1]["time"])] == ids[1:3]

    assert "'limit'" in error_of(ctl.get("/requests", limit=0), 400)
    assert "'since'" in error_of(ctl.get("/requests", since="yesterday"), 400)

    assert ctl.ok("DELETE", "/requests") == {"deleted": 4}
    assert ctl.journal() == []


@pytest.mark.no_replay  # the journal would show the strict client's replays
def test_journal_keeps_only_the_newest_entries(tmp_path: Path) -> None:
    server = start_server(
        f"sqlite:///{tmp_path / 'ips.db'}", tmp_path / "server.log", IPS_JOURNAL_SIZE="5"
    )
    try:
        account, call = new_account(server)
        for i in range(12):
            reply = call(
                "getActiveJobs",
                f"<companyHandle>{account.company_handle}</companyHandle>"
                f"<originalName>call-{i}</originalName>",
            )
            assert reply.status == 200
        entries = Control(server).journal()
        names = [e["request"].split("<originalName>")[1].split("<")[0] for e in entries]
        assert names == [f"call-{i}" for i in range(11, 6, -1)]
        assert Control(server).health()["database"]["rows"]["journal"] == 5
    finally:
        stop_server(server)


# -- the API's own errors ---------------------------------------------------------------------
def test_unknown_control_path_is_a_json_404(ctl: Control) -> None:
    for path in ("/nothing", "/faults/x/y", "/jobs/x"):
        response = requests.get(ctl.base + path, timeout=30)
        assert "no control at" in error_of(response, 404)


def test_wrong_method_is_a_json_405(ctl: Control) -> None:
    assert "use POST" in error_of(ctl.get("/reset"), 405)
    assert "use GET" in error_of(ctl.delete("/health"), 405)
    put = requests.put(ctl.base + "/faults", json={}, timeout=30)
    assert "DELETE or GET or POST" in error_of(put, 405)


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/faults", {"effect": "fault", "code": 30000, "company_id": 10**30}, "company_id"),
        ("POST", "/faults", {"effect": "fault", "code": 30000, "remaining": 2**31}, "remaining"),
        ("POST", "/faults", b'{"effect": "fault", "code": 1' + b"0" * 5000 + b"}", "body"),
        ("POST", "/faults", b"[" * 100_000 + b"]" * 100_000, "body"),
        ("POST", "/faults", {"effect": "fault", "code": 30000, "reason": "a\u0001b"}, "reason"),
        ("POST", "/faults", b'{"effect": "fault", "code": 30000, "reason": "\\ud800"}', "reason"),
        ("DELETE", "/faults/" + "9" * 30, None, "id"),
        ("DELETE", "/run-controls/" + "9" * 30, None, "id"),
        ("POST", "/run-controls", {"job_name": "x", "seconds": 1e308}, "seconds"),
        ("POST", "/run-controls", b'{"job_name": "x", "seconds": 1' + b"0" * 400 + b"}", "seconds"),
        ("POST", "/run-controls", b'{"job_name": "x", "seconds": Infinity}', "seconds"),
        ("POST", "/seed", {"companies": [{"name": "ZZ", "id": 10**30}]}, "companies[0].id"),
        ("POST", "/seed", {"companies": [{"name": "ZZ\u0001"}]}, "companies[0].name"),
        ("POST", "/seed", b'{"companies": [{"name": "ZZ\\udfff"}]}', "companies[0].name"),
        (
            "POST",
            "/seed",
            {"users": [{"email": "z\u0001@x.test", "password": "p", "companies": []}]},
            "users[0].email",
        ),
        ("GET", "/requests?since=9999-12-31T23:59:59-23:00", None, "since"),
    ],
)
def test_bad_control_input_is_a_json_400_naming_the_field(
    ctl: Control, engine_server: Server, method: str, path: str, body: Any, field: str
) -> None:
    """Nothing a test suite sends can make the control plane answer an HTML 500, store
    something that breaks the SOAP answers later, or leave a run that never ends."""
    offset = len(engine_server.log())
    rules, controls = ctl.ok("GET", "/faults"), ctl.ok("GET", "/run-controls")
    data = {"data": body, "headers": {"Content-Type": "application/json"}}
    sent = data if isinstance(body, bytes) else {"json": body}
    response = requests.request(method, ctl.base + path, timeout=30, **sent)
    assert field in error_of(response, 400)
    assert (ctl.ok("GET", "/faults"), ctl.ok("GET", "/run-controls")) == (rules, controls)
    assert "Traceback" not in engine_server.log()[offset:]


# -- the scenario a user writes ---------------------------------------------------------------
def test_scenario_force_an_upload_to_fail_and_see_it_in_the_logs(
    engine_server: Server,
) -> None:
    """What a test in your own suite looks like: start from a known state, make the
    emulator misbehave on purpose, and check that your client notices."""
    ips = Control(engine_server)

    # 1. Start from nothing: no jobs, runs, logs, rules or accounts of earlier tests.
    ips.ok("POST", "/reset", {"accounts": True})

    # 2. Seed the company and the user your client logs in as.
    ips.ok(
        "POST",
        "/seed",
        {
            "companies": [{"name": "Acme", "id": 47}],
            "users": [{"email": "dev@acme.test", "password": "s3cret", "companies": ["Acme"]}],
        },
    )
    client = acme(engine_server)  # stands for your IPS client, logged in as dev@acme.test

    # 3. Every URL of the job "import" will fail to upload ...
    ips.rule(effect="upload_errors", job_name="import", reason="Source unreachable")
    # ... and the next submitJob is refused with an IPS fault.
    ips.rule(effect="fault", operation="submitJob", code=30000, reason="Try later", remaining=1)

    # 4. The client submits: the first attempt gets the fault, the retry goes through.
    job = upload("http://example.test/a.jpg", "http://example.test/b.jpg")
    refused = client(
        "submitJob", f"<companyHandle>c|47</companyHandle><jobName>import</jobName>{job}"
    )
    assert refused.status == 500
    assert refused.fault() == ("ipsApiFault", 30000, "Try later")
    assert submit(client, "c|47", "import", job) == "j|47|import||"

    # 5. The run ends, and its job log tells what went wrong, URL by URL.
    [log] = wait_for(lambda: finished(client, "c|47", "import"))
    assert log.findtext(q("fileErrorCount")) == "2"
    errors = [d for d in details(log) if d.findtext(q("logType")) == "UploadError"]
    assert [d.findtext(q("logMessage")) for d in errors] == ["Source unreachable"] * 2

    # 6. The journal shows both submitJob calls, the faulted one first.
    calls = ips.journal(operation="submitJob")
    assert [(c["status"], c["fault_code"]) for c in reversed(calls)] == [(500, 30000), (200, None)]
