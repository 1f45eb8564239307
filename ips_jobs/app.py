"""The composition root: Settings -> database -> repository -> service -> WSGI, and the engine."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from ips_jobs import metrics
from ips_jobs.asgi_bridge import WsgiBridge
from ips_jobs.clock import Clock, SystemClock
from ips_jobs.config import Settings
from ips_jobs.control.assets import AssetBrowser
from ips_jobs.control.dashboard import Dashboard
from ips_jobs.control.exports import Exports
from ips_jobs.control.journal import Journal, recorder
from ips_jobs.control.routes import MAX_BODY as MAX_CONTROL_BODY
from ips_jobs.control.routes import ControlApp
from ips_jobs.control.seed import Seeder
from ips_jobs.control.service import Controls
from ips_jobs.domain.admin import Admin
from ips_jobs.domain.asset_service import AssetService
from ips_jobs.domain.named_assets import HANDLE_FIELDS
from ips_jobs.domain.passwords import PasswordChecker
from ips_jobs.domain.service import JobService
from ips_jobs.domain.upload_posts import UploadPosts
from ips_jobs.engine.acting import WORK_THREADS, Act, ActingPlanner
from ips_jobs.engine.asset_jobs import PUBLISH_CONTEXTS, AssetJobs
from ips_jobs.engine.executor import Durations, Executor
from ips_jobs.engine.fetch import Fetcher
from ips_jobs.engine.runners import InjectingPlanner, SimulatedPlanner
from ips_jobs.engine.scheduler import Engine
from ips_jobs.engine.uploads import Uploader
from ips_jobs.resources import wsdl_folder
from ips_jobs.store import migrations
from ips_jobs.store.assets import SqlAssetRepository
from ips_jobs.store.claim import EngineStore
from ips_jobs.store.control import ControlStore
from ips_jobs.store.database import Database
from ips_jobs.store.files import FileStore
from ips_jobs.store.repository import SqlJobRepository
from ips_jobs.wire.soap import Dispatcher
from ips_jobs.wire.upload_file import UPLOAD_PATH
from ips_jobs.wire.wsgi import WsgiApp

log = logging.getLogger("ips_jobs.store")


@dataclass(frozen=True)
class Parts:
    database: Database
    repository: SqlJobRepository
    service: JobService
    admin: Admin
    assets: AssetService


def parts(settings: Settings, clock: Clock | None = None) -> Parts:
    clock = clock or SystemClock()
    database = Database(settings.database_url, pool_size=settings.threads)
    repository = SqlJobRepository(database)
    assets = AssetService(
        SqlAssetRepository(database), repository, clock, ZoneInfo(settings.timezone)
    )
    return Parts(
        database,
        repository,
        _jobs(settings, repository, clock),
        Admin(repository, clock),
        assets,
    )


def _jobs(settings: Settings, repository: SqlJobRepository, clock: Clock) -> JobService:
    return JobService(
        repository, clock, PasswordChecker(), ZoneInfo(settings.timezone), socket.gethostname()
    )


def prepare(settings: Settings) -> None:
    """What runs once before serving: migrations, then the demo account on an empty database."""
    migrations.migrate(settings.database_url, log.info)
    if settings.seed_demo:
        built = parts(settings)
        built.admin.seed_demo()
        built.database.dispose()


def controls(settings: Settings, database: Database, clock: Clock) -> Controls:
    repository = SqlJobRepository(database)
    return Controls(
        ControlStore(database),
        repository,
        clock,
        settings.heartbeat_timeout,
        _jobs(settings, repository, clock),
        engine_expected=settings.engine,
        files=FileStore(settings.asset_folder()),
    )


def engine(settings: Settings, clock: Clock | None = None) -> Engine:
    """The job engine over the settings' database (not started)."""
    clock = clock or SystemClock()
    pool_size = settings.engine_threads + WORK_THREADS + 2
    database = Database(settings.database_url, pool_size=pool_size)
    store = EngineStore(database)
    process_id = Engine.new_process_id()
    assets = SqlAssetRepository(database)
    server_directory = Path(settings.server_directory) if settings.server_directory else None
    files = FileStore(settings.asset_folder())
    fetcher = Fetcher(files, settings.fetch_timeout, settings.max_file_bytes, server_directory)
    jobs = SqlJobRepository(database)
    uploader = Uploader(assets, fetcher, clock, jobs, jobs)
    acting = AssetJobs(assets, clock, settings.base_url())
    acts: dict[str, Act] = {
        **dict.fromkeys(PUBLISH_CONTEXTS, acting.publish),
        **dict.fromkeys(HANDLE_FIELDS, acting.check),
        "exportJob": acting.export,
        "uploadPostJob": uploader.posted,
    }
    if settings.uploads == "fetch":
        acts.update(uploadUrlsJob=uploader.urls, uploadDirectoryJob=uploader.directory)
    executor = Executor(
        store,
        InjectingPlanner(ActingPlanner(acts, SimulatedPlanner(settings.base_url()))),
        clock,
        Durations(settings.run_seconds, settings.durations()),
        process_id,
    )
    return Engine(
        store,
        executor,
        clock,
        ZoneInfo(settings.timezone),
        database.engine_lock(),
        threads=settings.engine_threads,
        max_in_flight=settings.engine_max_runs,
        retention_days=settings.log_retention,
        poll_seconds=settings.poll_seconds,
        heartbeat_timeout=settings.heartbeat_timeout,
        shared=not database.is_sqlite,
        setup=controls(settings, database, clock).setup_runs,
    )


def wsgi_app(settings: Settings) -> WsgiApp:
    """The SOAP service and, under /_ips/, the control plane (with the request journal and
    the Prometheus metrics)."""
    built = parts(settings)
    controlling = controls(settings, built.database, SystemClock())
    journal = Journal(controlling.store, settings.journal_size) if settings.journal_size else None
    files = FileStore(settings.asset_folder())
    uploads = UploadPosts(
        built.service, built.repository, files, settings.max_file_bytes, settings.upload_wait
    )
    dispatcher = Dispatcher(
        built.service,
        ZoneInfo(settings.timezone),
        controlling,
        assets=built.assets,
        uploads=uploads,
    )
    gauges = metrics.DatabaseGauges(built.database, SystemClock(), settings.heartbeat_timeout)
    browser = AssetBrowser(SqlAssetRepository(built.database), built.repository, files)
    control_app = ControlApp(
        controlling,
        Seeder(
            built.admin,
            built.service,
            built.repository,
            files,
            base=Path(settings.server_directory) if settings.server_directory else None,
            confined=True,
        ),
        journal,
        extra={**Dashboard(controlling, browser).pages(), "/metrics": metrics.page(gauges)},
        assets=browser,
        exports=Exports(built.repository, files),
        token=settings.control_token,
        body_timeout=settings.body_timeout,
    )
    return WsgiApp(
        dispatcher,
        wsdl_folder(),
        settings.max_body_bytes,
        settings.body_timeout,
        control=control_app,
        recorders=[recorder(journal), metrics.record] if journal else [metrics.record],
        max_upload_bytes=settings.max_file_bytes,
    )


def asgi_app(settings: Settings) -> WsgiBridge:
    """The WSGI app as the HTTP server runs it: bodies read whole off the request threads."""
    return WsgiBridge(
        wsgi_app(settings),
        threads=settings.threads,
        max_body_bytes=max(settings.max_body_bytes, MAX_CONTROL_BODY),
        body_timeout=settings.body_timeout,
        file_paths={UPLOAD_PATH: settings.max_file_bytes},
    )
