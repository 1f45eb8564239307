"""What the control plane shows of assets and folders (GET /_ips/assets, the dashboard's
Assets section): every company's folders and newest assets, and an asset with its job
history. Read only; assets are made by jobs and seeds."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ips_jobs.domain import handles
from ips_jobs.domain.assets import Asset, AssetQuery, Folder, SortField, TrashState
from ips_jobs.domain.jobs import Company
from ips_jobs.domain.ports import AssetRepository, JobRepository
from ips_jobs.errors import InvalidParameter
from ips_jobs.store.files import FileStore

#: The handle style the control plane names assets and runs in (the newest namespaces').
STYLE = handles.HandleStyle.VERSIONED


@dataclass(frozen=True)
class CompanyAssets:
    """One company's folders (all of them) and its newest assets."""

    company: Company
    folders: tuple[Folder, ...]
    total: int
    newest: tuple[Asset, ...]
    #: The ids of the newest assets whose file is in the store (the dashboard's thumbnails).
    stored: frozenset[int] = frozenset()


@dataclass(frozen=True)
class StoredFile:
    """An asset's stored file as GET /_ips/assets/{id}/file answers it."""

    file_name: str
    content_type: str
    body: bytes


class NoFile(Exception):
    """No asset of that id, or none with a stored file; the message says which."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AssetBrowser:
    def __init__(self, assets: AssetRepository, jobs: JobRepository, files: FileStore) -> None:
        self.assets = assets
        self.jobs = jobs
        self.files = files

    def companies(
        self, company_id: int | None = None, limit: int = 50, trash: bool = False
    ) -> list[CompanyAssets]:
        """Each company's folders and its `limit` newest assets (in the trash too if
        `trash`); only the one company when given (an unknown one is an error)."""
        found = self.jobs.companies()
        if company_id is not None:
            found = [c for c in found if c.id == company_id]
            if not found:
                raise InvalidParameter("company", f"no company c|{company_id}")
        states = frozenset(TrashState) if trash else frozenset({TrashState.NOT_IN_TRASH})
        listed = []
        for company in found:
            query = AssetQuery(
                folder=company.root_path,
                include_subfolders=True,
                trash_states=states,
                sort_by=SortField.CREATED,
                descending=True,
                records_per_page=limit,
            )
            page = self.assets.search(company.id, query)
            folders = tuple(self.assets.folders(company.id, company.root_path))
            stored = frozenset(a.id for a in page.assets if self._path(a) is not None)
            listed.append(CompanyAssets(company, folders, page.total_rows, page.assets, stored))
        return listed

    def file(self, asset_id: int) -> StoredFile:
        """The asset's stored file, typed by its file name's extension; NoFile without one."""
        found = self._find(asset_id)
        if found is None:
            raise NoFile(f"no asset a|{asset_id}")
        path = self._path(found)
        try:
            body = None if path is None else path.read_bytes()
        except OSError:  # deleted since (a reset)
            body = None
        if body is None:
            raise NoFile(f"asset a|{asset_id} has no stored file")
        kind = mimetypes.guess_type(found.file_name)[0] or "application/octet-stream"
        return StoredFile(found.file_name, kind, body)

    def _path(self, asset: Asset) -> Path | None:
        """Where the asset's file is kept; None when the store has none of it (an asset
        made straight in the database, or the store emptied)."""
        try:
            path = self.files.path(asset.info.optimized_file or "")
        except ValueError:  # not a key of ours
            return None
        return path if path.is_file() else None

    def _find(self, asset_id: int) -> Asset | None:
        """The asset of that id, whichever company it is in."""
        company_id = self.assets.owner(asset_id)
        return None if company_id is None else self.assets.asset(company_id, asset_id)

    def asset(self, asset_id: int) -> dict[str, Any] | None:
        """One asset, whichever company it is in, with its job history (oldest first)."""
        found = self._find(asset_id)
        if found is None:
            return None
        history = self.jobs.asset_logs(found.company_id, handles.asset(asset_id, STYLE))
        return {
            **asset_data(found),
            "history": [
                {
                    "job_handle": handles.run(log.run.company_id, log.run.name, log.run.id, STYLE),
                    "job_name": log.run.name,
                    "log_type": log.detail.log_type,
                    "message": log.detail.log_message,
                    "date": log.detail.date_created.isoformat(),
                }
                for log in history
            ],
        }


def asset_data(asset: Asset) -> dict[str, Any]:
    info = asset.info
    return {
        "handle": handles.asset(asset.id, STYLE),
        "company": f"c|{asset.company_id}",
        "name": asset.name,
        "type": asset.type,
        "folder": asset.folder,
        "file_name": asset.file_name,
        "file_size": info.file_size,
        "width": info.width,
        "height": info.height,
        "ready_for_publish": asset.ready_for_publish,
        "trash_state": asset.trash_state.value,
        "keywords": list(asset.keywords),
        "created": asset.created_at.isoformat(),
        "created_by": asset.created_by,
        "modified": asset.modified_at.isoformat(),
        "modified_by": asset.modified_by,
    }


def company_data(listed: CompanyAssets) -> dict[str, Any]:
    return {
        "company": f"c|{listed.company.id}",
        "name": listed.company.name,
        "folders": [folder.path for folder in listed.folders],
        "assets_total": listed.total,
        "assets": [asset_data(asset) for asset in listed.newest],
    }
