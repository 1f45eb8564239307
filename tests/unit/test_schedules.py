"""execSchedule: when a recurring job fires, as a user in the server's time zone would expect."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest

from ips_jobs.domain import schedules
from ips_jobs.errors import InvalidParameter

NEW_YORK = ZoneInfo("America/New_York")
START = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday


def fires(text: str, after: datetime, count: int, zone: tzinfo = UTC) -> list[datetime]:
    schedule = schedules.parse(text)
    found = []
    for _ in range(count):
        after = schedule.next_fire(after, zone)
        found.append(after)
    return found


def fires_between(text: str, start: datetime, end: datetime, zone: tzinfo) -> list[datetime]:
    schedule = schedules.parse(text)
    found = []
    fire = schedule.next_fire(start, zone)
    while fire < end:
        found.append(fire)
        fire = schedule.next_fire(fire, zone)
    return found


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- 5 fields: IPS's form, seconds first with the day of week left out --------------------------
@pytest.mark.parametrize(
    ("text", "hour", "minute"),
    [("00 00 00 * * ", 0, 0), ("00 00 05 * * ", 5, 0), ("00 15 12 * * ", 12, 15)],
)
def test_five_fields_fire_daily_at_that_time_not_monthly(text: str, hour: int, minute: int) -> None:
    # Read as Unix cron, `00 00 05 * *` would fire on the 5th of each month only.
    before_new_year = utc(2023, 12, 31, 23, 59)
    assert fires(text, before_new_year, 3) == [utc(2024, 1, day, hour, minute) for day in (1, 2, 3)]


def test_five_fields_start_with_seconds() -> None:
    assert fires("15 30 2 * *", START, 2) == [
        utc(2024, 1, 1, 2, 30, 15),
        utc(2024, 1, 2, 2, 30, 15),
    ]


def test_a_unix_cron_line_is_read_seconds_first() -> None:
    # Unix cron "02:30 on weekdays" is IPS "second 30 of minute 2 of every hour, January-May".
    assert fires("30 2 * * 1-5", START, 3) == [
        utc(2024, 1, 1, 0, 2, 30),
        utc(2024, 1, 1, 1, 2, 30),
        utc(2024, 1, 1, 2, 2, 30),
    ]
    assert fires("30 2 * * 1-5", utc(2024, 5, 31, 23, 59), 1) == [utc(2025, 1, 1, 0, 2, 30)]
    # Written for IPS, "02:30 on weekdays" needs the sixth field.
    assert [f.weekday() for f in fires("0 30 2 ? * MON-FRI", START, 6)] == [0, 1, 2, 3, 4, 0]


def test_five_field_steps_count_seconds_then_minutes() -> None:
    assert fires("*/15 * * * *", utc(2024, 1, 1, 10, 7), 3) == [
        utc(2024, 1, 1, 10, 7, 15),
        utc(2024, 1, 1, 10, 7, 30),
        utc(2024, 1, 1, 10, 7, 45),
    ]
    assert fires("0 */15 * * *", utc(2024, 1, 1, 10, 7), 3) == [
        utc(2024, 1, 1, 10, 15),
        utc(2024, 1, 1, 10, 30),
        utc(2024, 1, 1, 10, 45),
    ]


def test_the_fifth_field_is_the_month_not_the_weekday() -> None:
    # "0 12 * * 1" is minute 12 of every hour in January, not noon on Mondays.
    assert fires("0 12 * * 1", START, 2) == [utc(2024, 1, 1, 0, 12), utc(2024, 1, 1, 1, 12)]
    assert fires("0 12 * * 1", utc(2024, 2, 1), 1) == [utc(2025, 1, 1, 0, 12)]
    assert fires("0 0 12 1 JAN,JUL", START, 2) == [utc(2024, 1, 1, 12), utc(2024, 7, 1, 12)]


def test_five_fields_take_quartz_day_of_month_features() -> None:
    assert fires("0 0 12 L *", START, 2) == [utc(2024, 1, 31, 12), utc(2024, 2, 29, 12)]
    assert fires("0 0 12 15W *", utc(2024, 6, 1), 1) == [utc(2024, 6, 14, 12)]


def test_the_worked_examples_in_docs_schedules_md() -> None:
    assert fires("0 30 2 L *", START, 2) == [utc(2024, 1, 31, 2, 30), utc(2024, 2, 29, 2, 30)]
    assert [f.weekday() for f in fires("0 0 9 ? * MON-FRI", START, 6)] == [0, 1, 2, 3, 4, 0]
    assert fires("0 0 3 * * ?", START, 2) == [utc(2024, 1, 1, 3), utc(2024, 1, 2, 3)]
    assert fires("*/5 * * * *", START, 2) == [utc(2024, 1, 1, 0, 0, 5), utc(2024, 1, 1, 0, 0, 10)]
    assert fires("0 */5 * * *", START, 2) == [utc(2024, 1, 1, 0, 5), utc(2024, 1, 1, 0, 10)]


def test_a_schedule_that_never_fires_is_refused() -> None:
    for text in ("0 0 0 31 2", "0 0 0 30 2 ?"):
        with pytest.raises(InvalidParameter) as caught:
            schedules.parse(text).next_fire(START, UTC)
        assert caught.value.field == "execSchedule"
        assert caught.value.code == 30001


def test_next_fire_is_strictly_after_and_aware_utc() -> None:
    schedule = schedules.parse("0 0 12 * *")
    fire = schedule.next_fire(utc(2024, 1, 1, 12), UTC)
    assert fire == utc(2024, 1, 2, 12)
    assert fire.tzinfo is not None and fire.utcoffset() == timedelta(0)


def test_the_instant_matters_not_the_zone_it_is_given_in() -> None:
    schedule = schedules.parse("0 0 12 * *")
    after = utc(2024, 1, 1, 11, 59)
    assert schedule.next_fire(after, UTC) == schedule.next_fire(after.astimezone(NEW_YORK), UTC)


# -- Quartz seconds-first -----------------------------------------------------------------------
def test_quartz_six_fields_with_question_mark_and_seconds() -> None:
    assert fires("15 30 2 * * ?", START, 2) == [
        utc(2024, 1, 1, 2, 30, 15),
        utc(2024, 1, 2, 2, 30, 15),
    ]
    assert fires("0 0 12 ? * *", START, 1) == [utc(2024, 1, 1, 12)]


def test_quartz_seven_fields_with_any_year() -> None:
    assert fires("0 0 12 * * ? *", START, 2) == [utc(2024, 1, 1, 12), utc(2024, 1, 2, 12)]


def test_quartz_last_day_of_month() -> None:
    assert fires("0 0 12 L * ?", START, 3) == [
        utc(2024, 1, 31, 12),
        utc(2024, 2, 29, 12),
        utc(2024, 3, 31, 12),
    ]


def test_quartz_nearest_weekday() -> None:
    # 2024-06-15 is a Saturday (-> Friday the 14th), 2024-09-15 a Sunday (-> Monday the 16th).
    assert fires("0 0 12 15W * ?", utc(2024, 6, 1), 1) == [utc(2024, 6, 14, 12)]
    assert fires("0 0 12 15W * ?", utc(2024, 9, 1), 1) == [utc(2024, 9, 16, 12)]
    assert fires("0 0 12 15W * ?", utc(2024, 7, 1), 1) == [utc(2024, 7, 15, 12)]


def test_quartz_nth_weekday_of_month_uses_quartz_numbering() -> None:
    # 6#3: the third Friday (Quartz 6 = Friday).
    assert fires("0 0 12 ? * 6#3", START, 2) == [utc(2024, 1, 19, 12), utc(2024, 2, 16, 12)]


def test_quartz_last_weekday_of_month() -> None:
    # 6L: the last Friday of the month.
    assert fires("0 0 12 ? * 6L", START, 2) == [utc(2024, 1, 26, 12), utc(2024, 2, 23, 12)]


@pytest.mark.parametrize(
    ("weekday", "expected_day"),
    [("1", 7), ("2", 1), ("4", 3), ("7", 6), ("SUN", 7), ("MON", 1), ("sat", 6)],
)
def test_quartz_weekdays_number_sunday_as_one(weekday: str, expected_day: int) -> None:
    assert fires(f"0 0 12 ? * {weekday}", START, 1) == [utc(2024, 1, expected_day, 12)]


def test_quartz_weekday_ranges_and_lists() -> None:
    working_days = [fire.weekday() for fire in fires("0 0 12 ? * 2-6", START, 10)]
    assert working_days == [0, 1, 2, 3, 4] * 2
    assert [f.weekday() for f in fires("0 0 12 ? * MON-FRI", START, 10)] == working_days
    assert [f.day for f in fires("0 0 12 ? * 2,4", START, 3)] == [1, 3, 8]
    assert [f.day for f in fires("0 0 12 ? * 1,7", START, 3)] == [6, 7, 13]


def test_month_names() -> None:
    assert fires("0 0 12 1 JAN,JUL ?", START, 3) == [
        utc(2024, 1, 1, 12),
        utc(2024, 7, 1, 12),
        utc(2025, 1, 1, 12),
    ]


def test_documented_example_fires_every_midnight_server_time() -> None:
    # "00 00 00 * * " with nextFireTime 2007-10-13T00:00:00.000-07:00 in the IPS docs.
    pacific = ZoneInfo("America/Los_Angeles")
    after = datetime(2007, 10, 12, 10, 0, tzinfo=pacific)
    assert fires("00 00 00 * * ", after, 2, pacific) == [
        datetime(2007, 10, 13, 0, 0, tzinfo=pacific),
        datetime(2007, 10, 14, 0, 0, tzinfo=pacific),
    ]
    assert fires("00 00 00 * * ", after, 1, pacific)[0] == utc(2007, 10, 13, 7)


# -- time zones -------------------------------------------------------------------------------
def test_fire_times_follow_the_server_time_zone() -> None:
    assert fires("0 0 9 * *", START, 1, ZoneInfo("Asia/Tokyo")) == [utc(2024, 1, 2, 0)]
    berlin = ZoneInfo("Europe/Berlin")
    # 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
    assert fires("0 0 9 * * ?", utc(2024, 1, 10), 1, berlin) == [utc(2024, 1, 10, 8)]
    assert fires("0 0 9 * * ?", utc(2024, 7, 10), 1, berlin) == [utc(2024, 7, 10, 7)]


def test_the_same_schedule_fires_at_different_instants_in_different_zones() -> None:
    schedule = schedules.parse("0 0 0 * *")
    assert schedule.next_fire(START, NEW_YORK) == utc(2024, 1, 1, 5)
    assert schedule.next_fire(START, UTC) == utc(2024, 1, 2, 0)


# -- daylight saving time in America/New_York -----------------------------------------------------
def local_dates(found: list[datetime]) -> list[date]:
    return [fire.astimezone(NEW_YORK).date() for fire in found]


@pytest.mark.parametrize("text", ["00 30 02 * * ", "0 30 2 * * ?"])
def test_spring_forward_a_0230_job_still_fires_once_that_day(text: str) -> None:
    # 2024-03-10: 02:00 EST jumps to 03:00 EDT, so 02:30 does not exist.
    found = fires(text, utc(2024, 3, 9, 12), 3, NEW_YORK)
    assert local_dates(found) == [date(2024, 3, 10), date(2024, 3, 11), date(2024, 3, 12)]
    on_the_day = found[0].astimezone(NEW_YORK)
    assert time(3, 0) <= on_the_day.time() <= time(3, 30)  # just after the gap
    assert found[1] == datetime(2024, 3, 11, 2, 30, tzinfo=NEW_YORK)
    assert found[1] == utc(2024, 3, 11, 6, 30)


@pytest.mark.parametrize("text", ["00 30 01 * * ", "0 30 1 * * ?"])
def test_fall_back_a_0130_job_fires_once(text: str) -> None:
    # 2024-11-03: 01:00-02:00 happens twice (EDT, then EST); the job must not run twice.
    found = fires(text, utc(2024, 11, 2, 12), 3, NEW_YORK)
    assert local_dates(found) == [date(2024, 11, 3), date(2024, 11, 4), date(2024, 11, 5)]
    assert found[0] == utc(2024, 11, 3, 5, 30)  # 01:30 EDT, the first 01:30
    assert found[1] == utc(2024, 11, 4, 6, 30)  # 01:30 EST


def test_fall_back_computed_from_inside_the_repeated_hour_waits_for_the_next_day() -> None:
    # A scheduler that already fired at 01:30 EDT and recomputes at 01:45 EDT.
    assert fires("0 30 1 * *", utc(2024, 11, 3, 5, 45), 1, NEW_YORK) == [utc(2024, 11, 4, 6, 30)]


def test_hourly_jobs_keep_firing_every_hour_across_both_changes() -> None:
    fall_day = fires_between(
        "0 0 * * *",
        datetime(2024, 11, 3, 0, 0, tzinfo=NEW_YORK) - timedelta(seconds=1),
        datetime(2024, 11, 4, 0, 0, tzinfo=NEW_YORK),
        NEW_YORK,
    )
    assert len(fall_day) == 25  # the 25-hour day, one fire per real hour
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(fall_day))
    spring_day = fires_between(
        "0 0 * * *",
        datetime(2024, 3, 10, 0, 0, tzinfo=NEW_YORK) - timedelta(seconds=1),
        datetime(2024, 3, 11, 0, 0, tzinfo=NEW_YORK),
        NEW_YORK,
    )
    assert len(spring_day) == 23
    assert len(set(spring_day)) == 23


# -- rejections ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "bogus",
        "* * * *",
        "0 0 0 1 1 ? * 9",
        "99 * * * *",
        "61 0 0 * *",
        "0 60 0 * *",
        "0 0 24 * *",
        "0 0 0 0 *",
        "0 0 0 * 13",
        "* * *",
        "0 0 31 2 *",  # Unix cron for 31 February: hour 31 here
        "0 12 * * 0",  # Unix cron for noon on Sundays: month 0 here
        "30 2 * * MON-FRI",  # Unix cron for 02:30 on weekdays: a weekday as the month here
        "0 0 0 * * * 2030",
        "0 61 * * * ?",
        "0 0 25 * * ?",
        "0 0 12 32 * ?",
        "0 0 12 * 13 ?",
        "0 0 12 ? * 0",
        "0 0 12 ? * 8",
        "0 0 12 ? * 1-9",
        "0 0 12 * * ? 2025",
        "0 0 12 ? * FUNDAY",
        "daily at noon",
    ],
)
def test_bad_schedules_are_rejected_naming_exec_schedule(text: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        schedules.parse(text)
    assert caught.value.field == "execSchedule"
    assert "execSchedule" in caught.value.message
    assert caught.value.code == 30001
