"""The control plane's use cases. HTTP lives in control/routes.py; this knows none of it."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ips_jobs import __version__
from ips_jobs.clock import Clock
from ips_jobs.domain import control, handles
from ips_jobs.domain.control import FaultRule, RunControl, Target
from ips_jobs.domain.handles import DefinitionRef
from ips_jobs.domain.jobs import JOB_TYPES, Run
from ips_jobs.domain.ports import RunQuery
from ips_jobs.domain.service import JobService
from ips_jobs.errors import InvalidParameter, NotFound
from ips_jobs.store.control import ControlStore
from ips_jobs.store.files import FileStore
from ips_jobs.store.repository import SqlJobRepository

log = logging.getLogger("ips_jobs.control")

OUTCOMES = ("success", "failure")
#: Health statuses: all well; waiting for the engine's first heartbeat; no engine runs
#: though this server is meant to run one (answered 503).
OK, STARTING, UNHEALTHY = "ok", "starting", "unhealthy"
#: The statuses an http_status fault rule may answer with: a client must be able to read
#: them as an answer (1xx are not final: a client waits on) and they must carry the body
#: (204, 205 and 304 cannot), as for the SOAP header's faultHttpStatusCode.
HTTP_STATUSES = frozenset(range(200, 600)) - {204, 205, 304}


@dataclass
class Controls:
    store: ControlStore
    repository: SqlJobRepository
    clock: Clock
    heartbeat_timeout: float
    jobs: JobService
    #: The uploads' file store, emptied with the assets by a reset.
    files: FileStore
    #: This server runs an engine (IPS_ENGINE): health is unhealthy while none beats.
    engine_expected: bool = False
    #: When this process started serving (monotonic): the engine's grace period runs from it.
    started: float = field(default_factory=time.monotonic)
    _heard_engine: bool = field(default=False, init=False, repr=False)

    # -- health ---------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """Database reachable, engines alive, versions; raises StoreError when the DB is not.
        `status` is unhealthy while an engine is expected and none has sent a heartbeat
        within the heartbeat timeout; starting before its first heartbeat, for a
        heartbeat timeout after the server started (an engine registers a moment late)."""
        now = self.clock.now()
        fresh = now - timedelta(seconds=self.heartbeat_timeout)
        engines = [
            {
                "id": e["id"],
                "pid": e["pid"],
                "host": e["host"],
                "heartbeat": e["heartbeat_at"].isoformat(),
            }
            for e in self.store.engines()
            if e["heartbeat_at"] >= fresh
        ]
        status, problem = OK, None
        if engines:
            self._heard_engine = True
        elif self.engine_expected:
            waiting = time.monotonic() - self.started < self.heartbeat_timeout
            if waiting and not self._heard_engine:
                status = STARTING
            else:
                status = UNHEALTHY
                problem = f"no engine has sent a heartbeat in the last {self.heartbeat_timeout:g} s"
        return {
            "status": status,
            **({} if problem is None else {"error": problem}),
            "version": __version__,
            "database": {
                "status": "ok",
                "dialect": self.store.db.dialect,
                "rows": self.store.counts(),
            },
            "engine": {"running": bool(engines), "processes": engines},
            "time": now.isoformat(),
        }

    def reset(self, accounts: bool) -> None:
        """Empties the database, then the file store: an asset is never left without its
        file, while a file without an asset is only a leftover."""
        self.store.reset(accounts)
        removed = self.files.clear()
        log.warning(
            "reset: jobs, runs, logs, rules, journal, assets and folders emptied%s; "
            "%d stored file(s) deleted",
            " (and companies and users)" if accounts else "",
            removed,
        )

    # -- fault rules ----------------------------------------------------------------------
    def add_rule(self, data: Mapping[str, Any]) -> FaultRule:
        data = dict(data)
        _check_rule(data)
        if isinstance(data.get("job_type"), str):
            data["job_type"] = JOB_TYPES.get(data["job_type"], data["job_type"])
        if data.get("company") is not None:
            data["company_id"] = handles.parse_company(data.pop("company"), "company")
        data.pop("company", None)
        rule = self.store.add_rule(control.rule_from(data, 0, self.clock.now()))
        log.info("fault rule %s added: %s", rule.id, rule.as_dict())
        return rule

    def rules(self) -> list[FaultRule]:
        return self.store.rules()

    def delete_rule(self, rule_id: int) -> None:
        if not self.store.delete_rule(rule_id):
            raise InvalidParameter("id", f"no fault rule {rule_id}")

    def clear_rules(self) -> int:
        return self.store.clear_rules()

    def pick(self, target: Target) -> FaultRule | None:
        """The first rule matching a call or run that still has calls left (and uses one)."""
        for rule in self.store.rules():
            if rule.matches(target) and self.store.consume(rule):
                log.info("fault rule %s applies to %s", rule.id, target)
                return rule
        return None

    # -- run controls ---------------------------------------------------------------------
    def add_control(self, data: Mapping[str, Any]) -> RunControl:
        data = dict(data)
        if isinstance(data.get("job_type"), str):
            data["job_type"] = JOB_TYPES.get(data["job_type"], data["job_type"])
        return self.store.add_control(control.control_from(data, 0))

    def controls(self) -> list[RunControl]:
        return self.store.controls()

    def delete_control(self, control_id: int) -> None:
        if not self.store.delete_control(control_id):
            raise InvalidParameter("id", f"no run control {control_id}")

    def clear_controls(self) -> int:
        return self.store.clear_controls()

    def setup_runs(self, runs: Sequence[Run]) -> Sequence[Run]:
        """Called by the engine for runs it just claimed: their timing and injected faults.
        Returns the runs as configured."""
        if not runs:
            return runs
        rules = [r for r in self.store.rules() if r.effect in control.RUN_EFFECTS]
        controls = self.store.controls()
        if not rules and not controls:
            return runs
        configured = []
        for run in runs:
            chosen = self._run_rule(rules, run)
            found = control.most_specific(controls, run.type, run.original_name)
            injected = (
                None
                if chosen is None
                else {
                    "effect": chosen.effect.value,
                    "reason": chosen.reason,
                    "rule": chosen.id,
                }
            )
            if chosen is not None or found is not None:
                run = replace(
                    run,
                    seconds=found.seconds if found else None,
                    manual=bool(found and found.manual),
                    injected=injected,
                )
                self.store.configure_run(run.id, run.seconds, run.manual, run.injected)
            configured.append(run)
        return configured

    def _run_rule(self, rules: Sequence[FaultRule], run: Run) -> FaultRule | None:
        target = Target(control.RUN, run.company_id, run.original_name, run.type)
        for rule in rules:
            if rule.matches(target) and self.store.consume(rule):
                return rule
        return None

    # -- runs and schedules ---------------------------------------------------------------
    def advance(self, handle: str, data: Mapping[str, Any]) -> list[int]:
        only(data, "progress", "outcome")
        progress = data.get("progress")
        outcome = data.get("outcome")
        if progress is None and outcome is None:
            raise InvalidParameter("progress", "give progress (0-100) or outcome")
        if progress is not None and (not _is_int(progress) or not 0 <= progress <= 100):
            raise InvalidParameter("progress", "an integer from 0 to 100")
        if outcome is not None and (not isinstance(outcome, str) or outcome not in OUTCOMES):
            raise InvalidParameter("outcome", "success or failure")
        runs = self._active_runs(handle)
        moved = [run.id for run in runs if self.store.advance(run.id, progress, outcome)]
        if not moved:
            raise NotFound("handle", handle)
        return moved

    def fire(self, handle: str) -> None:
        ref = handles.parse_job(handle, "handle")
        if not isinstance(ref, DefinitionRef):
            raise InvalidParameter("handle", "a scheduled job handle (j|<company>|<name>||)")
        job = self.repository.scheduled_job(ref.company_id, ref.name)
        if job is None:
            raise NotFound("handle", handle)
        self.jobs.execute(job)

    def _active_runs(self, handle: str) -> Sequence[Run]:
        ref = handles.parse_job(handle, "handle")
        if isinstance(ref, DefinitionRef):
            query = RunQuery([ref.company_id], original_name=ref.name, active_only=True)
        else:
            query = RunQuery(
                [ref.company_id], run_id=ref.run_id, run_name=ref.run_name, active_only=True
            )
        return self.repository.runs(query)

    # -- the request journal --------------------------------------------------------------
    def requests(
        self, operation: str | None, since: datetime | None, until: datetime | None, limit: int
    ) -> list[dict[str, Any]]:
        return [e.as_dict(i) for i, e in self.store.exchanges(operation, since, until, limit)]

    def clear_requests(self) -> int:
        return self.store.clear_exchanges()


def only(data: Mapping[str, Any], *names: str, where: str = "") -> None:
    """Refuses fields a body does not take: a misspelt one would otherwise be ignored.
    `where` names the part of the body they are in (`users[0]`)."""
    unknown = set(data) - set(names)
    if unknown:
        raise InvalidParameter(
            f"{where}.{min(unknown)}" if where else min(unknown), "unknown field"
        )


def flag(data: Mapping[str, Any], name: str) -> bool | None:
    """A JSON boolean, None when absent: the string "false" is refused, not read as true."""
    if name not in data:
        return None
    value = data[name]
    if not isinstance(value, bool):
        raise InvalidParameter(name, "expected true or false")
    return value


def _is_int(value: Any) -> bool:
    """A JSON integer: Python's bool is an int, but true is no number."""
    return isinstance(value, int) and not isinstance(value, bool)


def _check_rule(data: Mapping[str, Any]) -> None:
    """The types control.rule_from leaves open, and which HTTP statuses a rule may answer."""
    if data.get("company") is not None and data.get("company_id") is not None:
        raise InvalidParameter("company", "give company or company_id, not both")
    company = data.get("company")
    if company is not None and not isinstance(company, str):
        raise InvalidParameter("company", 'a company handle, e.g. "c|47" (or company_id: 47)')
    probability = data.get("probability")
    if probability is not None and (
        not isinstance(probability, int | float) or isinstance(probability, bool)
    ):
        raise InvalidParameter("probability", "a number from 0 to 1")
    status = data.get("http_status")
    if (status is not None or data.get("effect") == control.Effect.HTTP_STATUS.value) and (
        not _is_int(status) or status not in HTTP_STATUSES
    ):
        raise InvalidParameter(
            "http_status", "an HTTP status from 200 to 599, except 204, 205 and 304"
        )


def parse_time(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except ValueError:
        raise InvalidParameter(field, f"'{value}' is not an ISO 8601 time") from None
    except OverflowError:
        raise InvalidParameter(field, f"'{value}' is outside the supported times") from None
