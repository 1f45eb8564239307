"""The store side of the emulator's controls: fault rules, run controls, the request
journal, run advancing, and resetting everything."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, text, update

from ips_jobs.domain import states
from ips_jobs.domain.control import RULE_FIELDS, Effect, Exchange, FaultRule, RunControl
from ips_jobs.domain.jobs import RunState
from ips_jobs.store.change_cache import ChangeCache
from ips_jobs.store.database import Database
from ips_jobs.store.driver import DriverStatement, insert_row
from ips_jobs.store.tables import (
    asset_keywords,
    asset_publications,
    assets,
    companies,
    engine_processes,
    fault_rules,
    folders,
    job_log_details,
    job_runs,
    journal,
    memberships,
    run_controls,
    scheduled_jobs,
    users,
)

#: Emptied by a reset, children first; the accounts only when asked.
JOB_TABLES = (job_log_details, job_runs, scheduled_jobs, journal, fault_rules, run_controls)
ASSET_TABLES = (asset_publications, asset_keywords, assets)
ACCOUNT_TABLES = (memberships, users, companies)
#: Tables whose ids go on after a reset (see reset()); folders', as each company's root
#: folder stays with the company.
KEPT_SEQUENCES = (job_runs, assets, folders)


class ControlStore:
    def __init__(self, database: Database) -> None:
        self.db = database
        self._rules: ChangeCache[tuple[FaultRule, ...]] = ChangeCache(database)
        self._add_exchange = DriverStatement(insert_row(journal), database.sql_dialect)
        self._trim_journal = DriverStatement(_TRIM_JOURNAL, database.sql_dialect)

    # -- health ---------------------------------------------------------------------------
    def engines(self) -> list[dict[str, Any]]:
        with self.db.checked_read() as c:
            rows = c.execute(select(engine_processes).order_by(engine_processes.c.started_at))
            return [dict(r._mapping) for r in rows]

    def counts(self) -> dict[str, int]:
        with self.db.checked_read() as c:
            return {
                table.name: c.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (
                    companies,
                    users,
                    scheduled_jobs,
                    job_runs,
                    fault_rules,
                    journal,
                    folders,
                    assets,
                )
            }

    # -- reset ----------------------------------------------------------------------------
    def reset(self, accounts: bool) -> None:
        """Empties the job tables (and the accounts), and restarts their ids at 1, except
        run ids: an engine may still hold runs from before the reset in memory, with steps
        due, and would step a new run of the same id as its own (twice as fast). A run id
        is never used twice; the engine's stale steps find no run and end."""
        tables = JOB_TABLES + ASSET_TABLES + (ACCOUNT_TABLES if accounts else ())
        with self.db.checked_write() as c:
            for table in tables:
                c.execute(delete(table))
                if table is assets:  # every folder but the companies' roots
                    c.execute(delete(folders).where(folders.c.parent_id.is_not(None)))
            if self.db.dialect == "postgresql":
                for table in tables:
                    if "id" in table.c and table not in KEPT_SEQUENCES:
                        c.execute(text(f"ALTER SEQUENCE {table.name}_id_seq RESTART WITH 1"))

    # -- fault rules ----------------------------------------------------------------------
    def add_rule(self, rule: FaultRule) -> FaultRule:
        values = {name: getattr(rule, name) for name in RULE_FIELDS}
        with self.db.checked_write() as c:
            new_id = c.execute(
                insert(fault_rules)
                .values(effect=rule.effect.value, created_at=rule.created_at, **values)
                .returning(fault_rules.c.id)
            ).scalar_one()
        return _rule(
            {
                **values,
                "id": new_id,
                "effect": rule.effect.value,
                "created_at": rule.created_at,
                "hits": 0,
            }
        )

    def rules(self) -> list[FaultRule]:
        """Needed on every SOAP call: kept until a rule changes (a hit changes it too)."""
        return list(self._rules.get(None, self._read_rules))

    def _read_rules(self) -> tuple[FaultRule, ...]:
        with self.db.checked_read() as c:
            return tuple(_rule(r._mapping) for r in c.execute(_ALL_RULES))

    def delete_rule(self, rule_id: int) -> bool:
        with self.db.checked_write() as c:
            return c.execute(delete(fault_rules).where(fault_rules.c.id == rule_id)).rowcount == 1

    def clear_rules(self) -> int:
        with self.db.checked_write() as c:
            return c.execute(delete(fault_rules)).rowcount

    def consume(self, rule: FaultRule) -> bool:
        """Counts a hit; for a rule good for N calls, only while calls are left (atomic, so
        concurrent workers never use one call twice)."""
        where = [fault_rules.c.id == rule.id]
        values: dict[str, Any] = {"hits": fault_rules.c.hits + 1}
        if rule.remaining is not None:
            where.append(fault_rules.c.remaining > 0)
            values["remaining"] = fault_rules.c.remaining - 1
        with self.db.checked_write() as c:
            return c.execute(update(fault_rules).where(*where).values(values)).rowcount == 1

    # -- run controls ---------------------------------------------------------------------
    def add_control(self, control: RunControl) -> RunControl:
        values = {k: v for k, v in control.as_dict().items() if k != "id"}
        with self.db.checked_write() as c:
            new_id = c.execute(
                insert(run_controls).values(values).returning(run_controls.c.id)
            ).scalar_one()
        return RunControl(new_id, **values)

    def controls(self) -> list[RunControl]:
        with self.db.checked_read() as c:
            rows = c.execute(select(run_controls).order_by(run_controls.c.id))
            return [
                RunControl(r.id, r.job_type, r.job_name, r.seconds, bool(r.manual)) for r in rows
            ]

    def delete_control(self, control_id: int) -> bool:
        with self.db.checked_write() as c:
            return (
                c.execute(delete(run_controls).where(run_controls.c.id == control_id)).rowcount == 1
            )

    def clear_controls(self) -> int:
        with self.db.checked_write() as c:
            return c.execute(delete(run_controls)).rowcount

    def configure_run(
        self, run_id: int, seconds: float | None, manual: bool, injected: dict[str, Any] | None
    ) -> None:
        with self.db.checked_write() as c:
            c.execute(
                update(job_runs)
                .where(job_runs.c.id == run_id)
                .values(seconds=seconds, manual=manual, injected=injected)
            )

    def advance(self, run_id: int, progress: int | None, outcome: str | None) -> bool:
        """Asks the engine to move an active run on; False when it is not active."""
        values: dict[str, Any] = {}
        if progress is not None:
            values["advance_to"] = progress
        if outcome is not None:
            values["advance_outcome"] = outcome
        with self.db.checked_write() as c:
            return (
                c.execute(
                    update(job_runs)
                    .where(job_runs.c.id == run_id, job_runs.c.state.in_(_ADVANCEABLE))
                    .values(values)
                ).rowcount
                == 1
            )

    # -- the request journal --------------------------------------------------------------
    def record(self, exchanges: Sequence[Exchange], keep: int) -> None:
        """Appends exchanges and drops all but the newest `keep`."""
        if not exchanges:
            return
        rows = [self._add_exchange.args(_exchange_values(e)) for e in exchanges]
        trim = self._trim_journal.args({"keep": keep})
        with self.db.checked_write() as c:
            self._add_exchange.insert_rows(c, rows)
            self._trim_journal.one(c, trim)

    def exchanges(
        self,
        operation: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
    ) -> list[tuple[int, Exchange]]:
        where = []
        if operation is not None:
            where.append(journal.c.operation == operation)
        if since is not None:
            where.append(journal.c.at >= since)
        if until is not None:
            where.append(journal.c.at <= until)
        with self.db.checked_read() as c:
            rows = c.execute(
                select(journal).where(*where).order_by(journal.c.id.desc()).limit(limit)
            ).all()
        return [(r.id, _exchange(r._mapping)) for r in rows]

    def clear_exchanges(self) -> int:
        with self.db.checked_write() as c:
            return c.execute(delete(journal)).rowcount


_ALL_RULES = select(fault_rules).order_by(fault_rules.c.id)
_TRIM_JOURNAL = delete(journal).where(
    journal.c.id <= select(func.max(journal.c.id)).scalar_subquery() - bindparam("keep")
)
_ADVANCEABLE = sorted(states.ACTIVE_RUN_STATES - {RunState.STOPPING} - states.WAITING_RUN_STATES)


def _rule(m: Any) -> FaultRule:
    return FaultRule(
        id=m["id"],
        effect=Effect(m["effect"]),
        created_at=m["created_at"],
        hits=m["hits"],
        **{name: m[name] for name in RULE_FIELDS},
    )


def _exchange_values(e: Exchange) -> dict[str, Any]:
    return {
        "at": e.at,
        "operation": e.operation,
        "caller": e.caller,
        "status": e.status,
        "fault_code": e.fault_code,
        "duration_ms": e.duration_ms,
        "request": e.request,
        "response": e.response,
        "transport": e.transport,
    }


def _exchange(m: Any) -> Exchange:
    return Exchange(
        m["at"],
        m["operation"],
        m["caller"],
        m["status"],
        m["fault_code"],
        m["duration_ms"],
        m["request"],
        m["response"],
        m["transport"],
    )
