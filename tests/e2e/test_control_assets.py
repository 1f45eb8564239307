"""Assets through the control plane, over real HTTP against a real `ips-jobs serve`: seeding
folders and assets (inline bytes or a file on the server machine) into the same file store the
uploads use, the stored file at /_ips/assets/{id}/file, a reset emptying that store, and the
dashboard's thumbnails."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import NS, Account, Server, caller, start_server, stop_server
from lxml import etree
from PIL import Image

PASSWORD = "s3cret"
ACCOUNTS = {
    "companies": [{"name": "Acme", "id": 47}],
    "users": [{"email": "dev@acme.test", "password": PASSWORD, "companies": ["Acme"]}],
}


def png(width: int, height: int) -> bytes:
    """A real PNG of that size, as a client would upload it."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 30, 200)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """A server of this module's own, and its file store (beside its SQLite file)."""
    folder = tmp_path_factory.mktemp("control-assets")
    (folder / "server-dir").mkdir()
    running = start_server(
        f"sqlite:///{folder / 'ips.db'}",
        folder / "server.log",
        IPS_SERVER_DIRECTORY=str(folder / "server-dir"),
    )
    yield running, folder / "ips.db.files"
    stop_server(running)


@pytest.fixture
def local(served: tuple[Server, Path]) -> Path:
    """A local file a seed sent over HTTP may name: inside the server directory."""
    return served[1].parent / "server-dir" / "banner.jpg"


@pytest.fixture
def server(served: tuple[Server, Path]) -> Server:
    """The server, reset to nothing but the Acme account."""
    running = served[0]
    ok(running, "POST", "/reset", {"accounts": True})
    ok(running, "POST", "/seed", ACCOUNTS)
    return running


@pytest.fixture
def store(served: tuple[Server, Path]) -> Path:
    return served[1]


def control(server: Server, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{server.base_url}/_ips{path}", json=body, timeout=30)


def ok(server: Server, method: str, path: str, body: Any = None) -> Any:
    response = control(server, method, path, body)
    assert response.status_code == 200, response.text
    return response.json()


def stored_files(store: Path) -> list[Path]:
    """The files in the store's key folders."""
    return sorted(p for p in store.glob("??/*") if p.is_file())


def seed_assets(server: Server, local: Path) -> dict[str, Any]:
    local.write_bytes(jpeg(120, 80))
    document = {
        "folders": [{"company": "Acme", "path": "empty/one"}],
        "assets": [
            {
                "company": "Acme",
                "name": "boot",
                "folder": "shoes",
                "fileName": "boot.png",
                "bytes_base64": base64.b64encode(png(64, 48)).decode(),
                "readyForPublish": True,
                "keywords": ["red", "leather"],
            },
            {"company": "c|47", "name": "banner", "file": str(local)},
        ],
    }
    return ok(server, "POST", "/seed", document)


def by_name(server: Server, *names: str) -> list[dict[str, str]]:
    """getAssetsByName as the seeded user: each asset's fields and imageInfo's, as text."""
    call = caller(server, Account(47, "Acme", 1, "dev@acme.test", PASSWORD))
    items = "".join(f"<items>{n}</items>" for n in names)
    reply = call(
        "getAssetsByName", f"<companyHandle>c|47</companyHandle><nameArray>{items}</nameArray>"
    )
    assert reply.status == 200, etree.tostring(reply.root)
    found = []
    for item in reply.payload().iterfind("i:assetArray/i:items", {"i": NS}):
        fields = {child.tag.split("}")[1]: child.text or "" for child in item}
        info = item.find(f"{{{NS}}}imageInfo")
        assert info is not None
        fields.update({child.tag.split("}")[1]: child.text or "" for child in info})
        found.append(fields)
    return found


# -- seeding ------------------------------------------------------------------------------------
def test_seed_makes_folders_and_assets_with_the_facts_of_their_files(
    server: Server, store: Path, local: Path
) -> None:
    seeded = seed_assets(server, local)
    assert seeded["created"]["folders"] == ["f|Acme/empty/one/"]
    boot, banner = seeded["created"]["assets"]
    assert seeded["existing"]["assets"] == []

    [listed] = ok(server, "GET", "/assets?company=c%7C47")
    assert listed["folders"] == ["Acme/", "Acme/empty/", "Acme/empty/one/", "Acme/shoes/"]
    assets = {a["name"]: a for a in listed["assets"]}
    assert assets["boot"]["handle"] == boot and assets["banner"]["handle"] == banner
    assert (assets["boot"]["width"], assets["boot"]["height"]) == (64, 48)
    assert assets["boot"]["file_size"] == len(png(64, 48))
    assert (assets["boot"]["folder"], assets["boot"]["file_name"]) == ("Acme/shoes/", "boot.png")
    assert assets["boot"]["ready_for_publish"] is True
    assert sorted(assets["boot"]["keywords"]) == ["leather", "red"]
    # a local file: its name is the file name, its extension the type, the root its folder
    assert (assets["banner"]["width"], assets["banner"]["height"]) == (120, 80)
    assert (assets["banner"]["folder"], assets["banner"]["file_name"]) == ("Acme/", "banner.jpg")
    assert assets["banner"]["file_size"] == (local).stat().st_size
    assert len(stored_files(store)) == 2

    # SOAP clients see the same facts
    soap = {a["name"]: a for a in by_name(server, "boot", "banner")}
    assert soap["boot"]["assetHandle"] == boot and soap["boot"]["type"] == "Image"
    assert (soap["boot"]["width"], soap["boot"]["height"]) == ("64", "48")
    assert soap["boot"]["fileSize"] == str(len(png(64, 48)))
    assert (soap["banner"]["width"], soap["banner"]["height"]) == ("120", "80")


def test_seeding_twice_keeps_the_handles_and_a_changed_file_updates_the_asset(
    server: Server, store: Path, local: Path
) -> None:
    first = seed_assets(server, local)
    second = seed_assets(server, local)
    assert second["created"] == {s: [] for s in first["created"]}
    assert second["existing"]["folders"] == first["created"]["folders"]
    assert second["existing"]["assets"] == first["created"]["assets"]
    assert len(stored_files(store)) == 2

    boot = first["created"]["assets"][0]
    changed = {
        "assets": [
            {
                "company": "Acme",
                "name": "boot",
                "folder": "shoes",
                "fileName": "boot.png",
                "bytes_base64": base64.b64encode(png(32, 16)).decode(),
            }
        ]
    }
    third = ok(server, "POST", "/seed", changed)
    assert third["existing"]["assets"] == [boot]
    [now] = by_name(server, "boot")
    assert (now["assetHandle"], now["width"], now["height"]) == (boot, "32", "16")


def test_the_stored_file_is_served_by_its_asset_id(server: Server, local: Path) -> None:
    boot, banner = seed_assets(server, local)["created"]["assets"]
    response = control(server, "GET", f"/assets/{boot[2:]}/file")
    assert response.status_code == 200
    assert response.content == png(64, 48)
    assert response.headers["Content-Type"] == "image/png"
    assert 'filename="boot.png"' in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    jpg = control(server, "GET", f"/assets/{banner[2:]}/file")
    assert jpg.headers["Content-Type"] == "image/jpeg"
    assert jpg.content == (local).read_bytes()

    missing = control(server, "GET", "/assets/999999/file")
    assert missing.status_code == 404
    assert missing.json() == {"error": "no asset a|999999"}


def test_reset_deletes_the_stored_files(server: Server, store: Path, local: Path) -> None:
    boot = seed_assets(server, local)["created"]["assets"][0]
    assert stored_files(store)
    ok(server, "POST", "/reset")
    assert stored_files(store) == []
    assert control(server, "GET", f"/assets/{boot[2:]}/file").status_code == 404
    assert "2 stored file(s) deleted" in server.log()


@pytest.mark.parametrize(
    ("asset", "field"),
    [
        ({"company": "Acme", "name": "x", "file": "/nowhere/x.png"}, "assets[0].file"),
        (
            {"company": "Acme", "name": "x", "fileName": "x.png", "bytes_base64": "not base64!"},
            "assets[0].bytes_base64",
        ),
        (
            {"company": "Nowhere", "name": "x", "fileName": "x.png", "bytes_base64": "AAAA"},
            "assets[0].company",
        ),
        (
            {"company": "c|999", "name": "x", "fileName": "x.png", "bytes_base64": "AAAA"},
            "assets[0].company",
        ),
        (
            {"company": "Acme", "name": "x", "fileName": "x.png", "bytes_base64": "AAAA"},
            "assets[0].bytes_base64",  # not an image that can be read
        ),
        ({"company": "Acme", "name": "x", "bytes_base64": "AAAA"}, "assets[0].fileName"),
        (
            {"company": "Acme", "name": "x", "fileName": "x.png", "readyForPublish": "true"},
            "assets[0].readyForPublish",
        ),
        ({"company": "Acme", "name": "x", "fileName": "x.png"}, "assets[0].file"),
    ],
)
def test_bad_asset_entries_are_a_400_naming_the_field_and_keep_nothing(
    server: Server, store: Path, asset: dict[str, Any], field: str
) -> None:
    before = stored_files(store)
    response = control(server, "POST", "/seed", {"assets": [asset]})
    assert response.status_code == 400, response.text
    assert f"'{field}'" in response.json()["error"]
    assert stored_files(store) == before
    assert ok(server, "GET", "/health")["database"]["rows"]["assets"] == 0


def test_a_seed_over_http_reads_no_file_outside_the_server_directory(
    server: Server, store: Path
) -> None:
    """Anyone who reaches the control plane may send a seed: it must not make the server's
    own files assets (and then downloads)."""
    for outside in ("/proc/self/environ", "../ips.db", "/etc/hostname"):
        entry = {"company": "Acme", "name": "x", "fileName": "x.pdf", "type": "Pdf"}
        response = control(server, "POST", "/seed", {"assets": [{**entry, "file": outside}]})
        assert response.status_code == 400, response.text
        assert "IPS_SERVER_DIRECTORY" in response.json()["error"]
    assert stored_files(store) == []


def test_a_file_is_served_byte_for_byte_whatever_it_holds(server: Server) -> None:
    """The header-spelling of the HTTP layer touches response heads only, never a body that
    happens to look like one."""
    body = b"HTTP/1.1 200 OK\r\nx-amz-id: 1\r\n\r\nsaved response"
    entry = {"company": "Acme", "name": "saved", "fileName": "saved.pdf", "type": "Pdf"}
    entry["bytes_base64"] = base64.b64encode(body).decode()
    [handle] = ok(server, "POST", "/seed", {"assets": [entry]})["created"]["assets"]
    served = control(server, "GET", f"/assets/{handle[2:]}/file")
    assert served.status_code == 200 and served.content == body


def test_bad_folder_entries_name_the_field(server: Server) -> None:
    response = control(server, "POST", "/seed", {"folders": [{"company": "Acme"}]})
    assert response.status_code == 400
    assert "'folders[0].path'" in response.json()["error"]


# -- the dashboard ------------------------------------------------------------------------------
def test_the_dashboard_shows_thumbnails_of_image_assets_with_a_file(
    server: Server, local: Path
) -> None:
    boot, banner = seed_assets(server, local)["created"]["assets"]
    page = requests.get(f"{server.base_url}/_ips/", timeout=30).text
    section = requests.get(f"{server.base_url}/_ips/state", timeout=30).json()["sections"]
    for html in (page, section["assets"]):
        for handle in (boot, banner):
            assert f'<img src="/_ips/assets/{handle[2:]}/file" alt="" loading="lazy">' in html
    assert "td.thumb img" in page and "max-width" in page


def test_the_file_needs_the_token_when_one_is_set(tmp_path: Path) -> None:
    """Unlike an export download, the thumbnail is the dashboard's: no token, no file."""
    running = start_server(
        f"sqlite:///{tmp_path / 'ips.db'}", tmp_path / "server.log", IPS_CONTROL_TOKEN="t0ken"
    )
    try:
        bearer = {"Authorization": "Bearer t0ken"}
        base = f"{running.base_url}/_ips"
        document = {
            "assets": [
                {
                    "company": "c|1",
                    "name": "dot",
                    "fileName": "dot.png",
                    "bytes_base64": base64.b64encode(png(2, 2)).decode(),
                }
            ]
        }
        seeded = requests.post(f"{base}/seed", json=document, headers=bearer, timeout=30)
        assert seeded.status_code == 200, seeded.text
        url = f"{base}/assets/{seeded.json()['created']['assets'][0][2:]}/file"
        assert requests.get(url, timeout=30).status_code == 401
        assert requests.get(url, headers=bearer, timeout=30).content == png(2, 2)
    finally:
        stop_server(running)
