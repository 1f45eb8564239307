"""The asset operations' wire helpers: field selection, the Asset mapping per type, and the
schema's recursive Folder."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ips_jobs.domain.asset_service import TypeFilter
from ips_jobs.domain.assets import Asset, AssetInfo, TrashState
from ips_jobs.domain.handles import HandleStyle
from ips_jobs.wire import fields, mapping, schema

ANSWER = {
    "totalRows": 2,
    "assetArray": {
        "items": [
            {"assetHandle": "a|1", "name": "x", "imageInfo": {"width": 1, "height": 2}},
            {"assetHandle": "a|2", "name": "y", "videoInfo": {"fileSize": 3}},
        ]
    },
}
NOW = datetime(2024, 1, 1, tzinfo=UTC)


def stored(kind: str, sub_type: str | None = None) -> Asset:
    return Asset(
        id=7,
        company_id=1,
        name="n",
        type=kind,
        folder="Root/f/",
        file_name="n.x",
        ready_for_publish=False,
        trash_state=TrashState.NOT_IN_TRASH,
        created_at=NOW,
        created_by="a@b.c",
        modified_at=NOW,
        modified_by="a@b.c",
        info=AssetInfo(file_size=9, width=3),
        sub_type=sub_type,
    )


def test_no_field_arrays_keep_everything() -> None:
    assert fields.select(ANSWER, None, None) == ANSWER
    assert fields.select(ANSWER, [], []) == ANSWER


def test_named_fields_keep_their_containers_and_whole_complex_elements() -> None:
    kept = fields.select(
        ANSWER, ["assetArray/items/name", "assetArray/items/videoInfo", "noSuch/path"], None
    )
    assert kept == {
        "assetArray": {"items": [{"name": "x"}, {"name": "y", "videoInfo": {"fileSize": 3}}]}
    }


def test_excluded_fields_are_dropped_and_unknown_ones_ignored() -> None:
    dropped = fields.select(ANSWER, None, ["assetArray/items/imageInfo/width", "totalRows", "x"])
    assert "totalRows" not in dropped
    assert dropped["assetArray"]["items"][0]["imageInfo"] == {"height": 2}


@pytest.mark.parametrize(
    ("kind", "element"),
    [
        ("Image", "imageInfo"),
        ("Video", "videoInfo"),
        ("PsdTemplate", "psdInfo"),
        ("Rtf", "rtfInfo"),
    ],
)
def test_an_asset_has_the_info_element_of_its_type(kind: str, element: str) -> None:
    data = mapping.asset(stored(kind), HandleStyle.VERSIONED)
    assert element in schema.named_type("Asset")._type_info
    assert data[element]["fileSize"] == 9
    assert data["assetHandle"] == "a|7"
    assert data["folderHandle"] == "f|Root/f/"
    assert data["ipsImageUrl"] is None


def test_legacy_handles() -> None:
    data = mapping.asset(stored("Image"), HandleStyle.LEGACY)
    assert (data["assetHandle"], data["folderHandle"]) == ("7|1|7", "Root/f/")


def test_type_filters() -> None:
    image, set_ = stored("Image"), stored("AssetSet", "MediaSet")
    assert TypeFilter().admits(image)
    assert TypeFilter(types=[]).admits(image)
    assert not TypeFilter(types=["Video"]).admits(image)
    assert not TypeFilter(exclude_types=["Image"]).admits(image)
    assert TypeFilter(sub_types=["MediaSet"]).admits(image)
    assert not TypeFilter(sub_types=["MediaSet"], strict_sub_types=True).admits(image)
    assert not TypeFilter(sub_types=["SpinSet"]).admits(set_)


def test_folder_contains_itself_in_the_schema() -> None:
    folder = schema.named_type("Folder")
    nested = folder._type_info["subfolderArray"]._type_info["items"]
    assert list(nested._type_info) == list(folder._type_info)
