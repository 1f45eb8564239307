"""The ZIP an exportJob run reports in its job log (`…/_ips/exports/<run>.zip`). ips-jobs holds
no asset files, so the archive is built on request from the run as stored: one small
placeholder file per asset handle the job asked for, and a manifest naming the run and the
handles. Nothing is kept on disk: the archive is there for as long as the run's log is."""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ips_jobs.domain.jobs import Run, RunDetails
from ips_jobs.domain.ports import LogPage, RunQuery
from ips_jobs.store.repository import SqlJobRepository

EXPORT_KIND = "exportJob"
#: The detail row whose assetName is the download URL (see engine/runners.py).
URL_ROW = "ReturnSuccess"
MANIFEST = "manifest.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


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

    def archive(self, run_id: int) -> Archive:
        """The ZIP of an exportJob run that has reported its download URL; NoExport for a run
        that does not exist, is no export, or has not reported one (still starting, stopped,
        or failed: a client only fetches what the log names)."""
        found = self._run(run_id)
        run = found.run
        if run.kind != EXPORT_KIND:
            raise NoExport(f"run {run_id} is not an exportJob run")
        suffix = f"/_ips/exports/{run_id}.zip"
        if not any((d.asset_name or "").endswith(suffix) for d in found.details):
            raise NoExport(f"run {run_id} has not reported a download (yet)")
        handles = _handles(run)
        files = _file_names(handles)
        buffer = io.BytesIO()
        stamp = _zip_time(run.start_date)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(
                zipfile.ZipInfo(MANIFEST, stamp),
                json.dumps(_manifest(run, handles, files), indent=1) + "\n",
                zipfile.ZIP_DEFLATED,
            )
            for handle, name in zip(handles, files, strict=True):
                archive.writestr(
                    zipfile.ZipInfo(name, stamp), _placeholder(run, handle), zipfile.ZIP_DEFLATED
                )
        return Archive(f"{run_id}.zip", buffer.getvalue())

    def _run(self, run_id: int) -> RunDetails:
        """The run (of any company) with its URL rows."""
        companies = [c.id for c in self.repository.companies()]
        page = LogPage([URL_ROW], 1000, 1, "Date", False)
        found = self.repository.run_details(RunQuery(companies, run_id=run_id), page)
        if not found:
            raise NoExport(f"no run {run_id}")
        return found[0]


def _handles(run: Run) -> list[str]:
    """The asset handles the job asked for, each once, in the order given."""
    items = (run.detail.get("assetHandleArray") or {}).get("items") or []
    return list(dict.fromkeys(str(item) for item in items))


def _file_names(handles: list[str]) -> list[str]:
    """A file name per handle (`a|1|2|3` -> `a_1_2_3.txt`), unique within the archive."""
    taken: set[str] = {MANIFEST}
    names = []
    for handle in handles:
        stem = _UNSAFE.sub("_", handle).strip("._") or "asset"
        name, n = f"{stem}.txt", 1
        while name in taken:
            n += 1
            name = f"{stem}-{n}.txt"
        taken.add(name)
        names.append(name)
    return names


def _manifest(run: Run, handles: list[str], files: list[str]) -> dict[str, Any]:
    return {
        "run": {
            "id": run.id,
            "jobName": run.name,
            "originalName": run.original_name,
            "companyHandle": f"c|{run.company_id}",
            "fmt": run.detail.get("fmt"),
        },
        "placeholder": True,
        "note": "ips-jobs emulates IPS jobs without assets: each file stands in for one asset",
        "assets": [
            {"assetHandle": handle, "file": name}
            for handle, name in zip(handles, files, strict=True)
        ],
    }


def _placeholder(run: Run, handle: str) -> str:
    return (
        f"Placeholder for asset {handle}, exported by ips-jobs run {run.id} ({run.name}).\n"
        "ips-jobs keeps no asset files; IPS would put the asset itself here.\n"
    )


def _zip_time(when: datetime) -> tuple[int, int, int, int, int, int]:
    """The run's time for the entries, so that the same run gives the same bytes."""
    utc = when.astimezone(UTC) if when.tzinfo else when
    utc = max(utc.replace(tzinfo=None), datetime(1980, 1, 1))  # ZIP's earliest date
    return (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second)
