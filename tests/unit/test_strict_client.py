"""The strict client of the tests (tests/strict.py) against real IPS answers and against the
2022-11-01-beta shapes every namespace got before each version had its own types."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import SHARED
from lxml import etree
from strict import StrictFailure, check_payload, payload_of

from ips_jobs.domain.handles import HandleStyle
from ips_jobs.domain.jobs import Run, RunState, TaskProgress, User
from ips_jobs.wire import codec, mapping, schema
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
