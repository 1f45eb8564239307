"""The upload jobs for real: each file is fetched (uploadUrlsJob) or read from the server
directory (uploadDirectoryJob), kept in the file store, looked at with Pillow, and made an
asset, or put in the place of the asset of its name, through the AssetRepository."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Final
from urllib.parse import unquote, urlsplit

from PIL import Image

from ips_jobs.clock import Clock
from ips_jobs.domain import defaults, handles
from ips_jobs.domain.assets import (
    AssetDraft,
    AssetInfo,
    UploadOutcome,
    asset_name,
    file_path,
    folder_path,
    type_for,
)
from ips_jobs.domain.handles import HandleStyle
from ips_jobs.domain.jobs import Run
from ips_jobs.domain.ports import AssetRepository, JobRepository, UploadPostRepository
from ips_jobs.engine.acting import Progress
from ips_jobs.engine.fetch import Fetcher, FetchError
from ips_jobs.engine.runners import Entry
from ips_jobs.errors import InvalidParameter, StoreError
from ips_jobs.store.files import Stored

UPLOAD_ERROR: Final = "UploadError"
#: Asset type -> the Job Log File Type (JobLogDetail/assetType) its upload row names.
FILE_TYPES: Final = {
    "Image": "MasterImage",
    "Video": "Video",
    "Pdf": "Pdf",
    "Zip": "Zip",
    "Svg": "Svg",
    "Xml": "Xml",
    "Xsl": "Xsl",
    "Font": "Font",
    "IccProfile": "IccProfile",
    "Aco": "Aco",
}
#: Pillow's format -> the extension a file of it is given when its destPath has none.
_EXTENSIONS: Final = {"JPEG": ".jpg", "TIFF": ".tif", "JPEG2000": ".jp2"}
_MESSAGES: Final = {
    UploadOutcome.CREATED: "{path} was processed into IPS",
    UploadOutcome.UPDATED: "{path} was processed into IPS.",
    UploadOutcome.SKIPPED: "{path} was skipped: asset '{name}' exists and overwrite is false",
}


@dataclass(frozen=True)
class ImageFacts:
    width: int
    height: int
    extension: str  #: of Pillow's format, e.g. ".png"
    resolution: float


@dataclass(frozen=True)
class Uploader:
    assets: AssetRepository
    fetcher: Fetcher
    clock: Clock
    companies: JobRepository
    posts: UploadPostRepository

    def root(self, company_id: int) -> str:
        """The company's root folder path (`Acme/`)."""
        company = self.companies.company(company_id)
        if company is None:
            raise StoreError(f"company {company_id} was deleted while its job ran")
        return company.root_path

    def urls(self, run: Run, progress: Progress) -> None:
        """uploadUrlsJob: one row per URL, in the order sent."""
        items = defaults.upload_urls(run.detail)
        progress.expect(len(items))
        root = self.root(run.company_id)
        for item in items:
            if progress.cancelled.is_set():
                return
            source, dest = item.get("sourceUrl", ""), item.get("destPath", "")
            try:
                folder, file_name = file_path(root, dest)
                stored = self.fetcher.fetch(source)
            except (InvalidParameter, FetchError) as error:
                progress.add(Entry(UPLOAD_ERROR, f"Unable to upload {source}: {error}", dest))
                continue
            hint = PurePosixPath(unquote(urlsplit(source).path)).name
            progress.add(self._keep(run, folder, file_name, hint, stored))

    def posted(self, run: Run, progress: Progress) -> None:
        """uploadPost jobs (the UploadFile servlet): one row per file posted, in the order
        the files came; their bytes are in the file store already."""
        files = self.posts.posted_files(run.id)
        progress.expect(len(files))
        root = self.root(run.company_id)
        for posted in files:
            if progress.cancelled.is_set():
                return
            try:
                folder, file_name = file_path(root, posted.path, "fileName")
            except InvalidParameter as error:
                progress.add(Entry(UPLOAD_ERROR, f"Unable to upload {posted.path}: {error}"))
                continue
            stored = Stored(posted.key, posted.size)
            progress.add(self._keep(run, folder, file_name, file_name, stored))

    def directory(self, run: Run, progress: Progress) -> None:
        """uploadDirectoryJob: one row per file of `serverDir` (with its subfolders when
        `includeSubfolders`), in path order; subfolders become folders under destFolder."""
        given = str(run.detail.get("serverDir") or "")
        try:
            top = self._server_folder(given)
            dest = folder_path(self.root(run.company_id), run.detail.get("destFolder"))
        except (FetchError, InvalidParameter) as error:
            progress.expect(1)
            progress.add(Entry(UPLOAD_ERROR, f"Unable to read {given}: {error}", given))
            return
        deep = _flag(run.detail.get("includeSubfolders"))
        found = sorted(p for p in (top.rglob("*") if deep else top.iterdir()) if _visible(p, top))
        progress.expect(len(found))
        for path in found:
            if progress.cancelled.is_set():
                return
            relative = path.relative_to(top)
            try:
                folder = folder_path(dest, "/".join(relative.parts[:-1]))
                stored = self.fetcher.read(self.fetcher.inside(path))
            except (InvalidParameter, FetchError) as error:
                progress.add(Entry(UPLOAD_ERROR, f"Unable to upload {relative}: {error}"))
                continue
            progress.add(self._keep(run, folder, path.name, path.name, stored))

    def _server_folder(self, given: str) -> Path:
        if self.fetcher.server_directory is None:
            raise FetchError("the server has no server directory (IPS_SERVER_DIRECTORY)")
        top = self.fetcher.inside(Path(given.lstrip("/")))
        if not top.is_dir():
            raise FetchError("no such folder in the server directory")
        return top

    def _keep(self, run: Run, folder: str, file_name: str, hint: str, stored: Stored) -> Entry:
        """The asset of a file that arrived, made or replaced; its log row."""
        image = image_facts(self.fetcher.files.path(stored.key))
        try:
            file_name, asset_type = asset_file(folder, file_name, hint, image)
        except Unusable as unusable:
            return Entry(UPLOAD_ERROR, str(unusable), unusable.path)
        path = f"{folder}{file_name}"
        name = asset_name(file_name)
        draft = AssetDraft(
            name=name,
            type=asset_type,
            folder=folder,
            file_name=file_name,
            ready_for_publish=_flag(run.detail.get("readyForPublish")),
            info=asset_info(folder, file_name, name, stored, image),
        )
        uploaded = self.assets.upload(
            run.company_id,
            draft,
            overwrite=_flag(run.detail.get("overwrite")),
            keep_publish_state=_flag(run.detail.get("preservePublishState")),
            now=self.clock.now(),
            by=run.submit_user_email,
        )
        asset = uploaded.asset
        return Entry(
            uploaded.outcome.value,
            _MESSAGES[uploaded.outcome].format(path=path, name=asset.name),
            asset.name,
            FILE_TYPES.get(asset.type, "NoType"),
            handles.asset(asset.id, HandleStyle.VERSIONED),
        )


class Unusable(Exception):
    """A file that cannot become an asset: its path (folder and file name) and why."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path


def asset_file(
    folder: str, file_name: str, hint: str, image: ImageFacts | None, asset_type: str = ""
) -> tuple[str, str]:
    """The file name an asset gets and its type, as uploads (and seeds) decide them: a name
    without an extension takes the source's (`hint`) or the image format's; the type is the
    one given, else by extension, else Image when Pillow reads the file. Unusable otherwise."""
    if "." not in file_name:
        extension = PurePosixPath(hint).suffix or (image.extension if image else "")
        file_name += extension.lower()
    kind = asset_type or type_for(file_name) or ("Image" if image else None)
    if kind is None:
        raise Unusable(f"{folder}{file_name}", "files of this type are not supported")
    if kind == "Image" and image is None:
        raise Unusable(f"{folder}{file_name}", "not an image that can be read")
    return file_name, kind


def asset_info(
    folder: str, file_name: str, name: str, stored: Stored, image: ImageFacts | None
) -> AssetInfo:
    """The asset's info: where its file is kept is `optimizedFile` (the file store's key,
    under the company's `_optimized_` path, as IPS names its optimised copies)."""
    root = folder.split("/", 1)[0]
    kept = {
        "original_path": folder,
        "original_file": file_name,
        "optimized_path": f"{root}/_optimized_/{stored.key[:3]}/",
        "optimized_file": stored.key,
        "file_size": stored.size,
    }
    if image is None:
        return AssetInfo(**kept)
    return AssetInfo(
        **kept,
        width=image.width,
        height=image.height,
        resolution=image.resolution,
        sku=name,
        description=name,
        anchor_x=image.width // 2,
        anchor_y=image.height // 2,
    )


def image_facts(source: Path | BinaryIO) -> ImageFacts | None:
    """Width, height and format of an image file, or of its bytes not yet stored (its header
    only); None: not one Pillow reads."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                dpi = image.info.get("dpi") or (0.0,)
                kind = image.format or ""
                suffix = _EXTENSIONS.get(kind, f".{kind.lower()}" if kind else "")
                return ImageFacts(image.width, image.height, suffix, float(dpi[0]))
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _visible(path: Path, top: Path) -> bool:
    """A regular file, not hidden (no part of its path below `top` starts with `.`)."""
    return path.is_file() and not any(p.startswith(".") for p in path.relative_to(top).parts)


def _flag(value: Any) -> bool:
    """A boolean of a job's detail (stored as sent: a bool, or its xsd:boolean text)."""
    return value is True or str(value).strip().lower() in ("true", "1")
