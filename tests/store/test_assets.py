"""The asset and folder store, run against SQLite and PostgreSQL alike (one migrated database
per backend for the module, emptied after each test, as in test_repository)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete

from ips_jobs.domain import handles
from ips_jobs.domain.assets import (
    Asset,
    AssetDraft,
    AssetInfo,
    AssetNameInUse,
    AssetQuery,
    BatchOutcome,
    Condition,
    Field,
    FolderExists,
    Match,
    NoSuchFolder,
    Op,
    Publication,
    RootFolder,
    SortField,
    TrashAction,
    TrashState,
    UploadOutcome,
    WrongTrashState,
)
from ips_jobs.domain.handles import HandleStyle
from ips_jobs.domain.jobs import Company, LogDetail, Run, RunState
from ips_jobs.domain.ports import AssetRepository
from ips_jobs.errors import InvalidParameter
from ips_jobs.store.assets import SqlAssetRepository
from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository
from ips_jobs.store.tables import companies

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
USER = "alice@acme.test"
#: The ImageInfo of the captured 2010-01-31 getAssetsByName answer.
HERO = AssetInfo(
    original_path="Acme/sample/F10_Product_02-18-11/A01/",
    original_file="MY_hero.png",
    optimized_path="Acme/_optimized_/c3c/",
    optimized_file="c3240f7f-1d47-41f8-9dad-d7d24c9e4aa3.tif",
    mask_path="",
    mask_file="",
    file_size=2643733,
    width=2150,
    height=2500,
    resolution=0.0,
    sku="MY_hero",
    description="MY_hero",
    comments="",
    user_data="",
    anchor_x=1075,
    anchor_y=1250,
    url_modifier="",
    url_post_apply_modifier="",
)


@pytest.fixture
def database_url(emptied_database_url: str) -> str:
    """Overrides conftest's: one migrated database for the module, emptied after each test."""
    return emptied_database_url


@dataclass(frozen=True)
class World:
    assets: SqlAssetRepository
    jobs: SqlJobRepository
    acme: Company
    other: Company

    def add(self, name: str, folder: str = "", **changes: object) -> Asset:
        """An asset of Acme's, in `folder` (relative to the root), made at NOW by USER."""
        draft = AssetDraft(name, "Image", f"Acme/{folder}", f"{name}.jpg")
        return self.assets.add_asset(self.acme.id, replace(draft, **changes), NOW, USER)  # type: ignore[arg-type]

    def search(self, folder: str = "", **changes: object) -> tuple[int, list[str]]:
        query = replace(AssetQuery(f"Acme/{folder}"), **changes)  # type: ignore[arg-type]
        page = self.assets.search(self.acme.id, query)
        return page.total_rows, [a.name for a in page.assets]


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    database = Database(database_url)
    jobs = SqlJobRepository(database)
    acme = jobs.add_company("Acme", NOW)
    other = jobs.add_company("Other", NOW)
    yield World(SqlAssetRepository(database), jobs, acme, other)
    database.dispose()


def test_the_store_has_every_method_of_the_port() -> None:
    """No type checker runs here: the signatures are compared instead."""
    wanted = {n for n in dir(AssetRepository) if not n.startswith("_")}
    for name in wanted:
        port = inspect.signature(getattr(AssetRepository, name))
        made = inspect.signature(getattr(SqlAssetRepository, name))
        assert list(made.parameters) == list(port.parameters), name


# -- folders ------------------------------------------------------------------------------------
def test_a_company_has_its_root_folder_from_the_start(world: World) -> None:
    (root,) = world.assets.folders(world.acme.id, "Acme/")
    assert (root.path, root.name, root.parent, root.has_subfolders) == (
        "Acme/",
        "Acme",
        None,
        False,
    )
    assert root.created_at == root.modified_at == root.child_modified_at == NOW
    assert world.assets.folder(world.other.id, "Other/") is not None
    assert world.assets.folder(world.other.id, "Acme/") is None


def test_a_new_folder_brings_the_folders_above_it(world: World) -> None:
    made = world.assets.add_folder(world.acme.id, "Acme/a/b/c/", LATER)
    assert (made.path, made.name, made.has_subfolders, made.created_at) == (
        "Acme/a/b/c/",
        "c",
        False,
        LATER,
    )
    world.assets.add_folder(world.acme.id, "Acme/a/x/", LATER)
    listed = world.assets.folders(world.acme.id, "Acme/")
    assert [(f.path, f.has_subfolders) for f in listed] == [
        ("Acme/", True),
        ("Acme/a/", True),
        ("Acme/a/b/", True),
        ("Acme/a/b/c/", False),
        ("Acme/a/x/", False),
    ]
    assert listed[0].child_modified_at == LATER  # a folder appeared in the root
    assert [f.path for f in world.assets.folders(world.acme.id, "Acme/a/b/")] == [
        "Acme/a/b/",
        "Acme/a/b/c/",
    ]
    assert world.assets.folders(world.acme.id, "Acme/nope/") == []
    assert world.assets.folders(world.other.id, "Other/") != []  # other companies untouched


def test_a_folder_is_made_once(world: World) -> None:
    world.assets.add_folder(world.acme.id, "Acme/a/", NOW)
    for path in ("Acme/a/", "Acme/"):
        with pytest.raises(FolderExists) as caught:
            world.assets.add_folder(world.acme.id, path, LATER)
        assert caught.value.message == f"Folder '{path}' already exists."
    world.assets.add_folder(world.other.id, "Other/a/", NOW)  # paths are per company


def test_paths_compare_exactly(world: World) -> None:
    world.assets.add_folder(world.acme.id, "Acme/Ab/", NOW)
    world.assets.add_folder(world.acme.id, "Acme/ab/", NOW)
    world.assets.add_folder(world.acme.id, "Acme/a_b/", NOW)
    world.assets.add_folder(world.acme.id, "Acme/aXb/", NOW)
    assert [f.path for f in world.assets.folders(world.acme.id, "Acme/ab/")] == ["Acme/ab/"]
    assert [f.path for f in world.assets.folders(world.acme.id, "Acme/a_b/")] == ["Acme/a_b/"]


def test_renaming_a_folder_moves_its_subtree_and_assets(world: World) -> None:
    world.assets.add_folder(world.acme.id, "Acme/PDF/x/", NOW)
    world.assets.add_folder(world.acme.id, "Acme/PDF2/", NOW)
    inside = world.add("deep", "PDF/x/")
    before = world.assets.folder(world.acme.id, "Acme/PDF/")
    renamed = world.assets.rename_folder(
        world.acme.id, "Acme/PDF/", "My Newly Renamed PDF Folder", LATER
    )
    assert before is not None
    assert (renamed.id, renamed.path) == (before.id, "Acme/My Newly Renamed PDF Folder/")
    assert (renamed.modified_at, renamed.has_subfolders) == (LATER, True)
    assert [f.path for f in world.assets.folders(world.acme.id, "Acme/")] == [
        "Acme/",
        "Acme/My Newly Renamed PDF Folder/",
        "Acme/My Newly Renamed PDF Folder/x/",
        "Acme/PDF2/",
    ]
    moved = world.assets.asset(world.acme.id, inside.id)
    assert moved is not None
    assert moved.folder == "Acme/My Newly Renamed PDF Folder/x/"
    assert world.assets.folder(world.acme.id, "Acme/PDF/") is None


def test_a_rename_refuses_a_taken_path_the_root_and_a_missing_folder(world: World) -> None:
    world.assets.add_folder(world.acme.id, "Acme/a/", NOW)
    world.assets.add_folder(world.acme.id, "Acme/b/", NOW)
    with pytest.raises(FolderExists):
        world.assets.rename_folder(world.acme.id, "Acme/a/", "b", LATER)
    with pytest.raises(RootFolder):
        world.assets.rename_folder(world.acme.id, "Acme/", "Other", LATER)
    with pytest.raises(NoSuchFolder) as caught:
        world.assets.rename_folder(world.acme.id, "Acme/zz/", "b", LATER)
    assert caught.value.message == "Invalid value for 'folderHandle': no such folder 'Acme/zz/'"
    with pytest.raises(InvalidParameter, match="would pass 500"):
        world.assets.rename_folder(world.acme.id, "Acme/a/", "x" * 495, LATER)
    assert [f.path for f in world.assets.folders(world.acme.id, "Acme/")] == [
        "Acme/",
        "Acme/a/",
        "Acme/b/",
    ]


def test_moving_a_folder(world: World) -> None:
    world.assets.add_folder(world.acme.id, "Acme/test/MoveTest/sub/", NOW)
    world.assets.add_folder(world.acme.id, "Acme/DestFolder/", NOW)
    moved = world.assets.move_folder(
        world.acme.id, "Acme/test/MoveTest/", "Acme/DestFolder/", LATER
    )
    assert moved.path == "Acme/DestFolder/MoveTest/"
    assert [f.path for f in world.assets.folders(world.acme.id, "Acme/DestFolder/")] == [
        "Acme/DestFolder/",
        "Acme/DestFolder/MoveTest/",
        "Acme/DestFolder/MoveTest/sub/",
    ]
    test = world.assets.folder(world.acme.id, "Acme/test/")
    assert test is not None
    assert (test.has_subfolders, test.child_modified_at) == (False, LATER)
    with pytest.raises(InvalidParameter, match="into itself"):
        world.assets.move_folder(
            world.acme.id, "Acme/DestFolder/", "Acme/DestFolder/MoveTest/", LATER
        )
    with pytest.raises(NoSuchFolder, match="destFolderHandle"):
        world.assets.move_folder(world.acme.id, "Acme/DestFolder/", "Acme/none/", LATER)


def test_deleting_a_folder_removes_its_subtree_and_assets_for_good(world: World) -> None:
    world.assets.add_folder(world.acme.id, "Acme/a/b/", NOW)
    gone = [world.add("in-a", "a/"), world.add("in-b", "a/b/")]
    kept = world.add("in-root")
    world.assets.delete_folder(world.acme.id, "Acme/a/", LATER)
    assert [f.path for f in world.assets.folders(world.acme.id, "Acme/")] == ["Acme/"]
    ids = [a.id for a in [*gone, kept]]
    assert world.assets.assets(world.acme.id, ids) == [kept]
    root = world.assets.folder(world.acme.id, "Acme/")
    assert root is not None
    assert root.child_modified_at == LATER
    with pytest.raises(RootFolder):
        world.assets.delete_folder(world.acme.id, "Acme/", LATER)
    with pytest.raises(NoSuchFolder):
        world.assets.delete_folder(world.acme.id, "Acme/a/", LATER)
    world.add("in-a", "a/")  # the name is free again, the folder made anew


# -- assets -------------------------------------------------------------------------------------
def test_an_asset_keeps_every_field(world: World) -> None:
    draft = AssetDraft(
        "Jacket",
        "Image",
        "Acme/sample/F0_Products_01-08-11/A01/",
        "MY_hero.png",
        ready_for_publish=True,
        info=HERO,
        keywords=("red", "coat", "red"),
    )
    made = world.assets.add_asset(world.acme.id, draft, NOW, USER)
    assert made.name == "Jacket"
    assert made.trash_state is TrashState.NOT_IN_TRASH
    assert (made.created_at, made.created_by, made.modified_at, made.modified_by) == (
        NOW,
        USER,
        NOW,
        USER,
    )
    assert made.keywords == ("coat", "red")
    assert world.assets.asset(world.acme.id, made.id) == made
    assert world.assets.folder(world.acme.id, "Acme/sample/F0_Products_01-08-11/A01/") is not None
    set_asset = replace(
        draft, name="Set", type="AssetSet", sub_type="MediaSet", keywords=(), info=AssetInfo()
    )
    made_set = world.assets.add_asset(world.acme.id, set_asset, NOW, USER)
    assert world.assets.asset(world.acme.id, made_set.id) == made_set
    assert made_set.sub_type == "MediaSet"


def test_a_name_is_taken_once_per_company(world: World) -> None:
    first = world.add("katlynf")
    with pytest.raises(AssetNameInUse) as caught:
        world.add("katlynf", "elsewhere/")
    assert caught.value.message == "Asset ID 'katlynf' is already in use."
    assert world.assets.folder(world.acme.id, "Acme/elsewhere/") is None  # nothing half made
    draft = AssetDraft("katlynf", "Image", "Other/", "katlynf.jpg")
    theirs = world.assets.add_asset(world.other.id, draft, NOW, USER)
    assert theirs.id != first.id
    world.add("Katlynf")  # names compare exactly


def test_assets_by_handle_and_by_name_come_in_the_order_asked(world: World) -> None:
    a, b, c = world.add("T533729"), world.add("T533729_alt1"), world.add("T533729_alt2")
    theirs = world.assets.add_asset(
        world.other.id, AssetDraft("x", "Image", "Other/", "x.jpg"), NOW, USER
    )
    assert world.assets.assets(world.acme.id, [c.id, a.id, 999, c.id, theirs.id]) == [c, a]
    names = ["T533729_alt2", "T533729_alt15", "T533729", "T533729", "x"]
    assert world.assets.assets_by_name(world.acme.id, names) == [c, a]
    assert world.assets.assets_by_name(world.acme.id, []) == []
    world.assets.change_trash(world.acme.id, [b.id], TrashAction.DELETE, LATER)
    assert world.assets.assets_by_name(world.acme.id, ["T533729_alt1"]) == []
    trashed = world.assets.asset(world.acme.id, b.id)
    assert trashed is not None
    assert trashed.trash_state is TrashState.IN_TRASH  # by handle, whatever its trash state
    assert world.assets.asset(world.acme.id, theirs.id) is None


def test_renaming_keeps_the_handle_and_the_extension(world: World) -> None:
    hat = world.add("hat")
    renamed = world.assets.rename_asset(world.acme.id, hat.id, "cap", LATER, "bob@acme.test")
    assert renamed is not None
    assert (renamed.id, renamed.name, renamed.file_name) == (hat.id, "cap", "cap.jpg")
    assert (renamed.modified_at, renamed.modified_by, renamed.created_at) == (
        LATER,
        "bob@acme.test",
        NOW,
    )
    assert world.assets.asset(world.acme.id, hat.id) == renamed
    world.add("hat")  # the old name is free
    with pytest.raises(AssetNameInUse) as caught:
        world.assets.rename_asset(world.acme.id, hat.id, "hat", LATER, USER)
    assert caught.value.message == "Asset ID 'hat' is already in use."
    assert world.assets.rename_asset(world.acme.id, 999, "x", LATER, USER) is None


def test_moving_assets_reports_each_item(world: World) -> None:
    world.assets.add_folder(world.acme.id, "Acme/uploads/", NOW)
    a, b = world.add("a"), world.add("b")
    outcome = world.assets.move_assets(
        world.acme.id,
        [(a.id, "Acme/uploads/"), (999, "Acme/uploads/"), (b.id, "Acme/none/"), (b.id, "Acme/")],
        LATER,
        "bob@acme.test",
    )
    assert (outcome.done, outcome.missing) == ((a.id, b.id), (999,))
    ((failed_id, error),) = [(f.asset_id, f.error) for f in outcome.failed]
    assert failed_id == b.id
    assert isinstance(error, NoSuchFolder)
    moved = world.assets.asset(world.acme.id, a.id)
    assert moved is not None
    assert (moved.folder, moved.modified_by) == ("Acme/uploads/", "bob@acme.test")
    uploads = world.assets.folder(world.acme.id, "Acme/uploads/")
    assert uploads is not None
    assert uploads.child_modified_at == LATER


def test_the_trash(world: World) -> None:
    a, b = world.add("a"), world.add("b")
    deleted = world.assets.change_trash(world.acme.id, [a.id, a.id, 999], TrashAction.DELETE, LATER)
    assert deleted == BatchOutcome(done=(a.id, a.id), missing=(999,))
    assert world.search() == (1, ["b"])
    assert world.search(trash_states=frozenset({TrashState.IN_TRASH})) == (1, ["a"])
    assert world.search(trash_states=frozenset(TrashState)) == (2, ["a", "b"])

    emptied = world.assets.change_trash(world.acme.id, [a.id, b.id], TrashAction.EMPTY, LATER)
    assert emptied.done == (a.id,)
    ((failure),) = emptied.failed
    assert (failure.asset_id, failure.error.message) == (b.id, "Asset 'b' is not in the trash.")
    assert isinstance(failure.error, WrongTrashState)
    restored = world.assets.change_trash(world.acme.id, [a.id], TrashAction.RESTORE, LATER)
    assert restored.failed[0].error.message == (
        "Asset 'a' is in the emptied trash and cannot be restored."
    )


def test_a_trashed_name_is_free_and_its_asset_cannot_come_back_over_a_new_one(
    world: World,
) -> None:
    old = world.add("hat")
    world.assets.change_trash(world.acme.id, [old.id], TrashAction.DELETE, LATER)
    new = world.add("hat")
    again = world.add("cap")
    world.assets.change_trash(world.acme.id, [again.id], TrashAction.DELETE, LATER)
    outcome = world.assets.change_trash(
        world.acme.id, [old.id, again.id], TrashAction.RESTORE, LATER
    )
    assert outcome.done == (again.id,)
    assert outcome.failed[0].asset_id == old.id
    assert outcome.failed[0].error.message == "Asset ID 'hat' is already in use."
    assert [a.id for a in world.assets.assets_by_name(world.acme.id, ["hat", "cap"])] == [
        new.id,
        again.id,
    ]


def test_an_upload_creates_replaces_or_skips_the_asset_of_its_name(world: World) -> None:
    draft = AssetDraft("hat", "Image", "Acme/a/", "hat.jpg", True, HERO, keywords=("red",))
    created = world.assets.upload(world.acme.id, draft, True, False, NOW, USER)
    assert created.outcome is UploadOutcome.CREATED
    assert created.outcome.value == "UploadSuccess"
    first = created.asset

    other = replace(
        draft,
        folder="Acme/b/",
        file_name="hat.png",
        ready_for_publish=False,
        info=AssetInfo(width=1),
        keywords=(),
    )
    skipped = world.assets.upload(world.acme.id, other, False, False, LATER, "bob@acme.test")
    assert (skipped.outcome, skipped.asset) == (UploadOutcome.SKIPPED, first)
    assert world.assets.folder(world.acme.id, "Acme/b/") is None  # a skipped file makes nothing

    kept = world.assets.upload(world.acme.id, other, True, True, LATER, "bob@acme.test")
    assert kept.outcome is UploadOutcome.UPDATED
    updated = kept.asset
    assert (updated.id, updated.created_at, updated.created_by) == (first.id, NOW, USER)
    assert (updated.folder, updated.file_name, updated.info) == ("Acme/b/", "hat.png", other.info)
    assert (updated.modified_at, updated.modified_by) == (LATER, "bob@acme.test")
    assert updated.ready_for_publish is True  # kept: keep_publish_state
    assert updated.keywords == ("red",)  # an upload with none leaves them
    assert world.assets.asset(world.acme.id, first.id) == updated

    replaced = world.assets.upload(
        world.acme.id, replace(other, keywords=("blue",)), True, False, LATER, USER
    )
    assert (replaced.asset.ready_for_publish, replaced.asset.keywords) == (False, ("blue",))
    assert world.assets.asset(world.acme.id, first.id) == replaced.asset


def test_ready_for_publish(world: World) -> None:
    a, b = world.add("a"), world.add("b", ready_for_publish=True)
    outcome = world.assets.set_ready_for_publish(
        world.acme.id, [(a.id, True), (b.id, False), (9, True)]
    )
    assert outcome == BatchOutcome(done=(a.id, b.id), missing=(9,))
    assert world.search(ready_for_publish=True) == (1, ["a"])
    assert world.search(ready_for_publish=False) == (1, ["b"])


# -- search -------------------------------------------------------------------------------------
@pytest.fixture
def library(world: World) -> World:
    """Six assets: root, a/, a/b/ and c/; of several types, sizes, times and keywords."""
    world.add("Hat", info=AssetInfo(file_size=300, description="A Red hat"), keywords=("red",))
    world.add("coat", "a/", info=AssetInfo(file_size=100), keywords=("blue", "winter"))
    world.add("clip", "a/", type="Video", file_name="clip.mp4", info=AssetInfo(file_size=500))
    world.add("scarf", "a/b/", info=AssetInfo(file_size=200), keywords=("red", "winter"))
    world.add("set", "a/b/", type="AssetSet", sub_type="MediaSet", file_name="set")
    world.add("glove 50%_off", "c/", info=AssetInfo(sku="G-1"))
    return world


def test_a_folder_alone_or_with_its_subfolders(library: World) -> None:
    assert library.search("a/") == (2, ["coat", "clip"])
    assert library.search("a/", include_subfolders=True) == (4, ["coat", "clip", "scarf", "set"])
    assert library.search() == (1, ["Hat"])
    assert library.search(include_subfolders=True)[0] == 6
    assert library.search("nowhere/", include_subfolders=True) == (0, [])
    found = library.assets.search(library.acme.id, AssetQuery("Acme/a/b/"))
    assert {a.folder for a in found.assets} == {"Acme/a/b/"}


def test_types_subtypes(library: World) -> None:
    everything = {"include_subfolders": True}
    assert library.search(**everything, types=frozenset({"Video", "AssetSet"}))[1] == [
        "clip",
        "set",
    ]
    assert library.search(**everything, exclude_types=frozenset({"Image"}))[1] == ["clip", "set"]
    assert library.search(**everything, sub_types=frozenset({"MediaSet"}))[0] == 6
    assert library.search(**everything, sub_types=frozenset({"MediaSet"}), strict_sub_types=True)[
        1
    ] == ["set"]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (Condition(Field.NAME, Op.CONTAINS, "OA"), ["coat"]),  # case ignored
        (Condition(Field.NAME, Op.EQUALS, "hat"), ["Hat"]),
        (Condition(Field.NAME, Op.STARTS_WITH, "c"), ["coat", "clip"]),
        (Condition(Field.NAME, Op.ENDS_WITH, "T"), ["Hat", "coat", "set"]),
        (Condition(Field.NAME, Op.CONTAINS, "50%_"), ["glove 50%_off"]),  # wildcards are text
        (Condition(Field.NAME, Op.CONTAINS, "%"), ["glove 50%_off"]),
        (Condition(Field.NAME, Op.NOT_CONTAINS, "c"), ["Hat", "set", "glove 50%_off"]),
        (Condition(Field.KEYWORD, Op.EQUALS, "Winter"), ["coat", "scarf"]),
        (Condition(Field.KEYWORD, Op.NOT_EQUALS, "red"), ["coat", "clip", "set", "glove 50%_off"]),
        (Condition(Field.DESCRIPTION, Op.CONTAINS, "red"), ["Hat"]),
        (Condition(Field.SKU, Op.NOT_EQUALS, "g-1"), ["Hat", "coat", "clip", "scarf", "set"]),
        (Condition(Field.FILE_NAME, Op.ENDS_WITH, ".mp4"), ["clip"]),
        (Condition(Field.TYPE, Op.EQUALS, "video"), ["clip"]),
        (Condition(Field.FOLDER, Op.CONTAINS, "acme/a/b"), ["scarf", "set"]),
        (Condition(Field.FILE_SIZE, Op.BETWEEN, 150, 300), ["Hat", "scarf"]),
        (
            Condition(Field.FILE_SIZE, Op.NOT_BETWEEN, 150, 300),
            ["coat", "clip", "set", "glove 50%_off"],
        ),
        (Condition(Field.FILE_SIZE, Op.GREATER_THAN, 300), ["clip"]),
        (Condition(Field.FILE_SIZE, Op.LESS_THAN_EQUALS, 100), ["coat", "set", "glove 50%_off"]),
        (
            Condition(Field.CREATED_AT, Op.LESS_THAN, LATER),
            ["Hat", "coat", "clip", "scarf", "set", "glove 50%_off"],
        ),
        (Condition(Field.MODIFIED_AT, Op.GREATER_THAN_EQUALS, LATER), []),
        (
            Condition(Field.CREATED_BY, Op.EQUALS, "ALICE@acme.test"),
            ["Hat", "coat", "clip", "scarf", "set", "glove 50%_off"],
        ),
    ],
)
def test_conditions(library: World, condition: Condition, expected: list[str]) -> None:
    match = Match((condition,))
    assert library.search(include_subfolders=True, match=match) == (len(expected), expected)


def test_conditions_combine(library: World) -> None:
    red = Condition(Field.KEYWORD, Op.EQUALS, "red")
    winter = Condition(Field.KEYWORD, Op.EQUALS, "winter")
    video = Condition(Field.TYPE, Op.EQUALS, "Video")
    everywhere = {"include_subfolders": True}
    assert library.search(**everywhere, match=Match((red, winter)))[1] == ["scarf"]
    assert library.search(**everywhere, match=Match((red, winter), any=True))[1] == [
        "Hat",
        "coat",
        "scarf",
    ]
    nested = Match((Match((red, winter)), video), any=True)
    assert library.search(**everywhere, match=nested)[1] == ["clip", "scarf"]
    assert library.search(**everywhere, match=Match((Match(),)))[0] == 6


def test_sorting_and_paging(library: World) -> None:
    everywhere = {"include_subfolders": True}
    # lower case alone: PostgreSQL orders names by its locale, SQLite by code point
    by_name = library.search(**everywhere, sort_by=SortField.NAME)[1]
    assert [n for n in by_name if n != "Hat"] == ["clip", "coat", "glove 50%_off", "scarf", "set"]
    backwards = library.search(**everywhere, sort_by=SortField.NAME, descending=True)[1]
    assert backwards == by_name[::-1]
    assert library.search(**everywhere, sort_by=SortField.FILE_SIZE, descending=True)[1] == [
        "clip",
        "Hat",
        "scarf",
        "coat",
        "set",
        "glove 50%_off",
    ]
    assert library.search(**everywhere, sort_by=SortField.ASSET_TYPE)[1][-1] == "clip"
    assert library.search(**everywhere, descending=True)[1][0] == "glove 50%_off"
    by_size = {"sort_by": SortField.FILE_SIZE, "records_per_page": 4}
    assert library.search(**everywhere, **by_size) == (6, ["set", "glove 50%_off", "coat", "scarf"])
    assert library.search(**everywhere, **by_size, page=2) == (6, ["Hat", "clip"])
    assert library.search(**everywhere, **by_size, page=3) == (6, [])


def test_sorting_by_times(world: World) -> None:
    first = world.add("first")
    world.assets.add_asset(
        world.acme.id, AssetDraft("second", "Image", "Acme/", "second.jpg"), LATER, USER
    )
    world.assets.rename_asset(world.acme.id, first.id, "first", LATER + timedelta(1), USER)
    assert world.search(sort_by=SortField.CREATED)[1] == ["first", "second"]
    assert world.search(sort_by=SortField.MODIFIED)[1] == ["second", "first"]
    assert world.search(sort_by=SortField.MODIFIED, descending=True)[1] == ["first", "second"]


# -- publishing and job history -----------------------------------------------------------------
def test_a_publish_marks_what_is_ready(world: World) -> None:
    ready = world.add("ready", ready_for_publish=True)
    world.add("not-ready")
    trashed = world.add("trashed", ready_for_publish=True)
    world.assets.change_trash(world.acme.id, [trashed.id], TrashAction.DELETE, NOW)
    world.assets.add_asset(
        world.other.id, AssetDraft("x", "Image", "Other/", "x.jpg", True), NOW, USER
    )
    full = Publication("is-1", "Default", LATER, "Full")
    assert world.assets.publish(world.acme.id, full, incremental=False) == [ready.id]
    assert world.assets.publications(world.acme.id, ready.id) == [full]
    assert world.assets.publications(world.acme.id, trashed.id) == []
    assert world.assets.publications(world.other.id, ready.id) == []

    later = LATER + timedelta(hours=1)
    again = Publication("is-1", "Default", later, "Incremental")
    assert world.assets.publish(world.acme.id, again, incremental=True) == []  # nothing changed
    changed = world.add("changed", ready_for_publish=True)
    world.assets.rename_asset(world.acme.id, ready.id, "renamed", later, USER)
    assert world.assets.publish(world.acme.id, again, incremental=True) == sorted(
        [ready.id, changed.id]
    )
    other_context = Publication("is-1", "Staging", later + timedelta(1))
    world.assets.publish(world.acme.id, other_context, incremental=True)
    assert world.assets.publications(world.acme.id, ready.id) == [other_context, again]


def test_an_assets_job_history_spans_its_runs(world: World) -> None:
    """Runs name an asset in their log rows by its versioned handle; the handle stays the same
    through an upload that replaces the file, so its history is every such row."""
    draft = AssetDraft("hat", "Image", "Acme/", "hat.jpg")
    first = world.assets.upload(world.acme.id, draft, True, False, NOW, USER).asset
    second = world.assets.upload(world.acme.id, draft, True, False, LATER, USER)
    assert second.asset.id == first.id
    handle = handles.asset(first.id, HandleStyle.VERSIONED)
    for n, (when, outcome) in enumerate([(NOW, UploadOutcome.CREATED), (LATER, second.outcome)]):
        run = world.jobs.add_run(
            Run(
                id=0,
                company_id=world.acme.id,
                scheduled_job_id=None,
                name=f"upload_{n}",
                original_name="upload",
                kind="uploadUrlsJob",
                detail={},
                submit_user_email=USER,
                locale=None,
                description=None,
                state=RunState.DONE,
                server_name="emulator",
                trigger_time=when,
                start_date=when,
            )
        )
        world.jobs.add_log_details(
            [
                LogDetail(
                    run.id,
                    when,
                    outcome.value,
                    "Acme/hat.jpg was processed into IPS",
                    "hat",
                    "Image",
                    handle,
                )
            ]
        )
    history = world.jobs.asset_logs(world.acme.id, handle)
    assert [(h.run.name, h.detail.log_type) for h in history] == [
        ("upload_0", "UploadSuccess"),
        ("upload_1", "FileUpdated"),
    ]


def test_a_company_takes_its_folders_and_assets_with_it(world: World) -> None:
    """What a reset of the accounts relies on."""
    world.add("hat", "a/", keywords=("red",))
    world.assets.publish(world.acme.id, Publication("s", "c", NOW), incremental=False)
    with world.assets.db.write() as c:
        c.execute(delete(companies).where(companies.c.id == world.acme.id))
    assert world.assets.folders(world.acme.id, "Acme/") == []
    assert world.assets.assets_by_name(world.acme.id, ["hat"]) == []
    assert world.assets.folder(world.other.id, "Other/") is not None
