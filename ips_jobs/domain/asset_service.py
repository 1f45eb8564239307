"""The use cases behind the asset and folder operations. Callers pass the values as sent
(handles, paths, string constants); they are read and checked here, and the company is
resolved as for jobs, so another company's assets and folders are never seen."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Generic, TypeVar
from zoneinfo import ZoneInfo

from ips_jobs.clock import Clock
from ips_jobs.domain import access, assets, constants, handles, validation
from ips_jobs.domain.assets import (
    PUBLISH_STATES,
    Asset,
    AssetPage,
    AssetQuery,
    BatchOutcome,
    Condition,
    Field,
    Folder,
    FolderTree,
    Match,
    NoSuchFolder,
    Op,
    Publication,
    SortField,
    TrashAction,
    TrashState,
)
from ips_jobs.domain.jobs import Company, User
from ips_jobs.domain.ports import AssetRepository, JobRepository
from ips_jobs.errors import ApiError, InvalidParameter

Data = Mapping[str, Any]
#: What a batch item carries beside its asset handle, as sent and as read.
Sent = TypeVar("Sent")
Read = TypeVar("Read")

MATCH_MODES: Final = frozenset({"MatchAll", "MatchAny"})
#: searchAssets/trashState -> the states it finds (Any: all three).
TRASH_FILTERS: Final = {
    **{state.value: frozenset({state}) for state in TrashState},
    "Any": frozenset(TrashState),
}
#: Asset Search System Fields -> what they test. Sku is ignored since IPS 4.0 (documented);
#: CreatedWith names nothing ips-jobs keeps: a condition on either is left out.
SYSTEM_FIELDS: Final[dict[str, Field | None]] = {
    "Name": Field.NAME,
    "Keywords": Field.KEYWORD,
    "Description": Field.DESCRIPTION,
    "Comments": Field.COMMENTS,
    "UserData": Field.USER_DATA,
    "Sku": None,
    "FileSize": Field.FILE_SIZE,
    "CreatedWith": None,
    "Created": Field.CREATED_AT,
    "CreateUser": Field.CREATED_BY,
    "LastModified": Field.MODIFIED_AT,
    "LastModifyUser": Field.MODIFIED_BY,
    "FileName": Field.FILE_NAME,
}
#: The metadata field handles of the asset's own fields (searchAssetsByMetadata's list).
METADATA_FIELDS: Final[dict[str, Field]] = {
    "name": Field.NAME,
    "folder_path": Field.FOLDER,
    "type": Field.TYPE,
    "file_name": Field.FILE_NAME,
    "description": Field.DESCRIPTION,
    "comment": Field.COMMENTS,
    "user_data": Field.USER_DATA,
    "sku": Field.SKU,
    "modified_at": Field.MODIFIED_AT,
    "modified_by": Field.MODIFIED_BY,
    "created_at": Field.CREATED_AT,
    "created_by": Field.CREATED_BY,
}
#: searchAssets answers at most this many assets per page; up to LARGE_PAGE when the answer
#: is limited to the fields of LEAN_FIELDS (documented).
PAGE: Final = 1000
LARGE_PAGE: Final = 10_000
LEAN_FIELDS: Final = frozenset(
    {
        "totalRows",
        "assetArray/items/name",
        "assetArray/items/assetHandle",
        "assetArray/items/type",
        "assetArray/items/subType",
    }
)


class NoSuchAsset(ApiError):
    """The handle names no asset of the company."""

    code = 30001

    def __init__(self, handle: str, field: str = "assetHandle") -> None:
        self.field = field
        super().__init__(f"Invalid value for '{field}': no such asset '{handle}'")


@dataclass(frozen=True)
class TypeFilter:
    """assetTypeArray, excludeAssetTypeArray, assetSubTypeArray, strictSubTypeCheck; an
    empty array filters nothing, as an absent one."""

    types: Sequence[str] | None = None
    exclude_types: Sequence[str] | None = None
    sub_types: Sequence[str] | None = None
    strict_sub_types: bool | None = None

    def admits(self, asset: Asset) -> bool:
        if self.types and asset.type not in self.types:
            return False
        if asset.type in (self.exclude_types or ()):
            return False
        if not self.sub_types:
            return True
        if asset.sub_type is None:
            return not self.strict_sub_types
        return asset.sub_type in self.sub_types


@dataclass(frozen=True)
class Search:
    """searchAssets' parameters as sent (None: absent); conditions as plain data."""

    folder: str | None = None
    include_subfolders: bool = False
    publish_state: str | None = None
    trash_state: str | None = None
    condition_match_mode: str | None = None
    keywords: Sequence[str] = ()
    system_field_match_mode: str | None = None
    system_fields: Sequence[Data] = ()
    metadata_match_mode: str | None = None
    metadata: Sequence[Data] = ()
    types: TypeFilter = field(default_factory=TypeFilter)
    records_per_page: int | None = None
    results_page: int | None = None
    sort_by: str | None = None
    sort_direction: str | None = None
    #: responseFieldArray, which may allow a larger page.
    response_fields: Sequence[str] | None = None


@dataclass(frozen=True)
class ItemFault:
    """One asset of a batch that failed: its handle as sent, and why."""

    handle: str
    error: ApiError


@dataclass(frozen=True)
class BatchResult:
    """The answer of a batch operation (deleteAssets, moveAssets, the trash operations,
    setAssetsPublishState)."""

    success_count: int
    errors: tuple[ItemFault, ...] = ()


@dataclass
class _Items(Generic[Read]):
    """A batch's items once read: what to ask the store, the handle each asset was sent as
    (its failures are named by it), and the items that failed before reaching the store."""

    asked: list[tuple[int, Read]] = field(default_factory=list)
    sent: dict[int, str] = field(default_factory=dict)
    errors: list[ItemFault] = field(default_factory=list)

    def result(self, outcome: BatchOutcome) -> BatchResult:
        """The store's outcome named by the handles the client sent."""
        errors = [
            *self.errors,
            *(ItemFault(self.sent[i], NoSuchAsset(self.sent[i])) for i in outcome.missing),
            *(ItemFault(self.sent[f.asset_id], f.error) for f in outcome.failed),
        ]
        return BatchResult(len(outcome.done), tuple(errors))


class AssetService:
    def __init__(
        self,
        repository: AssetRepository,
        companies: JobRepository,
        clock: Clock,
        time_zone: ZoneInfo,
    ) -> None:
        self.repository = repository
        self.companies = companies
        self.clock = clock
        #: The zone of dates sent without one (search conditions).
        self.time_zone = time_zone

    # -- reads ----------------------------------------------------------------------------
    def assets_by_name(
        self, caller: User, company_handle: str | None, names: Sequence[str], kinds: TypeFilter
    ) -> Sequence[Asset]:
        """Names no asset has are skipped; assets in the trash are not found."""
        company = self._company(caller, company_handle)
        found = self.repository.assets_by_name(company.id, names)
        return [asset for asset in found if kinds.admits(asset)]

    def assets(
        self, caller: User, company_handle: str | None, asset_handles: Sequence[str]
    ) -> Sequence[Asset]:
        """In the order asked, each once; handles of no asset of the company are skipped."""
        company = self._company(caller, company_handle)
        ids = [handles.parse_asset(h, "assetHandleArray") for h in asset_handles]
        return self.repository.assets(company.id, ids)

    def asset(self, caller: User, company_handle: str | None, asset_handle: str | None) -> Asset:
        """One asset of the company, whatever its trash state."""
        return self._existing(self._company(caller, company_handle), asset_handle)

    def publish_history(
        self, caller: User, company_handle: str | None, asset_handle: str | None
    ) -> Sequence[Publication]:
        """The asset's last publication per server and context, the newest first; none for
        an asset never published (an unknown asset is NoSuchAsset, not an empty history)."""
        company = self._company(caller, company_handle)
        found = self._existing(company, asset_handle)
        return self.repository.publications(company.id, found.id)

    def search(self, caller: User, company_handle: str | None, search: Search) -> AssetPage:
        company = self._company(caller, company_handle)
        return self.repository.search(company.id, self._query(company, search))

    def folders(
        self, caller: User, company_handle: str | None, folder_path: str | None
    ) -> Sequence[Folder]:
        """The folder (default: the root) and every folder below it, by path."""
        company = self._company(caller, company_handle)
        path = assets.folder_path(company.root_path, folder_path)
        found = self.repository.folders(company.id, path)
        if not found:
            raise NoSuchFolder(path, "folderPath")
        return found

    def folder_tree(
        self, caller: User, company_handle: str | None, folder_path: str | None, depth: int
    ) -> FolderTree:
        company = self._company(caller, company_handle)
        path = assets.folder_path(company.root_path, folder_path)
        tree = assets.folder_tree(self.repository.folders(company.id, path), path, depth)
        if tree is None:
            raise NoSuchFolder(path, "folderPath")
        return tree

    # -- folders --------------------------------------------------------------------------
    def create_folder(
        self, caller: User, company_handle: str | None, folder_path: str | None
    ) -> Folder:
        """Makes the missing folders above it too; an existing folder is FolderExists."""
        company = self._company(caller, company_handle)
        text = validation.required_text(folder_path, "folderPath")
        path = assets.folder_path(company.root_path, text)
        if path == company.root_path:
            raise InvalidParameter("folderPath", f"'{text}' names the company root folder")
        return self.repository.add_folder(company.id, path, self.clock.now())

    def rename_folder(
        self,
        caller: User,
        company_handle: str | None,
        folder_handle: str | None,
        folder_name: str | None,
    ) -> Folder:
        company = self._company(caller, company_handle)
        path = self._folder(company, folder_handle)
        name = assets.check_name(validation.required_text(folder_name, "folderName"), "folderName")
        return self.repository.rename_folder(company.id, path, name, self.clock.now())

    def move_folder(
        self,
        caller: User,
        company_handle: str | None,
        folder_handle: str | None,
        dest_folder_handle: str | None,
    ) -> Folder:
        """Into another folder of the company, its subfolders and assets with it."""
        company = self._company(caller, company_handle)
        path = self._folder(company, folder_handle)
        into = self._folder(company, dest_folder_handle, "destFolderHandle")
        return self.repository.move_folder(company.id, path, into, self.clock.now())

    def delete_folder(
        self, caller: User, company_handle: str | None, folder_handle: str | None
    ) -> None:
        """Removes the folder, its subfolders and their assets for good."""
        company = self._company(caller, company_handle)
        path = self._folder(company, folder_handle)
        self.repository.delete_folder(company.id, path, self.clock.now())

    # -- assets ---------------------------------------------------------------------------
    def rename_asset(
        self,
        caller: User,
        company_handle: str | None,
        asset_handle: str | None,
        new_name: str | None,
    ) -> None:
        """Names are always unique among the assets not in the trash (AssetNameInUse)."""
        company = self._company(caller, company_handle)
        handle, asset_id = self._asset(asset_handle)
        name = assets.check_name(validation.required_text(new_name, "newName"), "newName")
        renamed = self.repository.rename_asset(
            company.id, asset_id, name, self.clock.now(), caller.email
        )
        if renamed is None:
            raise NoSuchAsset(handle)

    def move_asset(
        self,
        caller: User,
        company_handle: str | None,
        asset_handle: str | None,
        folder_handle: str | None,
    ) -> None:
        handle = validation.required_text(asset_handle, "assetHandle")
        self._single(self.move_assets(caller, company_handle, [(handle, folder_handle)]))

    def move_assets(
        self,
        caller: User,
        company_handle: str | None,
        moves: Sequence[tuple[str | None, str | None]],
    ) -> BatchResult:
        """Each (asset handle, folder handle) on its own: a bad item fails alone."""
        company = self._company(caller, company_handle)
        read = self._items(moves, lambda folder_handle: self._folder(company, folder_handle))
        outcome = self.repository.move_assets(
            company.id, read.asked, self.clock.now(), caller.email
        )
        return read.result(outcome)

    def delete_asset(
        self, caller: User, company_handle: str | None, asset_handle: str | None
    ) -> None:
        """Moves the asset to the trash."""
        handle = validation.required_text(asset_handle, "assetHandle")
        self._single(self.change_trash(caller, company_handle, [handle], TrashAction.DELETE))

    def change_trash(
        self,
        caller: User,
        company_handle: str | None,
        asset_handles: Sequence[str],
        action: TrashAction,
    ) -> BatchResult:
        """deleteAssets, restoreAssetsFromTrash, emptyAssetsFromTrash."""
        company = self._company(caller, company_handle)
        read = self._items([(h, None) for h in asset_handles], _nothing, "assetHandleArray")
        ids = [asset_id for asset_id, _ in read.asked]
        outcome = self.repository.change_trash(company.id, ids, action, self.clock.now())
        return read.result(outcome)

    def set_publish_state(
        self,
        caller: User,
        company_handle: str | None,
        asset_handle: str | None,
        publish_state: str | None,
    ) -> None:
        """MarkedForPublish or NotMarkedForPublish: the asset's readyForPublish."""
        handle = validation.required_text(asset_handle, "assetHandle")
        self._single(self.set_publish_states(caller, company_handle, [(handle, publish_state)]))

    def set_publish_states(
        self,
        caller: User,
        company_handle: str | None,
        updates: Sequence[tuple[str | None, str | None]],
    ) -> BatchResult:
        """Each (asset handle, publish state) on its own: a bad item fails alone."""
        company = self._company(caller, company_handle)
        read = self._items(updates, _ready_for_publish)
        return read.result(self.repository.set_ready_for_publish(company.id, read.asked))

    # -- helpers --------------------------------------------------------------------------
    def _company(self, caller: User, company_handle: str | None) -> Company:
        """The company named, if the caller belongs to it: an unknown one is 30001, another
        company 20006, as for the job operations."""
        handle = validation.required_text(company_handle, "companyHandle")
        company_id = handles.parse_company(handle)
        company = self.companies.company(company_id)
        if company is None:
            raise InvalidParameter("companyHandle", f"no company '{handle}'")
        access.require_company(caller, company_id, handle)
        return company

    def _folder(
        self, company: Company, folder_handle: str | None, field: str = "folderHandle"
    ) -> str:
        """The full path a folder handle names (either form)."""
        text = validation.required_text(folder_handle, field)
        return assets.folder_path(company.root_path, handles.parse_folder(text), field)

    def _asset(self, asset_handle: str | None, field: str = "assetHandle") -> tuple[str, int]:
        handle = validation.required_text(asset_handle, field)
        return handle, handles.parse_asset(handle, field)

    def _existing(self, company: Company, asset_handle: str | None) -> Asset:
        """The asset of the company the handle names; another company's is NoSuchAsset."""
        handle, asset_id = self._asset(asset_handle)
        found = self.repository.asset(company.id, asset_id)
        if found is None:
            raise NoSuchAsset(handle)
        return found

    def _items(
        self,
        items: Sequence[tuple[str | None, Sent]],
        read: Callable[[Sent], Read],
        field: str = "assetHandle",
    ) -> _Items[Read]:
        """Each (asset handle, value) of a batch read on its own: a bad item fails alone,
        with the fault the single operation would raise."""
        found: _Items[Read] = _Items()
        for asset_handle, value in items:
            try:
                handle, asset_id = self._asset(asset_handle, field)
                found.asked.append((asset_id, read(value)))
            except ApiError as error:
                found.errors.append(ItemFault(asset_handle or "", error))
                continue
            found.sent.setdefault(asset_id, handle)
        return found

    def _single(self, result: BatchResult) -> None:
        """A one-asset operation raises its asset's failure."""
        if result.errors:
            raise result.errors[0].error

    def _query(self, company: Company, search: Search) -> AssetQuery:
        for mode, name in (
            (search.condition_match_mode, "conditionMatchMode"),
            (search.system_field_match_mode, "systemFieldMatchMode"),
            (search.metadata_match_mode, "metadataMatchMode"),
        ):
            validation.optional_one_of(mode, MATCH_MODES, name)
        validation.optional_one_of(search.publish_state, PUBLISH_STATES, "publishState")
        validation.optional_one_of(search.trash_state, TRASH_FILTERS, "trashState")
        validation.optional_one_of(search.sort_by, {f.value for f in SortField}, "sortBy")
        validation.optional_one_of(
            search.sort_direction, constants.SORT_DIRECTIONS, "sortDirection"
        )
        system = [
            c
            for item in search.system_fields
            if (c := self._condition(item, SYSTEM_FIELDS, "field", "systemFieldConditionArray"))
        ]
        metadata = [
            c
            for item in search.metadata
            if (
                c := self._condition(item, METADATA_FIELDS, "fieldHandle", "metadataConditionArray")
            )
        ]
        keywords = [Condition(Field.KEYWORD, Op.EQUALS, k) for k in search.keywords]
        match = Match(
            (
                *keywords,
                Match(tuple(system), search.system_field_match_mode == "MatchAny"),
                Match(tuple(metadata), search.metadata_match_mode == "MatchAny"),
            ),
            search.condition_match_mode == "MatchAny",
        )
        kinds = search.types
        return AssetQuery(
            folder=assets.folder_path(company.root_path, search.folder, "folder"),
            include_subfolders=search.include_subfolders,
            types=frozenset(kinds.types) if kinds.types else None,
            exclude_types=frozenset(kinds.exclude_types or ()),
            sub_types=frozenset(kinds.sub_types) if kinds.sub_types else None,
            strict_sub_types=bool(kinds.strict_sub_types),
            ready_for_publish=(
                None if search.publish_state is None else PUBLISH_STATES[search.publish_state]
            ),
            trash_states=TRASH_FILTERS[search.trash_state or TrashState.NOT_IN_TRASH.value],
            match=match,
            sort_by=None if search.sort_by is None else SortField(search.sort_by),
            descending=search.sort_direction == "Descending",
            records_per_page=_page_size(search.records_per_page, search.response_fields),
            page=_results_page(search.results_page),
        )

    def _condition(
        self, item: Data, fields: Mapping[str, Field | None], key: str, array: str
    ) -> Condition | None:
        """One SystemFieldCondition or MetadataCondition in the domain's terms; None for a
        field that is left out."""
        name = item.get(key)
        validation.one_of(name, fields, f"{array}/items/{key}")
        field = fields[name]
        if field is None:
            return None
        op_name = item.get("op")
        validation.one_of(op_name, {op.value for op in Op}, f"{array}/items/op")
        op = Op(op_name)
        if field is Field.FILE_SIZE:
            value, low, high = item.get("longVal"), item.get("minLong"), item.get("maxLong")
        elif field in (Field.CREATED_AT, Field.MODIFIED_AT):
            value, low, high = (self._aware(item.get(k)) for k in ("dateVal", "minDate", "maxDate"))
        else:
            return Condition(field, op, item.get("value") or "")
        if op in (Op.BETWEEN, Op.NOT_BETWEEN):
            if low is None or high is None:
                raise InvalidParameter(f"{array}/items/op", f"'{op}' wants a minimum and a maximum")
            return Condition(field, op, low, high)
        if value is None:
            raise InvalidParameter(f"{array}/items/op", f"'{op}' on '{name}' wants a value")
        return Condition(field, op, value)

    def _aware(self, value: datetime | None) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=self.time_zone)


def _page_size(value: int | None, response_fields: Sequence[str] | None) -> int:
    """Up to 1000 assets a page, 10,000 when only the lean fields are asked for; more is
    served as the most (the client pages on with totalRows), as getJobLogDetails does."""
    lean = bool(response_fields) and set(response_fields or ()) <= LEAN_FIELDS
    most = LARGE_PAGE if lean else PAGE
    if value is None:
        return PAGE
    if value < 1:
        raise InvalidParameter("recordsPerPage", f"{value} must be at least 1")
    return min(value, most)


def _results_page(value: int | None) -> int:
    """Clients page from 0 or from 1: both are the first page."""
    if value is not None and value < 0:
        raise InvalidParameter("resultsPage", f"{value} must be at least 0")
    return max(value or 1, 1)


def _nothing(_: None) -> None:
    """The trash operations' items are handles alone."""


def _ready_for_publish(publish_state: str | None) -> bool:
    """A Publish State (MarkedForPublish, NotMarkedForPublish) as Asset/readyForPublish."""
    validation.one_of(publish_state, PUBLISH_STATES, "publishState")
    return PUBLISH_STATES[publish_state]
