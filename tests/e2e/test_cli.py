"""The `ips-jobs` command as a user runs it: a real process on a SQLite file.

Starting the command takes about a second, so the commands run once per module, independent
ones side by side, and each test reads the results it is about."""

from __future__ import annotations

import dataclasses
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from ips_jobs.config import Settings, env_name
from ips_jobs.store import migrations

PASSWORD = "s3cret-Passw0rd"


@dataclass(frozen=True)
class Result:
    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def lines(self) -> list[str]:
        return self.out.strip().splitlines()

    def error_lines(self) -> list[str]:
        return [line for line in self.err.strip().splitlines() if line.strip()]


def run_cli(cwd: Path, *args: str) -> Result:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPS_")}
    done = subprocess.run(
        [sys.executable, "-m", "ips_jobs", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return Result(tuple(args), done.returncode, done.stdout, done.stderr)


def run_all(cwd: Path, commands: Sequence[Sequence[str]]) -> list[Result]:
    with ThreadPoolExecutor(len(commands)) as pool:
        return list(pool.map(lambda args: run_cli(cwd, *args), commands))


@dataclass(frozen=True)
class Session:
    db_file: Path
    upgrade: Result
    serve_help: Result
    unreachable: Result
    acme: Result
    beta: Result
    user: Result
    bad_role: Result
    unknown_company: Result
    users_list: Result


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Session:
    cwd = tmp_path_factory.mktemp("cli")
    db_file = cwd / "ips.db"
    url = ["--database-url", f"sqlite:///{db_file}"]
    upgrade, serve_help, unreachable = run_all(
        cwd,
        [
            ["db", "upgrade", *url],
            ["serve", "--help"],
            ["db", "upgrade", "--database-url", "postgresql+psycopg://nobody@127.0.0.1:1/none"],
        ],
    )
    acme, beta = run_all(
        cwd, [["companies", "add", "Acme", *url], ["companies", "add", "Beta Co", *url]]
    )
    add_dev = ["users", "add", "dev@acme.test", "--password", PASSWORD, "--role", "IpsUser"]
    user, bad_role, unknown_company = run_all(
        cwd,
        [
            [*add_dev, "--company", "Acme", "--company", "Beta Co", *url],
            ["users", "add", "boss@acme.test", "--password", "pw", "--role", "Boss", *url],
            ["users", "add", "lost@acme.test", "--password", "pw", "--company", "Nope", *url],
        ],
    )
    users_list = run_cli(cwd, "users", "list", *url)
    return Session(
        db_file,
        upgrade,
        serve_help,
        unreachable,
        acme,
        beta,
        user,
        bad_role,
        unknown_company,
        users_list,
    )


def assert_ok(result: Result) -> None:
    assert result.code == 0, f"{result.args} failed with {result.code}:\n{result.err}"


def assert_one_line_error(result: Result) -> str:
    assert result.code != 0, result
    assert "Traceback" not in result.err, result.err
    lines = result.error_lines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.err}"
    assert result.out == ""
    return lines[0]


def test_db_upgrade_reports_the_revision(cli: Session) -> None:
    assert_ok(cli.upgrade)
    head = migrations.head_revision(f"sqlite:///{cli.db_file}")
    assert head is not None
    assert cli.upgrade.lines() == [f"database at revision {head}"]
    assert migrations.current_revision(f"sqlite:///{cli.db_file}") == head


def company_ids(db_file: Path) -> dict[str, int]:
    with closing(sqlite3.connect(db_file)) as conn:
        return dict(conn.execute("SELECT name, id FROM companies").fetchall())


def test_companies_add_prints_the_company_handle(cli: Session) -> None:
    assert_ok(cli.acme)
    assert_ok(cli.beta)
    ids = company_ids(cli.db_file)
    assert set(ids) == {"Acme", "Beta Co"}
    assert cli.acme.lines() == [f"c|{ids['Acme']}"]
    assert cli.beta.lines() == [f"c|{ids['Beta Co']}"]
    assert {cli.acme.lines()[0], cli.beta.lines()[0]} == {"c|1", "c|2"}


def test_users_add_prints_the_user_handle_and_list_shows_both_companies(cli: Session) -> None:
    assert_ok(cli.user)
    (handle,) = cli.user.lines()
    assert re.fullmatch(r"u\|\d+\|dev@acme\.test", handle), handle
    assert_ok(cli.users_list)
    # Only the one good user exists: the failed adds left nothing behind.
    (line,) = cli.users_list.lines()
    listed_handle, role, member_of = line.split("\t")
    assert (listed_handle, role) == (handle, "IpsUser")
    assert sorted(member_of.split(", ")) == ["Acme", "Beta Co"]


def test_passwords_are_stored_hashed(cli: Session) -> None:
    with closing(sqlite3.connect(cli.db_file)) as conn:
        rows = conn.execute("SELECT email, password_hash FROM users").fetchall()
    assert [email for email, _ in rows] == ["dev@acme.test"]
    stored = rows[0][1]
    assert stored.startswith("$argon2")
    assert PASSWORD not in stored


def test_a_bad_role_fails_with_one_clear_line(cli: Session) -> None:
    line = assert_one_line_error(cli.bad_role)
    assert "role" in line.lower()
    assert "Boss" in line
    assert "IpsUser" in line  # says what is allowed


def test_an_unknown_company_fails_with_one_clear_line(cli: Session) -> None:
    line = assert_one_line_error(cli.unknown_company)
    assert "Nope" in line
    assert "company" in line.lower()


def test_an_unreachable_database_fails_with_one_clear_line(cli: Session) -> None:
    line = assert_one_line_error(cli.unreachable)
    assert "database" in line.lower()


def test_serve_help_names_every_ips_variable(cli: Session) -> None:
    assert_ok(cli.serve_help)
    text = " ".join(cli.serve_help.out.split())
    variables = [env_name(field.name) for field in dataclasses.fields(Settings)]
    assert "IPS_SEED_DEMO" in variables
    missing = [name for name in variables if not re.search(rf"\b{name}\b", text)]
    assert missing == []


def test_a_taken_company_name_is_one_line_naming_it(tmp_path: Path) -> None:
    url = ["--database-url", f"sqlite:///{tmp_path / 'ips.db'}"]
    assert_ok(run_cli(tmp_path, "companies", "add", "Acme", *url))
    again = run_cli(tmp_path, "companies", "add", "Acme", *url)
    assert again.code == 2
    assert again.error_lines() == ["error: Company name 'Acme' is already in use."]
