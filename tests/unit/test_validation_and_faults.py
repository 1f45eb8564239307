"""submitJob rules, the error -> IPS fault table, and reading settings from the environment."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from lxml import etree

from ips_jobs import errors
from ips_jobs.config import Settings
from ips_jobs.domain import constants, validation
from ips_jobs.domain.jobs import JOB_TYPES
from ips_jobs.errors import ConfigError, InvalidParameter, IpsJobsError, MissingParameter
from ips_jobs.wire import envelope, faults
from ips_jobs.wire.namespaces import COMMON_NS, SOAP11_NS

ISP = {"publishType": "Full", "emailSetting": "Error"}
URLS = {"items": [{"sourceUrl": "http://example.test/a.jpg", "destPath": "a.jpg"}]}


def job_types(**given: Any) -> dict[str, Any]:
    """submitJob's job-type elements as the wire layer hands them over: None when absent."""
    return {kind: given.get(kind) for kind in JOB_TYPES}


def upload(**extra: Any) -> dict[str, Any]:
    return {
        "urlArray": URLS,
        "overwrite": True,
        "readyForPublish": True,
        "createMask": False,
        "emailSetting": "All",
        **extra,
    }


# -- job name and job type ----------------------------------------------------------------------
def test_job_name_is_trimmed() -> None:
    assert validation.job_name("  nightly publish ") == "nightly publish"


@pytest.mark.parametrize("name", [None, "", "   "])
def test_job_name_is_required(name: str | None) -> None:
    with pytest.raises(MissingParameter) as caught:
        validation.job_name(name)
    assert caught.value.field == "jobName"
    assert caught.value.code == 30002


@pytest.mark.parametrize("name", ["a|b", "x" * 201])
def test_job_name_cannot_break_a_handle_or_be_huge(name: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        validation.job_name(name)
    assert caught.value.field == "jobName"


def test_one_job_type_is_accepted_and_returned() -> None:
    kind, detail = validation.one_job_type(job_types(imageServingPublishJob=ISP))
    assert (kind, detail) == ("imageServingPublishJob", ISP)


def test_no_job_type_is_a_missing_parameter() -> None:
    with pytest.raises(MissingParameter) as caught:
        validation.one_job_type(job_types())
    assert "imageServingPublishJob" in caught.value.message
    assert "exportJob" in caught.value.message


def test_two_job_types_are_rejected_naming_both() -> None:
    with pytest.raises(InvalidParameter) as caught:
        validation.one_job_type(
            job_types(imageServingPublishJob=ISP, videoPublishJob={"emailSetting": "All"})
        )
    assert "imageServingPublishJob" in caught.value.field
    assert "videoPublishJob" in caught.value.field
    assert "only one type of job" in caught.value.message


# -- constants inside the job detail ------------------------------------------------------------
@pytest.mark.parametrize("setting", ["All", "Error", "ErrorAndWarning", "JobCompletion", "None"])
def test_documented_email_settings_are_accepted(setting: str) -> None:
    validation.one_job_type(job_types(videoPublishJob={"emailSetting": setting}))


@pytest.mark.parametrize("setting", ["Always", "error", ""])
def test_bad_email_setting_is_rejected_naming_the_field(setting: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        validation.one_job_type(job_types(videoPublishJob={"emailSetting": setting}))
    assert caught.value.field == "videoPublishJob/emailSetting"
    assert caught.value.message == (
        f"Invalid value for 'videoPublishJob/emailSetting': '{setting}' "
        "(accepted: All, Error, ErrorAndWarning, JobCompletion, None)"
    )


@pytest.mark.parametrize("publish_type", ["Full", "FullWithSearch", "Incremental"])
def test_documented_publish_types_are_accepted(publish_type: str) -> None:
    detail = {**ISP, "publishType": publish_type}
    validation.one_job_type(job_types(imageServingPublishJob=detail))


@pytest.mark.parametrize("publish_type", ["Quick", "full", "FULL"])
def test_bad_publish_type_is_rejected_naming_the_field_and_the_accepted_values(
    publish_type: str,
) -> None:
    """Case matters, as it always has; the reason spells the accepted values out."""
    detail = {**ISP, "publishType": publish_type}
    with pytest.raises(InvalidParameter) as caught:
        validation.one_job_type(job_types(imageServingPublishJob=detail))
    assert caught.value.field == "imageServingPublishJob/publishType"
    assert caught.value.code == 30001
    assert caught.value.message == (
        f"Invalid value for 'imageServingPublishJob/publishType': '{publish_type}' "
        "(accepted: Full, FullWithSearch, Incremental)"
    )


@pytest.mark.parametrize(
    ("post_job", "bad", "field"),
    [
        ("postImageServingPublishJob", {**ISP, "publishType": "Quick"}, "publishType"),
        ("postImageServingPublishJob", {**ISP, "emailSetting": "Never"}, "emailSetting"),
        ("postImageRenderingPublishJob", {"emailSetting": "Never"}, "emailSetting"),
        ("postVideoPublishJob", {"emailSetting": "Never"}, "emailSetting"),
    ],
)
def test_bad_constants_in_a_post_publish_job_are_rejected(
    post_job: str, bad: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidParameter) as caught:
        validation.one_job_type(job_types(uploadUrlsJob=upload(**{post_job: bad})))
    assert caught.value.field == f"uploadUrlsJob/{post_job}/{field}"


def test_a_valid_post_publish_job_is_accepted() -> None:
    validation.one_job_type(job_types(uploadUrlsJob=upload(postImageServingPublishJob=ISP)))


def test_two_post_publish_jobs_are_rejected() -> None:
    detail = upload(postImageServingPublishJob=ISP, postVideoPublishJob={"emailSetting": "All"})
    with pytest.raises(InvalidParameter) as caught:
        validation.one_job_type(job_types(uploadUrlsJob=detail))
    assert caught.value.field.startswith("uploadUrlsJob/")
    assert "postVideoPublishJob" in caught.value.message


def export(fmt: str) -> dict[str, Any]:
    return {"assetHandleArray": {"items": ["a|1"]}, "fmt": fmt, "emailSetting": "All"}


@pytest.mark.parametrize("fmt", ["orig", "convert"])
def test_export_formats_are_accepted(fmt: str) -> None:
    validation.one_job_type(job_types(exportJob=export(fmt)))


@pytest.mark.parametrize("fmt", ["jpeg", "ORIG", ""])
def test_bad_export_format_is_rejected(fmt: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        validation.one_job_type(job_types(exportJob=export(fmt)))
    assert caught.value.field == "exportJob/fmt"
    assert caught.value.message.endswith("(accepted: convert, orig)")


# -- crop options -------------------------------------------------------------------------------
CROPS = {
    "knockoutBackgroundOptions": {"corner": "UpperLeft", "fillMethod": "FloodFill"},
    "manualCropOptions": {"left": 1, "right": 1, "top": 1, "bottom": 1},
    "autoColorCropOptions": {"corner": "UpperLeft", "tolerance": 0.1},
    "autoTransparentCropOptions": {"tolerance": 0.1},
}


@pytest.mark.parametrize("crop", sorted(CROPS))
def test_one_crop_option_is_accepted(crop: str) -> None:
    validation.one_job_type(job_types(uploadUrlsJob=upload(**{crop: CROPS[crop]})))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("knockoutBackgroundOptions", "manualCropOptions"),
        ("manualCropOptions", "autoColorCropOptions"),
        ("autoColorCropOptions", "autoTransparentCropOptions"),
    ],
)
def test_two_crop_options_are_rejected(first: str, second: str) -> None:
    detail = upload(**{first: CROPS[first], second: CROPS[second]})
    with pytest.raises(InvalidParameter) as caught:
        validation.one_job_type(job_types(uploadUrlsJob=detail))
    assert caught.value.field == f"uploadUrlsJob/{second}"
    assert first in caught.value.message


def test_crop_options_are_exclusive_in_reprocess_jobs_too() -> None:
    detail = {
        "assetHandleArray": {"items": ["a|1"]},
        "createMask": False,
        "emailSetting": "All",
        "manualCropOptions": CROPS["manualCropOptions"],
        "autoTransparentCropOptions": CROPS["autoTransparentCropOptions"],
    }
    with pytest.raises(InvalidParameter) as caught:
        validation.one_job_type(job_types(reprocessAssetsJob=detail))
    assert caught.value.field == "reprocessAssetsJob/autoTransparentCropOptions"


# -- uploadUrlsJob ------------------------------------------------------------------------------
@pytest.mark.parametrize("url_array", [None, {}, {"items": []}])
def test_upload_urls_job_needs_urls(url_array: dict[str, Any] | None) -> None:
    detail = upload()
    if url_array is None:
        del detail["urlArray"]
    else:
        detail["urlArray"] = url_array
    with pytest.raises(MissingParameter) as caught:
        validation.one_job_type(job_types(uploadUrlsJob=detail))
    assert caught.value.field == "uploadUrlsJob/urlArray"


# -- paging and query parameters ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "expected"),
    [(None, 1000), (1, 1), (25, 25), (1000, 1000), (1001, 1000), (10**9, 1000)],
)
def test_page_size_defaults_to_and_stops_at_1000(given: int | None, expected: int) -> None:
    assert validation.page_size(given) == expected


@pytest.mark.parametrize("given", [0, -1])
def test_page_size_below_1_is_rejected(given: int) -> None:
    with pytest.raises(InvalidParameter) as caught:
        validation.page_size(given)
    assert caught.value.field == "recordsPerPage"


def test_positive_numbers() -> None:
    assert validation.positive(None, "resultsPage", default=1) == 1
    assert validation.positive(3, "resultsPage", default=1) == 3
    with pytest.raises(InvalidParameter) as caught:
        validation.positive(0, "resultsPage", default=1)
    assert caught.value.field == "resultsPage"


def test_optional_one_of() -> None:
    validation.optional_one_of(None, constants.SORT_DIRECTIONS, "sortDirection")
    validation.optional_one_of("Ascending", constants.SORT_DIRECTIONS, "sortDirection")
    with pytest.raises(InvalidParameter) as caught:
        validation.optional_one_of("Up", constants.SORT_DIRECTIONS, "sortDirection")
    assert caught.value.field == "sortDirection"
    assert caught.value.message == (
        "Invalid value for 'sortDirection': 'Up' (accepted: Ascending, Descending)"
    )


@pytest.mark.parametrize("given", ["ascending", "DESCENDING", " Ascending", ""])
def test_constants_match_exactly_and_the_fault_names_them(given: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        validation.one_of(given, constants.SORT_DIRECTIONS, "sortDirection")
    assert (caught.value.code, caught.value.message) == (
        30001,
        f"Invalid value for 'sortDirection': '{given}' (accepted: Ascending, Descending)",
    )


def test_the_fault_lists_every_accepted_sort_field() -> None:
    with pytest.raises(InvalidParameter) as caught:
        validation.one_of("Size", constants.JOB_LOG_SORT_FIELDS, "sortBy")
    listed = caught.value.message.split("(accepted: ", 1)[1].rstrip(")").split(", ")
    assert listed == sorted(constants.JOB_LOG_SORT_FIELDS)


# -- error -> fault -----------------------------------------------------------------------------
def all_error_classes() -> list[type[IpsJobsError]]:
    found: list[type[IpsJobsError]] = []
    pending = [IpsJobsError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(set(found), key=lambda cls: cls.__name__)


def instance(cls: type[IpsJobsError]) -> IpsJobsError:
    """An instance built with placeholder strings for whatever its constructor requires."""
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    args = [
        f"arg{i}"
        for i, p in enumerate(parameters)
        if p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return cls(*args)


ERROR_CLASSES = [cls for cls in all_error_classes() if cls.__module__ == errors.__name__]


def test_the_walk_finds_the_error_classes() -> None:
    names = {cls.__name__ for cls in ERROR_CLASSES}
    assert {"InvalidCredentials", "IllegalCompany", "InvalidParameter", "StoreError"} <= names


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_maps_to_its_documented_fault(cls: type[IpsJobsError]) -> None:
    error = instance(cls)
    fault = faults.to_fault(error)
    if issubclass(cls, errors.AuthenticationError):
        expected = ("authenticationFault", "AuthenticationException", True, range(10000, 10003))
    elif issubclass(cls, errors.AuthorizationError):
        expected = ("authorizationFault", "AuthorizationException", True, range(20000, 20010))
    else:
        expected = ("ipsApiFault", "ipsApiFault", False, range(30000, 30004))
    element, faultstring, client_side, codes = expected
    assert fault.element == element
    assert fault.faultstring == faultstring
    assert fault.client_side is client_side
    assert fault.code == error.code
    assert fault.code in codes, f"{cls.__name__}.code {fault.code} outside {codes}"
    assert fault.reason == error.message
    assert fault.reason.strip()


def test_fault_reasons_name_what_went_wrong() -> None:
    assert faults.to_fault(errors.InvalidCredentials()).reason == "Invalid username/password"
    assert faults.to_fault(errors.NoOperationPermission("submitJob")).reason == (
        "User does not have permission to access operation 'submitJob'"
    )
    fault = faults.to_fault(InvalidParameter("execSchedule", "'x' is not a cron schedule"))
    assert (fault.code, fault.reason) == (
        30001,
        "Invalid value for 'execSchedule': 'x' is not a cron schedule",
    )


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("password=hunter2 at db.internal:5432"),
        KeyError("secret_column"),
        ZeroDivisionError("division by zero"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_unexpected_exceptions_become_a_generic_ips_api_fault(error: Exception) -> None:
    fault = faults.to_fault(error)
    assert (fault.element, fault.code, fault.client_side) == ("ipsApiFault", 30000, False)
    assert str(error).strip("'") not in fault.reason
    assert "hunter2" not in fault.reason and "secret_column" not in fault.reason
    assert type(error).__name__ not in fault.reason
    assert fault.reason == faults.INTERNAL_REASON


# -- settings -----------------------------------------------------------------------------------
def test_defaults_without_any_variable() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.seed_demo is True
    assert (settings.port, settings.timezone) == (8080, "UTC")


@pytest.mark.parametrize("raw", ["false", "False", "FALSE", "0", "no", "off", " false "])
def test_false_strings_are_false(raw: str) -> None:
    assert Settings.from_env({"IPS_SEED_DEMO": raw}).seed_demo is False


@pytest.mark.parametrize("raw", ["true", "True", "1", "yes", "on"])
def test_true_strings_are_true(raw: str) -> None:
    assert Settings.from_env({"IPS_SEED_DEMO": raw}).seed_demo is True


@pytest.mark.parametrize("raw", ["maybe", "2", "t", "enabled"])
def test_anything_else_is_not_a_boolean(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"IPS_SEED_DEMO": raw})
    assert "IPS_SEED_DEMO" in caught.value.message
    assert raw in caught.value.message


def test_integers_are_read() -> None:
    settings = Settings.from_env(
        {
            "IPS_PORT": "9090",
            "IPS_WORKERS": "4",
            "IPS_THREADS": " 16 ",
            "IPS_MAX_BODY_BYTES": "2048",
        }
    )
    assert (settings.port, settings.workers, settings.threads) == (9090, 4, 16)
    assert settings.max_body_bytes == 2048


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("IPS_PORT", "eighty"),
        ("IPS_PORT", "80.5"),
        ("IPS_PORT", "-1"),
        ("IPS_PORT", "65536"),
        ("IPS_WORKERS", "0"),
        ("IPS_THREADS", ""),
        ("IPS_MAX_BODY_BYTES", "100"),
    ],
)
def test_bad_integers_are_config_errors(name: str, raw: str) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env({name: raw})


def test_a_bad_integer_names_its_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"IPS_PORT": "eighty"})
    assert "IPS_PORT" in caught.value.message


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "not a zone", "../etc/passwd"])
def test_unknown_time_zone_is_a_config_error(zone: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"IPS_TIMEZONE": zone})
    assert "IPS_TIMEZONE" in caught.value.message


def test_a_real_time_zone_is_kept() -> None:
    assert Settings.from_env({"IPS_TIMEZONE": "America/New_York"}).timezone == "America/New_York"


def test_bad_log_level_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"IPS_LOG_LEVEL": "verbose"})
    assert "IPS_LOG_LEVEL" in caught.value.message


def test_flags_win_over_the_environment() -> None:
    env = {"IPS_PORT": "9000", "IPS_SEED_DEMO": "true", "IPS_DATABASE_URL": "sqlite:///env.db"}
    settings = Settings.from_env(env, port=9100, seed_demo=False, database_url="sqlite:///flag.db")
    assert (settings.port, settings.seed_demo, settings.database_url) == (
        9100,
        False,
        "sqlite:///flag.db",
    )


def test_flags_not_given_leave_the_environment_alone() -> None:
    settings = Settings.from_env({"IPS_PORT": "9000", "IPS_SEED_DEMO": "no"}, port=None)
    assert (settings.port, settings.seed_demo) == (9000, False)


def test_flags_are_validated_too() -> None:
    with pytest.raises(ConfigError):
        Settings.from_env({}, port=70000)
    with pytest.raises(ConfigError):
        Settings.from_env({}, timezone="Nowhere/Special")


def test_the_process_environment_is_read_when_none_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IPS_SEED_DEMO", "false")
    monkeypatch.setenv("IPS_PORT", "8181")
    settings = Settings.from_env()
    assert (settings.seed_demo, settings.port) == (False, 8181)


def test_a_fault_whose_reason_xml_cannot_carry_is_still_written() -> None:
    """The fault writer is the answer of last resort: it must not fail on a reason a fault
    rule or a message brought in."""
    body = envelope.fault(SOAP11_NS, False, "ipsApiFault", "ipsApiFault", 30000, "bad\x01\ud800!")
    reason = etree.fromstring(body).findtext(f".//{{{COMMON_NS}}}reason")
    assert reason == "bad\ufffd\ufffd!"
