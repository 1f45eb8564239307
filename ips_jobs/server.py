"""The HTTP server: gunicorn with threaded workers (keep-alive), each building its own app."""

from __future__ import annotations

import logging
from typing import Any

from gunicorn.app.base import BaseApplication

from ips_jobs import app
from ips_jobs.config import Settings
from ips_jobs.wire.wsgi import SERVICE_PATH

log = logging.getLogger("ips_jobs.server")


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        options: dict[str, Any] = {
            "bind": f"{s.host}:{s.port}",
            "workers": s.workers,
            "threads": s.threads,
            "worker_class": "gthread",
            "keepalive": 30,
            "loglevel": s.log_level,
            "accesslog": None,
            "errorlog": "-",
            "graceful_timeout": 10,
            "proc_name": "ips-jobs",
            "control_socket_disable": True,
            "when_ready": lambda _server: log.info(
                "ips-jobs ready: http://%s:%d%s (WSDL: add ?wsdl), database %s",
                s.host,
                s.port,
                SERVICE_PATH,
                s.database_url,
            ),
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return app.wsgi_app(self.settings)


def run(settings: Settings) -> None:
    _Gunicorn(settings).run()
