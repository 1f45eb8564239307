"""The dashboard at /_ips/ in a real browser: headless Chromium from Debian's packages, driven
by Playwright (never `playwright install`: no browser is downloaded). A manual run shows up as
Running with its progress, moves when advanced, and ends in the job logs when the page's own
"success" button is pressed; data is shown escaped; the fault rule form and the fire button
call the control API."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from conftest import (
    Account,
    Server,
    caller,
    make_account,
    start_server,
    stop_server,
    wait_for,
)
from lxml import etree

from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = bool(os.environ.get("CI"))

if not CHROMIUM.exists() and not IN_CI:
    pytest.skip(
        f"{CHROMIUM} is missing (apt-get install chromium); CI installs it and runs this",
        allow_module_level=True,
    )
if not IN_CI:
    pytest.importorskip("playwright", reason="playwright is not installed (pip install -e .[test])")

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ENGINE_ENV = {
    "IPS_ENGINE": "true",
    "IPS_RUN_SECONDS": "0",
    "IPS_POLL_SECONDS": "0.05",
    "IPS_UPLOADS": "simulate",  # the page is tested, not fetching: the URLs do not exist
}
NS = "http://www.scene7.com/IpsApi/xsd/2022-11-01-beta"
#: Five URLs: the manual run's steps are at 20, 40, 60, 80 and 99 %.
UPLOAD = (
    "<uploadUrlsJob><urlArray>"
    + "".join(
        f"<items><sourceUrl>http://example.test/{i}.jpg</sourceUrl>"
        f"<destPath>f/{i}.jpg</destPath></items>"
        for i in range(5)
    )
    + "</urlArray><overwrite>true</overwrite><readyForPublish>true</readyForPublish>"
    "<createMask>false</createMask><emailSetting>None</emailSetting></uploadUrlsJob>"
)
#: A job name that would be markup if it were not escaped.
NAME = 'dash <i>upload</i> & "co"'


@pytest.fixture(scope="module")
def dashboard_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("dashboard")
    running = start_server(f"sqlite:///{folder / 'ips.db'}", folder / "server.log", **ENGINE_ENV)
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def account(dashboard_server: Server) -> Iterator[Account]:
    database = Database(dashboard_server.database_url)
    yield make_account(SqlJobRepository(database))
    database.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing; .ci/run installs Debian's chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], "the page's script failed"


def control(server: Server, method: str, path: str, json: object = None) -> object:
    response = requests.request(method, f"{server.base_url}/_ips{path}", json=json, timeout=10)
    assert response.ok, response.text
    return response.json()


def submit(server: Server, account: Account, name: str, job: str, extra: str = "") -> str:
    reply = caller(server, account)(
        "submitJob",
        f"<companyHandle>{account.company_handle}</companyHandle>"
        f"<jobName>{escape_xml(name)}</jobName>{extra}{job}",
    )
    assert reply.status == 200, etree.tostring(reply.root)
    return reply.payload().findtext(f"{{{NS}}}jobHandle") or ""


def escape_xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_a_manual_run_is_watched_advanced_and_ended_from_the_page(
    dashboard_server: Server, account: Account, page: Page, tmp_path: Path
) -> None:
    control(dashboard_server, "POST", "/run-controls", {"manual": True})
    submit(dashboard_server, account, NAME, UPLOAD)
    submit(dashboard_server, account, "dash doomed", UPLOAD)

    page.goto(f"{dashboard_server.base_url}/_ips/")
    active = page.locator('[data-section="active"]')
    row = active.locator("tr[data-run]").filter(has_text=NAME)
    expect(row).to_have_count(1)
    expect(row.locator("td.state")).to_have_text("Running")
    bar = row.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", "0")

    # The progress message is the one getActiveJobs reports (once the run's first step has
    # written it: a just-claimed run is Running with no message yet).
    def reported_message() -> str:
        reply = caller(dashboard_server, account)(
            "getActiveJobs", f"<companyHandle>{account.company_handle}</companyHandle>"
        )
        return reply.payload().findtext(f".//{{{NS}}}progressMessage") or ""

    message = wait_for(reported_message)
    assert message
    expect(row.locator("td.message")).to_have_text(message)
    # The name is shown as text, never as markup.
    expect(row).to_contain_text('dash <i>upload</i> & "co"')
    assert active.locator("i").count() == 0

    # The page's own control: type 60, press advance.
    row.locator('input[name="progress"]').fill("60")
    row.get_by_role("button", name="advance").click()
    expect(bar).to_have_attribute("aria-valuenow", "60")
    expect(bar).to_have_text("60%")
    fill = row.locator(".bar .fill")
    expect(fill).to_have_attribute("style", re.compile(r"width:\s*60%"))

    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000

    handle = row.get_attribute("data-handle") or ""
    row.get_by_role("button", name="success").click()
    expect(active.locator("tr[data-run]").filter(has_text=NAME)).to_have_count(0)
    logged = page.locator('[data-section="logs"] tr[data-run]').filter(has_text=handle)
    expect(logged).to_have_count(1)
    expect(logged.locator("td.state")).to_have_text("Done")

    # "failure" ends a run with a FatalError.
    doomed = active.locator("tr[data-run]").filter(has_text="dash doomed")
    doomed.get_by_role("button", name="failure").click()
    failed = page.locator('[data-section="logs"] tr[data-run]').filter(has_text="dash doomed")
    expect(failed.locator("td.state")).to_have_text("FatalError")
    expect(doomed).to_have_count(0)

    # Its detail rows open under it.
    logged.get_by_role("button", name="details").click()
    details = page.locator('[data-section="logs"] tr.sub')
    expect(details).to_contain_text("EndUpload")
    expect(details).to_contain_text("UploadSuccess")

    # The SOAP call is in the journal, its bodies (password masked) one click away.
    journal = page.locator('[data-section="journal"]')
    submitted = journal.locator("tr[data-request]").filter(has_text="submitJob").first
    expect(submitted).to_contain_text(account.email)
    submitted.get_by_role("button", name="details").click()
    expect(journal.locator("tr.sub pre").first).to_contain_text("****")
    expect(journal.locator("tr.sub")).not_to_contain_text(account.password)


def test_fault_rules_schedules_and_reset_from_the_page(
    dashboard_server: Server, account: Account, page: Page
) -> None:
    control(dashboard_server, "DELETE", "/run-controls")
    submit(
        dashboard_server,
        account,
        "dash nightly",
        "<imageServingPublishJob><publishType>Full</publishType>"
        "<emailSetting>None</emailSetting></imageServingPublishJob>",
        "<execSchedule>0 0 3 * * ?</execSchedule>",
    )
    page.goto(f"{dashboard_server.base_url}/_ips/")

    scheduled = page.locator('[data-section="scheduled"] tr[data-job]').filter(
        has_text="dash nightly"
    )
    expect(scheduled).to_contain_text("ImageServingPublish")
    expect(scheduled).to_contain_text("0 0 3 * * ?")
    box = page.locator('input[data-filter="scheduled"]')
    box.fill("no such job")
    expect(scheduled).to_be_hidden()
    box.fill("DASH night")
    expect(scheduled).to_be_visible()
    scheduled.get_by_role("button", name="fire now").click()
    logs = page.locator('[data-section="logs"] tr[data-run]')
    expect(logs.filter(has_text="dash nightly")).to_have_count(1)

    form = page.locator("#rule-form")
    form.locator('select[name="effect"]').select_option("fault")
    form.locator('input[name="operation"]').fill("getActiveJobs")
    form.locator('input[name="code"]').fill("30001")
    form.locator('input[name="reason"]').fill("from <the> dashboard")
    form.locator('input[name="remaining"]').fill("2")
    form.get_by_role("button", name="add rule").click()
    rule = page.locator('[data-section="rules"] tr[data-rule]')
    expect(rule).to_have_count(1)
    expect(rule).to_contain_text("getActiveJobs")
    expect(rule).to_contain_text("from <the> dashboard")
    rules = control(dashboard_server, "GET", "/faults")
    assert isinstance(rules, list)
    assert [(r["operation"], r["code"], r["remaining"]) for r in rules] == [
        ("getActiveJobs", 30001, 2)
    ]
    rule.get_by_role("button", name="delete").click()
    expect(rule).to_have_count(0)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="reset…").click()
    expect(page.locator('[data-section="scheduled"] tr[data-job]')).to_have_count(0)
    expect(page.locator('[data-section="logs"] tr[data-run]')).to_have_count(0)
    # Accounts stay.
    expect(page.locator('[data-section="companies"]')).to_contain_text(account.company_name)
