"""One thin handler per asset and folder operation: read the parameters, make one
AssetService call, map the result (then keep the fields responseFieldArray and
excludeFieldArray ask for, where the operation has them: read before the service call, as
every parameter is)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ips_jobs.domain.asset_service import AssetService, Search, TypeFilter
from ips_jobs.domain.assets import Asset, Folder, TrashAction
from ips_jobs.domain.jobs import User
from ips_jobs.wire import fields, mapping
from ips_jobs.wire.call import Call, Data, items

AssetCall = Call[AssetService]
#: getAssociatedAssetsReturn's arrays, in schema order.
ASSOCIATIONS = (
    "containerArray",
    "memberArray",
    "layerReferenceArray",
    "ownerArray",
    "derivedArray",
    "generatorArray",
    "generatedArray",
    "subAssetArray",
)


Chosen = tuple[list[str] | None, list[str] | None]


def _chosen(call: AssetCall) -> Chosen:
    """responseFieldArray and excludeFieldArray, read before the service is called."""
    return call.items("responseFieldArray"), call.items("excludeFieldArray")


def _asset_array(call: AssetCall, found: Sequence[Asset]) -> Data:
    return {"items": [mapping.asset(a, call.style) for a in found]}


def _types(call: AssetCall) -> TypeFilter:
    return TypeFilter(
        call.items("assetTypeArray"),
        call.items("excludeAssetTypeArray"),
        call.items("assetSubTypeArray"),
        call.get("strictSubTypeCheck"),
    )


def get_assets_by_name(call: AssetCall) -> Data:
    chosen = _chosen(call)
    found = call.service.assets_by_name(
        call.caller, call.get("companyHandle"), call.items("nameArray") or [], _types(call)
    )
    return fields.select({"assetArray": _asset_array(call, found)}, *chosen)


def get_assets(call: AssetCall) -> Data:
    chosen = _chosen(call)
    found = call.service.assets(
        call.caller, call.get("companyHandle"), call.items("assetHandleArray") or []
    )
    return fields.select({"assetArray": _asset_array(call, found)}, *chosen)


def search_assets(call: AssetCall) -> Data:
    chosen = _chosen(call)
    search = Search(
        folder=call.get("folder"),
        include_subfolders=bool(call.get("includeSubfolders")),
        publish_state=call.get("publishState"),
        trash_state=call.get("trashState"),
        condition_match_mode=call.get("conditionMatchMode"),
        keywords=call.items("keywordArray") or (),
        system_field_match_mode=call.get("systemFieldMatchMode"),
        system_fields=call.items("systemFieldConditionArray") or (),
        metadata_match_mode=call.get("metadataMatchMode"),
        metadata=call.items("metadataConditionArray") or (),
        types=_types(call),
        records_per_page=call.get("recordsPerPage"),
        results_page=call.get("resultsPage"),
        sort_by=call.get("sortBy"),
        sort_direction=call.get("sortDirection"),
        response_fields=chosen[0],
    )
    page = call.service.search(call.caller, call.get("companyHandle"), search)
    data = {"totalRows": page.total_rows, "assetArray": _asset_array(call, page.assets)}
    return fields.select(data, *chosen)


def search_assets_by_metadata(call: AssetCall) -> Data:
    """The same search as searchAssets, its filters in `filters` (subfolders included unless
    it says otherwise). `responseMetadataArray` and `haystackSearch` are not read: ips-jobs
    keeps no metadata fields and has no similarity search (docs/differences.md)."""
    filters = call.get("filters") or {}
    search = Search(
        folder=filters.get("folder"),
        include_subfolders=filters.get("includeSubfolders") is not False,
        publish_state=filters.get("publishState"),
        trash_state=filters.get("trashState"),
        metadata_match_mode=call.get("metadataConditionMatchMode"),
        metadata=call.items("metadataConditionArray") or (),
        types=TypeFilter(
            items(filters.get("assetTypeArray")),
            items(filters.get("excludeAssetTypeArray")),
            items(filters.get("assetSubTypeArray")),
            filters.get("strictSubTypeCheck"),
        ),
        records_per_page=call.get("recordsPerPage"),
        results_page=call.get("resultsPage"),
        sort_by=call.get("sortBy"),
        sort_direction=call.get("sortDirection"),
    )
    page = call.service.search(call.caller, call.get("companyHandle"), search)
    summaries = [mapping.asset_summary(a, call.style) for a in page.assets]
    return {"totalRows": page.total_rows, "assetSummaryArray": {"items": summaries}}


def get_associated_assets(call: AssetCall) -> Data:
    """ips-jobs keeps no relations between assets: for an asset of the company every array
    is empty and there is no thumbAsset."""
    chosen = _chosen(call)
    call.service.asset(call.caller, call.get("companyHandle"), call.get("assetHandle"))
    return fields.select({name: {} for name in ASSOCIATIONS}, *chosen)


def get_folder_tree(call: AssetCall) -> Data:
    """`assetTypeArray` is not read: which folders it keeps is unknown (docs/differences.md)."""
    chosen = _chosen(call)
    tree = call.service.folder_tree(
        call.caller, call.get("companyHandle"), call.get("folderPath"), call.get("depth")
    )
    return fields.select({"folders": mapping.folder_tree(tree, call.style)}, *chosen)


def get_folders(call: AssetCall) -> Data:
    """`assetTypeArray` is not read, as for getFolderTree."""
    chosen = _chosen(call)
    found = call.service.folders(call.caller, call.get("companyHandle"), call.get("folderPath"))
    items = [mapping.folder(f, call.style) for f in found]
    return fields.select({"folderArray": {"items": items}}, *chosen)


def create_folder(call: AssetCall) -> Data:
    made = call.service.create_folder(
        call.caller, call.get("companyHandle"), call.get("folderPath")
    )
    return {"folderHandle": mapping.folder(made, call.style)["folderHandle"]}


def _repath(
    method: Callable[[AssetService, User, Any, Any, Any], Folder], where: str
) -> Callable[[AssetCall], Data]:
    """renameFolder (`where`: folderName) and moveFolder (destFolderHandle): the folder's
    handle out, which changes with its path."""

    def handler(call: AssetCall) -> Data:
        changed = method(
            call.service,
            call.caller,
            call.get("companyHandle"),
            call.get("folderHandle"),
            call.get(where),
        )
        return {"folderHandle": mapping.folder(changed, call.style)["folderHandle"]}

    return handler


def delete_folder(call: AssetCall) -> Data:
    call.service.delete_folder(call.caller, call.get("companyHandle"), call.get("folderHandle"))
    return {}


def delete_asset(call: AssetCall) -> Data:
    call.service.delete_asset(call.caller, call.get("companyHandle"), call.get("assetHandle"))
    return {}


def rename_asset(call: AssetCall) -> Data:
    """`validateName` is not read: names are always unique here (docs/differences.md)."""
    call.service.rename_asset(
        call.caller, call.get("companyHandle"), call.get("assetHandle"), call.get("newName")
    )
    return {}


def move_asset(call: AssetCall) -> Data:
    call.service.move_asset(
        call.caller, call.get("companyHandle"), call.get("assetHandle"), call.get("folderHandle")
    )
    return {}


def _pairs(call: AssetCall, array: str, value: str) -> list[tuple[Any, Any]]:
    """A batch's items as (assetHandle, the item's other element)."""
    return [(item.get("assetHandle"), item.get(value)) for item in call.items(array) or []]


def move_assets(call: AssetCall) -> Data:
    moves = _pairs(call, "assetMoveArray", "folderHandle")
    result = call.service.move_assets(call.caller, call.get("companyHandle"), moves)
    return mapping.batch(result)


def set_asset_publish_state(call: AssetCall) -> Data:
    """`contextHandleArray` is not read: readiness is one flag per asset
    (Asset/readyForPublish), set for every publish context (docs/differences.md)."""
    call.service.set_publish_state(
        call.caller, call.get("companyHandle"), call.get("assetHandle"), call.get("publishState")
    )
    return {}


def set_assets_publish_state(call: AssetCall) -> Data:
    updates = _pairs(call, "publishStateUpdateArray", "publishState")
    result = call.service.set_publish_states(call.caller, call.get("companyHandle"), updates)
    return mapping.batch(result)


def get_asset_publish_history(call: AssetCall) -> Data:
    """An asset never published has an empty `pubHistoryArray` (IPS's documented answer)."""
    history = call.service.publish_history(
        call.caller, call.get("companyHandle"), call.get("assetHandle")
    )
    return {"pubHistoryArray": {"items": [mapping.publication(p) for p in history]}}


def _trash(action: TrashAction) -> Callable[[AssetCall], Data]:
    """deleteAssets, restoreAssetsFromTrash and emptyAssetsFromTrash: handles in, a batch
    answer out."""

    def handler(call: AssetCall) -> Data:
        result = call.service.change_trash(
            call.caller,
            call.get("companyHandle"),
            call.items("assetHandleArray") or [],
            action,
        )
        return mapping.batch(result)

    return handler


HANDLERS: dict[str, Callable[[Call[Any]], Data]] = {
    "getAssetsByName": get_assets_by_name,
    "searchAssets": search_assets,
    "getAssets": get_assets,
    "getFolderTree": get_folder_tree,
    "getFolders": get_folders,
    "createFolder": create_folder,
    "renameFolder": _repath(AssetService.rename_folder, "folderName"),
    "moveFolder": _repath(AssetService.move_folder, "destFolderHandle"),
    "deleteFolder": delete_folder,
    "deleteAsset": delete_asset,
    "deleteAssets": _trash(TrashAction.DELETE),
    "renameAsset": rename_asset,
    "moveAsset": move_asset,
    "moveAssets": move_assets,
    "emptyAssetsFromTrash": _trash(TrashAction.EMPTY),
    "restoreAssetsFromTrash": _trash(TrashAction.RESTORE),
    "searchAssetsByMetadata": search_assets_by_metadata,
    "getAssociatedAssets": get_associated_assets,
    "setAssetPublishState": set_asset_publish_state,
    "setAssetsPublishState": set_assets_publish_state,
    "getAssetPublishHistory": get_asset_publish_history,
}
