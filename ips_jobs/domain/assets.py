"""Assets and folders: their value types and the rules IPS applies to names and paths. No XML,
no SQL; `store/assets.py` keeps them, the wire layer shapes them per namespace."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from ips_jobs.domain.validation import UNSENDABLE
from ips_jobs.errors import ApiError, InvalidParameter

#: The longest folder path the store keeps (PostgreSQL indexes it, in at most 2,704 bytes).
MAX_PATH: Final = 500
#: The longest asset name ("Asset ID"), file name or keyword.
MAX_NAME: Final = 255
#: A Publish State (searchAssets, setAssetPublishState) -> the Asset/readyForPublish it means.
PUBLISH_STATES: Final = {"MarkedForPublish": True, "NotMarkedForPublish": False}


class TrashState(StrEnum):
    """Asset/trashState."""

    NOT_IN_TRASH = "NotInTrash"
    IN_TRASH = "InTrash"  #: deleteAsset(s)
    IN_EMPTIED_TRASH = "InEmptiedTrash"  #: emptyAssetsFromTrash


class TrashAction(StrEnum):
    """What the trash operations do: deleteAsset(s), restoreAssetsFromTrash,
    emptyAssetsFromTrash."""

    DELETE = "delete"
    RESTORE = "restore"
    EMPTY = "empty"


#: action -> {state before: state after}; a state not listed refuses the action. Repeating an
#: action is a no-op that succeeds.
TRASH_MOVES: Final[dict[TrashAction, dict[TrashState, TrashState]]] = {
    TrashAction.DELETE: {
        TrashState.NOT_IN_TRASH: TrashState.IN_TRASH,
        TrashState.IN_TRASH: TrashState.IN_TRASH,
        TrashState.IN_EMPTIED_TRASH: TrashState.IN_EMPTIED_TRASH,
    },
    TrashAction.RESTORE: {
        TrashState.IN_TRASH: TrashState.NOT_IN_TRASH,
        TrashState.NOT_IN_TRASH: TrashState.NOT_IN_TRASH,
    },
    TrashAction.EMPTY: {
        TrashState.IN_TRASH: TrashState.IN_EMPTIED_TRASH,
        TrashState.IN_EMPTIED_TRASH: TrashState.IN_EMPTIED_TRASH,
    },
}


class UploadOutcome(StrEnum):
    """What an upload did to the asset of its name; the value is the job log type IPS writes."""

    CREATED = "UploadSuccess"
    UPDATED = "FileUpdated"  #: overwrite true: same asset, same handle
    SKIPPED = "DuplicateSkipped"  #: overwrite false: the asset is left as it was


class SortField(StrEnum):
    """searchAssets/sortBy (Asset Sort Fields)."""

    CREATED = "Created"
    MODIFIED = "Modified"
    NAME = "Name"
    ASSET_TYPE = "AssetType"
    FILE_SIZE = "FileSize"


class Field(StrEnum):
    """What a search condition can test (system fields and metadata field handles map here)."""

    NAME = "name"
    FILE_NAME = "file_name"
    FOLDER = "folder"  #: the folder's path
    TYPE = "type"
    KEYWORD = "keyword"  #: any one of the asset's keywords
    SKU = "sku"
    DESCRIPTION = "description"
    COMMENTS = "comments"
    USER_DATA = "user_data"
    CREATED_BY = "created_by"
    MODIFIED_BY = "modified_by"
    FILE_SIZE = "file_size"
    CREATED_AT = "created_at"
    MODIFIED_AT = "modified_at"


class Op(StrEnum):
    """String, numeric and date comparison operators, spelt as IPS spells them."""

    EQUALS = "Equals"
    NOT_EQUALS = "NotEquals"
    CONTAINS = "Contains"
    NOT_CONTAINS = "NotContains"
    STARTS_WITH = "StartsWith"
    ENDS_WITH = "EndsWith"
    LESS_THAN = "LessThan"
    LESS_THAN_EQUALS = "LessThanEquals"
    GREATER_THAN = "GreaterThan"
    GREATER_THAN_EQUALS = "GreaterThanEquals"
    BETWEEN = "Between"
    NOT_BETWEEN = "NotBetween"


ORDERED_FIELDS: Final = frozenset({Field.FILE_SIZE, Field.CREATED_AT, Field.MODIFIED_AT})
TEXT_OPS: Final = frozenset(
    {Op.EQUALS, Op.NOT_EQUALS, Op.CONTAINS, Op.NOT_CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH}
)
ORDER_OPS: Final = frozenset(
    {
        Op.EQUALS,
        Op.NOT_EQUALS,
        Op.LESS_THAN,
        Op.LESS_THAN_EQUALS,
        Op.GREATER_THAN,
        Op.GREATER_THAN_EQUALS,
        Op.BETWEEN,
        Op.NOT_BETWEEN,
    }
)
#: Operators that hold when their positive form does not (a keyword test then means "no
#: keyword matches", not "some keyword does not").
NEGATED: Final = {
    Op.NOT_EQUALS: Op.EQUALS,
    Op.NOT_CONTAINS: Op.CONTAINS,
    Op.NOT_BETWEEN: Op.BETWEEN,
}


# -- errors -----------------------------------------------------------------------------------
class AssetNameInUse(ApiError):
    """The asset name is already in use."""

    code = 30000

    def __init__(self, name: str) -> None:
        super().__init__(f"Asset ID '{name}' is already in use.")


class FolderExists(ApiError):
    """The folder already exists."""

    code = 30000

    def __init__(self, path: str) -> None:
        super().__init__(f"Folder '{path}' already exists.")


class NoSuchFolder(ApiError):
    """The folder named does not exist."""

    code = 30001

    def __init__(self, path: str, field: str = "folderHandle") -> None:
        self.field = field
        super().__init__(f"Invalid value for '{field}': no such folder '{path}'")


class RootFolder(ApiError):
    """The company root folder cannot be renamed, moved or deleted."""

    code = 30000

    def __init__(self, path: str) -> None:
        super().__init__(f"Folder '{path}' is the company root folder and cannot be changed.")


class WrongTrashState(ApiError):
    """The asset's trash state does not allow this."""

    code = 30000

    def __init__(self, name: str, state: TrashState) -> None:
        if state is TrashState.NOT_IN_TRASH:
            super().__init__(f"Asset '{name}' is not in the trash.")
        else:
            super().__init__(f"Asset '{name}' is in the emptied trash and cannot be restored.")


# -- value types ------------------------------------------------------------------------------
@dataclass(frozen=True)
class AssetInfo:
    """Every field of the per-type info elements (ImageInfo, VideoInfo, PdfInfo, …) in one: the
    wire writes the element of the asset's type with the fields that element has. None: unknown
    (omitted); "" is written as an empty element, as IPS does."""

    original_path: str | None = None
    original_file: str | None = None
    optimized_path: str | None = None
    optimized_file: str | None = None
    image_path: str | None = None
    image_file: str | None = None
    mask_path: str | None = None
    mask_file: str | None = None
    file_size: int | None = None
    width: int | None = None
    height: int | None = None
    resolution: float | None = None
    sku: str | None = None
    description: str | None = None
    comments: str | None = None
    user_data: str | None = None
    anchor_x: int | None = None
    anchor_y: int | None = None
    url: str | None = None
    url_modifier: str | None = None
    url_post_apply_modifier: str | None = None
    set_definition: str | None = None


@dataclass(frozen=True)
class AssetDraft:
    """An asset to store (an upload, a seed): everything but what the store assigns."""

    name: str
    type: str
    folder: str  #: full path, as folder_path() gives it
    file_name: str
    ready_for_publish: bool = False
    info: AssetInfo = field(default_factory=AssetInfo)
    sub_type: str | None = None
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Asset:
    """A stored asset. Its id is what its handle carries: it never changes, whatever is renamed
    or moved, and is never given to another asset."""

    id: int
    company_id: int
    name: str
    type: str
    folder: str
    file_name: str
    ready_for_publish: bool
    trash_state: TrashState
    created_at: datetime
    created_by: str
    modified_at: datetime
    modified_by: str
    info: AssetInfo = field(default_factory=AssetInfo)
    sub_type: str | None = None
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Folder:
    """A folder; its path is its identity (the handle is the path), so renames change it."""

    id: int
    company_id: int
    path: str
    created_at: datetime
    modified_at: datetime
    #: The last time a folder or asset directly inside it was added, changed or removed.
    child_modified_at: datetime
    has_subfolders: bool

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    @property
    def parent(self) -> str | None:
        return parent_path(self.path)


@dataclass(frozen=True)
class FolderTree:
    """getFolderTree's answer: a folder and, down to the depth asked, its subfolders (empty for
    a leaf, and for a folder at the depth limit even when it has subfolders)."""

    folder: Folder
    subfolders: tuple[FolderTree, ...] = ()


@dataclass(frozen=True)
class Condition:
    """One test on one field: `value` (and `upper` for Between/NotBetween) is text for text
    fields, an int for the file size, an aware datetime for the dates. Text tests ignore case."""

    field: Field
    op: Op
    value: str | int | datetime
    upper: int | datetime | None = None

    def __post_init__(self) -> None:
        accepted = ORDER_OPS if self.field in ORDERED_FIELDS else TEXT_OPS
        if self.op not in accepted:
            raise InvalidParameter("op", f"'{self.op}' does not apply to {self.field}")
        if (self.upper is None) == (self.op in (Op.BETWEEN, Op.NOT_BETWEEN)):
            raise InvalidParameter("op", f"'{self.op}' wants one value, Between two")


@dataclass(frozen=True)
class Match:
    """Conditions (or groups of them) that must all hold, or with `any`, one of them; an empty
    group matches every asset."""

    items: tuple[Condition | Match, ...] = ()
    any: bool = False


@dataclass(frozen=True)
class AssetQuery:
    """searchAssets and searchAssetsByMetadata, in the domain's terms. A folder that does not
    exist finds nothing."""

    folder: str  #: full path; the company root searches the whole company with subfolders
    include_subfolders: bool = False
    types: frozenset[str] | None = None  #: None: every type
    exclude_types: frozenset[str] = frozenset()
    sub_types: frozenset[str] | None = None
    #: With sub_types: only those; without it, assets that have no subtype match too.
    strict_sub_types: bool = False
    ready_for_publish: bool | None = None
    trash_states: frozenset[TrashState] = frozenset({TrashState.NOT_IN_TRASH})
    match: Match = field(default_factory=Match)
    sort_by: SortField | None = None  #: None: the order assets were created in
    descending: bool = False
    records_per_page: int = 1000
    page: int = 1  #: from 1


@dataclass(frozen=True)
class AssetPage:
    total_rows: int  #: every match, not only this page's
    assets: tuple[Asset, ...]


@dataclass(frozen=True)
class Uploaded:
    asset: Asset
    outcome: UploadOutcome


@dataclass(frozen=True)
class AssetFailure:
    asset_id: int
    error: ApiError


@dataclass(frozen=True)
class BatchOutcome:
    """What a batch operation did to each asset asked, in the order asked. `missing` are the
    ids the company has no asset of: the caller names them by the handle it was sent."""

    done: tuple[int, ...] = ()
    missing: tuple[int, ...] = ()
    failed: tuple[AssetFailure, ...] = ()


@dataclass(frozen=True)
class Publication:
    """getAssetPublishHistory's PublishHistory: the last time a publish put an asset on a
    server, in a context."""

    server_name: str
    context_name: str
    published_at: datetime
    publish_format: str | None = None


# -- rules ------------------------------------------------------------------------------------
def folder_path(root: str, given: str | None, field: str = "folderPath") -> str:
    """The full path of the folder a client names. Clients send paths with or without a leading
    `/`, the root folder's name or the trailing `/`, and some with `//`: all name the same
    folder. A path that starts with the root's name starts at the root."""
    return _path(root, _segments(root, given, field), field)


def file_path(root: str, given: str | None, field: str = "destPath") -> tuple[str, str]:
    """An upload's target (`/Root/folder/file.jpg`, read as folder_path reads folders):
    the folder's full path and the file name."""
    segments = _segments(root, given, field)
    if not segments:
        raise InvalidParameter(field, f"'{given}' names no file")
    return _path(root, segments[:-1], field), segments[-1]


def parent_path(path: str) -> str | None:
    """The folder a folder is in; None for the root."""
    head = path.rstrip("/").rpartition("/")[0]
    return f"{head}/" if head else None


def ancestors(path: str) -> list[str]:
    """The folders above a folder, the root first."""
    segments = path.rstrip("/").split("/")
    return ["".join(f"{s}/" for s in segments[:n]) for n in range(1, len(segments))]


def check_name(name: str, field: str) -> str:
    """An asset name ("Asset ID"), file or folder name: not blank, no `/` (names are path
    segments), SOAP-sendable, at most MAX_NAME characters."""
    if not name.strip():
        raise InvalidParameter(field, "a name cannot be blank")
    if "/" in name:
        raise InvalidParameter(field, f"'{name}' contains '/'")
    if found := UNSENDABLE.search(name):
        raise InvalidParameter(field, f"character U+{ord(found[0]):04X} cannot be sent in SOAP")
    if len(name) > MAX_NAME:
        raise InvalidParameter(field, f"a name is at most {MAX_NAME} characters")
    return name


def asset_name(file_name: str) -> str:
    """The name an upload gives its asset: the file name without its extension."""
    stem, dot, _ = file_name.rpartition(".")
    return stem if dot and stem else file_name


def renamed_file(file_name: str, new_name: str) -> str:
    """renameAsset changes the virtual file name to the new name, keeping the extension."""
    return new_name + file_name[len(asset_name(file_name)) :]


def type_for(file_name: str) -> str | None:
    """The asset type an upload of this file makes, by its extension; None: not supported."""
    return _TYPES.get(file_name.rpartition(".")[2].lower()) if "." in file_name else None


def trash_move(name: str, state: TrashState, action: TrashAction) -> TrashState:
    """The trash state `action` takes an asset in `state` to; WrongTrashState (naming the
    asset) when it cannot."""
    moved = TRASH_MOVES[action].get(state)
    if moved is None:
        raise WrongTrashState(name, state)
    return moved


def folder_tree(folders: Sequence[Folder], top: str, depth: int) -> FolderTree | None:
    """The tree under `top` from a flat list holding it and its subfolders. Depth 0 is the
    folder alone, n goes n levels down, a negative depth all the way; None: `top` is missing."""
    children: dict[str, list[Folder]] = {}
    found = None
    for folder in sorted(folders, key=lambda f: f.path):
        if folder.path == top:
            found = folder
        elif folder.parent is not None:
            children.setdefault(folder.parent, []).append(folder)

    def grow(folder: Folder, left: int) -> FolderTree:
        below = children.get(folder.path, []) if left != 0 else []
        return FolderTree(folder, tuple(grow(child, left - 1) for child in below))

    return None if found is None else grow(found, depth)


def _segments(root: str, given: str | None, field: str) -> list[str]:
    segments = [s for s in (given or "").split("/") if s]
    if segments and segments[0] == root.rstrip("/"):
        segments = segments[1:]
    for segment in segments:
        if segment in (".", ".."):
            raise InvalidParameter(field, f"'{given}' contains '{segment}'")
        check_name(segment, field)
    return segments


def _path(root: str, segments: Sequence[str], field: str) -> str:
    path = root + "".join(f"{s}/" for s in segments)
    if len(path) > MAX_PATH:
        raise InvalidParameter(field, f"a folder path is at most {MAX_PATH} characters")
    return path


#: Extension -> asset type. IPS documents only a few (the 4.0 notes: .doc Word, .xls Excel,
#: .ppt PowerPoint, .rtf Rtf, EPS PostScript, Illustrator); the rest is ours.
_TYPES: Final = {
    **dict.fromkeys(
        ("jpg", "jpeg", "jpe", "png", "gif", "tif", "tiff", "bmp", "psd", "webp", "jp2"), "Image"
    ),
    **dict.fromkeys(
        ("mp4", "m4v", "mov", "avi", "wmv", "flv", "f4v", "mpg", "mpeg", "webm", "3gp", "mkv"),
        "Video",
    ),
    **dict.fromkeys(("mp3", "wav", "aac", "m4a", "ogg"), "Audio"),
    **dict.fromkeys(("doc", "docx"), "Word"),
    **dict.fromkeys(("xls", "xlsx"), "Excel"),
    **dict.fromkeys(("ppt", "pptx"), "PowerPoint"),
    **dict.fromkeys(("eps", "ps"), "PostScript"),
    **dict.fromkeys(("ttf", "otf"), "Font"),
    **dict.fromkeys(("icc", "icm"), "IccProfile"),
    **dict.fromkeys(("xsl", "xslt"), "Xsl"),
    **dict.fromkeys(("vtt", "srt"), "VideoCaption"),
    "pdf": "Pdf",
    "ai": "Illustrator",
    "indd": "InDesign",
    "rtf": "Rtf",
    "zip": "Zip",
    "xml": "Xml",
    "svg": "Svg",
    "swf": "Flash",
    "css": "Css",
    "js": "Javascript",
    "fxg": "Fxg",
    "aco": "Aco",
}
