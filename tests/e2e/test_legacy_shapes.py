"""Old clients send what their version's WSDL had: the old PhotoshopOptions
(maintainLayers, layerNaming, anchor) up to 2009-07-31, uploadDirectoryJob/videoEncodingPreset
from 2008-09-10. They are accepted there, stored, and read back in the shape sent; namespaces
that never had them still refuse them. And getCompanyInfo answers `expires` as the captured
real answer does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from conftest import (
    COMMON_NS,
    SHARED,
    Account,
    Reply,
    Server,
    auth_header,
    envelope,
    make_account,
    post,
    seed_run,
    start_server,
    stop_server,
)
from lxml import etree

from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository

LATER = "2099-01-01T00:00:00.000Z"
START = datetime.fromisoformat("2024-03-05T10:00:00+00:00")
OLD_PHOTOSHOP = [("maintainLayers", "true"), ("layerNaming", "AppendName"), ("anchor", "North")]


def ns(version: str | None) -> str:
    return COMMON_NS if version is None else f"{COMMON_NS}/{version}"


def call(server: Server, account: Account, operation: str, namespace: str, inner: str) -> Reply:
    body = f'<{operation}Param xmlns="{namespace}">{inner}</{operation}Param>'
    return post(server.service_url, envelope(body, auth_header(account.email, account.password)))


def answer(reply: Reply, operation: str, namespace: str) -> etree._Element:
    assert reply.status == 200, etree.tostring(reply.root)
    payload = reply.payload()
    assert payload.tag == f"{{{namespace}}}{operation}Return"
    return payload


def company(account: Account, namespace: str) -> str:
    return str(account.company_id) if namespace == COMMON_NS else account.company_handle


def elements(*pairs: tuple[str, str]) -> str:
    return "".join(f"<{name}>{value}</{name}>" for name, value in pairs)


def upload_urls(photoshop: str) -> str:
    return (
        "<uploadUrlsJob><urlArray><items><sourceUrl>https://images.example.test/a.psd</sourceUrl>"
        "<destPath>shoes/a.psd</destPath></items></urlArray><overwrite>true</overwrite>"
        "<readyForPublish>true</readyForPublish><createMask>false</createMask>"
        f"{photoshop}<emailSetting>None</emailSetting></uploadUrlsJob>"
    )


def upload_directory(extra_first: str = "", extra_after_metadata: str = "", tail: str = "") -> str:
    return (
        f"<uploadDirectoryJob>{extra_first}<destFolder>shoes/</destFolder>"
        "<serverDir>/incoming</serverDir><overwrite>true</overwrite>"
        "<readyForPublish>false</readyForPublish><includeSubfolders>true</includeSubfolders>"
        "<createMask>false</createMask><processMetadataFiles>false</processMetadataFiles>"
        f"{extra_after_metadata}<preserveCrop>true</preserveCrop>{tail}"
        "<emailSetting>None</emailSetting></uploadDirectoryJob>"
    )


def submit(server: Server, account: Account, namespace: str, name: str, job: str) -> Reply:
    return call(
        server,
        account,
        "submitJob",
        namespace,
        f"<companyHandle>{company(account, namespace)}</companyHandle>"
        f"<jobName>{name}</jobName><execTime>{LATER}</execTime>{job}",
    )


def submitted(server: Server, account: Account, namespace: str, name: str, job: str) -> str:
    reply = submit(server, account, namespace, name, job)
    handle = answer(reply, "submitJob", namespace).findtext(f"{{{namespace}}}jobHandle")
    assert handle
    return handle


def scheduled_detail(
    server: Server, account: Account, namespace: str, name: str, kind: str
) -> etree._Element:
    """The job's detail element, as getScheduledJobs in `namespace` answers it."""
    reply = call(
        server,
        account,
        "getScheduledJobs",
        namespace,
        f"<companyHandle>{company(account, namespace)}</companyHandle>",
    )
    items = answer(reply, "getScheduledJobs", namespace).iter(f"{{{namespace}}}items")
    [item] = [i for i in items if i.findtext(f"{{{namespace}}}name") == name]
    detail = item.find(f"{{{namespace}}}{kind}")
    assert detail is not None
    return detail


def active_detail(
    server: Server,
    account: Account,
    repository: SqlJobRepository,
    namespace: str,
    name: str,
    kind: str,
) -> etree._Element:
    """Fires the stored job as the engine does (its stored detail, as is) and returns the
    run's detail element as getActiveJobs in `namespace` answers it."""
    job = repository.scheduled_job(account.company_id, name)
    assert job is not None
    seed_run(repository, account, name, START, kind=job.kind, detail=job.detail)
    reply = call(
        server,
        account,
        "getActiveJobs",
        namespace,
        f"<companyHandle>{company(account, namespace)}</companyHandle>",
    )
    items = answer(reply, "getActiveJobs", namespace).iter(f"{{{namespace}}}items")
    [item] = [i for i in items if i.findtext(f"{{{namespace}}}originalName") == name]
    detail = item.find(f"{{{namespace}}}{kind}")
    assert detail is not None
    return detail


def children(element: etree._Element | None) -> list[tuple[str, str]]:
    assert element is not None
    return [(etree.QName(c).localname, c.text or "") for c in element]


def names(element: etree._Element) -> list[str]:
    return [etree.QName(c).localname for c in element]


def fault(reply: Reply) -> tuple[int, str]:
    assert reply.status == 500, etree.tostring(reply.root)
    element, code, reason = reply.fault()
    assert element == "ipsApiFault"
    return code, reason


# -- the old PhotoshopOptions -------------------------------------------------------------------
OLD_PHOTOSHOP_VERSIONS = [None, "2008-01-15", "2008-09-10", "2009-07-31"]


@pytest.mark.parametrize("version", OLD_PHOTOSHOP_VERSIONS, ids=lambda v: v or "unversioned")
def test_old_photoshop_options_come_back_as_sent_in_their_namespace(
    server: Server, account: Account, server_repository: SqlJobRepository, version: str | None
) -> None:
    namespace = ns(version)
    photoshop = f"<photoshopOptions>{elements(*OLD_PHOTOSHOP)}</photoshopOptions>"
    submitted(server, account, namespace, "Layered", upload_urls(photoshop))

    for detail in (
        scheduled_detail(server, account, namespace, "Layered", "uploadUrlsJob"),
        active_detail(server, account, server_repository, namespace, "Layered", "uploadUrlsJob"),
    ):
        assert children(detail.find(f"{{{namespace}}}photoshopOptions")) == OLD_PHOTOSHOP
        # In its place among the job's elements, as the schema orders them.
        order = names(detail)
        assert order.index("createMask") < order.index("photoshopOptions")
        assert order.index("photoshopOptions") < order.index("postScriptOptions")


def test_old_photoshop_options_of_an_upload_directory_job_with_false_and_number_forms(
    server: Server, account: Account
) -> None:
    namespace = ns("2009-07-31")
    sent = [("maintainLayers", "0"), ("layerNaming", "LayerName"), ("anchor", "Southwest")]
    photoshop = f"<photoshopOptions>{elements(*sent)}</photoshopOptions>"
    submitted(server, account, namespace, "Folders", upload_directory(tail=photoshop))
    detail = scheduled_detail(server, account, namespace, "Folders", "uploadDirectoryJob")
    assert children(detail.find(f"{{{namespace}}}photoshopOptions")) == [
        ("maintainLayers", "false"),
        ("layerNaming", "LayerName"),
        ("anchor", "Southwest"),
    ]


@pytest.mark.parametrize("version", ["2010-01-31", "2014-04-03", "2022-11-01-beta"])
def test_newer_namespaces_show_an_old_photoshop_options_in_their_own_shape(
    server: Server, account: Account, version: str
) -> None:
    """maintainLayers true is process MaintainLayers; layerNaming and anchor sit in
    layerOptions: what a client of the newer WSDL parses."""
    submitted(
        server,
        account,
        COMMON_NS,
        "Layered",
        upload_urls(f"<photoshopOptions>{elements(*OLD_PHOTOSHOP)}</photoshopOptions>"),
    )
    namespace = ns(version)
    detail = scheduled_detail(server, account, namespace, "Layered", "uploadUrlsJob")
    photoshop = detail.find(f"{{{namespace}}}photoshopOptions")
    assert children(photoshop)[0] == ("process", "MaintainLayers")
    assert photoshop is not None
    layers = photoshop.find(f"{{{namespace}}}layerOptions")
    if version == "2010-01-31":  # layerOptions: known from 6.0 on, unknown in 4.5
        assert layers is None
        return
    assert children(layers) == [("layerNaming", "AppendName"), ("anchor", "North")]


@pytest.mark.parametrize("version", ["2008-01-15", "2008-09-10"])
def test_the_newer_photoshop_options_are_taken_and_shown_in_the_old_shape_in_old_namespaces(
    server: Server, account: Account, version: str
) -> None:
    """A job sent with the newer shape (in any namespace) is shown to an old namespace's
    strict stubs in their shape; without layerNaming and anchor, which the old shape
    requires and no source gives defaults for, photoshopOptions is left out."""
    namespace = ns(version)
    photoshop = (
        "<photoshopOptions><process>MaintainLayers</process><layerOptions>"
        "<layerNaming>Folders</layerNaming><anchor>Center</anchor></layerOptions>"
        "</photoshopOptions>"
    )
    submitted(server, account, namespace, "Newer", upload_urls(photoshop))
    detail = scheduled_detail(server, account, namespace, "Newer", "uploadUrlsJob")
    assert children(detail.find(f"{{{namespace}}}photoshopOptions")) == [
        ("maintainLayers", "true"),
        ("layerNaming", "Folders"),
        ("anchor", "Center"),
    ]
    bare = "<photoshopOptions><process>None</process></photoshopOptions>"
    submitted(server, account, namespace, "Bare", upload_urls(bare))
    detail = scheduled_detail(server, account, namespace, "Bare", "uploadUrlsJob")
    assert detail.find(f"{{{namespace}}}photoshopOptions") is None


def test_the_newer_photoshop_options_are_refused_in_the_unversioned_namespace(
    server: Server, account: Account
) -> None:
    """Its types are known exactly: its PhotoshopOptions has no process (IPS's Axis2 parser
    of that version refuses it too)."""
    photoshop = "<photoshopOptions><process>None</process></photoshopOptions>"
    reply = submit(server, account, COMMON_NS, "Newer", upload_urls(photoshop))
    got, reason = fault(reply)
    assert got == 30003
    assert "Unknown element 'process'" in reason


@pytest.mark.parametrize("version", ["2010-01-31", "2014-04-03", "2022-11-01-beta", "2023-01-15"])
def test_old_photoshop_options_are_refused_where_the_version_never_had_them(
    server: Server, account: Account, version: str
) -> None:
    photoshop = f"<photoshopOptions>{elements(*OLD_PHOTOSHOP)}</photoshopOptions>"
    reply = submit(server, account, ns(version), "Layered", upload_urls(photoshop))
    code, reason = fault(reply)
    assert code == 30003
    assert "maintainLayers" in reason


@pytest.mark.parametrize(
    ("sent", "code", "field"),
    [
        pytest.param(
            [("maintainLayers", "true"), ("layerNaming", "AppendName")],
            30002,
            "anchor",
            id="anchor-missing",
        ),
        pytest.param(
            [("maintainLayers", "yes"), ("layerNaming", "AppendName"), ("anchor", "North")],
            30001,
            "maintainLayers",
            id="not-a-boolean",
        ),
        pytest.param(
            [("maintainLayers", "true"), ("anchor", "North"), ("layerNaming", "AppendName")],
            30003,
            "layerNaming",
            id="out-of-order",
        ),
        pytest.param(
            [("process", "None"), ("maintainLayers", "true")], 30003, "process", id="mixed-shapes"
        ),
    ],
)
def test_old_photoshop_options_are_checked_like_every_other_element(
    server: Server, account: Account, sent: list[tuple[str, str]], code: int, field: str
) -> None:
    photoshop = f"<photoshopOptions>{elements(*sent)}</photoshopOptions>"
    reply = submit(server, account, COMMON_NS, "Broken", upload_urls(photoshop))
    got, reason = fault(reply)
    assert got == code
    assert field in reason


# -- uploadDirectoryJob/videoEncodingPreset ----------------------------------------------------
PRESET = "Adaptive Video Encoding 720p"


@pytest.mark.parametrize(
    ("first", "after_metadata"),
    [
        pytest.param("", f"<videoEncodingPreset>{PRESET}</videoEncodingPreset>"),
        pytest.param(f"<videoEncodingPreset>{PRESET}</videoEncodingPreset>", ""),
    ],
    ids=["after-processMetadataFiles", "first"],
)
def test_video_encoding_preset_comes_back_after_preserve_crop_in_2008_09_10(
    server: Server,
    account: Account,
    server_repository: SqlJobRepository,
    first: str,
    after_metadata: str,
) -> None:
    """Taken wherever it is sent (its place is not documented), shown where the 2008-09-10
    WSDL served here declares it: after preserveCrop, which 4.2 added with it."""
    namespace = ns("2008-09-10")
    submitted(server, account, namespace, "Videos", upload_directory(first, after_metadata))
    for detail in (
        scheduled_detail(server, account, namespace, "Videos", "uploadDirectoryJob"),
        active_detail(
            server, account, server_repository, namespace, "Videos", "uploadDirectoryJob"
        ),
    ):
        order = names(detail)
        assert order.count("videoEncodingPreset") == 1
        at = order.index("videoEncodingPreset")
        assert order[at - 1] == "preserveCrop"
        assert detail[at].text == PRESET


@pytest.mark.parametrize("version", ["2009-07-31", "2014-04-03"])
def test_video_encoding_preset_is_taken_but_not_shown_where_its_presence_is_unknown(
    server: Server, account: Account, version: str
) -> None:
    namespace = ns(version)
    preset = f"<videoEncodingPreset>{PRESET}</videoEncodingPreset>"
    submitted(server, account, namespace, "Videos", upload_directory(extra_after_metadata=preset))
    detail = scheduled_detail(server, account, namespace, "Videos", "uploadDirectoryJob")
    assert "videoEncodingPreset" not in names(detail)


def test_video_encoding_preset_is_not_shown_in_newer_namespaces(
    server: Server, account: Account
) -> None:
    preset = f"<videoEncodingPreset>{PRESET}</videoEncodingPreset>"
    submitted(
        server,
        account,
        ns("2008-09-10"),
        "Videos",
        upload_directory(extra_after_metadata=preset),
    )
    namespace = ns("2022-11-01-beta")
    detail = scheduled_detail(server, account, namespace, "Videos", "uploadDirectoryJob")
    assert "videoEncodingPreset" not in names(detail)
    assert detail.findtext(f"{{{namespace}}}serverDir") == "/incoming"


@pytest.mark.parametrize(
    "version", [None, "2016-01-14-beta", "2022-11-01-beta", "2023-01-15"], ids=str
)
def test_video_encoding_preset_is_refused_where_the_version_never_had_it(
    server: Server, account: Account, version: str | None
) -> None:
    preset = f"<videoEncodingPreset>{PRESET}</videoEncodingPreset>"
    reply = submit(
        server, account, ns(version), "Videos", upload_directory(extra_after_metadata=preset)
    )
    code, reason = fault(reply)
    assert code == 30003
    assert "videoEncodingPreset" in reason


def test_video_encoding_preset_twice_is_refused(server: Server, account: Account) -> None:
    preset = f"<videoEncodingPreset>{PRESET}</videoEncodingPreset>"
    reply = submit(server, account, ns("2008-09-10"), "Videos", upload_directory(preset, preset))
    code, reason = fault(reply)
    assert code == 30003
    assert "videoEncodingPreset" in reason


# -- getCompanyInfo/expires ---------------------------------------------------------------------
SAMPLE = SHARED / "samples" / "jdart-getCompanyInfo-response-rootPath.xml"
SAMPLE_NS = ns("2010-01-31")
#: What the captured answer (SAMPLE) holds; test_the_captured_answer_holds_these checks it.
CAPTURED_NAMES = ["companyHandle", "name", "rootPath", "expires"]
CAPTURED_EXPIRES = "2100-12-31T23:00:00.000-06:00"


def company_info(server: Server, account: Account, namespace: str) -> etree._Element:
    reply = call(
        server,
        account,
        "getCompanyInfo",
        namespace,
        f"<companyHandle>{company(account, namespace)}</companyHandle>",
    )
    found = answer(reply, "getCompanyInfo", namespace).find(f"{{{namespace}}}companyInfo")
    assert found is not None
    return found


@pytest.mark.skipif(
    not SAMPLE.is_file(), reason=f"{SAMPLE} is missing (a clone without shared/ beside it)"
)
def test_the_captured_answer_holds_these() -> None:
    captured = etree.parse(str(SAMPLE)).find(f".//{{{SAMPLE_NS}}}companyInfo")
    assert captured is not None
    assert names(captured) == CAPTURED_NAMES
    assert captured.findtext(f"{{{SAMPLE_NS}}}expires") == CAPTURED_EXPIRES


@pytest.mark.parametrize("version", [None, "2010-01-31", "2022-11-01-beta"], ids=str)
def test_company_info_has_the_captured_elements_and_expiry_instant(
    server: Server, account: Account, version: str | None
) -> None:
    info = company_info(server, account, ns(version))
    assert names(info) == CAPTURED_NAMES
    expires = info.findtext(f"{{{ns(version)}}}expires")
    assert expires == "2101-01-01T05:00:00.000Z"  # this server writes dates in UTC
    assert datetime.fromisoformat(expires) == datetime.fromisoformat(CAPTURED_EXPIRES)


@pytest.fixture(scope="module")
def central_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server in the time zone of the captured answers (-05:00 in March, -06:00 in
    December)."""
    folder: Path = tmp_path_factory.mktemp("central")
    running = start_server(
        f"sqlite:///{folder / 'ips.db'}", folder / "server.log", IPS_TIMEZONE="America/Chicago"
    )
    yield running
    stop_server(running)


def test_company_info_expires_reads_as_the_captured_answer_in_its_time_zone(
    central_server: Server,
) -> None:
    database = Database(central_server.database_url)
    try:
        account = make_account(SqlJobRepository(database))
    finally:
        database.dispose()
    info = company_info(central_server, account, SAMPLE_NS)
    assert names(info) == CAPTURED_NAMES
    assert info.findtext(f"{{{SAMPLE_NS}}}expires") == CAPTURED_EXPIRES


# -- what else 4.0 to 4.5 clients could send (ips-versions.md §3) -----------------------------
@pytest.mark.parametrize("inside", [True, False], ids=["in-photoshopOptions", "in-the-job"])
def test_photoshop_flags_of_4_0_are_taken_as_layer_options(
    server: Server, account: Account, inside: bool
) -> None:
    """createTemplate, extendLayers and extractText (4.0; parent and place undocumented) are
    taken in the old photoshopOptions or directly in the job, and shown by newer namespaces
    as layerOptions' flags."""
    flags = "<createTemplate>true</createTemplate><extractText>false</extractText>"
    old = elements(*OLD_PHOTOSHOP)
    photoshop = f"<photoshopOptions>{old}{flags if inside else ''}</photoshopOptions>"
    job = upload_urls(photoshop if inside else flags + photoshop)
    submitted(server, account, ns("2009-07-31"), "Flags", job)
    namespace = ns("2022-11-01-beta")
    detail = scheduled_detail(server, account, namespace, "Flags", "uploadUrlsJob")
    layers = detail.find(f"{{{namespace}}}photoshopOptions/{{{namespace}}}layerOptions")
    assert children(layers) == [
        ("layerNaming", "AppendName"),
        ("anchor", "North"),
        ("createTemplate", "true"),
        ("extractText", "false"),
    ]


def test_xmp_template_elements_of_the_4_5_betas_are_taken_and_ignored(
    server: Server, account: Account
) -> None:
    namespace = ns("2011-11-04-beta")
    extra = "<xmpTemplateId>t1</xmpTemplateId><xmpTemplateOverride>true</xmpTemplateOverride>"
    submitted(server, account, namespace, "Xmp", upload_directory(extra_after_metadata=extra))
    detail = scheduled_detail(server, account, namespace, "Xmp", "uploadDirectoryJob")
    assert not {"xmpTemplateId", "xmpTemplateOverride"} & set(names(detail))
