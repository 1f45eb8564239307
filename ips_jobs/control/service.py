"""The control plane's use cases. HTTP lives in control/routes.py; this knows none of it."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
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
from ips_jobs.store.repository import SqlJobRepository

log = logging.getLogger("ips_jobs.control")

OUTCOMES = ("success", "failure")


@dataclass
class Controls:
    store: ControlStore
    repository: SqlJobRepository
    clock: Clock
    heartbeat_timeout: float
    jobs: JobService

    # -- health ---------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """Database reachable, engines alive, versions; raises StoreError when the DB is not."""
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
        return {
            "status": "ok",
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
        self.store.reset(accounts)
        log.warning(
            "reset: jobs, runs, logs, rules and journal emptied%s",
            " (and companies and users)" if accounts else "",
        )

    # -- fault rules ----------------------------------------------------------------------
    def add_rule(self, data: Mapping[str, Any]) -> FaultRule:
        data = dict(data)
        if isinstance(data.get("job_type"), str):
            data["job_type"] = JOB_TYPES.get(data["job_type"], data["job_type"])
        if isinstance(data.get("company"), str):
            data["company_id"] = handles.parse_company(data.pop("company"), "company")
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
        progress = data.get("progress")
        outcome = data.get("outcome")
        if progress is None and outcome is None:
            raise InvalidParameter("progress", "give progress (0-100) or outcome")
        if progress is not None and (not isinstance(progress, int) or not 0 <= progress <= 100):
            raise InvalidParameter("progress", "an integer from 0 to 100")
        if outcome is not None and outcome not in OUTCOMES:
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
