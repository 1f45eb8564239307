"""The HTTP server: gunicorn's arbiter (binding, forking, restarting and stopping workers)
with uvicorn workers, each reading requests on an event loop and running the app on its own
thread pool (asgi_bridge.py), and beside them one `ips-jobs worker` process running the job
engine. docs/performance.md ("Choosing the serving layer") has why."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from typing import Any, ClassVar

from gunicorn.app.base import BaseApplication
from uvicorn_worker import UvicornWorker

from ips_jobs import app, logs, metrics
from ips_jobs.config import Settings
from ips_jobs.control.routes import exposure_warning
from ips_jobs.http_heads import protocol_class
from ips_jobs.supervisor import EngineChild
from ips_jobs.wire.wsgi import CONTROL_PREFIX, SERVICE_PATH

log = logging.getLogger("ips_jobs.server")

#: Connections one worker holds open at once (gunicorn's worker_connections default); a
#: connection past it gets 503.
MAX_CONNECTIONS = 1000


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
            "worker_class": HttpWorker,
            "worker_connections": MAX_CONNECTIONS,
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
        return app.asgi_app(self.settings)


class HttpWorker(UvicornWorker):  # type: ignore[misc]
    """A gunicorn worker serving the bridge with uvicorn's httptools protocol, guarded."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        "loop": "asyncio",
        "interface": "asgi3",
        "lifespan": "off",
        "access_log": False,
        "server_header": False,
        "limit_concurrency": MAX_CONNECTIONS,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # benchmarks serve their floors with this worker too, from a plain gunicorn command
        settings: Settings = getattr(self.app, "settings", None) or Settings()
        self.config.http = protocol_class(settings.header_timeout)  # read when it loads

    def _install_sigquit_handler(self) -> None:
        """Ctrl-C (SIGINT, and the SIGQUIT the arbiter passes on) is gunicorn's quick
        shutdown: the worker leaves at once, cutting requests in progress (one held by a
        `latency` fault, say) instead of waiting out graceful_timeout, after which the
        arbiter SIGKILLed it and logged "Perhaps out of memory?". SIGTERM still lets
        requests finish."""
        asyncio.get_running_loop().add_signal_handler(signal.SIGQUIT, os._exit, 0)


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
