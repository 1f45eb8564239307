"""The ZIP an exportJob run reports in its job log (`…/_ips/exports/<run>.zip`): the stored
files of the assets the job named, flat, each under its file name (as IPS's export lays them
out). It is built on request from the run as stored and the file store, so it is there for
as long as the run's log is; nothing else is kept on disk."""

from __future__ import annotations

import io
import shutil
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ips_jobs.config import asset_folder
from ips_jobs.domain.assets import Asset
from ips_jobs.domain.jobs import RunDetails
from ips_jobs.domain.named_assets import asked, found
from ips_jobs.domain.ports import LogPage, RunQuery
from ips_jobs.store.assets import SqlAssetRepository
from ips_jobs.store.files import FileStore
from ips_jobs.store.repository import SqlJobRepository

EXPORT_KIND = "exportJob"
#: The detail row whose assetName is the download URL (see engine/runners.py).
URL_ROW = "ReturnSuccess"
#: A ZIP entry's date and time.
Stamp = tuple[int, int, int, int, int, int]


class NoExport(Exception):
    """There is no archive at that URL; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Archive:
    filename: str
    body: bytes


@dataclass
class Exports:
    repository: SqlJobRepository
    #: The engine's file store; by default where a server with no IPS_ASSET_STORE keeps it.
    files: FileStore | None = None
    assets: SqlAssetRepository = field(init=False)

    def __post_init__(self) -> None:
        self.assets = SqlAssetRepository(self.repository.db)
        if self.files is None:
            self.files = FileStore(asset_folder("", self.repository.db.url))

    def archive(self, run_id: int, key: str) -> Archive:
        """The ZIP of an exportJob run that has reported its download URL; NoExport for a run
        that does not exist, is no export, or has not reported one with this key (still
        starting, stopped, or failed: a client only fetches what the log names). An asset
        the job named that is gone since, or has no stored file (a simulated upload, a store
        emptied by hand), is left out."""
        found_run = self._run(run_id)
        run = found_run.run
        if run.kind != EXPORT_KIND:
            raise NoExport(f"run {run_id} is not an exportJob run")
        suffix = f"/_ips/exports/{run_id}.zip?key={key}"
        if not key or not any((d.asset_name or "").endswith(suffix) for d in found_run.details):
            raise NoExport(
                f"run {run_id} has reported no download at this URL (yet): use the URL its "
                "job log names, key included"
            )
        named = found(self.assets, run.company_id, asked(run))
        stamp = _zip_time(run.start_date)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            taken: set[str] = set()
            for asset in dict.fromkeys(named.values()):
                self._add(archive, asset, _unique(asset.file_name, taken), stamp)
        return Archive(f"{run_id}.zip", buffer.getvalue())

    def _add(self, archive: zipfile.ZipFile, asset: Asset, name: str, stamp: Stamp) -> None:
        """The asset's stored file as the entry `name`, copied from disk as it is read."""
        assert self.files is not None
        key = asset.info.optimized_file or ""
        try:
            source = self.files.path(key).open("rb")
        except (ValueError, OSError):  # no file of ours (a simulated upload)
            return
        entry = zipfile.ZipInfo(name, stamp)
        entry.compress_type = zipfile.ZIP_DEFLATED
        with source, archive.open(entry, "w") as target:
            shutil.copyfileobj(source, target)

    def _run(self, run_id: int) -> RunDetails:
        """The run (of any company) with its URL rows."""
        companies = [c.id for c in self.repository.companies()]
        page = LogPage([URL_ROW], 1000, 1, "Date", False)
        found_runs = self.repository.run_details(RunQuery(companies, run_id=run_id), page)
        if not found_runs:
            raise NoExport(f"no run {run_id}")
        return found_runs[0]


def _unique(file_name: str, taken: set[str]) -> str:
    """The file name, or `name-2.ext`, `name-3.ext`… when another asset of the archive has
    it (assets in different folders may share a file name). Separators become `_`: an entry
    `..\\x` would land outside the folder a Windows or Java tool extracts into."""
    file_name = file_name.replace("\\", "_").replace("/", "_")
    stem, dot, extension = file_name.rpartition(".")
    if not dot or not stem:
        stem, extension = file_name, ""
    name, n = file_name, 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}.{extension}" if extension else f"{stem}-{n}"
    taken.add(name)
    return name


def _zip_time(when: datetime) -> Stamp:
    """The run's time for the entries, so that the same run gives the same bytes."""
    utc = when.astimezone(UTC) if when.tzinfo else when
    utc = max(utc.replace(tzinfo=None), datetime(1980, 1, 1))  # ZIP's earliest date
    return (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second)
