"""The jobs that read or mark assets for real: publish jobs record a publication of every
asset they cover; exportJob, reprocessAssetsJob, ripPdfsJob and automatedSetGenerationJob check
the handles they were given, an error row for each one that names no asset of the company."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ips_jobs.clock import Clock
from ips_jobs.domain import handles
from ips_jobs.domain.assets import Publication
from ips_jobs.domain.handles import HandleStyle
from ips_jobs.domain.jobs import Run
from ips_jobs.domain.named_assets import asked, found
from ips_jobs.domain.ports import AssetRepository
from ips_jobs.engine.acting import Progress
from ips_jobs.engine.runners import Entry, export_url, family_of

#: Publish job -> the Publish Context its publications are recorded in.
PUBLISH_CONTEXTS: Final = {
    "imageServingPublishJob": "ImageServing",
    "imageRenderingPublishJob": "ImageRendering",
    "videoPublishJob": "Video",
    "serverDirectoryPublishJob": "ServerDirectory",
}


@dataclass(frozen=True)
class AssetJobs:
    assets: AssetRepository
    clock: Clock
    public_url: str

    def publish(self, run: Run, progress: Progress) -> None:
        """Every asset of the company ready for publish (Incremental: changed since its last
        publication in the context) is recorded as published; one row counts them."""
        context = PUBLISH_CONTEXTS[run.kind]
        publish_type = run.detail.get("publishType")
        fmt = publish_type if isinstance(publish_type, str) else None
        publication = Publication(run.server_name, context, self.clock.now(), fmt)
        progress.expect(1)
        published = self.assets.publish(
            run.company_id, publication, incremental=publish_type == "Incremental"
        )
        message = f"{len(published)} asset(s) published ({context})"
        progress.add(Entry(family_of(run).success, message, files=len(published)))

    def export(self, run: Run, progress: Progress) -> None:
        """An error row per handle naming no asset, then the download row, which counts the
        assets the ZIP holds."""
        given = asked(run)
        known = found(self.assets, run.company_id, given)
        missing = [h for h in given if h not in known]
        progress.expect(len(missing) + 1)
        for handle in missing:
            progress.add(_unknown(run, handle))
        url = export_url(self.public_url, run.id)
        message = "Export is ready for download"
        progress.add(Entry(family_of(run).success, message, url, "Zip", files=len(known)))

    def check(self, run: Run, progress: Progress) -> None:
        """A row per handle: processed (naming the asset by its versioned handle) or not
        found. Nothing about the assets changes (their processing is not emulated)."""
        given = asked(run)
        known = found(self.assets, run.company_id, given)
        progress.expect(len(given))
        success = family_of(run).success
        for handle in given:
            asset = known.get(handle)
            if asset is None:
                progress.add(_unknown(run, handle))
            else:
                versioned = handles.asset(asset.id, HandleStyle.VERSIONED)
                message = f"{asset.folder}{asset.file_name} was processed"
                progress.add(Entry(success, message, asset.name, None, versioned))


def _unknown(run: Run, handle: str) -> Entry:
    return Entry(family_of(run).error, f"Asset '{handle}' was not found")
