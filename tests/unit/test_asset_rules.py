"""The asset and folder rules: paths as clients send them, names, handles, the trash moves and
the folder tree, with no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ips_jobs.domain import assets, handles
from ips_jobs.domain.assets import (
    AssetNameInUse,
    Condition,
    Field,
    Folder,
    FolderExists,
    Op,
    TrashAction,
    TrashState,
    WrongTrashState,
)
from ips_jobs.domain.handles import HandleStyle
from ips_jobs.errors import ApiError, InvalidParameter
from ips_jobs.wire import faults

ROOT = "MyCompany/"
T = datetime(2024, 5, 1, tzinfo=UTC)


# -- folder paths -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("myFolder", "MyCompany/myFolder/"),  # the docs' searchAssets sample
        ("MyCompany/PDF/", "MyCompany/PDF/"),  # a path getFolderTree returned
        ("MyCompany/2016/banners", "MyCompany/2016/banners/"),  # no trailing '/'
        ("eaem/one/en", "MyCompany/eaem/one/en/"),
        ("/SpinSets", "MyCompany/SpinSets/"),  # the docs' createFolder: MyCompany/SpinSets/
        ("/MyCompany/a/", "MyCompany/a/"),
        ("a//b", "MyCompany/a/b/"),
        ("MyCompany/MyCompany/x", "MyCompany/MyCompany/x/"),
        ("MyCompany", ROOT),
        ("/", ROOT),
        ("", ROOT),
        (None, ROOT),
    ],
)
def test_every_path_form_clients_send_names_one_folder(given: str | None, expected: str) -> None:
    assert assets.folder_path(ROOT, given) == expected


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("a/../b", "contains '..'"),
        ("a/./b", "contains '.'"),
        ("a/ /b", "blank"),
        ("a/b\x01c", "U+0001"),
        ("x" * 600, "at most 255"),
        ("/".join(["abcdefghij"] * 50), "at most 500"),
    ],
)
def test_a_path_that_names_no_folder_is_refused(given: str, reason: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        assets.folder_path(ROOT, given, "folder")
    assert caught.value.code == 30001
    assert caught.value.message.startswith("Invalid value for 'folder': ")
    assert reason in caught.value.message


def test_an_upload_target_is_a_folder_and_a_file() -> None:
    assert assets.file_path("philipstest/", "/philipstest/km/testwithanandbird1X") == (
        "philipstest/km/",
        "testwithanandbird1X",
    )
    assert assets.file_path(
        "ApiTestCo1/", "ApiTestCo1/UploadFileServlet1376682217351//1376682217351-1.jpg"
    ) == ("ApiTestCo1/UploadFileServlet1376682217351/", "1376682217351-1.jpg")
    assert assets.file_path(ROOT, "hat.jpg") == (ROOT, "hat.jpg")
    with pytest.raises(InvalidParameter, match="names no file"):
        assets.file_path(ROOT, "/MyCompany/")


def test_parents_and_ancestors() -> None:
    assert assets.parent_path("MyCompany/a/b/") == "MyCompany/a/"
    assert assets.parent_path(ROOT) is None
    assert assets.ancestors("MyCompany/a/b/") == ["MyCompany/", "MyCompany/a/"]
    assert assets.ancestors(ROOT) == []
    folder = Folder(1, 1, "MyCompany/a/My New Images/", T, T, T, False)
    assert (folder.name, folder.parent) == ("My New Images", "MyCompany/a/")


# -- names ----------------------------------------------------------------------------------------
def test_names_and_file_names() -> None:
    assert assets.asset_name("MY_hero.png") == "MY_hero"
    assert assets.asset_name("test9-1000801.jpg") == "test9-1000801"
    assert assets.asset_name("archive.tar.gz") == "archive.tar"
    assert assets.asset_name("testwithanandbird1X") == "testwithanandbird1X"
    assert assets.asset_name(".hidden") == ".hidden"
    # renameAsset keeps the extension
    assert assets.renamed_file("MY_hero.png", "Jacket") == "Jacket.png"
    assert assets.renamed_file("noext", "other") == "other"
    assert assets.check_name("katlynf", "newName") == "katlynf"


@pytest.mark.parametrize("bad", ["", "  ", "a/b", "x" * 256, "tab\x00"])
def test_a_bad_name_is_refused_naming_the_field(bad: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        assets.check_name(bad, "newName")
    assert caught.value.message.startswith("Invalid value for 'newName': ")


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        ("a.JPG", "Image"),
        ("b.tif", "Image"),
        ("clip.mp4", "Video"),
        ("doc.pdf", "Pdf"),
        ("sheet.xlsx", "Excel"),
        ("art.ai", "Illustrator"),
        ("print.eps", "PostScript"),
        ("noext", None),
        ("odd.xyz", None),
    ],
)
def test_an_upload_takes_its_type_from_the_extension(file_name: str, expected: str | None) -> None:
    assert assets.type_for(file_name) == expected


# -- handles --------------------------------------------------------------------------------------
def test_asset_and_folder_handles_in_both_forms() -> None:
    assert handles.asset(210, HandleStyle.VERSIONED) == "a|210"
    assert handles.asset(24265, HandleStyle.LEGACY) == "24265|1|24265"
    path = "Example.com/sample/A01/"
    assert handles.folder(path, HandleStyle.VERSIONED) == "f|Example.com/sample/A01/"
    assert handles.folder(path, HandleStyle.LEGACY) == path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a|210", 210),
        ("a|581084652", 581084652),
        ("a|942|1|579", 942),  # 2008-01-15
        ("a|1801|44|1801", 1801),  # 2009-07-31, an AssetSet
        ("24265|1|17061", 24265),  # legacy
        (" a|7 ", 7),
    ],
)
def test_asset_handles_parse(text: str, expected: int) -> None:
    assert handles.parse_asset(text) == expected


@pytest.mark.parametrize("text", ["", "a|", "a|x", "210", "a|1|2", "1|2", "a|1|2|x", "c|5"])
def test_a_malformed_asset_handle_is_invalid(text: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        handles.parse_asset(text)
    assert caught.value.message.startswith("Invalid value for 'assetHandle': ")


def test_folder_handles_parse_to_the_path_they_carry() -> None:
    assert handles.parse_folder("f|test/MoveTest/") == "test/MoveTest/"
    assert handles.parse_folder("MyCompany/PDF/") == "MyCompany/PDF/"
    assert assets.folder_path("test/", handles.parse_folder("f|test/MoveTest")) == "test/MoveTest/"
    with pytest.raises(InvalidParameter):
        handles.parse_folder("f|")


# -- trash ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("state", "action", "expected"),
    [
        (TrashState.NOT_IN_TRASH, TrashAction.DELETE, TrashState.IN_TRASH),
        (TrashState.IN_TRASH, TrashAction.DELETE, TrashState.IN_TRASH),
        (TrashState.IN_TRASH, TrashAction.RESTORE, TrashState.NOT_IN_TRASH),
        (TrashState.NOT_IN_TRASH, TrashAction.RESTORE, TrashState.NOT_IN_TRASH),
        (TrashState.IN_TRASH, TrashAction.EMPTY, TrashState.IN_EMPTIED_TRASH),
        (TrashState.IN_EMPTIED_TRASH, TrashAction.EMPTY, TrashState.IN_EMPTIED_TRASH),
        (TrashState.IN_EMPTIED_TRASH, TrashAction.DELETE, TrashState.IN_EMPTIED_TRASH),
    ],
)
def test_trash_moves(state: TrashState, action: TrashAction, expected: TrashState) -> None:
    assert assets.trash_move("hat", state, action) is expected


def test_trash_moves_that_cannot_be_made_name_the_asset() -> None:
    with pytest.raises(WrongTrashState) as caught:
        assets.trash_move("hat", TrashState.NOT_IN_TRASH, TrashAction.EMPTY)
    assert (caught.value.code, caught.value.message) == (30000, "Asset 'hat' is not in the trash.")
    with pytest.raises(WrongTrashState) as caught:
        assets.trash_move("hat", TrashState.IN_EMPTIED_TRASH, TrashAction.RESTORE)
    assert caught.value.message == "Asset 'hat' is in the emptied trash and cannot be restored."


# -- errors and conditions ------------------------------------------------------------------------
def test_the_name_clash_reads_as_the_captured_fault() -> None:
    error = AssetNameInUse("katlynf")
    assert (error.code, error.message) == (30000, "Asset ID 'katlynf' is already in use.")
    assert "already exists" in FolderExists("MyCompany/a/").message  # what clients look for


@pytest.mark.parametrize(
    "error",
    [
        AssetNameInUse("a"),
        FolderExists("R/a/"),
        assets.NoSuchFolder("R/a/"),
        assets.RootFolder("R/"),
        WrongTrashState("a", TrashState.IN_EMPTIED_TRASH),
    ],
    ids=lambda error: type(error).__name__,
)
def test_asset_errors_are_ipsapifaults_with_their_code(error: ApiError) -> None:
    fault = faults.to_fault(error)
    assert (fault.element, fault.code, fault.reason) == ("ipsApiFault", error.code, error.message)
    assert fault.code in (30000, 30001)


def test_a_condition_takes_only_the_operators_of_its_field() -> None:
    Condition(Field.NAME, Op.CONTAINS, "hat")
    Condition(Field.FILE_SIZE, Op.BETWEEN, 1, 10)
    with pytest.raises(InvalidParameter, match="'Contains' does not apply to file_size"):
        Condition(Field.FILE_SIZE, Op.CONTAINS, 1)
    with pytest.raises(InvalidParameter, match="'LessThan' does not apply to name"):
        Condition(Field.NAME, Op.LESS_THAN, "a")
    with pytest.raises(InvalidParameter, match="Between two"):
        Condition(Field.CREATED_AT, Op.BETWEEN, T)
    with pytest.raises(InvalidParameter, match="Between two"):
        Condition(Field.CREATED_AT, Op.LESS_THAN, T, T)


# -- the folder tree ------------------------------------------------------------------------------
def _folders(*paths: str) -> list[Folder]:
    return [
        Folder(n, 1, p, T, T, T, any(o != p and o.startswith(p) for o in paths))
        for n, p in enumerate(paths)
    ]


def _shape(tree: assets.FolderTree) -> object:
    return (tree.folder.name, [_shape(child) for child in tree.subfolders])


def test_the_tree_goes_as_deep_as_asked() -> None:
    flat = _folders("R/a/b/c/", "R/", "R/a/", "R/a/b/", "R/z/", "R/a/y/")
    whole = assets.folder_tree(flat, "R/", -1)
    assert whole is not None
    assert _shape(whole) == ("R", [("a", [("b", [("c", [])]), ("y", [])]), ("z", [])])
    one = assets.folder_tree(flat, "R/", 1)
    assert one is not None
    assert _shape(one) == ("R", [("a", []), ("z", [])])
    # at the depth limit a folder still says it has subfolders, without listing them
    assert one.subfolders[0].folder.has_subfolders is True
    top = assets.folder_tree(flat, "R/a/", 0)
    assert top is not None
    assert _shape(top) == ("a", [])
    assert assets.folder_tree(flat, "R/nope/", 1) is None
