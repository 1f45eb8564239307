"""The asset and folder operations over real HTTP: raw XML as curl sends it, compared with the
captured real IPS answers (2010-01-31), and a zeep client built from the served WSDL. Assets
are seeded straight into the server's database, as an upload would leave them."""

from __future__ import annotations

import dataclasses
import functools
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import zeep
import zeep.exceptions
from conftest import (
    COMMON_NS,
    NS,
    SHARED,
    Account,
    Reply,
    Server,
    caller,
    make_account,
    server_on_its_own,
)
from lxml import etree
from test_samples import canonical
from zeep.transports import Transport

from ips_jobs.domain.assets import Asset, AssetDraft, AssetInfo, Publication
from ips_jobs.store.assets import SqlAssetRepository
from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository
from ips_jobs.wire import schema

SAMPLES = SHARED / "samples"
NS_2010 = "http://www.scene7.com/IpsApi/xsd/2010-01-31"
T0 = datetime(2024, 3, 1, 17, 4, 40, 177000, tzinfo=UTC)


def sample_payload(name: str) -> etree._Element:
    root = etree.fromstring((SAMPLES / name).read_bytes())
    return root[-1][0]


def captured_image_info() -> AssetInfo:
    """The ImageInfo of the captured getAssetsByName answer, its paths under our root."""
    item = sample_payload("jdart-getAssetsByName-response-one-item.xml")[0][0]
    info = item.find(f"{{{NS_2010}}}imageInfo")
    assert info is not None
    fields = {f.name: f.type for f in dataclasses.fields(AssetInfo)}
    values: dict[str, object] = {}
    for node in info:
        name = re.sub(r"[A-Z]", lambda m: "_" + m[0].lower(), etree.QName(node).localname)
        if name in fields:
            text = (node.text or "").removeprefix("Example.com/")
            values[name] = {"int | None": int, "float | None": float}.get(fields[name], str)(text)
    return AssetInfo(**values)  # type: ignore[arg-type]


HERO = captured_image_info()


@dataclass
class Site:
    server: Server
    jobs: SqlJobRepository
    assets: SqlAssetRepository


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with server_on_its_own(tmp_path_factory, "assets") as running:
        database = Database(running.database_url)
        try:
            yield Site(running, SqlJobRepository(database), SqlAssetRepository(database))
        finally:
            database.dispose()


@dataclass
class Tenant:
    """A fresh company, its root folder, and a function posting `<op>Param` as its user."""

    account: Account
    root: str
    call: Callable[..., Reply]
    site: Site
    #: Assets added so far: each is created a second after the one before.
    added: int = 0

    @property
    def company(self) -> str:
        return self.account.company_handle

    def add(self, name: str, folder: str = "", kind: str = "Image", **info: object) -> Asset:
        """An asset `name` in the folder `root + folder`, as an upload leaves it."""
        extension = {"Image": ".jpg", "Video": ".mp4"}.get(kind, ".bin")
        draft = AssetDraft(
            name=name,
            type=kind,
            folder=self.root + folder,
            file_name=name + extension,
            ready_for_publish=True,
            info=AssetInfo(**info) if info else HERO,  # type: ignore[arg-type]
        )
        created = T0 + timedelta(seconds=self.added)
        self.added += 1
        return self.site.assets.add_asset(
            self.account.company_id, draft, created, "test@example.com"
        )


def tenant(site: Site, role: str = "IpsUser") -> Tenant:
    account = make_account(site.jobs, role)
    company = site.jobs.company(account.company_id)
    assert company is not None
    return Tenant(account, company.root_path, caller(site.server, account), site)


@pytest.fixture
def acme(site: Site) -> Tenant:
    return tenant(site)


def shape(element: etree._Element) -> list[object]:
    """The element names of a tree, nested, without namespaces or values."""
    return [
        (etree.QName(child).localname, shape(child))
        for child in element
        if isinstance(child.tag, str)
    ]


def texts(payload: etree._Element, path: str) -> list[str]:
    return [node.text or "" for node in payload.iterfind(path, {"i": NS})]


def names(reply: Reply) -> list[str]:
    return texts(reply.payload(), "i:assetArray/i:items/i:name")


def handles_of(reply: Reply) -> list[str]:
    return texts(reply.payload(), "i:assetArray/i:items/i:assetHandle")


def by_name(*wanted: str) -> str:
    return (
        "<companyHandle>{}</companyHandle><nameArray>"
        + "".join(f"<items>{n}</items>" for n in wanted)
        + "</nameArray>"
    )


def get_by_name(who: Tenant, *wanted: str, namespace: str = NS) -> Reply:
    return who.call("getAssetsByName", by_name(*wanted).format(who.company), namespace)


def search(who: Tenant, inner: str = "", folder: str | None = None, sub: bool = True) -> Reply:
    where = f"<folder>{folder}</folder>" if folder is not None else ""
    body = (
        f"<companyHandle>{who.company}</companyHandle>{where}"
        f"<includeSubfolders>{str(sub).lower()}</includeSubfolders>{inner}"
    )
    return who.call("searchAssets", body)


# -- the captured answers ---------------------------------------------------------------------
def test_get_assets_by_name_answers_element_for_element_as_the_capture(acme: Tenant) -> None:
    jacket = acme.add("Jacket", "sample/F0_Products_01-08-11/A01/")
    reply = get_by_name(acme, "Jacket", namespace=NS_2010)
    assert reply.status == 200
    ours = reply.payload()
    real = sample_payload("jdart-getAssetsByName-response-one-item.xml")
    assert ours.tag == real.tag == f"{{{NS_2010}}}getAssetsByNameReturn"
    real_item, our_item = real[0][0], ours[0][0]
    # the one difference: ips-jobs keeps no metadata fields (docs/differences.md)
    real_item.find(f"{{{NS_2010}}}metadataArray").clear()
    assert shape(ours) == shape(real)
    value = {etree.QName(c).localname: c.text for c in our_item}
    folder = acme.root + "sample/F0_Products_01-08-11/A01/"
    assert value["assetHandle"] == f"a|{jacket.id}"
    assert (value["type"], value["name"], value["folder"]) == ("Image", "Jacket", folder)
    assert value["folderHandle"] == f"f|{folder}"
    assert (value["readyForPublish"], value["trashState"]) == ("true", "NotInTrash")
    assert value["ipsImageUrl"] == "image-no-ips/_optimized_/c3c/" + HERO.optimized_file
    assert value["created"] == "2024-03-01T17:04:40.177Z"
    real_info = {
        etree.QName(c).localname: c.text for c in real_item.find(f"{{{NS_2010}}}imageInfo")
    }
    our_info = {etree.QName(c).localname: c.text for c in our_item.find(f"{{{NS_2010}}}imageInfo")}
    for field in ("width", "height", "fileSize", "resolution", "sku", "anchorX", "anchorY"):
        assert our_info[field] == real_info[field], field


def test_no_match_is_an_empty_asset_array_as_captured(acme: Tenant) -> None:
    reply = get_by_name(acme, "nothing-has-this-name", namespace=NS_2010)
    real = sample_payload("jdart-getAssetsByName-response-zero-found.xml")
    assert canonical(reply.payload()) == canonical(real)


def test_names_are_answered_in_the_order_asked_and_missing_ones_skipped(acme: Tenant) -> None:
    acme.add("Hat")
    acme.add("Scarf")
    reply = get_by_name(acme, "Scarf", "Gloves", "Hat", "Scarf")
    assert names(reply) == ["Scarf", "Hat"]
    real = sample_payload("jdart-getAssetsByName-response-two-items.xml")
    assert len(reply.payload()[0]) == len(real[0]) == 2


@pytest.mark.parametrize(
    ("operation", "inner", "sample"),
    [
        ("deleteAsset", "<assetHandle>{asset}</assetHandle>", "deleteAsset-empty-return"),
        (
            "renameAsset",
            "<assetHandle>{asset}</assetHandle><newName>katlyn-{tag}</newName>"
            "<validateName>true</validateName><renameFiles>true</renameFiles>",
            "renameAsset-empty-return",
        ),
        ("deleteFolder", "<folderHandle>f|{root}old/</folderHandle>", "deleteFolder-empty-return"),
    ],
)
def test_empty_answers_are_the_captured_ones(
    acme: Tenant, operation: str, inner: str, sample: str
) -> None:
    """jdart's own requests (renameAsset with renameFiles, 2010-01-31)."""
    asset = acme.add(f"thing-{uuid.uuid4().hex[:6]}", "old/")
    filled = inner.format(asset=f"a|{asset.id}", tag=uuid.uuid4().hex[:6], root=acme.root)
    body = f"<companyHandle>{acme.company}</companyHandle>{filled}"
    reply = acme.call(operation, body, NS_2010)
    assert reply.status == 200, etree.tostring(reply.root)
    assert canonical(reply.payload()) == canonical(sample_payload(f"jdart-{sample}-response.xml"))


def test_rename_onto_a_taken_name_is_the_captured_fault(acme: Tenant) -> None:
    name = f"katlynf-{uuid.uuid4().hex[:6]}"
    acme.add(name)
    other = acme.add(f"other-{uuid.uuid4().hex[:6]}")
    body = (
        f"<companyHandle>{acme.company}</companyHandle><assetHandle>a|{other.id}</assetHandle>"
        f"<newName>{name}</newName><validateName>true</validateName>"
        "<renameFiles>true</renameFiles>"
    )
    reply = acme.call("renameAsset", body, NS_2010)
    real = etree.fromstring(
        (SAMPLES / "jdart-renameAsset-ipsApiFault-response.xml")
        .read_bytes()
        .replace(b"katlynf", name.encode())
    )
    assert canonical(reply.root[-1]) == canonical(real[-1])


def test_get_folders_items_have_the_captured_elements(acme: Tenant) -> None:
    acme.add("in-a", "a/")
    reply = acme.call("getFolders", f"<companyHandle>{acme.company}</companyHandle>", NS_2010)
    assert reply.status == 200, etree.tostring(reply.root)
    real = sample_payload("jdart-getFolders-response-placeholder-values.xml")
    assert shape(reply.payload()[0][0]) == shape(real[0][0])
    assert texts(reply.payload(), "{*}folderArray/{*}items/{*}path") == [
        acme.root,
        acme.root + "a/",
    ]
    assert texts(reply.payload(), "{*}folderArray/{*}items/{*}hasSubfolders") == ["true", "false"]


def test_create_folder_answers_its_handle_and_refuses_an_existing_one(acme: Tenant) -> None:
    reply = acme.call(
        "createFolder",
        f"<companyHandle>{acme.company}</companyHandle><folderPath>/EAEM/one/two</folderPath>",
        NS_2010,
    )
    real = sample_payload("jdart-createFolder-response-placeholder-handle.xml")
    assert shape(reply.payload()) == shape(real)
    assert reply.payload()[0].text == f"f|{acme.root}EAEM/one/two/"
    again = acme.call(
        "createFolder",
        f"<companyHandle>{acme.company}</companyHandle><folderPath>{acme.root}EAEM/one/two/"
        "</folderPath>",
    )
    element, code, reason = again.fault()
    assert (element, code) == ("ipsApiFault", 30000)
    assert "already exists" in reason


# -- trash ------------------------------------------------------------------------------------
def test_delete_asset_moves_it_to_the_trash(acme: Tenant) -> None:
    doomed = acme.add("Doomed")
    body = f"<companyHandle>{acme.company}</companyHandle><assetHandle>a|{doomed.id}</assetHandle>"
    assert acme.call("deleteAsset", body).status == 200
    assert names(get_by_name(acme, "Doomed")) == []
    assert names(search(acme)) == []
    trashed = search(acme, "<trashState>InTrash</trashState>")
    assert names(trashed) == ["Doomed"]
    assert texts(trashed.payload(), "i:assetArray/i:items/i:trashState") == ["InTrash"]
    acme.add("Doomed")  # the name is free again
    assert names(get_by_name(acme, "Doomed")) == ["Doomed"]


def test_batch_trash_operations_report_each_asset(acme: Tenant) -> None:
    one, two = acme.add("one"), acme.add("two")
    handles = f"<items>a|{one.id}</items><items>a|{two.id}</items><items>a|999999</items>"
    body = (
        f"<companyHandle>{acme.company}</companyHandle>"
        f"<assetHandleArray>{handles}</assetHandleArray>"
    )
    deleted = acme.call("deleteAssets", body).payload()
    assert [etree.QName(c).localname for c in deleted] == [
        "successCount",
        "warningCount",
        "errorCount",
        "errorDetailArray",
    ]
    assert texts(deleted, "i:successCount") + texts(deleted, "i:errorCount") == ["2", "1"]
    assert texts(deleted, "i:errorDetailArray/i:items/i:assetHandle") == ["a|999999"]
    assert texts(deleted, "i:errorDetailArray/i:items/i:code") == ["30001"]
    restored = acme.call("restoreAssetsFromTrash", body.replace("<items>a|999999</items>", ""))
    assert [etree.QName(c).localname for c in restored.payload()] == [
        "successCount",
        "warningCount",
        "errorCount",
    ]
    assert names(get_by_name(acme, "one", "two")) == ["one", "two"]
    emptied = acme.call("emptyAssetsFromTrash", body.replace("<items>a|999999</items>", ""))
    assert texts(emptied.payload(), "i:errorCount") == ["2"]  # not in the trash
    assert (
        "is not in the trash" in texts(emptied.payload(), "i:errorDetailArray/i:items/i:reason")[0]
    )


# -- searchAssets -----------------------------------------------------------------------------
def test_search_assets_by_folder_with_and_without_subfolders(acme: Tenant) -> None:
    acme.add("top")
    acme.add("shoe", "shoes/")
    acme.add("boot", "shoes/boots/")
    acme.add("hat", "hats/")
    assert names(search(acme)) == ["top", "shoe", "boot", "hat"]
    assert names(search(acme, sub=False)) == ["top"]
    assert names(search(acme, folder="shoes", sub=False)) == ["shoe"]
    assert names(search(acme, folder=f"/{acme.root}shoes/", sub=True)) == ["shoe", "boot"]
    assert texts(search(acme, folder="no/such/folder").payload(), "i:totalRows") == ["0"]


def test_search_assets_pages_and_sorts(acme: Tenant) -> None:
    for name in ("delta", "alpha", "echo", "charlie", "bravo"):
        acme.add(name)
    page = search(
        acme,
        "<recordsPerPage>2</recordsPerPage><resultsPage>2</resultsPage>"
        "<sortBy>Name</sortBy><sortDirection>Ascending</sortDirection>",
    )
    assert texts(page.payload(), "i:totalRows") == ["5"]
    assert names(page) == ["charlie", "delta"]
    first = search(
        acme,
        "<recordsPerPage>2</recordsPerPage><resultsPage>0</resultsPage>"
        "<sortBy>Name</sortBy><sortDirection>Descending</sortDirection>",
    )
    assert names(first) == ["echo", "delta"]


def test_search_assets_filters_by_type_and_name_condition(acme: Tenant) -> None:
    acme.add("clip-1", kind="Video", file_size=10)
    acme.add("photo-1")
    acme.add("photo-2")
    videos = search(acme, "<assetTypeArray><items>Video</items></assetTypeArray>")
    assert names(videos) == ["clip-1"]
    assert texts(videos.payload(), "i:assetArray/i:items/i:videoInfo/i:fileSize") == ["10"]
    no_video = search(acme, "<excludeAssetTypeArray><items>Video</items></excludeAssetTypeArray>")
    assert names(no_video) == ["photo-1", "photo-2"]
    condition = (
        "<conditionMatchMode>MatchAny</conditionMatchMode><systemFieldConditionArray><items>"
        "<field>Name</field><op>Contains</op><value>TO-2</value></items>"
        "</systemFieldConditionArray>"
    )
    assert names(search(acme, condition)) == ["photo-2"]


def test_response_and_exclude_fields_keep_schema_order(acme: Tenant) -> None:
    acme.add("lean")
    fields = "".join(
        f"<items>{p}</items>"
        for p in (
            "assetArray/items/name",
            "totalRows",
            "assetArray/items/assetHandle",
            "assetArray/items/videoInfo/fileSize",
            "assetArray/items/imageInfo/width",
        )
    )
    reply = search(acme, f"<responseFieldArray>{fields}</responseFieldArray>")
    assert shape(reply.payload()) == [
        ("totalRows", []),
        (
            "assetArray",
            [("items", [("assetHandle", []), ("name", []), ("imageInfo", [("width", [])])])],
        ),
    ]
    excluded = search(
        acme, "<excludeFieldArray><items>assetArray/items/imageInfo</items></excludeFieldArray>"
    )
    assert excluded.payload().find("i:assetArray/i:items/i:imageInfo", {"i": NS}) is None
    assert names(excluded) == ["lean"]


# -- folders ----------------------------------------------------------------------------------
def test_get_folder_tree_to_a_depth(acme: Tenant) -> None:
    acme.add("deep", "a/b/c/")
    acme.add("side", "z/")
    body = f"<companyHandle>{acme.company}</companyHandle><depth>1</depth>"
    tree = acme.call("getFolderTree", body).payload()
    top = tree.find("i:folders", {"i": NS})
    assert texts(tree, "i:folders/i:path") == [acme.root]
    assert texts(tree, "i:folders/i:hasSubfolders") == ["true"]
    children = top.findall("i:subfolderArray/i:items", {"i": NS})
    assert [c.findtext(f"{{{NS}}}path") for c in children] == [acme.root + "a/", acme.root + "z/"]
    # at the depth limit: hasSubfolders true, no subfolderArray; a leaf: false
    assert [c.findtext(f"{{{NS}}}hasSubfolders") for c in children] == ["true", "false"]
    assert all(c.find(f"{{{NS}}}subfolderArray") is None for c in children)
    deeper = acme.call(
        "getFolderTree",
        f"<companyHandle>{acme.company}</companyHandle><folderPath>{acme.root}a</folderPath>"
        "<depth>-1</depth>",
    ).payload()
    assert texts(deeper, ".//i:path") == [acme.root + p for p in ("a/", "a/b/", "a/b/c/")]


def test_rename_and_move(acme: Tenant) -> None:
    shoe = acme.add("shoe", "shoes/")
    acme.add("anchor", "archive/")
    renamed = acme.call(
        "renameFolder",
        f"<companyHandle>{acme.company}</companyHandle><folderHandle>f|{acme.root}shoes/"
        "</folderHandle><folderName>footwear</folderName>",
    )
    assert texts(renamed.payload(), "i:folderHandle") == [f"f|{acme.root}footwear/"]
    moved = acme.call(
        "moveAsset",
        f"<companyHandle>{acme.company}</companyHandle><assetHandle>a|{shoe.id}</assetHandle>"
        f"<folderHandle>f|{acme.root}archive/</folderHandle>",
    )
    assert moved.status == 200
    assert names(search(acme, folder="archive", sub=False)) == ["shoe", "anchor"]
    batch = acme.call(
        "moveAssets",
        f"<companyHandle>{acme.company}</companyHandle><assetMoveArray>"
        f"<items><assetHandle>a|{shoe.id}</assetHandle><folderHandle>f|{acme.root}footwear/"
        f"</folderHandle></items><items><assetHandle>a|{shoe.id}</assetHandle>"
        f"<folderHandle>f|{acme.root}nowhere/</folderHandle></items></assetMoveArray>",
    ).payload()
    assert texts(batch, "i:successCount") + texts(batch, "i:errorCount") == ["1", "1"]
    renamed_asset = acme.call(
        "renameAsset",
        f"<companyHandle>{acme.company}</companyHandle><assetHandle>a|{shoe.id}</assetHandle>"
        "<newName>sneaker</newName><validateName>true</validateName>",
    )
    assert renamed_asset.status == 200
    got = acme.call(
        "getAssets",
        f"<companyHandle>{acme.company}</companyHandle><assetHandleArray>"
        f"<items>a|{shoe.id}</items></assetHandleArray>",
    ).payload()
    assert texts(got, "i:assetArray/i:items/i:name") == ["sneaker"]
    assert texts(got, "i:assetArray/i:items/i:fileName") == ["sneaker.jpg"]
    assert texts(got, "i:assetArray/i:items/i:folder") == [acme.root + "footwear/"]


def test_legacy_namespace_has_legacy_handles_and_fields(acme: Tenant) -> None:
    shoe = acme.add("legacy-shoe", "shoes/")
    legacy = "http://www.scene7.com/IpsApi/xsd"
    body = (
        f"<companyHandle>{acme.account.company_id}</companyHandle><folder>shoes</folder>"
        "<includeSubfolders>false</includeSubfolders>"
    )
    item = acme.call("searchAssets", body, legacy).payload()[1][0]
    value = {etree.QName(c).localname: c.text for c in item}
    assert value["assetHandle"] == f"{shoe.id}|1|{shoe.id}"
    assert value["folderHandle"] == acme.root + "shoes/"
    assert "fileName" not in value and "trashState" not in value


# -- isolation, roles and bad input -----------------------------------------------------------
def test_another_company_sees_nothing(site: Site, acme: Tenant) -> None:
    secret = acme.add("secret", "private/")
    other = tenant(site)
    assert names(get_by_name(other, "secret")) == []
    assert names(search(other)) == []
    got = other.call(
        "getAssets",
        f"<companyHandle>{other.company}</companyHandle><assetHandleArray>"
        f"<items>a|{secret.id}</items></assetHandleArray>",
    )
    assert names(got) == []
    deleted = other.call(
        "deleteAsset",
        f"<companyHandle>{other.company}</companyHandle><assetHandle>a|{secret.id}</assetHandle>",
    )
    assert deleted.fault() == (
        "ipsApiFault",
        30001,
        f"Invalid value for 'assetHandle': no such asset 'a|{secret.id}'",
    )
    folder = other.call(
        "deleteFolder",
        f"<companyHandle>{other.company}</companyHandle>"
        f"<folderHandle>f|{acme.root}private/</folderHandle>",
    )
    assert folder.fault()[:2] == ("ipsApiFault", 30001)
    foreign = other.call("getAssetsByName", by_name("secret").format(acme.company))
    assert foreign.fault()[:2] == ("authorizationFault", 20006)
    assert names(get_by_name(acme, "secret")) == ["secret"]


def test_roles_follow_the_documented_table(site: Site) -> None:
    trial = tenant(site, "TrialSiteUser")
    refused = trial.call(
        "createFolder",
        f"<companyHandle>{trial.company}</companyHandle><folderPath>x</folderPath>",
    )
    assert refused.fault()[:2] == ("authorizationFault", 20003)
    assert search(trial).status == 200


@pytest.mark.parametrize(
    ("operation", "inner", "code", "reason"),
    [
        ("deleteAsset", "<assetHandle>a|987654</assetHandle>", 30001, "no such asset 'a|987654'"),
        ("deleteAsset", "<assetHandle>j|1|x||</assetHandle>", 30001, "is not an asset handle"),
        (
            "renameAsset",
            "<assetHandle>a|987654</assetHandle><newName>x</newName>"
            "<validateName>true</validateName>",
            30001,
            "no such asset",
        ),
        (
            "renameAsset",
            "<assetHandle>a|1</assetHandle><newName>a/b</newName><validateName>true</validateName>",
            30001,
            "contains '/'",
        ),
        ("createFolder", "<folderPath>a/../b</folderPath>", 30001, "contains '..'"),
        (
            "getFolderTree",
            "<folderPath>no/such</folderPath><depth>1</depth>",
            30001,
            "no such folder",
        ),
        (
            "searchAssets",
            "<includeSubfolders>true</includeSubfolders><sortBy>Size</sortBy>",
            30001,
            "'Size' (accepted: AssetType, Created, FileSize, Modified, Name)",
        ),
        (
            "searchAssets",
            "<includeSubfolders>true</includeSubfolders><trashState>Gone</trashState>",
            30001,
            "trashState",
        ),
        ("searchAssets", "<folder>x</folder>", 30002, "includeSubfolders"),
        ("deleteFolder", "<folderHandle>f|</folderHandle>", 30001, "not a folder handle"),
        (
            "setAssetPublishState",
            "<assetHandle>a|1</assetHandle><publishState>markedforpublish</publishState>",
            30001,
            "'markedforpublish' (accepted: MarkedForPublish, NotMarkedForPublish)",
        ),
        ("setAssetPublishState", "<assetHandle>a|1</assetHandle>", 30002, "publishState"),
        (
            "setAssetPublishState",
            "<assetHandle>f|x/</assetHandle><publishState>MarkedForPublish</publishState>",
            30001,
            "is not an asset handle",
        ),
        ("setAssetsPublishState", "", 30002, "publishStateUpdateArray"),
        (
            "setAssetsPublishState",
            "<publishStateUpdateArray><items><assetHandle>a|1</assetHandle></items>"
            "</publishStateUpdateArray>",
            30002,
            "publishState",
        ),
        ("getAssetPublishHistory", "<assetHandle>j|1|x||</assetHandle>", 30001, "asset handle"),
        ("getAssetPublishHistory", "", 30002, "assetHandle"),
        ("moveFolder", "<folderHandle>f|a/</folderHandle>", 30002, "destFolderHandle"),
        (
            "moveFolder",
            "<folderHandle>f|</folderHandle><destFolderHandle>f|b/</destFolderHandle>",
            30001,
            "not a folder handle",
        ),
    ],
)
def test_bad_input_is_an_ips_api_fault(
    acme: Tenant, operation: str, inner: str, code: int, reason: str
) -> None:
    reply = acme.call(operation, f"<companyHandle>{acme.company}</companyHandle>{inner}")
    element, got_code, got_reason = reply.fault()
    assert (element, got_code) == ("ipsApiFault", code), got_reason
    assert reason in got_reason


# -- zeep -------------------------------------------------------------------------------------
@contextmanager
def zeep_client(who: Tenant, version: str) -> Iterator[tuple[Any, Any]]:
    """The service of a zeep client built from our WSDL of `version`, and `who`'s authHeader."""
    with requests.Session() as session:
        client = zeep.Client(
            f"{who.site.server.base_url}/scene7/webservice/IpsApi-{version}.wsdl",
            transport=Transport(session=session),
        )
        header = client.get_element(f"{{{COMMON_NS}}}authHeader")(
            user=who.account.email, password=who.account.password, appName="t", appVersion="1"
        )
        yield client.service, header


def test_a_zeep_client_built_from_the_wsdl(acme: Tenant) -> None:
    hero = acme.add("zeep-hero", "z/")
    acme.add("zeep-side", "z/")
    with zeep_client(acme, "2022-11-01-beta") as (service, header):
        found = service.getAssetsByName(
            companyHandle=acme.company, nameArray={"items": ["zeep-hero"]}, _soapheaders=[header]
        )
        asset = found[0]  # zeep unwraps a return of one element: the AssetArray items
        assert (asset.assetHandle, asset.imageInfo.width) == (f"a|{hero.id}", 2150)
        page = service.searchAssets(
            companyHandle=acme.company,
            folder="z",
            includeSubfolders=False,
            recordsPerPage=1,
            sortBy="Name",
            sortDirection="Descending",
            _soapheaders=[header],
        )
        assert (page.totalRows, [a.name for a in page.assetArray.items]) == (2, ["zeep-side"])
        tree = service.getFolderTree(companyHandle=acme.company, depth=1, _soapheaders=[header])
        assert tree.folders.path == acme.root
        assert [f.path for f in tree.folders.subfolderArray.items] == [acme.root + "z/"]
        made = service.createFolder(
            companyHandle=acme.company, folderPath="zeep/made", _soapheaders=[header]
        )
        assert made == f"f|{acme.root}zeep/made/"
        rename = functools.partial(
            service.renameAsset,
            companyHandle=acme.company,
            assetHandle=f"a|{hero.id}",
            validateName=True,
            _soapheaders=[header],
        )
        assert rename(newName="zeep-renamed") is None
        with pytest.raises(zeep.exceptions.Fault) as caught:
            rename(newName="zeep-side")
        assert caught.value.message == "ipsApiFault"
        assert caught.value.detail[0].findtext(f"{{{COMMON_NS}}}code") == "30000"


# -- searchAssetsByMetadata, getAssociatedAssets ----------------------------------------------
def test_search_assets_by_metadata_as_the_smart_crop_programs_call_it(acme: Tenant) -> None:
    """file_name Equals + folder_path Contains the folder without its trailing `/` (EAEM)."""
    wanted = acme.add("crop-me", "crops/en/")
    acme.add("crop-me-not", "crops/en/")
    body = (
        f"<companyHandle>{acme.company}</companyHandle><metadataConditionArray>"
        "<items><fieldHandle>file_name</fieldHandle><op>Equals</op><value>crop-me.jpg</value>"
        "</items><items><fieldHandle>folder_path</fieldHandle><op>Contains</op>"
        f"<value>{acme.root}crops/en</value></items></metadataConditionArray>"
    )
    reply = acme.call("searchAssetsByMetadata", body, NS_2010).payload()
    assert [etree.QName(c).localname for c in reply] == ["totalRows", "assetSummaryArray"]
    item = reply[1][0]
    assert [etree.QName(c).localname for c in item] == [
        "assetHandle",
        "type",
        "name",
        "folder",
        "filename",
        "created",
        "createUser",
        "lastModified",
        "lastModifyUser",
        "metadataArray",
    ]
    assert item[0].text == f"a|{wanted.id}"
    assert item[4].text == "crop-me.jpg"
    nothing = acme.call(
        "searchAssetsByMetadata",
        f"<companyHandle>{acme.company}</companyHandle><filters><folder>nowhere</folder></filters>",
    ).payload()
    assert [(etree.QName(c).localname, c.text) for c in nothing] == [
        ("totalRows", "0"),
        ("assetSummaryArray", None),
    ]


def test_get_associated_assets_has_empty_arrays_per_namespace(acme: Tenant) -> None:
    asset = acme.add("lonely")
    body = f"<companyHandle>{acme.company}</companyHandle><assetHandle>a|{asset.id}</assetHandle>"
    newest = acme.call("getAssociatedAssets", body).payload()
    every = list(schema.return_type("getAssociatedAssets")._type_info)
    assert [etree.QName(c).localname for c in newest] == every[: every.index("thumbAsset")]
    assert all(len(c) == 0 for c in newest)
    older = acme.call("getAssociatedAssets", body, NS_2010).payload()
    assert "subAssetArray" not in [etree.QName(c).localname for c in older]
    missing = acme.call("getAssociatedAssets", body.replace(f"a|{asset.id}", "a|987654"))
    assert missing.fault()[:2] == ("ipsApiFault", 30001)


def test_the_eaem_export_walk_over_the_envelope_less_transport(acme: Tenant) -> None:
    """ExportScene7Assets: getFolderTree depth 1, then searchAssets per folder, read with
    non-namespace-aware XPaths from the bare `<op>Return`."""
    acme.add("walked", "banners/")
    namespace = "http://www.scene7.com/IpsApi/xsd/2017-10-29-beta"

    def bare(param: str) -> etree._Element:
        header = (
            f'<authHeader xmlns="{namespace}"><user>{acme.account.email}</user>'
            f"<password>{acme.account.password}</password><appName>eaem</appName>"
            "<appVersion>1</appVersion><faultHttpStatusCode>200</faultHttpStatusCode>"
            "</authHeader>"
        )
        body = f'<Request xmlns="{namespace}">{header}{param}</Request>'
        reply = requests.post(
            acme.site.server.base_url + "/scene7/api/IpsApiService",
            data=body.encode(),
            headers={"Content-Type": "text/xml"},
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
        return etree.fromstring(reply.content)

    tree = bare(
        f"<getFolderTreeParam><companyHandle>{acme.company}</companyHandle><depth>1</depth>"
        "</getFolderTreeParam>"
    )
    assert etree.QName(tree).localname == "getFolderTreeReturn"
    child = tree.xpath("/*/*[local-name()='folders']/*[local-name()='subfolderArray']/*")[0]
    path = child.xpath("*[local-name()='path']")[0].text
    assert path == acme.root + "banners/"
    found = bare(
        f"<searchAssetsParam><companyHandle>{acme.company}</companyHandle><folder>{path}"
        "</folder><includeSubfolders>false</includeSubfolders><assetTypeArray><items>Image"
        "</items><items>Video</items></assetTypeArray></searchAssetsParam>"
    )
    items = found.xpath("/*/*[local-name()='assetArray']/*")
    values = {etree.QName(c).localname: c for c in items[0]}
    assert values["folder"].text + values["fileName"].text == path + "walked.jpg"
    assert values["imageInfo"].xpath("*[local-name()='fileSize']")[0].text == "2643733"


# -- moveFolder, the publish state, the publish history ---------------------------------------
NS_2008 = "http://www.scene7.com/IpsApi/xsd/2008-01-15"
NS_2011 = "http://www.scene7.com/IpsApi/xsd/2011-11-04"
#: The server name publish jobs record (the emulator's host).
HOST = "ips.example.test"
NEW_OPERATIONS = (
    "moveFolder",
    "setAssetPublishState",
    "setAssetsPublishState",
    "getAssetPublishHistory",
)


def wsdl_operations(site: Site, file_name: str) -> set[str]:
    """The operations of a WSDL as the server serves it."""
    served = requests.get(f"{site.server.base_url}/scene7/webservice/{file_name}", timeout=30)
    found = etree.fromstring(served.content).xpath(
        "/wsdl:definitions/wsdl:portType/wsdl:operation/@name",
        namespaces={"wsdl": "http://schemas.xmlsoap.org/wsdl/"},
    )
    return {str(name) for name in found}


@pytest.mark.parametrize(
    ("file_name", "offered"),
    [
        ("IpsApi.wsdl", {"setAssetPublishState"}),
        (
            "IpsApi-2010-01-31.wsdl",
            {"setAssetPublishState", "setAssetsPublishState", "getAssetPublishHistory"},
        ),
        ("IpsApi-2011-11-04.wsdl", set(NEW_OPERATIONS)),
        ("IpsApi-2023-01-15.wsdl", set(NEW_OPERATIONS)),
    ],
)
def test_each_wsdl_offers_the_new_operations_its_version_has(
    site: Site, file_name: str, offered: set[str]
) -> None:
    """setAssetPublishState is legacy (3.8), the batch and the history 4.0 (2008-01-15),
    moveFolder 6.0 (documented with 2011-11-04)."""
    assert wsdl_operations(site, file_name) & set(NEW_OPERATIONS) == offered


def move_folder(who: Tenant, folder: str, into: str, namespace: str = NS) -> Reply:
    body = (
        f"<companyHandle>{who.company}</companyHandle><folderHandle>{folder}</folderHandle>"
        f"<destFolderHandle>{into}</destFolderHandle>"
    )
    return who.call("moveFolder", body, namespace)


def test_move_folder_takes_its_subfolders_and_assets_and_answers_the_new_handle(
    acme: Tenant,
) -> None:
    """The documented example's namespace (2011-11-04): `f|.../MoveTest/` into
    `f|.../DestFolder/` answers `f|.../DestFolder/MoveTest/`."""
    boot = acme.add("boot", "MoveTest/boots/")
    acme.add("anchor", "DestFolder/")
    reply = move_folder(acme, f"f|{acme.root}MoveTest/", f"f|{acme.root}DestFolder/", NS_2011)
    assert reply.status == 200, etree.tostring(reply.root)
    assert reply.payload().tag == f"{{{NS_2011}}}moveFolderReturn"
    assert shape(reply.payload()) == [("folderHandle", [])]
    assert texts(reply.payload(), "{*}folderHandle") == [f"f|{acme.root}DestFolder/MoveTest/"]
    got = acme.call(
        "getAssets",
        f"<companyHandle>{acme.company}</companyHandle><assetHandleArray>"
        f"<items>a|{boot.id}</items></assetHandleArray>",
    ).payload()
    assert texts(got, "i:assetArray/i:items/i:folder") == [acme.root + "DestFolder/MoveTest/boots/"]
    folders = acme.call("getFolders", f"<companyHandle>{acme.company}</companyHandle>").payload()
    assert texts(folders, "i:folderArray/i:items/i:path") == [
        acme.root + p
        for p in ("", "DestFolder/", "DestFolder/MoveTest/", "DestFolder/MoveTest/boots/")
    ]
    # into the folder it is in: nothing moves, the handle is the same
    stay = move_folder(acme, f"f|{acme.root}DestFolder/MoveTest/", f"f|{acme.root}DestFolder/")
    assert texts(stay.payload(), "i:folderHandle") == [f"f|{acme.root}DestFolder/MoveTest/"]
    # the legacy handles are paths; the destination may be a path as clients send them
    back = move_folder(acme, f"{acme.root}DestFolder/MoveTest/", "/", COMMON_NS)
    assert texts(back.payload(), "{*}folderHandle") == [f"{acme.root}MoveTest/"]


@pytest.mark.parametrize(
    ("folder", "into", "element", "code", "reason"),
    [
        ("f|{root}a/", "f|{root}a/b/", "ipsApiFault", 30001, "cannot move into itself"),
        ("f|{root}a/", "f|{root}a/", "ipsApiFault", 30001, "cannot move into itself"),
        (
            "f|{root}a/",
            "f|{root}nowhere/",
            "ipsApiFault",
            30001,
            "Invalid value for 'destFolderHandle': no such folder '{root}nowhere/'",
        ),
        (
            "f|{root}nowhere/",
            "f|{root}z/",
            "ipsApiFault",
            30001,
            "Invalid value for 'folderHandle': no such folder '{root}nowhere/'",
        ),
        ("f|{root}", "f|{root}z/", "ipsApiFault", 30000, "is the company root folder"),
        ("f|{root}z/a/", "f|{root}", "ipsApiFault", 30000, "Folder '{root}a/' already exists."),
        ("f|{root}a/", "j|1|x||", "ipsApiFault", 30001, "destFolderHandle"),
    ],
)
def test_move_folder_refuses_what_it_cannot_do(
    acme: Tenant, folder: str, into: str, element: str, code: int, reason: str
) -> None:
    acme.add("in-b", "a/b/")
    acme.add("in-za", "z/a/")
    reply = move_folder(acme, folder.format(root=acme.root), into.format(root=acme.root))
    got_element, got_code, got_reason = reply.fault()
    assert (got_element, got_code) == (element, code), got_reason
    assert reason.format(root=acme.root) in got_reason
    paths = texts(
        acme.call("getFolders", f"<companyHandle>{acme.company}</companyHandle>").payload(),
        "i:folderArray/i:items/i:path",
    )
    assert paths == [acme.root + p for p in ("", "a/", "a/b/", "z/", "z/a/")]


def publish_state(who: Tenant, handle: str, state: str, namespace: str = NS) -> Reply:
    body = (
        f"<companyHandle>{who.company}</companyHandle><assetHandle>{handle}</assetHandle>"
        f"<publishState>{state}</publishState>"
    )
    return who.call("setAssetPublishState", body, namespace)


def ready(who: Tenant, *assets: Asset) -> list[str]:
    handles = "".join(f"<items>a|{a.id}</items>" for a in assets)
    got = who.call(
        "getAssets",
        f"<companyHandle>{who.company}</companyHandle>"
        f"<assetHandleArray>{handles}</assetHandleArray>",
    ).payload()
    return texts(got, "i:assetArray/i:items/i:readyForPublish")


def test_set_asset_publish_state_as_documented_then_search_by_it(acme: Tenant) -> None:
    """The documented request: legacy namespace, a bare company id, a legacy asset handle,
    NotMarkedForPublish; IPS answers nothing (an empty return)."""
    shirt = acme.add("shirt")
    tie = acme.add("tie")
    body = (
        f"<companyHandle>{acme.account.company_id}</companyHandle>"
        f"<assetHandle>{shirt.id}|1|{shirt.id}</assetHandle>"
        "<publishState>NotMarkedForPublish</publishState>"
    )
    reply = acme.call("setAssetPublishState", body, COMMON_NS)
    assert reply.status == 200, etree.tostring(reply.root)
    assert canonical(reply.payload()) == canonical(
        etree.fromstring(f'<setAssetPublishStateReturn xmlns="{COMMON_NS}"/>')
    )
    assert ready(acme, shirt) == ["false"]
    unmarked = search(acme, "<publishState>NotMarkedForPublish</publishState>")
    assert names(unmarked) == ["shirt"]
    assert names(search(acme, "<publishState>MarkedForPublish</publishState>")) == ["tie"]
    publication = Publication(HOST, "ImageServing", T0)
    acme.site.assets.publish(acme.account.company_id, publication, False)
    assert len(history(acme, f"a|{shirt.id}").payload()[0]) == 0  # a publish passes it by
    assert len(history(acme, f"a|{tie.id}").payload()[0]) == 1
    again = publish_state(acme, f"a|{shirt.id}", "MarkedForPublish")
    assert again.status == 200
    assert ready(acme, shirt) == ["true"]


def test_set_assets_publish_state_reports_each_asset(acme: Tenant) -> None:
    one, two = acme.add("one"), acme.add("two")
    updates = "".join(
        f"<items><assetHandle>{handle}</assetHandle><publishState>{state}</publishState></items>"
        for handle, state in (
            (f"a|{one.id}", "NotMarkedForPublish"),
            ("a|987654", "NotMarkedForPublish"),
            (f"a|{two.id}", "Published"),
            (f"a|{two.id}", "NotMarkedForPublish"),
        )
    )
    reply = acme.call(
        "setAssetsPublishState",
        f"<companyHandle>{acme.company}</companyHandle>"
        f"<publishStateUpdateArray>{updates}</publishStateUpdateArray>",
        NS_2008,
    ).payload()
    assert reply.tag == f"{{{NS_2008}}}setAssetsPublishStateReturn"
    assert [etree.QName(c).localname for c in reply] == [
        "successCount",
        "warningCount",
        "errorCount",
        "errorDetailArray",
    ]
    counts = ("successCount", "warningCount", "errorCount")
    assert [reply.findtext(f"{{{NS_2008}}}{n}") for n in counts] == ["2", "0", "2"]
    faults = [[c.text for c in item] for item in reply.iterfind(f"{{{NS_2008}}}errorDetailArray/*")]
    assert faults == [
        [
            f"a|{two.id}",
            "30001",
            "Invalid value for 'publishState': 'Published' "
            "(accepted: MarkedForPublish, NotMarkedForPublish)",
        ],
        ["a|987654", "30001", "Invalid value for 'assetHandle': no such asset 'a|987654'"],
    ]
    assert ready(acme, one, two) == ["false", "false"]
    clean = acme.call(
        "setAssetsPublishState",
        f"<companyHandle>{acme.company}</companyHandle><publishStateUpdateArray><items>"
        f"<assetHandle>a|{one.id}</assetHandle><publishState>MarkedForPublish</publishState>"
        "</items></publishStateUpdateArray>",
    ).payload()
    assert [(etree.QName(c).localname, c.text) for c in clean] == [
        ("successCount", "1"),
        ("warningCount", "0"),
        ("errorCount", "0"),
    ]


def history(who: Tenant, handle: str, namespace: str = NS) -> Reply:
    body = f"<companyHandle>{who.company}</companyHandle><assetHandle>{handle}</assetHandle>"
    return who.call("getAssetPublishHistory", body, namespace)


def test_get_asset_publish_history_is_empty_until_a_publish(acme: Tenant) -> None:
    """Never published: `<pubHistoryArray/>`, the documented answer (2008-01-15); then the
    last publish per server and context, the newest first."""
    poster = acme.add("poster")
    never = history(acme, f"a|{poster.id}", NS_2008)
    assert never.status == 200, etree.tostring(never.root)
    assert canonical(never.payload()) == canonical(
        etree.fromstring(
            f'<getAssetPublishHistoryReturn xmlns="{NS_2008}"><pubHistoryArray/>'
            "</getAssetPublishHistoryReturn>"
        )
    )
    company = acme.account.company_id
    for context, format_, hours in (
        ("ImageServing", "Full", 1),
        ("ImageRendering", None, 2),
        ("ImageServing", "Incremental", 3),
    ):
        publication = Publication(HOST, context, T0 + timedelta(hours=hours), format_)
        acme.site.assets.publish(company, publication, False)
    reply = history(acme, f"a|{poster.id}").payload()
    items = reply.findall("i:pubHistoryArray/i:items", {"i": NS})
    assert [[(etree.QName(c).localname, c.text) for c in item] for item in items] == [
        [
            ("serverName", HOST),
            ("contextName", "ImageServing"),
            ("publishFormat", "Incremental"),
            ("lastPublished", "2024-03-01T20:04:40.177Z"),
        ],
        [
            ("serverName", HOST),
            ("contextName", "ImageRendering"),
            ("lastPublished", "2024-03-01T19:04:40.177Z"),
        ],
    ]


def test_the_new_operations_see_no_other_company(site: Site, acme: Tenant) -> None:
    """Another company's asset and folder handles behave as unknown ones."""
    secret = acme.add("secret", "private/")
    other = tenant(site)
    other.add("mine", "mine/")
    no_asset = f"Invalid value for 'assetHandle': no such asset 'a|{secret.id}'"
    assert publish_state(other, f"a|{secret.id}", "NotMarkedForPublish").fault() == (
        "ipsApiFault",
        30001,
        no_asset,
    )
    assert history(other, f"a|{secret.id}").fault() == ("ipsApiFault", 30001, no_asset)
    batch = other.call(
        "setAssetsPublishState",
        f"<companyHandle>{other.company}</companyHandle><publishStateUpdateArray><items>"
        f"<assetHandle>a|{secret.id}</assetHandle><publishState>NotMarkedForPublish"
        "</publishState></items></publishStateUpdateArray>",
    ).payload()
    assert texts(batch, "i:errorDetailArray/i:items/i:reason") == [no_asset]
    assert move_folder(other, f"f|{acme.root}private/", f"f|{other.root}mine/").fault()[:2] == (
        "ipsApiFault",
        30001,
    )
    assert move_folder(other, f"f|{other.root}mine/", f"f|{acme.root}private/").fault()[:2] == (
        "ipsApiFault",
        30001,
    )
    foreign = other.call(
        "getAssetPublishHistory",
        f"<companyHandle>{acme.company}</companyHandle><assetHandle>a|{secret.id}</assetHandle>",
    )
    assert foreign.fault()[:2] == ("authorizationFault", 20006)
    assert ready(acme, secret) == ["true"]
    assert names(search(acme, folder="private", sub=False)) == ["secret"]


def test_the_new_operations_follow_the_documented_roles(site: Site) -> None:
    """setAssetPublishState leaves out ImagePortalAdmin, its batch form lists it; moveFolder
    leaves out the trial roles, getAssetPublishHistory lists them."""
    portal = tenant(site, "ImagePortalAdmin")
    image = portal.add("portal-image")
    single = publish_state(portal, f"a|{image.id}", "NotMarkedForPublish")
    assert single.fault()[:2] == ("authorizationFault", 20003)
    many = portal.call(
        "setAssetsPublishState",
        f"<companyHandle>{portal.company}</companyHandle><publishStateUpdateArray><items>"
        f"<assetHandle>a|{image.id}</assetHandle><publishState>NotMarkedForPublish"
        "</publishState></items></publishStateUpdateArray>",
    )
    assert texts(many.payload(), "i:successCount") == ["1"]
    trial = tenant(site, "TrialSiteUser")
    trial.add("trial-image", "a/")
    trial.add("trial-other", "b/")
    refused = move_folder(trial, f"f|{trial.root}a/", f"f|{trial.root}b/")
    assert refused.fault()[:2] == ("authorizationFault", 20003)
    assert history(trial, f"a|{image.id}").fault()[:2] == ("ipsApiFault", 30001)


def test_a_zeep_client_moves_a_folder_and_sets_and_reads_the_publish_state(
    acme: Tenant,
) -> None:
    """A client built from the 2012-02-14 WSDL (6.0, the first release version with every one
    of the four)."""
    flyer = acme.add("zeep-flyer", "drafts/")
    acme.add("zeep-keep", "final/")
    with zeep_client(acme, "2012-02-14") as (service, header):
        moved = service.moveFolder(
            companyHandle=acme.company,
            folderHandle=f"f|{acme.root}drafts/",
            destFolderHandle=f"f|{acme.root}final/",
            _soapheaders=[header],
        )
        assert moved == f"f|{acme.root}final/drafts/"
        result = service.setAssetsPublishState(
            companyHandle=acme.company,
            publishStateUpdateArray={
                "items": [
                    {"assetHandle": f"a|{flyer.id}", "publishState": "NotMarkedForPublish"},
                    {"assetHandle": "a|987654", "publishState": "MarkedForPublish"},
                ]
            },
            _soapheaders=[header],
        )
        assert (result.successCount, result.warningCount, result.errorCount) == (1, 0, 1)
        assert result.warningDetailArray is None
        assert [f.code for f in result.errorDetailArray.items] == [30001]
        assert ready(acme, flyer) == ["false"]
        single = functools.partial(
            service.setAssetPublishState,
            companyHandle=acme.company,
            assetHandle=f"a|{flyer.id}",
            _soapheaders=[header],
        )
        assert single(publishState="MarkedForPublish") is None
        assert ready(acme, flyer) == ["true"]
        with pytest.raises(zeep.exceptions.Fault) as caught:
            single(publishState="Published")
        assert caught.value.message == "ipsApiFault"
        assert caught.value.detail[0].findtext(f"{{{COMMON_NS}}}code") == "30001"
        acme.site.assets.publish(
            acme.account.company_id, Publication(HOST, "ImageServing", T0), False
        )
        published = service.getAssetPublishHistory(
            companyHandle=acme.company, assetHandle=f"a|{flyer.id}", _soapheaders=[header]
        )
        entry = published[0]  # zeep unwraps a return of one element: the items
        assert (entry.serverName, entry.contextName, entry.publishFormat) == (
            HOST,
            "ImageServing",
            None,
        )
        assert entry.lastPublished == T0
