"""docs/parity.md and docs/configuration.md are generated from the code and cannot go stale."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ips_jobs import reference
from ips_jobs.config import Settings, env_name
from ips_jobs.domain.jobs import JOB_TYPES
from ips_jobs.engine.runners import FAMILIES
from ips_jobs.wire.operations import HANDLERS

ROOT = Path(__file__).resolve().parents[2]


def table_rows(markdown: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("|").split(" | ")]
        for line in markdown.splitlines()
        if line.startswith("| ") and not line.startswith("|---")
    ]


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


def test_every_handled_operation_is_full() -> None:
    support = {row[0]: row[2] for row in table_rows(reference.parity_markdown())}
    for name in HANDLERS:
        assert support.get(f"`{name}`") == reference.FULL, name


def test_known_operations_without_a_handler_are_not_implemented() -> None:
    support = {row[0]: row[2] for row in table_rows(reference.parity_markdown())}
    for op in reference.KNOWN_OPERATIONS:
        expected = reference.FULL if op.name in HANDLERS else reference.NOT_IMPLEMENTED
        assert support[f"`{op.name}`"] == expected, op.name
    for name in ("getArchivedJobLogDetails", "getAssetArchivedJobLogs", "getUploadTaskStatus"):
        assert name in {op.name for op in reference.KNOWN_OPERATIONS}


def test_endpoints_are_probed_from_the_routing() -> None:
    support = {row[0]: row[2] for row in table_rows(reference.parity_markdown())}
    assert support["`POST /scene7/services/IpsApiService`"] == reference.FULL
    assert support["`GET /scene7/webservice/IpsApi.wsdl`"] == reference.FULL
    assert support["`POST /scene7/api/IpsApiService`"] == reference.NOT_IMPLEMENTED
    assert support["`POST /scene7/UploadFile`"] == reference.NOT_IMPLEMENTED


def test_every_job_type_appears_with_its_type_string_and_family() -> None:
    rows = {row[0]: row for row in table_rows(reference.parity_markdown())}
    for element, type_string in JOB_TYPES.items():
        row = rows[f"`{element}`"]
        assert row[1] == f"`{type_string}`"
        assert row[3] == reference.SIMULATED
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
