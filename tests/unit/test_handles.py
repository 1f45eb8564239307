"""IPS handles: the strings clients get back and send again, in the versioned and legacy forms."""

from __future__ import annotations

import pytest

from ips_jobs.domain import handles
from ips_jobs.domain.handles import DefinitionRef, HandleStyle, RunRef
from ips_jobs.errors import InvalidParameter

V = HandleStyle.VERSIONED
L = HandleStyle.LEGACY


# -- formatting --------------------------------------------------------------------------------
def test_versioned_handles_look_like_the_real_service() -> None:
    assert handles.company(6, V) == "c|6"
    assert handles.user(14, "a@b.c", V) == "u|14|a@b.c"
    assert handles.definition(110, "name", V) == "j|110|name||"
    assert handles.run(110, "run", 5129821, V) == "j|110||run|5129821"


def test_legacy_handles_look_like_the_real_service() -> None:
    assert handles.company(47, L) == "47"
    assert handles.user(70, "a@b.c", L) == "70|a@b.c"
    assert handles.definition(47, "My Test Job", L) == "47|My Test Job|"
    assert handles.run(47, "Add_2007-09-14-15:04:34", 9, L) == "47||Add_2007-09-14-15:04:34"


# -- parsing the documented samples -------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [("c|6", 6), ("c|230095", 230095), ("47", 47)])
def test_company_handles_parse(text: str, expected: int) -> None:
    assert handles.parse_company(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("u|14|a@b.c", 14), ("u|14269|ugc@scene7.com", 14269), ("70|a@b.c", 70)]
)
def test_user_handles_parse(text: str, expected: int) -> None:
    assert handles.parse_user(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("j|110|name||", DefinitionRef(110, "name")),
        ("j|110|test-publish-job-fdl||", DefinitionRef(110, "test-publish-job-fdl")),
        ("j|110||run|5129821", RunRef(110, "run", 5129821)),
        (
            "j|110||3e41464dce942449a9e5b_2011-03-30-14:32:08.834|5129821",
            RunRef(110, "3e41464dce942449a9e5b_2011-03-30-14:32:08.834", 5129821),
        ),
        (
            "j|2101||uploadFileServlet-1376682217351|54091",
            RunRef(2101, "uploadFileServlet-1376682217351", 54091),
        ),
        # The documentation's versioned run handle without a run id.
        ("j|6||Add_2007-10-24-16:11:07", RunRef(6, "Add_2007-10-24-16:11:07", None)),
        ("47|My Test Job|", DefinitionRef(47, "My Test Job")),
        ("0|Cleanup|", DefinitionRef(0, "Cleanup")),
        ("47||Add_2007-09-14-15:04:34", RunRef(47, "Add_2007-09-14-15:04:34", None)),
    ],
)
def test_job_handles_parse(text: str, expected: handles.JobRef) -> None:
    assert handles.parse_job(text) == expected


def test_surrounding_whitespace_is_ignored() -> None:
    assert handles.parse_company("  c|6\n") == 6
    assert handles.parse_job("\n j|110|name|| ") == DefinitionRef(110, "name")


# -- round trips --------------------------------------------------------------------------------
@pytest.mark.parametrize("style", [V, L])
@pytest.mark.parametrize("company_id", [0, 6, 230095])
def test_company_round_trip(style: HandleStyle, company_id: int) -> None:
    assert handles.parse_company(handles.company(company_id, style)) == company_id


@pytest.mark.parametrize("style", [V, L])
def test_user_round_trip(style: HandleStyle) -> None:
    assert handles.parse_user(handles.user(14269, "ugc@scene7.com", style)) == 14269


@pytest.mark.parametrize("style", [V, L])
@pytest.mark.parametrize("name", ["My Test Job", "nightly_publish-2", "Ünïcode job"])
def test_definition_round_trip(style: HandleStyle, name: str) -> None:
    assert handles.parse_job(handles.definition(110, name, style)) == DefinitionRef(110, name)


def test_run_round_trip_versioned_keeps_the_run_id() -> None:
    name = "My Test Job_2011-03-30-14:32:08.834"
    assert handles.parse_job(handles.run(110, name, 5129821, V)) == RunRef(110, name, 5129821)


def test_run_round_trip_legacy_keeps_company_and_name() -> None:
    name = "My Test Job_2011-03-30-14:32:08.834"
    assert handles.parse_job(handles.run(47, name, 5129821, L)) == RunRef(47, name, None)


# -- rejection ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text", ["", "c|", "c|x", "x|6", "c|-1", "c|6|7", "c|1.5", "c|٣", "c|1234567890123456789"]
)
def test_malformed_company_handles_are_rejected_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        handles.parse_company(text)
    assert caught.value.field == "companyHandle"
    assert "companyHandle" in caught.value.message
    assert caught.value.code == 30001


def test_the_field_name_given_by_the_caller_is_reported() -> None:
    with pytest.raises(InvalidParameter) as caught:
        handles.parse_company("nope", field="companyHandleArray/items")
    assert caught.value.field == "companyHandleArray/items"


@pytest.mark.parametrize("text", ["", "u|", "u||a@b.c", "|a@b.c", "u|x|a@b.c", "a@b.c"])
def test_malformed_user_handles_are_rejected_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        handles.parse_user(text)
    assert caught.value.field == "userHandle"
    assert "userHandle" in caught.value.message


@pytest.mark.parametrize(
    "text",
    [
        "",
        "47",
        "c|47",
        "47||",
        "47|a|b",
        "x|110|name||",
        "j|110|||",
        "j|110|name|run|5",
        "j|110|name||5",
        "j|x|name||",
        "j|110||run|x",
        "j|110||run|-5",
        "j||name||",
        "j|110|name||||",
    ],
)
def test_malformed_job_handles_are_rejected_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        handles.parse_job(text)
    assert caught.value.field == "jobHandle"
    assert "jobHandle" in caught.value.message
    assert caught.value.code == 30001
