"""What `ips-jobs serve` does before and after serving: it binds its port first (so a busy
port fails fast and creates nothing), keeps an ephemeral database in a temporary folder, and
writes the port it got to a file for scripts. Clean-up runs only in the process that set
things up: gunicorn's forked workers unwind through the same code when they exit."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from ips_jobs.config import Namer, Settings
from ips_jobs.errors import ConfigError

log = logging.getLogger("ips_jobs.server")

#: Connections the kernel queues while the workers start (gunicorn's default backlog).
BACKLOG = 2048


@contextmanager
def listen(settings: Settings, name: Namer) -> Iterator[socket.socket]:
    """A listening socket on the settings' host and port (0: a free port). The server takes
    it over with `detach()`; until then it is closed on the way out."""
    where = f"{settings.host}:{settings.port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            settings.host, settings.port, type=socket.SOCK_STREAM
        )[0]
    except socket.gaierror as exc:
        raise ConfigError(
            f"{name('host')}: cannot resolve {settings.host!r}: {exc.strerror}"
        ) from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        culprit = name("port") if exc.errno == errno.EADDRINUSE else name("host")
        reason = "the port is in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise ConfigError(f"cannot listen on {where} ({culprit}): {reason}") from None
    with _owned(lambda: sock.fileno() == -1 or sock.close()):
        yield sock


@contextmanager
def database(settings: Settings) -> Iterator[Settings]:
    """The settings to serve with: with --ephemeral (or an in-memory SQLite URL, which several
    processes cannot share) the database is a file in a temporary folder, removed on exit."""
    if not (settings.ephemeral or settings.in_memory_database):
        yield settings
        return
    folder = Path(tempfile.mkdtemp(prefix="ips-jobs-"))
    url = f"sqlite:///{folder / 'ips-jobs.db'}"
    log.info("ephemeral database %s: removed when the server stops", url)
    with _owned(lambda: shutil.rmtree(folder, ignore_errors=True)):
        yield replace(settings, database_url=url, ephemeral=False)


@contextmanager
def port_file(path: str, port: int) -> Iterator[None]:
    """Writes `port` to `path` (all at once: a reader never sees half a number) and removes
    it on exit."""
    if not path:
        yield
        return
    target = Path(path)
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    try:
        partial.write_text(f"{port}\n")
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ConfigError(f"cannot write the port file {path}: {exc.strerror}") from None
    with _owned(lambda: target.unlink(missing_ok=True)):
        yield


@contextmanager
def _owned(clean_up: Callable[[], object]) -> Iterator[None]:
    owner = os.getpid()
    try:
        yield
    finally:
        if os.getpid() == owner:
            clean_up()
