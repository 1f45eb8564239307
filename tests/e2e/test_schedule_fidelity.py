"""execSchedule read as IPS reads it, over real HTTP: seconds first whatever the field count, so
the documented `00 00 00 * * ` and its kin fire daily, never monthly as Unix cron would have it.
The session server runs in UTC, so getScheduledJobs' nextFireTime is a UTC time of day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import pytest
from conftest import PUBLISH_JOB as PUBLISH
from conftest import Account, Reply, q
from lxml import etree


def submit(call: Callable[..., Reply], account: Account, name: str, schedule: str) -> Reply:
    return call(
        "submitJob",
        f"<companyHandle>{account.company_handle}</companyHandle><jobName>{name}</jobName>"
        f"<execSchedule>{schedule}</execSchedule>{PUBLISH}",
    )


def scheduled(call: Callable[..., Reply], account: Account) -> dict[str, etree._Element]:
    reply = call("getScheduledJobs", f"<companyHandle>{account.company_handle}</companyHandle>")
    assert reply.status == 200, etree.tostring(reply.root)
    jobs = reply.payload().findall(f"{q('jobArray')}/{q('items')}")
    return {job.findtext(q("name")) or "": job for job in jobs}


def next_daily(after: datetime, at: time) -> datetime:
    """The first `at` (UTC) strictly after `after`."""
    fire = datetime.combine(after.date(), at, tzinfo=UTC)
    return fire if fire > after else fire + timedelta(days=1)


@pytest.mark.parametrize(
    ("schedule", "at"),
    [
        ("00 00 00 * * ", time(0, 0)),  # the IPS documentation's example
        ("00 00 05 * * ", time(5, 0)),  # Unix cron would read: 00:00 on the 5th of each month
        ("00 15 12 * * ", time(12, 15)),  # Unix cron would read: 15:00 on the 12th of each month
    ],
)
def test_five_field_schedule_fires_next_at_that_time_of_day(
    call: Callable[..., Reply], account: Account, schedule: str, at: time
) -> None:
    before = datetime.now(UTC)
    reply = submit(call, account, "daily", schedule)
    assert reply.status == 200, etree.tostring(reply.root)
    job = scheduled(call, account)["daily"]
    after = datetime.now(UTC)

    assert job.findtext(q("execSchedule")) == schedule  # kept as given, trailing space too
    text = job.findtext(q("nextFireTime"))
    assert text, etree.tostring(job)
    fire = datetime.fromisoformat(text)
    assert fire.utcoffset() == timedelta(0), text
    # The server read "now" somewhere between `before` and `after`.
    assert fire in {next_daily(before, at), next_daily(after, at)}, text
    assert before < fire <= after + timedelta(days=1), text


@pytest.mark.parametrize(
    "schedule",
    [
        "61 0 0 * *",  # second 61
        "* * *",  # too few fields
        "0 0 0 * * * 2030",  # a year other than '*'
        "30 2 * * MON-FRI",  # Unix cron for 02:30 on weekdays: a weekday where the month goes
        "0 12 * * 0",  # Unix cron for noon on Sundays: month 0
    ],
)
def test_a_string_ips_would_not_accept_is_30001_naming_exec_schedule(
    call: Callable[..., Reply], account: Account, schedule: str
) -> None:
    reply = submit(call, account, "refused", schedule)
    assert reply.status == 500, etree.tostring(reply.root)
    element, code, reason = reply.fault()
    assert (element, code) == ("ipsApiFault", 30001), reason
    assert "execSchedule" in reason, reason
    assert "refused" not in scheduled(call, account)
