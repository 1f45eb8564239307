"""The HTTP server: gunicorn with threaded workers (keep-alive), each building its own app,
and beside them one `ips-jobs worker` process running the job engine."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from ips_jobs import app, logs, metrics
from ips_jobs.config import Settings
from ips_jobs.control.routes import exposure_warning
from ips_jobs.supervisor import EngineChild
from ips_jobs.wire.wsgi import CONTROL_PREFIX, SERVICE_PATH

log = logging.getLogger("ips_jobs.server")


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, listener: socket.socket) -> None:
        self.settings = settings
        #: gunicorn owns the socket from here; load_config runs again on SIGHUP.
        self.fd = listener.detach()
        self._engine: EngineChild | None = None
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        options: dict[str, Any] = {
            "bind": f"fd://{self.fd}",
            "workers": s.workers,
            "threads": s.threads,
            "worker_class": "gthread",
            "keepalive": 30,
            "loglevel": s.log_level,
            "accesslog": None,
            "errorlog": "-",
            "logger_class": logs.gunicorn_logger_class(s.log_format),
            "graceful_timeout": 10,
            "proc_name": "ips-jobs",
            "control_socket_disable": True,
            "when_ready": self._ready,
            "on_exit": self._exit,
            "child_exit": self._child_exit,
            "post_worker_init": _quick_exit_on_quit,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def _ready(self, _server: Any) -> None:
        s = self.settings
        base = f"http://{_url_host(s.host)}:{s.port}"
        log.info(
            "ips-jobs ready: %s%s (WSDL: add ?wsdl), dashboard %s%s/, database %s",
            base,
            SERVICE_PATH,
            base,
            CONTROL_PREFIX,
            s.database_url,
        )
        if warning := exposure_warning(s.host, s.control_token):
            log.warning("%s", warning)
        if s.engine:
            # when_ready runs in the arbiter before it forks workers: the watcher lives there.
            self._engine = EngineChild(
                [sys.executable, "-m", "ips_jobs", "worker", "--parent-pid", str(os.getpid())],
                env={**os.environ, **s.to_env()},
            )
            self._engine.start()
            self._engine.hook_signals()  # gunicorn's own handlers are in place by now

    def _exit(self, _server: Any) -> None:
        if self._engine is not None:
            self._engine.stop(timeout=30)

    def _child_exit(self, _server: Any, worker: Any) -> None:
        metrics.process_dead(worker.pid)

    def load(self) -> Any:
        return app.wsgi_app(self.settings)


def _quick_exit_on_quit(_worker: Any) -> None:
    """Ctrl-C (SIGINT, and the SIGQUIT the arbiter passes on) is gunicorn's quick shutdown,
    yet its worker handler could hang until graceful_timeout, when the arbiter SIGKILLed the
    worker and logged "Perhaps out of memory?": a worker leaving with sys.exit waits for its
    request threads (one held by a `latency` fault, say), and when both signals arrive at
    once the second handler runs inside the first and waits for the thread pool's lock that
    the first holds. The worker leaves at once instead, taking no lock; requests in progress
    are cut (SIGTERM still lets them finish)."""
    for signum in (signal.SIGINT, signal.SIGQUIT):
        signal.signal(signum, _exit_now)


def _exit_now(_signum: int, _frame: Any) -> None:
    os._exit(0)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def run(settings: Settings, listener: socket.socket) -> None:
    """Serves on `listener` (already bound: see startup.listen) until stopped."""
    # Before any fork: workers and the engine share the metrics directory (see metrics.py).
    cleanup = metrics.setup_multiprocess()
    try:
        _Gunicorn(settings, listener).run()
    finally:
        cleanup()
