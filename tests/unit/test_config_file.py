"""The TOML config file: environment variables, then the file, then flags (a later one wins)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ips_jobs.cli import cli
from ips_jobs.config import Settings
from ips_jobs.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write(
        tmp_path / "ips.toml",
        'port = 8081\nrun_seconds = 5\nseed_demo = false\nrun_seconds_by_type = "UrlUpload=5"\n'
        'timezone = "Europe/Berlin"\n',
    )


ENV = {"IPS_PORT": "9000", "IPS_RUN_SECONDS": "1", "IPS_THREADS": "3", "IPS_TIMEZONE": "UTC"}


def test_the_file_beats_the_environment_and_flags_beat_the_file(config: Path) -> None:
    settings = Settings.load(ENV, config, run_seconds=0.0, timezone=None)
    assert settings.port == 8081  # env 9000 < file
    assert settings.run_seconds == 0.0  # file 5 < flag
    assert settings.timezone == "Europe/Berlin"  # a flag left unset (None) does not count
    assert settings.threads == 3  # only in the environment
    assert settings.seed_demo is False  # only in the file
    assert settings.run_seconds_by_type == "UrlUpload=5"
    assert settings.workers == Settings().workers  # nowhere: the default


def test_without_a_file_the_environment_counts(config: Path) -> None:
    assert Settings.load(ENV).port == 9000
    assert Settings.load(ENV, None, port=9100).port == 9100


def test_ips_config_names_the_file_and_the_flag_beats_it(config: Path, tmp_path: Path) -> None:
    other = write(tmp_path / "other.toml", "port = 8082\n")
    assert Settings.load({**ENV, "IPS_CONFIG": str(config)}).port == 8081
    assert Settings.load({**ENV, "IPS_CONFIG": str(config)}, other).port == 8082
    assert Settings.load({**ENV, "IPS_CONFIG": ""}).port == 9000  # empty: no file


def test_toml_types_are_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "t.toml", "run_seconds = 2\npoll_seconds = 0.5\nengine = false\n")
    settings = Settings.load({}, path)
    assert settings.run_seconds == 2.0 and isinstance(settings.run_seconds, float)
    assert (settings.poll_seconds, settings.engine) == (0.5, False)


def test_an_unknown_key_is_an_error_naming_the_key_and_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "typo.toml", "port = 8081\nprot = 8082\n")
    with pytest.raises(ConfigError) as caught:
        Settings.load({}, path)
    assert "'prot'" in caught.value.message
    assert str(path) in caught.value.message
    assert "port" in caught.value.message.split("known:")[1]  # it lists the right names


@pytest.mark.parametrize(
    ("line", "key", "expected"),
    [
        ('port = "8081"', "port", "an integer"),
        ("port = true", "port", "an integer"),
        ("port = 80.5", "port", "an integer"),
        ('seed_demo = "false"', "seed_demo", "true or false"),
        ("seed_demo = 0", "seed_demo", "true or false"),
        ('run_seconds = "3"', "run_seconds", "a number"),
        ("timezone = 1", "timezone", "a string"),
        ("database_url = ['a']", "database_url", "a string"),
        ("threads = -1", "threads", "not be negative"),
    ],
)
def test_a_wrong_type_is_an_error_naming_the_key_and_the_file(
    tmp_path: Path, line: str, key: str, expected: str
) -> None:
    path = write(tmp_path / "typed.toml", line + "\n")
    with pytest.raises(ConfigError) as caught:
        Settings.load({}, path)
    message = caught.value.message
    assert f"config file {path}: {key} must" in message
    assert expected in message


def test_file_values_are_validated_like_the_others(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a TCP port"):
        Settings.load({}, write(tmp_path / "p.toml", "port = 70000\n"))
    with pytest.raises(ConfigError, match=r"f\.toml: log_format: use text or json"):
        Settings.load({}, write(tmp_path / "f.toml", 'log_format = "xml"\n'))


def test_an_error_names_the_setting_as_it_was_given(tmp_path: Path) -> None:
    """A flag's error names the flag, a variable's the variable, a file's the file and key."""
    config = write(tmp_path / "c.toml", "workers = 0\n")
    cases: list[tuple[dict[str, str], Path | None, dict[str, object], str]] = [
        ({}, None, {"port": 70000}, "--port: 70000 is not a TCP port"),
        ({"IPS_PORT": "70000"}, None, {}, "IPS_PORT: 70000 is not a TCP port"),
        ({}, config, {}, f"config file {config}: workers: must be at least 1"),
        ({"IPS_WORKERS": "0"}, None, {"workers": 0}, "--workers: must be at least 1"),
        ({"IPS_TIMEZONE": "Mars/Base"}, None, {}, "IPS_TIMEZONE: unknown time zone"),
    ]
    for env, file, flags, expected in cases:
        with pytest.raises(ConfigError) as caught:
            Settings.resolve(env, file, **flags)
        assert caught.value.message.startswith(expected), (env, file, flags)


def test_port_0_asks_for_a_free_port() -> None:
    assert Settings.load({"IPS_PORT": "0"}).port == 0


def test_run_seconds_by_type_names_the_known_job_types() -> None:
    assert Settings.load({"IPS_RUN_SECONDS_BY_TYPE": "UrlUpload=5"}).durations() == {
        "UrlUpload": 5.0
    }
    with pytest.raises(ConfigError) as caught:
        Settings.load({}, None, run_seconds_by_type="UrlUplaod=5")
    assert caught.value.message.startswith(
        "--run-seconds-by-type: unknown job type 'UrlUplaod' (known: AutomatedSetGeneration, "
    )
    assert "UrlUpload" in caught.value.message


def test_a_missing_or_broken_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file") as caught:
        Settings.load({}, tmp_path / "absent.toml")
    assert str(tmp_path / "absent.toml") in caught.value.message
    with pytest.raises(ConfigError, match="no such file"):
        Settings.load({"IPS_CONFIG": str(tmp_path / "absent.toml")})
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings.load({}, write(tmp_path / "bad.toml", "port = \n"))
    with pytest.raises(ConfigError, match="cannot read"):
        Settings.load({}, tmp_path)  # a directory


def test_a_child_process_gets_the_effective_settings_not_the_file_again(
    config: Path, tmp_path: Path
) -> None:
    settings = Settings.load(ENV, config, run_seconds=0.0)
    # serve's engine process inherits the environment (maybe with IPS_CONFIG) plus to_env().
    child_env = {**ENV, "IPS_CONFIG": str(config), **settings.to_env()}
    assert Settings.load(child_env) == settings


def test_the_cli_passes_config_to_every_command(tmp_path: Path) -> None:
    db_file = tmp_path / "from-config.db"
    path = write(tmp_path / "cli.toml", f'database_url = "sqlite:///{db_file}"\n')
    clean = {k: None for k in os.environ if k.startswith("IPS_")}
    result = CliRunner().invoke(cli, ["--config", str(path), "db", "upgrade"], env=clean)
    assert result.exit_code == 0, result.output
    assert "database at revision" in result.output
    assert db_file.exists()
    # IPS_CONFIG does the same; the command's flag still wins over the file.
    flag_db = tmp_path / "from-flag.db"
    result = CliRunner().invoke(
        cli,
        ["db", "upgrade", "--database-url", f"sqlite:///{flag_db}"],
        env={**clean, "IPS_CONFIG": str(path)},
    )
    assert result.exit_code == 0, result.output
    assert flag_db.exists()


def test_the_cli_reports_a_missing_file_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPS_")}
    done = subprocess.run(
        [sys.executable, "-m", "ips_jobs", "--config", str(missing), "companies", "list"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [f"error: config file {missing}: no such file"]
    assert not (tmp_path / "ips-jobs.db").exists()  # nothing ran with the defaults
