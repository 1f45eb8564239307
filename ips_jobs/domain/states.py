"""The state machines of runs and schedule triggers, as data: the only place a state changes.
The store guards every update with `WHERE state IN sources(event)`."""

from __future__ import annotations

from enum import StrEnum

from ips_jobs.domain.jobs import RunState, TriggerState
from ips_jobs.errors import WrongState


class RunEvent(StrEnum):
    CLAIM = "be started"  #: an engine takes a new run and starts it
    STOP = "be stopped"  #: stopJob / deleteJob asked it to stop
    FINISH = "be finished"  #: the last step ran, or a stop was honoured, or recovery ended it


class TriggerEvent(StrEnum):
    FIRE_ONCE = "fire"  #: a one-off (or immediate) job made its run
    FIRE_RECURRING = "fire again"  #: a recurring job made its run
    RUN_ENDED = "end its run"  #: the run a recurring job made has ended
    PAUSE = "be paused"
    RESUME = "be resumed"


RUN_TRANSITIONS: dict[tuple[RunState, RunEvent], RunState] = {
    (RunState.NEW, RunEvent.CLAIM): RunState.RUNNING,
    (RunState.NEW, RunEvent.STOP): RunState.STOPPING,
    (RunState.RUNNING, RunEvent.STOP): RunState.STOPPING,
    (RunState.STOPPING, RunEvent.STOP): RunState.STOPPING,
    (RunState.STOPPING, RunEvent.CLAIM): RunState.STOPPING,
    (RunState.RUNNING, RunEvent.FINISH): RunState.DONE,
    (RunState.STOPPING, RunEvent.FINISH): RunState.DONE,
    (RunState.NEW, RunEvent.FINISH): RunState.DONE,
}

TRIGGER_TRANSITIONS: dict[tuple[TriggerState, TriggerEvent], TriggerState] = {
    (TriggerState.NORMAL, TriggerEvent.FIRE_ONCE): TriggerState.COMPLETE,
    (TriggerState.NORMAL, TriggerEvent.FIRE_RECURRING): TriggerState.BLOCKED,
    (TriggerState.BLOCKED, TriggerEvent.RUN_ENDED): TriggerState.NORMAL,
    (TriggerState.NORMAL, TriggerEvent.PAUSE): TriggerState.PAUSED,
    (TriggerState.BLOCKED, TriggerEvent.PAUSE): TriggerState.PAUSED,
    (TriggerState.PAUSED, TriggerEvent.PAUSE): TriggerState.PAUSED,
    (TriggerState.PAUSED, TriggerEvent.RESUME): TriggerState.NORMAL,
    (TriggerState.NORMAL, TriggerEvent.RESUME): TriggerState.NORMAL,
}


def run_sources(event: RunEvent, target: RunState | None = None) -> frozenset[RunState]:
    """The states the event applies to (only those leading to `target`, when given)."""
    return frozenset(
        state
        for (state, ev), to in RUN_TRANSITIONS.items()
        if ev is event and (target is None or to is target)
    )


def run_target(state: RunState, event: RunEvent) -> RunState:
    try:
        return RUN_TRANSITIONS[(state, event)]
    except KeyError:
        raise WrongState(f"A {state.value} job cannot {event.value}") from None


def trigger_sources(
    event: TriggerEvent, target: TriggerState | None = None
) -> frozenset[TriggerState]:
    """The states the event applies to (only those leading to `target`, when given)."""
    return frozenset(
        state
        for (state, ev), to in TRIGGER_TRANSITIONS.items()
        if ev is event and (target is None or to is target)
    )


def trigger_target(state: TriggerState, event: TriggerEvent) -> TriggerState:
    try:
        return TRIGGER_TRANSITIONS[(state, event)]
    except KeyError:
        raise WrongState(f"A {state.value} job cannot {event.value}") from None


ACTIVE_RUN_STATES = frozenset({RunState.NEW, RunState.RUNNING, RunState.STOPPING})
