"""IPS `execSchedule` strings: Quartz-style, seconds first, whatever the field count.

IPS's only documented example, `00 00 00 * * `, is `second minute hour day-of-month month`
with the day of week left out, so 5 fields are read that way (day of week `?`), never as Unix
cron: reading `00 00 05 * * ` as cron would fire monthly on the 5th instead of daily at 05:00.
6 fields are Quartz, 7 Quartz with a year (`*` only). Quartz numbers weekdays 1 (Sunday) to
7 (Saturday); they are translated to croniter's 0-6. Fire times are computed by croniter in
the server's time zone and returned in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from croniter import CroniterBadDateError, croniter

from ips_jobs.errors import InvalidParameter

FIELD = "execSchedule"
#: The longest schedule the store keeps (`scheduled_jobs.exec_schedule`).
MAX_LENGTH = 200


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: `cron` is the seconds-first 6-field form croniter reads."""

    text: str
    cron: str

    def next_fire(self, after: datetime, zone: tzinfo) -> datetime:
        """The first fire time strictly after `after`, as aware UTC. As in cron, a fixed time
        in the hour repeated when clocks go back fires once; hourly or faster ones keep going."""
        start = after.astimezone(zone)
        fires = croniter(self.cron, start, second_at_beginning=True)
        minute, hour = self.cron.split()[1:3]
        wildcard = minute.startswith("*") or hour.startswith("*")
        while True:
            try:
                fire = fires.get_next(datetime).astimezone(UTC)
            except CroniterBadDateError:  # e.g. `0 0 0 31 2`, 31 February
                raise InvalidParameter(FIELD, f"'{self.text}' never fires") from None
            if wildcard or not _repeated_wall_time(fire, zone):
                return fire


def _repeated_wall_time(fire: datetime, zone: tzinfo) -> bool:
    """The second of two instants showing the same wall time (the hour after fall-back)."""
    local = fire.astimezone(zone)
    return local.fold == 1 and local.replace(fold=0).astimezone(UTC) != fire


def parse(text: str) -> Schedule:
    """Reads `text` as IPS does: seconds first, 5 fields leaving out the day of week."""
    if len(text) > MAX_LENGTH:
        raise InvalidParameter(FIELD, f"a schedule is at most {MAX_LENGTH} characters")
    fields = text.split()
    if len(fields) == 5:
        return _quartz(text, [*fields, "?"])
    if len(fields) in (6, 7):
        return _quartz(text, fields)
    raise InvalidParameter(
        FIELD,
        f"'{text}' is not an IPS schedule: give 'second minute hour day-of-month month"
        " [day-of-week [year]]'",
    )


def _quartz(text: str, fields: list[str]) -> Schedule:
    if len(fields) == 7:
        if fields[6] != "*":
            raise InvalidParameter(FIELD, f"'{text}': a year field other than '*' is not supported")
        fields = fields[:6]
    seconds, minutes, hours, dom, month, dow = fields
    dom = "*" if dom == "?" else dom
    dow = "*" if dow == "?" else _quartz_weekdays(dow)
    cron = " ".join((seconds, minutes, hours, dom, month, dow))
    if not croniter.is_valid(cron, second_at_beginning=True):
        raise InvalidParameter(
            FIELD, f"'{text}' is not a valid schedule (second minute hour day-of-month month ...)"
        )
    return Schedule(text, cron)


def _quartz_weekdays(field: str) -> str:
    """Quartz 1-7 (Sunday first) to cron 0-6, leaving the n of `d#n` alone."""

    def shift(match: re.Match[str]) -> str:
        value = int(match.group(0))
        if not 1 <= value <= 7:
            raise InvalidParameter(FIELD, f"day of week {value} is outside 1-7")
        return str(value - 1)

    shifted = re.sub(r"(?<!#)\b\d+(?=L?\b)", shift, field)
    return re.sub(r"\b(\d)L\b", r"L\1", shifted)  # Quartz `6L` (last Friday) is croniter's L5
