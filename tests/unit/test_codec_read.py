"""Payloads are read into the plain data the handlers get: the members sent, typed as the
schema declares them, and dates a client could send that Python cannot hold refused with the
field named."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from lxml import etree

from ips_jobs.errors import InvalidParameter, InvalidRequestXml
from ips_jobs.wire import codec
from ips_jobs.wire.namespaces import CANONICAL_NS, payload_ns


def read(operation: str, inner: str) -> dict:
    return codec.read(
        operation,
        etree.fromstring(f'<{operation}Param xmlns="{CANONICAL_NS}">{inner}</{operation}Param>'),
    )


UPLOAD = (
    "<companyHandle>c|1</companyHandle><jobName>up</jobName><uploadUrlsJob>"
    "<urlArray><items><sourceUrl>http://a/1.jpg</sourceUrl><destPath>x/1.jpg</destPath></items>"
    "<items><sourceUrl>http://a/2.jpg</sourceUrl><destPath>x/2.jpg</destPath></items></urlArray>"
    "<numUrls> +2 </numUrls><overwrite>1</overwrite><readyForPublish> false </readyForPublish>"
    "<createMask>0</createMask>"
    "<knockoutBackgroundOptions><corner>UpperLeft</corner><tolerance>{tolerance}</tolerance>"
    "<fillMethod>None</fillMethod></knockoutBackgroundOptions>"
    "<emailSetting/></uploadUrlsJob>"
)


def test_members_sent_are_typed_nested_and_repeated_and_absent_ones_left_out() -> None:
    data = read("submitJob", UPLOAD.format(tolerance="1e-1"))
    job = data["uploadUrlsJob"]
    assert data["companyHandle"] == "c|1" and "execTime" not in data
    assert job["urlArray"]["items"] == [
        {"sourceUrl": "http://a/1.jpg", "destPath": "x/1.jpg"},
        {"sourceUrl": "http://a/2.jpg", "destPath": "x/2.jpg"},
    ]
    assert job["numUrls"] == 2
    assert (job["overwrite"], job["readyForPublish"], job["createMask"]) == (True, False, False)
    assert job["knockoutBackgroundOptions"]["tolerance"] == pytest.approx(0.1)
    assert job["emailSetting"] == ""
    assert "preserveCrop" not in job


@pytest.mark.parametrize("text", ["INF", "-INF"])
def test_doubles_take_the_xsd_infinities(text: str) -> None:
    tolerance = read("submitJob", UPLOAD.format(tolerance=text))["uploadUrlsJob"][
        "knockoutBackgroundOptions"
    ]["tolerance"]
    assert tolerance == float(text)


def test_strings_keep_their_spaces_and_empty_arrays_read_as_empty() -> None:
    data = read(
        "getJobLogDetails",
        "<companyHandle>  c|1 </companyHandle>"
        "<logTypeArray><items>a</items><items/></logTypeArray>",
    )
    assert data == {"companyHandle": "  c|1 ", "logTypeArray": {"items": ["a", ""]}}
    empty = read("getJobLogDetails", "<companyHandle>c|1</companyHandle><logTypeArray/>")
    assert empty == {"companyHandle": "c|1", "logTypeArray": {}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T10:20:30", datetime(2026, 3, 1, 10, 20, 30)),
        ("2026-03-01T10:20:30Z", datetime(2026, 3, 1, 10, 20, 30, tzinfo=UTC)),
        ("2026-03-01T10:20:30-00:00", datetime(2026, 3, 1, 10, 20, 30, tzinfo=UTC)),
        (
            "2026-03-01T10:20:30.1234567+05:30",
            datetime(2026, 3, 1, 10, 20, 30, 123456, timezone(timedelta(hours=5, minutes=30))),
        ),
        ("2026-12-31T24:00:00Z", datetime(2027, 1, 1, tzinfo=UTC)),
    ],
)
def test_dates_keep_their_zone_or_its_absence(text: str, expected: datetime) -> None:
    value = read("getJobLogs", f"<startDate>{text}</startDate>")["startDate"]
    assert value == expected
    assert value.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00", "-0001-01-01T00:00:00Z"]
)
def test_dates_python_cannot_hold_are_refused_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        read("getJobLogs", f"<endDate>{text}</endDate>")
    assert caught.value.field == "endDate"
    assert "outside the supported dates" in caught.value.message


def read_in(version: str | None, operation: str, inner: str) -> dict:
    """A payload as a client of `version` sends it (its namespace), moved to the canonical
    one as the dispatcher does."""
    namespace = payload_ns(version)
    element = etree.fromstring(f'<{operation}Param xmlns="{namespace}">{inner}</{operation}Param>')
    codec.normalize(element, namespace)
    return codec.read(operation, element, namespace)


WAITING = "<companyHandle>c|1</companyHandle><includeWaitingJobs>true</includeWaitingJobs>"
SMART_CROP = (
    "<companyHandle>c|1</companyHandle><jobName>up</jobName><uploadUrlsJob><urlArray/>"
    "<overwrite>true</overwrite><readyForPublish>true</readyForPublish>"
    "<createMask>false</createMask><emailSetting>None</emailSetting>"
    "<preserveSmartCrop>true</preserveSmartCrop></uploadUrlsJob>"
)


@pytest.mark.parametrize(
    ("version", "operation", "inner", "unknown"),
    [
        (None, "getActiveJobs", WAITING, "includeWaitingJobs"),
        ("2016-01-14-beta", "submitJob", SMART_CROP, "preserveSmartCrop"),
        ("2017-10-29-beta", "submitJob", SMART_CROP, "preserveSmartCrop"),
    ],
)
def test_an_element_an_exactly_known_version_lacks_is_refused_there(
    version: str | None, operation: str, inner: str, unknown: str
) -> None:
    """As IPS's Axis2 parser of that version refuses it: 30003 naming the element."""
    with pytest.raises(InvalidRequestXml, match=f"Unknown element '{unknown}'"):
        read_in(version, operation, inner)


@pytest.mark.parametrize(
    ("version", "operation", "inner"),
    [
        ("2008-01-15", "getActiveJobs", WAITING),  # unknown there: accepted
        ("2014-04-03", "submitJob", SMART_CROP),  # derived: accepted
        ("2021-01-11-beta", "submitJob", SMART_CROP),  # requests as 2021-04-26-beta
        ("2022-11-01-beta", "submitJob", SMART_CROP),
    ],
)
def test_versions_known_less_exactly_take_every_newer_element(
    version: str, operation: str, inner: str
) -> None:
    assert read_in(version, operation, inner)["companyHandle"] == "c|1"
