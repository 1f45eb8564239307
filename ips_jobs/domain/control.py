"""The emulator's own controls (nothing IPS has): fault rules, run timing and manual mode,
and what they apply to. Plain data and matching; the store keeps them, the wire and the
engine consult them."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ips_jobs.domain import validation
from ips_jobs.errors import InvalidParameter, IpsJobsError

#: The longest run a run control may ask for (a run that should never end: manual mode).
MAX_RUN_SECONDS = 7 * 24 * 3600


class Effect(StrEnum):
    FAULT = "fault"  #: answer with an IPS fault (code, reason)
    HTTP_STATUS = "http_status"  #: answer with a bare HTTP status
    LATENCY = "latency"  #: answer normally, latency_ms later
    DROP = "drop"  #: close the connection without an answer
    FATAL_RUN = "fatal_run"  #: the run ends with a FatalError
    UPLOAD_ERRORS = "upload_errors"  #: every file of the run fails to upload


#: Effects on runs (matched when the engine starts a run); the others act on SOAP calls.
RUN_EFFECTS = frozenset({Effect.FATAL_RUN, Effect.UPLOAD_ERRORS})
#: The operation name rules for runs match on.
RUN = "run"


@dataclass(frozen=True)
class Target:
    """What a rule is matched against: a SOAP call, or a run (operation "run")."""

    operation: str
    company_id: int | None = None
    job_name: str | None = None
    job_type: str | None = None


@dataclass(frozen=True)
class FaultRule:
    id: int
    effect: Effect
    created_at: datetime
    operation: str | None = None
    company_id: int | None = None
    job_name: str | None = None
    job_type: str | None = None
    probability: float | None = None
    remaining: int | None = None
    code: int | None = None
    reason: str | None = None
    http_status: int | None = None
    latency_ms: int | None = None
    hits: int = 0

    def matches(self, target: Target, draw: float | None = None) -> bool:
        """Every condition the rule sets holds (job type matches the IPS type or the
        submitJob element name), and the probability draw falls inside it."""
        if self.remaining is not None and self.remaining <= 0:
            return False
        run_rule = self.effect in RUN_EFFECTS
        if run_rule != (target.operation == RUN):
            return False
        if self.operation is not None and self.operation != target.operation and not run_rule:
            return False
        if self.company_id is not None and self.company_id != target.company_id:
            return False
        if self.job_name is not None and self.job_name != target.job_name:
            return False
        if self.job_type is not None and self.job_type != target.job_type:
            return False
        if self.probability is not None:
            return (random.random() if draw is None else draw) < self.probability
        return True

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "effect": self.effect.value,
            "created_at": self.created_at.isoformat(),
            **{
                name: getattr(self, name) for name in RULE_FIELDS if getattr(self, name) is not None
            },
            "hits": self.hits,
        }


RULE_FIELDS = (
    "operation",
    "company_id",
    "job_name",
    "job_type",
    "probability",
    "remaining",
    "code",
    "reason",
    "http_status",
    "latency_ms",
)


class InjectedFault(IpsJobsError):
    """A fault asked for by a fault rule."""

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        super().__init__(reason)


def rule_from(data: Mapping[str, Any], rule_id: int, now: datetime) -> FaultRule:
    """A rule from its JSON form, checked field by field (errors name the field)."""
    unknown = set(data) - {"effect", *RULE_FIELDS}
    if unknown:
        raise InvalidParameter(sorted(unknown)[0], "unknown field")
    try:
        effect = Effect(data.get("effect"))
    except ValueError:
        raise InvalidParameter(
            "effect", f"use one of {', '.join(e.value for e in Effect)}"
        ) from None
    values: dict[str, Any] = {}
    for name in ("operation", "job_name", "job_type", "reason"):
        values[name] = _text(data, name)
    for name in ("company_id", "remaining", "code", "http_status", "latency_ms"):
        values[name] = _int(data, name)
    probability = data.get("probability")
    if probability is not None:
        if not isinstance(probability, int | float) or not 0 <= probability <= 1:
            raise InvalidParameter("probability", "a number from 0 to 1")
        values["probability"] = float(probability)
    rule = FaultRule(rule_id, effect, now, **values)
    _check_effect(rule)
    return rule


FAULT_CODES = (range(10000, 10003), range(20000, 20010), range(30000, 30004))


def _check_effect(rule: FaultRule) -> None:
    if rule.effect is Effect.FAULT and not any(rule.code in codes for codes in FAULT_CODES):
        raise InvalidParameter("code", "an IPS fault code: 10000-10002, 20000-20009, 30000-30003")
    if rule.effect is Effect.HTTP_STATUS and rule.http_status not in range(100, 600):
        raise InvalidParameter("http_status", "an HTTP status from 100 to 599")
    if rule.effect is Effect.LATENCY and rule.latency_ms not in range(0, 600_001):
        raise InvalidParameter("latency_ms", "milliseconds from 0 to 600000")
    if rule.remaining is not None and rule.remaining < 1:
        raise InvalidParameter("remaining", "at least 1")


def _text(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidParameter(name, "a string")
    return value if value is None else validation.sendable(value, name)


def _int(data: Mapping[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is not None and (
        not isinstance(value, int) or isinstance(value, bool) or value not in validation.INT32
    ):
        raise InvalidParameter(name, "an integer (32-bit)")
    return value


@dataclass(frozen=True)
class RunControl:
    """How runs of a job type or job name behave: their length, or manual advancing."""

    id: int
    job_type: str | None = None
    job_name: str | None = None
    seconds: float | None = None
    manual: bool = False

    def applies(self, job_type: str, job_name: str) -> bool:
        return (self.job_type is None or self.job_type == job_type) and (
            self.job_name is None or self.job_name == job_name
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "job_type": self.job_type,
            "job_name": self.job_name,
            "seconds": self.seconds,
            "manual": self.manual,
        }


def control_from(data: Mapping[str, Any], control_id: int) -> RunControl:
    unknown = set(data) - {"job_type", "job_name", "seconds", "manual"}
    if unknown:
        raise InvalidParameter(sorted(unknown)[0], "unknown field")
    seconds = data.get("seconds")
    if seconds is not None and (
        not isinstance(seconds, int | float)
        or isinstance(seconds, bool)
        or not 0 <= seconds <= MAX_RUN_SECONDS  # also NaN and infinities
    ):
        raise InvalidParameter("seconds", f"a number of seconds from 0 to {MAX_RUN_SECONDS}")
    manual = data.get("manual", False)
    if not isinstance(manual, bool):
        raise InvalidParameter("manual", "true or false")
    if seconds is None and not manual:
        raise InvalidParameter("seconds", "give seconds, or manual: true")
    return RunControl(
        control_id,
        _text(data, "job_type"),
        _text(data, "job_name"),
        float(seconds) if seconds is not None else None,
        manual,
    )


def most_specific(controls: list[RunControl], job_type: str, job_name: str) -> RunControl | None:
    """A control naming the job beats one naming its type, which beats a catch-all."""
    found = [c for c in controls if c.applies(job_type, job_name)]
    found.sort(key=lambda c: (c.job_name is not None, c.job_type is not None, c.id))
    return found[-1] if found else None


@dataclass(frozen=True)
class Exchange:
    """One SOAP request and its answer, as the request journal keeps it."""

    at: datetime
    operation: str | None
    caller: str | None
    status: int
    fault_code: int | None
    duration_ms: float
    request: str
    response: str
    #: How the call came: "SOAP 1.1", "SOAP 1.2" or "XML" (AEM's envelope-less transport).
    transport: str = "SOAP 1.1"

    def as_dict(self, entry_id: int | None = None) -> dict[str, Any]:
        data = {
            "time": self.at.isoformat(),
            "transport": self.transport,
            "operation": self.operation,
            "caller": self.caller,
            "status": self.status,
            "fault_code": self.fault_code,
            "duration_ms": round(self.duration_ms, 3),
            "request": self.request,
            "response": self.response,
        }
        return data if entry_id is None else {"id": entry_id, **data}
