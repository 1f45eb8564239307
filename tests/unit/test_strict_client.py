"""The strict client of the tests (tests/strict.py) against real IPS answers and against the
2022-11-01-beta shapes every namespace got before each version had its own types."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from conftest import SHARED
from lxml import etree
from strict import StrictFailure, check_payload, payload_of

from ips_jobs.domain.handles import HandleStyle
from ips_jobs.domain.jobs import Run, RunState, TaskProgress, User
from ips_jobs.wire import codec, mapping, schema, versions
from ips_jobs.wire.namespaces import CANONICAL_NS, payload_ns

SAMPLES = SHARED / "samples"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"{SAMPLES} is missing")
NOW = datetime(2011, 3, 30, 14, 32, 8, tzinfo=UTC)


@needs_samples
@pytest.mark.parametrize(
    "name",
    [
        "jdart-getActiveJobs-response-uploadUrls-and-imageServingPublish.xml",
        "jdart-getActiveJobs-response-uploadUrlsJob-running.xml",
        "jdart-getAssetsByName-response-two-items.xml",
        "jdart-getCompanyInfo-response-rootPath.xml",
        "jdart-submitJob-uploadUrlsJob-response.xml",
        "jdart-stopJob-response.xml",
        "jdart-renameAsset-ipsApiFault-response.xml",
        "adobedocs-getActiveJobs-response.xml",
        "adobedocs-getJobLogs-response.xml",
        "adobedocs-getScheduledJobs-response.xml",
        "adobedocs-getAssetJobLogs-response.xml",
    ],
)
def test_real_answers_of_old_versions_pass(name: str) -> None:
    """Captured 2010-01-31 answers and the legacy and 2008-01-15 documentation examples are
    what their versions' stubs read: the per-version types must take them."""
    content = (SAMPLES / name).read_bytes()
    payload = payload_of(content, "/scene7/services/IpsApiService" if "jdart" in name else "")
    assert payload is not None
    check_payload(payload)


def run() -> Run:
    task = TaskProgress("UrlUpload", "Processing", 1, 0, 1, 0.5, "Uploading", NOW)
    return Run(
        id=5129821,
        company_id=110,
        scheduled_job_id=1,
        name="katlyn_2011-03-30-14:32:08.834",
        original_name="katlyn",
        kind="uploadUrlsJob",
        detail={
            "urlArray": {"items": [{"sourceUrl": "http://x/a.jpg", "destPath": "a/a.jpg"}]},
            "overwrite": True,
            "readyForPublish": True,
            "createMask": False,
            "preserveSmartCrop": True,
            "photoshopOptions": {
                "process": "MaintainLayers",
                "layerOptions": {"layerNaming": "AppendNumber", "anchor": "Center"},
            },
            "emailSetting": "None",
        },
        submit_user_email="dev@example.com",
        locale="en-US",
        description="nightly",
        state=RunState.RUNNING,
        server_name="ips",
        trigger_time=NOW,
        start_date=NOW,
        last_progress_update=NOW,
        tasks=(task,),
    )


def answer(
    operation: str, data: dict[str, object], written_as: str, sent_in: str
) -> etree._Element:
    """`data` written with the types of `written_as`'s version, in `sent_in`'s namespace."""
    element = codec.Writer(written_as, UTC).element(
        f"{operation}Return", schema.return_type(operation, written_as), data
    )
    text = etree.tostring(element).replace(written_as.encode(), sent_in.encode())
    return etree.fromstring(text)


@pytest.mark.parametrize(
    ("version", "first_unknown"),
    [(None, "locale"), ("2010-01-31", "triggerTime"), ("2016-01-14-beta", "preserveSmartCrop")],
)
def test_the_newest_shapes_fail_in_old_namespaces_and_their_own_pass(
    version: str | None, first_unknown: str
) -> None:
    """What every namespace got before: a 2022-11-01-beta ActiveJob. A strict stub of the
    version stops at the first element its version lacks; the version's own answer passes."""
    namespace = payload_ns(version)
    style = HandleStyle.LEGACY if version is None else HandleStyle.VERSIONED
    data = {"jobArray": {"items": [mapping.active_job(run(), style)]}}
    with pytest.raises(StrictFailure, match=first_unknown):
        check_payload(answer("getActiveJobs", data, CANONICAL_NS, namespace))
    own = answer("getActiveJobs", data, namespace, namespace)
    check_payload(own)
    assert own.find(f".//{{{namespace}}}{first_unknown}") is None


def test_old_photoshop_options_are_written_in_the_old_shape() -> None:
    namespace = payload_ns("2008-01-15")
    data = {"jobArray": {"items": [mapping.active_job(run(), HandleStyle.VERSIONED)]}}
    written = answer("getActiveJobs", data, namespace, namespace)
    check_payload(written)
    options = written.find(f".//{{{namespace}}}photoshopOptions")
    assert options is not None
    assert [(etree.QName(c).localname, c.text) for c in options] == [
        ("maintainLayers", "true"),
        ("layerNaming", "AppendNumber"),
        ("anchor", "Center"),
    ]


@pytest.mark.parametrize(
    ("version", "role_element"),
    [
        (None, "role"),
        ("2010-01-31", "role"),
        ("2012-02-14", "defaultRole"),
        ("2016-01-14-beta", None),
    ],
)
def test_user_info_has_each_versions_role_element(
    version: str | None, role_element: str | None
) -> None:
    namespace = payload_ns(version)
    user = User(7, "ann@example.com", "IpsUser", "", "Ann", "Lee")
    data = {"userInfo": mapping.user(user, HandleStyle.VERSIONED)}
    written = answer("getUserInfo", data, namespace, namespace)
    check_payload(written)
    names = [etree.QName(c).localname for c in written[0]]
    for element in ("role", "defaultRole"):
        assert (element in names) == (element == role_element), names
    if version is None or version < "2016":  # the old User: all seven, passwordExpires last
        assert names[-1] == "passwordExpires" and len(names) == 7


def test_every_name_the_version_table_gives_is_in_the_canonical_schema() -> None:
    """A misspelt type or element in wire/versions.py would silently change nothing."""
    doc = schema.schema_document()
    xsd = "{http://www.w3.org/2001/XMLSchema}"
    declared = {t.get("name"): t for t in doc.iter(f"{xsd}complexType") if t.get("name")}
    declared.update({e.get("name"): e for e in doc.findall(f"{xsd}element")})
    for type_name in versions.TYPE_SINCE:
        assert type_name in declared, type_name

    def members(*type_names: str) -> set[str]:
        return {e.get("name") for t in type_names for e in declared[t].iter(f"{xsd}element")}

    block = members(*versions.OPTION_BLOCK_TYPES)  # one table for the five
    for type_name, elements in versions.SINCE.items():
        found = block if type_name in versions.OPTION_BLOCK_TYPES else members(type_name)
        assert set(elements) <= found, (type_name, set(elements) - found)


def test_the_6_0_development_namespace_has_no_export_job() -> None:
    """exportJob is unknown in 2011-11-04 (ips-versions.md §2.2, §2.5), known in 2012-02-14."""
    for version, has in (("2011-11-04", False), ("2011-11-04-beta", False), ("2012-02-14", True)):
        model = schema.return_type("getActiveJobs", payload_ns(version))
        job = model._type_info["jobArray"]._type_info["items"]
        assert ("exportJob" in job._type_info) == has, version
        assert "taskProgressArray" in job._type_info  # otherwise as 6.0


@pytest.mark.parametrize("version", [None, "2008-01-15", "2009-07-31"])
def test_old_post_script_options_need_their_three_required_children(version: str | None) -> None:
    namespace = payload_ns(version)
    partial = replace(run(), detail={**run().detail, "postScriptOptions": {"process": "None"}})
    whole = replace(
        run(),
        detail={
            **run().detail,
            "postScriptOptions": {
                "process": "Rasterize",
                "resolution": 72.0,
                "colorspace": "Auto",
                "alpha": False,
                "extractSearchWords": False,
            },
        },
    )
    for job, kept in ((partial, False), (whole, True)):
        data = {"jobArray": {"items": [mapping.active_job(job, HandleStyle.VERSIONED)]}}
        written = answer("getActiveJobs", data, namespace, namespace)
        check_payload(written)
        found = written.find(f".//{{{namespace}}}postScriptOptions")
        assert (found is not None) == kept
        if found is not None:
            names = [etree.QName(c).localname for c in found]
            legacy = ["resolution", "colorspace", "extractSearchWords"]
            assert names == (
                legacy if version is None else ["process", *legacy[:2], "alpha", legacy[2]]
            )
