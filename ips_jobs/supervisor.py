"""The job engine as a child of `ips-jobs serve`: started beside the HTTP workers, started
again when it dies, stopped with the server.

Without a supervisor a killed engine (SIGKILL, the OOM killer, a crash) stayed dead while serve
went on acknowledging jobs that never ran. `EngineChild` watches the engine from a daemon
thread of the gunicorn arbiter and restarts it after a backoff; the new engine ends the dead
one's runs with a FatalError (docs/engine.md) and takes up the schedules where they were."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import FrameType
from typing import Any

from ips_jobs import metrics
from ips_jobs.errors import ENGINE_BUSY_EXIT

# The serve process speaks for its engine, as in its ready line.
log = logging.getLogger("ips_jobs.server")

#: The signals on which gunicorn's arbiter shuts down (SIGINT: Ctrl-C, SIGQUIT: quick).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)

Handler = Callable[[int, FrameType | None], Any]


class EngineChild:
    """One engine process, kept running until `stop()`.

    After an unexpected exit it is started again in `first_delay` seconds, the delay doubling
    with each death up to `max_delay` (an engine that cannot start, say the database is
    unreachable, is retried without flooding the log) and starting over once an engine has
    stayed up `stable_after` seconds. Each death is one WARNING line (pid, exit status or
    signal, when it starts again) and each restart one INFO line.

    Exit status 3 (ENGINE_BUSY_EXIT: on SQLite another live process, a second serve's engine
    or an `ips-jobs worker`, holds the database's engine lock) is not a crash and is not
    retried: that other engine runs this database's jobs, so nothing waits on ours; retrying
    would only repeat the same refusal in the log every 30 s, and which serve ends up with the
    engine would depend on timing. It is logged once as an ERROR and serve goes on answering
    SOAP, as docs/engine.md says.

    The object belongs to the process that called `start()` (gunicorn's arbiter). Forked
    workers inherit it but not the watcher thread; there `stop()` and the handlers do nothing.
    """

    def __init__(
        self,
        command: Sequence[str],
        env: Mapping[str, str],
        *,
        first_delay: float = 0.5,
        max_delay: float = 30.0,
        stable_after: float = 60.0,
    ) -> None:
        self.command = list(command)
        self.env = dict(env)
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.stable_after = stable_after
        self._owner: int | None = None
        self._lock = threading.Lock()  # no start after stop(): guards _process and _stopping
        self._process: subprocess.Popen[bytes] | None = None
        self._started_at = 0.0
        self._stopping = False
        self._wake = threading.Event()  # cuts a backoff wait short when stopping
        self._watcher: threading.Thread | None = None
        self._exits: dict[int, os.waitid_result] = {}  # read by the SIGCHLD handler

    def start(self) -> None:
        """Starts the engine and its watcher. Failing to start it at all (no Python to run)
        raises, as before supervision: only an engine that ran is started again."""
        self._owner = os.getpid()
        with self._lock:
            self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="engine-watcher", daemon=True)
        self._watcher.start()

    def hook_signals(self) -> None:
        """Puts handlers in front of gunicorn's arbiter's (which still run). Call it from the
        main thread once gunicorn has installed them (in `when_ready`).

        SIGTERM, SIGINT, SIGQUIT end the restarts at once, the engine running on until
        `stop()`: Ctrl-C sends SIGINT to the engine too, and systemd sends SIGTERM to every
        process of the service, so the engine may exit while gunicorn still drains its
        workers, before `stop()`; it must not be started again meanwhile.

        SIGCHLD: gunicorn's main loop reaps every child it is told about (waitpid(-1)), the
        engine too, and often before the watcher thread gets a CPU to read how it ended. The
        handler reads the engine's exit status first, without reaping it."""
        for signum in (*STOP_SIGNALS, signal.SIGCHLD):
            previous = signal.getsignal(signum)
            if callable(previous):  # not gunicorn's otherwise: leave the signal alone
                signal.signal(signum, self._chained(signum, previous))

    def _chained(self, signum: int, previous: Handler) -> Handler:
        def handler(received: int, frame: FrameType | None) -> None:
            if os.getpid() == self._owner:  # takes no lock: it runs in stop()'s thread
                if signum == signal.SIGCHLD:
                    self._note_exit()
                else:
                    self._stopping = True
                    self._wake.set()
            previous(received, frame)

        return handler

    def _note_exit(self) -> None:
        process = self._process
        if process is None:
            return
        try:
            ended = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if ended is not None:
            self._exits[process.pid] = ended

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, then SIGKILL if it has not ended within `timeout` seconds (the engine ends
        its unfinished runs first, docs/engine.md). No restart happens during or after it."""
        if os.getpid() != self._owner:
            return
        with self._lock:
            self._stopping = True
            self._wake.set()
            process = self._process
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGTERM)
        watcher = self._watcher
        if watcher is None:
            return
        watcher.join(timeout)
        if watcher.is_alive() and process is not None:
            log.warning(
                "job engine (pid %d) did not stop within %g s; killing it", process.pid, timeout
            )
            process.kill()
            watcher.join()

    # -- the watcher thread ---------------------------------------------------------------------
    def _spawn(self) -> subprocess.Popen[bytes]:
        """Starts an engine process; the caller holds the lock."""
        self._process = subprocess.Popen(self.command, env=self.env)
        self._started_at = time.monotonic()
        return self._process

    def _watch(self) -> None:
        delay = self.first_delay
        while True:
            process = self._process
            if process is None:  # the last start failed
                ended, uptime = "could not be started", 0.0
            else:
                how, busy = self._wait(process)
                uptime = time.monotonic() - self._started_at
                metrics.process_dead(process.pid)
                if self._stopping:
                    return
                if busy:
                    log.error(
                        "job engine (pid %d) %s: another engine runs on this SQLite database "
                        "(see above); serve goes on without one and will not start it again",
                        process.pid,
                        how,
                    )
                    return
                ended = f"(pid {process.pid}) {how} after {uptime:.1f} s"
            if uptime >= self.stable_after:
                delay = self.first_delay
            log.warning("job engine %s; starting it again in %g s", ended, delay)
            if self._wake.wait(delay):
                return  # stopping
            with self._lock:
                if self._stopping:
                    return
                try:
                    restarted = self._spawn()
                except Exception:
                    log.exception("job engine could not be started")
                    self._process = None
                else:
                    log.info("job engine restarted (pid %d)", restarted.pid)
            delay = min(delay * 2, self.max_delay)

    def _wait(self, process: subprocess.Popen[bytes]) -> tuple[str, bool]:
        """Waits for `process` to end: how it ended, for the log, and whether it was the busy
        exit. The status is read without reaping (WNOWAIT), so that it is there for whichever
        of this thread, the SIGCHLD handler or gunicorn comes second; it was lost only if
        gunicorn reaped the engine before both (then the death is logged without it)."""
        try:
            ended = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
        except ChildProcessError:  # gunicorn reaped it
            ended = None
        ended = self._exits.pop(process.pid, None) or ended
        process.wait()  # reaps it, unless gunicorn did (Popen copes)
        if ended is None:
            return "ended (its exit status was collected elsewhere)", False
        if ended.si_code == os.CLD_EXITED:
            return f"exited with status {ended.si_status}", ended.si_status == ENGINE_BUSY_EXIT
        try:
            name = signal.Signals(ended.si_status).name
        except ValueError:
            name = f"signal {ended.si_status}"
        return f"was killed by {name}", False
