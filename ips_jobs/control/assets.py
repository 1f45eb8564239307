"""What the control plane shows of assets and folders (GET /_ips/assets, the dashboard's
Assets section): every company's folders and newest assets, and an asset with its job
history. Read only; assets are made by jobs and seeds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ips_jobs.domain import handles
from ips_jobs.domain.assets import Asset, AssetQuery, Folder, SortField, TrashState
from ips_jobs.domain.jobs import Company
from ips_jobs.domain.ports import AssetRepository, JobRepository
from ips_jobs.errors import InvalidParameter

#: The handle style the control plane names assets and runs in (the newest namespaces').
STYLE = handles.HandleStyle.VERSIONED


@dataclass(frozen=True)
class CompanyAssets:
    """One company's folders (all of them) and its newest assets."""

    company: Company
    folders: tuple[Folder, ...]
    total: int
    newest: tuple[Asset, ...]


class AssetBrowser:
    def __init__(self, assets: AssetRepository, jobs: JobRepository) -> None:
        self.assets = assets
        self.jobs = jobs

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
            listed.append(CompanyAssets(company, folders, page.total_rows, page.assets))
        return listed

    def asset(self, asset_id: int) -> dict[str, Any] | None:
        """One asset, whichever company it is in, with its job history (oldest first)."""
        for company in self.jobs.companies():
            found = self.assets.asset(company.id, asset_id)
            if found is not None:
                history = self.jobs.asset_logs(company.id, handles.asset(asset_id, STYLE))
                return {
                    **asset_data(found),
                    "history": [
                        {
                            "job_handle": handles.run(
                                log.run.company_id, log.run.name, log.run.id, STYLE
                            ),
                            "job_name": log.run.name,
                            "log_type": log.detail.log_type,
                            "message": log.detail.log_message,
                            "date": log.detail.date_created.isoformat(),
                        }
                        for log in history
                    ],
                }
        return None


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
