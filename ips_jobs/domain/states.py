"""The state machines of runs and schedule triggers, as data: the only place a state changes.
The store guards every update with `WHERE state IN sources(event)`."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from ips_jobs.domain.jobs import RunState, TriggerState
from ips_jobs.errors import WrongState


class RunEvent(StrEnum):
    CLAIM = "be started"  #: an engine takes a new run and starts it
    STOP = "be stopped"  #: stopJob / deleteJob asked it to stop
    FINISH = "be finished"  #: the last step ran, or a stop was honoured, or recovery ended it
    END_POSTS = "take its files"  #: an uploadPost job's client ended it, or it timed out


class TriggerEvent(StrEnum):
    FIRE_ONCE = "fire"  #: a one-off (or immediate) job made its run
    FIRE_RECURRING = "fire again"  #: a recurring job made its run
    RUN_ENDED = "end its run"  #: the run a recurring job made has ended
    PAUSE = "be paused"
    RESUME = "be resumed"


RUN_TRANSITIONS: dict[tuple[RunState, RunEvent], RunState] = {
    (RunState.WAITING_CLIENT, RunEvent.END_POSTS): RunState.NEW,
    (RunState.WAITING_CLIENT, RunEvent.STOP): RunState.STOPPING,
    (RunState.NEW, RunEvent.CLAIM): RunState.RUNNING,
    (RunState.NEW, RunEvent.STOP): RunState.STOPPING,
    (RunState.RUNNING, RunEvent.STOP): RunState.STOPPING,
    (RunState.STOPPING, RunEvent.STOP): RunState.STOPPING,
    (RunState.STOPPING, RunEvent.CLAIM): RunState.STOPPING,
    (RunState.RUNNING, RunEvent.FINISH): RunState.DONE,
    (RunState.STOPPING, RunEvent.FINISH): RunState.DONE,
    (RunState.NEW, RunEvent.FINISH): RunState.DONE,
}

S = TypeVar("S", RunState, TriggerState)
E = TypeVar("E", RunEvent, TriggerEvent)

TRIGGER_TRANSITIONS: dict[tuple[TriggerState, TriggerEvent], TriggerState] = {
    (TriggerState.NORMAL, TriggerEvent.FIRE_ONCE): TriggerState.COMPLETE,
    (TriggerState.NORMAL, TriggerEvent.FIRE_RECURRING): TriggerState.BLOCKED,
    (TriggerState.BLOCKED, TriggerEvent.RUN_ENDED): TriggerState.NORMAL,
    (TriggerState.NORMAL, TriggerEvent.PAUSE): TriggerState.PAUSED,
    (TriggerState.BLOCKED, TriggerEvent.PAUSE): TriggerState.PAUSED,
    (TriggerState.PAUSED, TriggerEvent.PAUSE): TriggerState.PAUSED,
    (TriggerState.PAUSED, TriggerEvent.RESUME): TriggerState.NORMAL,
    (TriggerState.NORMAL, TriggerEvent.RESUME): TriggerState.NORMAL,
    # Pausing a job holds its runs too: a job with no future fire time (Complete) or one whose
    # run is in progress (Blocked) keeps its trigger state, and the call still succeeds.
    (TriggerState.COMPLETE, TriggerEvent.PAUSE): TriggerState.COMPLETE,
    (TriggerState.COMPLETE, TriggerEvent.RESUME): TriggerState.COMPLETE,
    (TriggerState.BLOCKED, TriggerEvent.RESUME): TriggerState.BLOCKED,
}


def _sources(table: dict[tuple[S, E], S], event: E, target: S | None) -> frozenset[S]:
    return frozenset(
        state for (state, ev), to in table.items() if ev is event and target in (None, to)
    )


def _target(table: dict[tuple[S, E], S], state: S, event: E) -> S:
    try:
        return table[(state, event)]
    except KeyError:
        raise WrongState(f"A {state} job cannot {event}") from None


def run_sources(event: RunEvent, target: RunState | None = None) -> frozenset[RunState]:
    """The states the event applies to (only those leading to `target`, when given)."""
    return _sources(RUN_TRANSITIONS, event, target)


def run_target(state: RunState, event: RunEvent) -> RunState:
    return _target(RUN_TRANSITIONS, state, event)


def trigger_sources(
    event: TriggerEvent, target: TriggerState | None = None
) -> frozenset[TriggerState]:
    """The states the event applies to (only those leading to `target`, when given)."""
    return _sources(TRIGGER_TRANSITIONS, event, target)


def trigger_target(state: TriggerState, event: TriggerEvent) -> TriggerState:
    return _target(TRIGGER_TRANSITIONS, state, event)


ACTIVE_RUN_STATES = frozenset(
    {RunState.WAITING_CLIENT, RunState.NEW, RunState.RUNNING, RunState.STOPPING}
)
#: The active states getActiveJobs lists only with includeWaitingJobs.
WAITING_RUN_STATES = frozenset({RunState.WAITING_CLIENT})
