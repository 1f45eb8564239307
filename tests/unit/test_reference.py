"""docs/parity.md and docs/configuration.md are generated from the code and cannot go stale."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from ips_jobs import parameters, reference
from ips_jobs.config import Settings, env_name
from ips_jobs.domain.handles import HandleStyle
from ips_jobs.domain.jobs import JOB_TYPES, User
from ips_jobs.engine.runners import FAMILIES
from ips_jobs.resources import wsdl_folder
from ips_jobs.wire.operations import HANDLERS, Call

XSD = "{http://www.w3.org/2001/XMLSchema}"

ROOT = Path(__file__).resolve().parents[2]


def table_rows(markdown: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("|").split(" | ")]
        for line in markdown.splitlines()
        if line.startswith("| ") and not line.startswith("|---")
    ]


def section(markdown: str, heading: str) -> str:
    """The text under `## heading`, up to the next heading of that level."""
    return markdown.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def operation_support() -> dict[str, str]:
    rows = table_rows(section(reference.parity_markdown(), "Operations"))
    return {row[0]: row[2] for row in rows}


@pytest.mark.parametrize(
    ("page", "build"),
    [
        (reference.PARITY_PAGE, reference.parity_markdown),
        (reference.CONFIGURATION_PAGE, reference.configuration_markdown),
    ],
)
def test_checked_in_page_is_what_the_generator_writes(page: Path, build) -> None:
    assert (ROOT / page).read_text("utf-8") == build(), (
        f"{page} is stale: run `python -m ips_jobs.reference`"
    )


def test_generation_is_deterministic() -> None:
    assert reference.pages() == reference.pages()


def test_a_handled_operation_is_full_only_if_it_honours_every_parameter() -> None:
    rows = {row[0]: row for row in table_rows(section(reference.parity_markdown(), "Operations"))}
    for name in HANDLERS:
        _, _, support, note = rows[f"`{name}`"]
        missing = [p for p in parameters.of(name) if p.support != parameters.HONOURED]
        assert support == (reference.PARTIAL if missing else reference.FULL), name
        for p in missing:
            assert f"`{p.name}`: {p.support}" in note, (name, p.name)


def test_get_active_jobs_is_full_now_that_jobs_wait() -> None:
    rows = {row.name: row for row in reference.operation_rows()}
    assert rows["getActiveJobs"].support == reference.FULL
    assert rows["uploadPost"].support == reference.PARTIAL
    assert rows["getUploadTaskStatus"].support == reference.FULL
    assert rows["getJobLogs"].support == reference.FULL
    assert rows["getJobLogDetails"].support == reference.FULL


def test_every_parameter_appears_on_the_page_with_its_support() -> None:
    markdown = section(reference.parity_markdown(), "Parameters")
    rows = {(row[0], row[1]): row[2] for row in table_rows(markdown)[1:]}  # after the header
    assert len(rows) == len(parameters.PARAMETERS)
    for p in parameters.PARAMETERS:
        assert rows[(f"`{p.operation}`", f"`{p.name}`")] == p.support


# -- the parameter table against the schema and the handlers ----------------------------------
def schema_parameters() -> dict[str, list[str]]:
    """`<op>` -> the child elements of its `<op>Param`, in schema order."""
    root = etree.parse(str(wsdl_folder() / "ips-types.xsd")).getroot()
    found = {}
    for element in root.iterfind(f"{XSD}element"):
        name = element.get("name", "")
        if name.endswith("Param"):
            children = element.iterfind(f"{XSD}complexType/{XSD}sequence/{XSD}element")
            found[name.removesuffix("Param")] = [child.get("name") for child in children]
    return found


def test_the_schema_is_read() -> None:
    schema = schema_parameters()
    assert schema["getActiveJobs"][-1] == "includeWaitingJobs"
    assert schema["stopJob"] == ["companyHandle", "jobHandle"]


@pytest.mark.parametrize("operation", sorted(HANDLERS))
def test_the_table_has_every_schema_parameter_of_every_handled_operation(operation: str) -> None:
    """A parameter added to the schema cannot be forgotten: the table must say what we do
    with it."""
    tabled = [p.name for p in parameters.of(operation)]
    assert tabled == schema_parameters()[operation], (
        f"ips_jobs/parameters.py must list the {operation}Param elements of wsdl/ips-types.xsd "
        "in schema order"
    )


def test_the_table_names_only_handled_operations_and_known_levels() -> None:
    assert {p.operation for p in parameters.PARAMETERS} == set(HANDLERS)
    assert {p.support for p in parameters.PARAMETERS} <= set(parameters.SUPPORT_LEVELS)
    pairs = [(p.operation, p.name) for p in parameters.PARAMETERS]
    assert len(pairs) == len(set(pairs))


def test_a_parameter_that_is_not_honoured_says_why() -> None:
    for p in parameters.PARAMETERS:
        if p.support != parameters.HONOURED:
            assert p.note, f"{p.operation}/{p.name}"


def test_what_the_issue_settles_is_in_the_table() -> None:
    assert parameters.support("getJobLogs", "sortDirection") == parameters.HONOURED
    assert parameters.support("getJobLogDetails", "logTypeArray") == parameters.HONOURED
    assert parameters.support("getActiveJobs", "includeWaitingJobs") == parameters.HONOURED
    with pytest.raises(KeyError, match="getActiveJobs/noSuchThing"):
        parameters.support("getActiveJobs", "noSuchThing")


class Reached(Exception):
    """The handler got as far as the service: every parameter it passes on has been read."""


class ReachedService:
    def __getattr__(self, name: str) -> Any:
        def method(*args: Any, **kwargs: Any) -> Any:
            raise Reached(name)

        return method


class ReadParams(dict[str, Any]):
    """Request parameters that remember which ones a handler read."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)


@pytest.mark.parametrize("operation", sorted(HANDLERS))
def test_handlers_read_every_parameter_the_table_does_not_call_ignored(operation: str) -> None:
    params = ReadParams()
    caller = User(1, "a@example.test", "IpsUser", "")
    call = Call(ReachedService(), caller, params, HandleStyle.VERSIONED)  # type: ignore[arg-type]
    with pytest.raises(Reached):
        HANDLERS[operation](call)
    expected = {p.name for p in parameters.of(operation) if p.support != parameters.IGNORED}
    assert params.read == expected


def test_an_operation_missing_from_the_table_fails_the_generator(monkeypatch) -> None:
    kept = tuple(p for p in parameters.PARAMETERS if p.operation != "stopJob")
    monkeypatch.setattr(parameters, "PARAMETERS", kept)
    with pytest.raises(reference.ReferenceDocError, match="'stopJob' has a handler"):
        reference.parity_markdown()


def test_known_operations_without_a_handler_are_not_implemented() -> None:
    support = operation_support()
    for op in reference.KNOWN_OPERATIONS:
        if op.name in HANDLERS:
            assert support[f"`{op.name}`"] in (reference.FULL, reference.PARTIAL), op.name
        else:
            assert support[f"`{op.name}`"] == reference.NOT_IMPLEMENTED, op.name
    for name in ("getArchivedJobLogDetails", "getAssetArchivedJobLogs", "getUploadTaskStatus"):
        assert name in {op.name for op in reference.KNOWN_OPERATIONS}


def test_endpoints_are_probed_from_the_routing() -> None:
    rows = table_rows(section(reference.parity_markdown(), "Endpoints"))
    support = {row[0]: row[2] for row in rows}
    assert support["`POST /scene7/services/IpsApiService`"] == reference.FULL
    assert support["`GET /scene7/webservice/IpsApi.wsdl`"] == reference.FULL
    assert support["`POST /scene7/api/IpsApiService`"] == reference.FULL
    assert support["`POST /scene7/UploadFile`"] == reference.FULL


#: The job types that act on the asset store (the others' effects are simulated).
ACTING = {
    "uploadUrlsJob",
    "uploadDirectoryJob",
    "imageServingPublishJob",
    "imageRenderingPublishJob",
    "videoPublishJob",
    "serverDirectoryPublishJob",
    "exportJob",
    "reprocessAssetsJob",
    "automatedSetGenerationJob",
    "ripPdfsJob",
    "uploadPostJob",
}


def test_every_job_type_appears_with_its_type_string_and_family() -> None:
    rows = {row[0]: row for row in table_rows(section(reference.parity_markdown(), "Job types"))}
    for element, type_string in {**JOB_TYPES, "uploadPostJob": "UploadPost"}.items():
        row = rows[f"`{element}`"]
        assert row[1] == f"`{type_string}`"
        assert row[3] == (reference.PARTIAL if element in ACTING else reference.SIMULATED)
        family = FAMILIES[element]
        assert f"`{family.begin}`" in row[4] and f"`{family.end}`" in row[4]


def test_documented_type_strings_are_marked_so() -> None:
    documented = {
        "ImageServingPublish",
        "ImageRenderingPublish",
        "VideoPublish",
        "ServerDirectoryPublish",
        "UploadFromServerDirectory",
        "UrlUpload",
        "ImageOptimization",
    }
    for row in reference.job_type_rows():
        assert row.documented == (row.type in documented), row.type


def test_every_setting_appears_with_its_variable() -> None:
    text = reference.configuration_markdown()
    variables = {row[0] for row in table_rows(text)}
    for field in dataclasses.fields(Settings):
        assert f"`{env_name(field.name)}`" in variables, field.name
    assert "flags win over environment variables" in text


def test_descriptions_come_from_the_cli_help() -> None:
    rows = {row.field: row for row in reference.setting_rows()}
    assert rows["port"].flags == "--port"
    assert rows["port"].description == "TCP port; 0 picks a free one (default 8080)."
    assert "[env:" not in rows["port"].description
    assert "ips-jobs worker" in rows["run_seconds"].commands


def fake_settings_fields() -> tuple[dataclasses.Field, ...]:
    @dataclasses.dataclass
    class Fake:
        port: int = 8080
        shiny_new_thing: int = 7

    return dataclasses.fields(Fake)


def test_a_setting_without_cli_help_fails_loudly() -> None:
    with pytest.raises(reference.ReferenceDocError) as raised:
        reference.setting_rows(fake_settings_fields(), without_flag={})
    message = str(raised.value)
    assert "shiny_new_thing" in message and "IPS_SHINY_NEW_THING" in message
    assert "ips_jobs/cli.py" in message


def test_an_option_with_empty_help_fails_loudly() -> None:
    options = {"port": reference.CliOption("--port", "", ("ips-jobs serve",))}
    fields = [f for f in fake_settings_fields() if f.name == "port"]
    with pytest.raises(reference.ReferenceDocError, match="--port has no help"):
        reference.setting_rows(fields, options=options, without_flag={})


def test_without_flag_entries_must_be_settings_without_a_flag() -> None:
    fields = fake_settings_fields()
    with pytest.raises(reference.ReferenceDocError, match="remove it from WITHOUT_FLAG"):
        reference.setting_rows(fields, without_flag={"port": "x", "shiny_new_thing": "y"})
    with pytest.raises(reference.ReferenceDocError, match="not a Settings field"):
        reference.setting_rows(fields, without_flag={"gone": "x", "shiny_new_thing": "y"})
    rows = reference.setting_rows(fields, without_flag={"shiny_new_thing": "A new thing."})
    assert [r.variable for r in rows] == ["IPS_PORT", "IPS_SHINY_NEW_THING"]


def test_check_names_the_stale_page(tmp_path: Path, capsys) -> None:
    assert reference.main([], root=tmp_path) == 0  # writes both pages
    assert reference.main(["--check"], root=tmp_path) == 0
    (tmp_path / reference.CONFIGURATION_PAGE).write_text("old\n", "utf-8")
    assert reference.main(["--check"], root=tmp_path) == 1
    err = capsys.readouterr().err
    assert "docs/configuration.md is stale" in err
    assert "docs/parity.md" not in err


def test_check_fails_when_the_pages_cannot_be_built(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setattr(reference, "WITHOUT_FLAG", {})
    monkeypatch.setattr(reference, "settings_fields", fake_settings_fields)
    assert reference.main(["--check"], root=tmp_path) == 1
    assert "IPS_SHINY_NEW_THING" in capsys.readouterr().err
