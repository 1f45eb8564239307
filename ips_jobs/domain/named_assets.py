"""The assets a job names by handle (exportJob, reprocessAssetsJob, ripPdfsJob,
automatedSetGenerationJob): read by the engine, which checks them, and by the export
download, which packs their files."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ips_jobs.domain import handles
from ips_jobs.domain.assets import Asset, TrashState
from ips_jobs.domain.jobs import Run
from ips_jobs.domain.ports import AssetRepository
from ips_jobs.errors import InvalidParameter

#: Job type -> the detail field holding its asset handles.
HANDLE_FIELDS: Final = {
    "exportJob": "assetHandleArray",
    "reprocessAssetsJob": "assetHandleArray",
    "automatedSetGenerationJob": "assetHandleArray",
    "ripPdfsJob": "pdfHandleArray",
}


def asked(run: Run) -> list[str]:
    """The asset handles a job was given, each once, in the order given."""
    items = (run.detail.get(HANDLE_FIELDS.get(run.kind, "")) or {}).get("items") or []
    return list(dict.fromkeys(str(item) for item in items))


def found(assets: AssetRepository, company_id: int, given: Sequence[str]) -> dict[str, Asset]:
    """Handle -> the company's asset it names, for the handles that name one not in the
    trash (a malformed handle names none)."""
    ids: dict[str, int] = {}
    for handle in given:
        try:
            ids[handle] = handles.parse_asset(handle)
        except InvalidParameter:
            continue
    by_id = {a.id: a for a in assets.assets(company_id, list(ids.values()))}
    return {
        handle: by_id[i]
        for handle, i in ids.items()
        if i in by_id and by_id[i].trash_state is TrashState.NOT_IN_TRASH
    }
