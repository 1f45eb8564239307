"""`ips-jobs seed FILE` as a user runs it: a real process writing a SQLite file directly,
no server needed."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ips_jobs.store.assets import SqlAssetRepository
from ips_jobs.store.database import Database
from ips_jobs.store.files import FileStore
from ips_jobs.store.repository import SqlJobRepository

SEED = {
    "companies": [{"name": "Acme", "id": 47}, {"name": "Beta"}],
    "users": [{"email": "dev@acme.test", "password": "s3cret", "companies": ["Acme", "Beta"]}],
    "jobs": [
        {
            "company": "Acme",
            "user": "dev@acme.test",
            "jobName": "nightly publish",
            "execSchedule": "0 0 3 * * ?",
            "imageServingPublishJob": {"publishType": "Full", "emailSetting": "None"},
        }
    ],
}
SEED_TOML = """
[[companies]]
name = "Acme"
id = 47

[[users]]
email = "dev@acme.test"
password = "s3cret"
companies = ["Acme"]

[[jobs]]
company = "Acme"
user = "dev@acme.test"
jobName = "new year publish"
execTime = 2035-01-01T03:00:00Z
imageServingPublishJob = { publishType = "Full", emailSetting = "None" }
"""


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def run_seed(cwd: Path, *args: str, **env: str) -> Result:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("IPS_")}
    done = subprocess.run(
        [sys.executable, "-m", "ips_jobs", "seed", *args],
        cwd=cwd,
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def repository(url: str) -> tuple[Database, SqlJobRepository]:
    database = Database(url)
    return database, SqlJobRepository(database)


def test_seed_json_file_creates_everything_then_reports_it_existing(tmp_path: Path) -> None:
    (tmp_path / "seed.json").write_text(json.dumps(SEED))
    url = f"sqlite:///{tmp_path / 'new' / 'ips.db'}"
    (tmp_path / "new").mkdir()

    first = run_seed(tmp_path, "seed.json", "--database-url", url)
    assert first.code == 0, first.err
    progress = first.err.splitlines()
    assert progress[0].startswith("migrating the database from empty to ")
    assert "companies 1/2: c|47 created" in progress
    assert "jobs 1/1: j|47|nightly publish|| created" in progress
    assert first.out.splitlines() == [
        "companies: 2 created, 0 existing; users: 1 created, 0 existing; "
        "folders: 0 created, 0 existing; assets: 0 created, 0 existing; "
        "jobs: 1 created, 0 existing"
    ]

    second = run_seed(tmp_path, "seed.json", "--database-url", url)
    assert second.code == 0, second.err
    assert "companies 1/2: c|47 already there" in second.err.splitlines()
    assert "migrating" not in second.err
    assert second.out.splitlines() == [
        "companies: 0 created, 2 existing; users: 0 created, 1 existing; "
        "folders: 0 created, 0 existing; assets: 0 created, 0 existing; "
        "jobs: 0 created, 1 existing"
    ]

    database, repo = repository(url)
    try:
        acme = repo.company_by_name("Acme")
        beta = repo.company_by_name("Beta")
        assert acme is not None and acme.id == 47
        assert beta is not None and beta.id == 48
        user = repo.user_by_email("dev@acme.test")
        assert user is not None and set(user.company_ids) == {47, 48}
        job = repo.scheduled_job(47, "nightly publish")
        assert job is not None and job.exec_schedule == "0 0 3 * * ?"
        assert len(repo.companies()) == 2
    finally:
        database.dispose()


def test_seed_toml_file_with_the_database_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "seed.toml").write_text(SEED_TOML)
    url = f"sqlite:///{tmp_path / 'ips.db'}"
    result = run_seed(tmp_path, "seed.toml", IPS_DATABASE_URL=url)
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "companies: 1 created, 0 existing; users: 1 created, 0 existing; "
        "folders: 0 created, 0 existing; assets: 0 created, 0 existing; "
        "jobs: 1 created, 0 existing"
    ]
    database, repo = repository(url)
    try:
        job = repo.scheduled_job(47, "new year publish")
        assert job is not None and job.exec_time is not None
        assert job.exec_time.isoformat().startswith("2035-01-01T03:00:00")
    finally:
        database.dispose()


def test_seed_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ips.db'}"
    (tmp_path / "nameless.json").write_text(json.dumps({"companies": [{"id": 47}]}))
    (tmp_path / "broken.json").write_text('{"companies": [')
    (tmp_path / "broken.toml").write_text("[[companies]\n")
    (tmp_path / "seed.yaml").write_text("companies: []\n")
    cases = {
        "nameless.json": ["nameless.json", "'companies[0].name'"],
        "broken.json": ["broken.json", "not valid JSON"],
        "broken.toml": ["broken.toml", "not valid TOML"],
        "seed.yaml": ["seed.yaml", ".json or .toml"],
        "missing.toml": ["missing.toml", "cannot read it"],
    }
    for name, expected in cases.items():
        result = run_seed(tmp_path, name, "--database-url", url)
        assert result.code == 2, (name, result)
        assert result.out == ""
        # Progress lines (migrating, items done) may come first; the error is one last line.
        *progress, line = result.error_lines()
        assert line.startswith("error: "), line
        assert not any(p.startswith("error") for p in progress), progress
        assert "Traceback" not in result.err
        for text in expected:
            assert text in line, (name, line)
    database, repo = repository(url)
    try:
        assert repo.companies() == []
    finally:
        database.dispose()


def test_seed_toml_with_an_asset_from_a_file_relative_to_the_seed_file(tmp_path: Path) -> None:
    """`file` is read relative to the seed file, not the folder the command runs in; the bytes
    go into the file store beside the database, as an upload's would."""
    seeds = tmp_path / "seeds"
    (seeds / "images").mkdir(parents=True)
    picture = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 120, 0)).save(picture, "PNG")
    (seeds / "images" / "leaf.png").write_bytes(picture.getvalue())
    (seeds / "seed.toml").write_text(
        '[[companies]]\nname = "Acme"\nid = 47\n\n'
        '[[folders]]\ncompany = "Acme"\npath = "empty"\n\n'
        '[[assets]]\ncompany = "Acme"\nname = "leaf"\nfolder = "plants"\n'
        'file = "images/leaf.png"\nreadyForPublish = true\n'
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    url = f"sqlite:///{tmp_path / 'ips.db'}"
    for created, existing in ((1, 0), (0, 1)):  # the second time, all is there already
        result = run_seed(elsewhere, str(seeds / "seed.toml"), "--database-url", url)
        assert result.code == 0, result.err
        assert (
            f"folders: {created} created, {existing} existing; "
            f"assets: {created} created, {existing} existing"
        ) in result.out
    database = Database(url)
    try:
        [leaf] = SqlAssetRepository(database).assets_by_name(47, ["leaf"])
    finally:
        database.dispose()
    assert (leaf.folder, leaf.file_name, leaf.type) == ("Acme/plants/", "leaf.png", "Image")
    assert (leaf.info.width, leaf.info.height, leaf.ready_for_publish) == (40, 30, True)
    stored = FileStore(tmp_path / "ips.db.files").path(leaf.info.optimized_file or "")
    assert stored.read_bytes() == picture.getvalue()
