"""ips-jobs as a user installs it: the sdist and wheel `python -m build` makes, installed into
a fresh virtual environment (with docker/constraints.txt, as the image installs it) and with
pipx, then run from an empty folder outside the source tree, whose code and files they
cannot reach. The pytest plugin runs a small user suite there too."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import time
import zipfile
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

import pytest
import requests
from conftest import ROOT, free_port, serving, user_env

CONSTRAINTS = ROOT / "docker" / "constraints.txt"
SUBMIT = """<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
 <soapenv:Header>
  <authHeader xmlns="http://www.scene7.com/IpsApi/xsd">
   <user>demo@example.com</user><password>demo</password>
  </authHeader>
 </soapenv:Header>
 <soapenv:Body>
  <submitJobParam xmlns="http://www.scene7.com/IpsApi/xsd/2014-04-03">
   <companyHandle>c|1</companyHandle><jobName>My Test Job</jobName>
   <imageServingPublishJob><publishType>Full</publishType><emailSetting>Error</emailSetting>
   </imageServingPublishJob>
  </submitJobParam>
 </soapenv:Body>
</soapenv:Envelope>"""


@dataclass(frozen=True)
class Dist:
    wheel: Path
    sdist: Path


@dataclass(frozen=True)
class Installed:
    """A virtual environment holding the wheel; `bin` has its `ips-jobs` and `python`."""

    bin: Path

    def run(self, *args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            cwd=cwd,
            env=user_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def run(*args: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=user_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """The sdist, and the wheel built from it (so the sdist is known to be complete)."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, ROOT)
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return Dist(wheel, sdist)


@pytest.fixture(scope="module")
def venv(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    folder = tmp_path_factory.mktemp("venv")
    run(sys.executable, "-m", "venv", folder)
    run(folder / "bin" / "pip", "install", "-q", "-c", CONSTRAINTS, dist.wheel)
    return Installed(folder / "bin")


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    """An empty working folder outside the source tree."""
    folder = tmp_path / "work"
    folder.mkdir()
    assert not folder.resolve().is_relative_to(ROOT.resolve())
    return folder


def serves_wsdl_and_submit_job(base: str) -> None:
    wsdl = requests.get(f"{base}/scene7/services/IpsApiService?wsdl", timeout=30)
    assert wsdl.status_code == 200
    assert b"<wsdl:definitions" in wsdl.content or b"definitions" in wsdl.content[:2000]
    answer = requests.post(
        f"{base}/scene7/services/IpsApiService",
        data=SUBMIT.encode(),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "submitJob"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert "<jobHandle>j|1|My Test Job||</jobHandle>" in answer.text


def serve_from_an_empty_folder(ips_jobs: Path, folder: Path) -> None:
    """The issue's check: serve --port 0 --ephemeral --port-file p answers ?wsdl and a
    submitJob, and after SIGTERM nothing is left behind, in the folder or in /tmp."""
    command = [str(ips_jobs), "serve", "--port", "0", "--ephemeral", "--port-file", "p"]
    with serving(command, folder, folder.parent / "serve.log") as served:
        serves_wsdl_and_submit_job(served.base_url)
    assert served.process.returncode == 0, served.log()
    assert list(folder.iterdir()) == [], "files left behind after SIGTERM"
    ephemeral = re.search(r"ephemeral database sqlite:///(\S+)/ips-jobs\.db", served.log())
    assert ephemeral, served.log()
    assert not Path(ephemeral[1]).exists(), "the ephemeral database outlived the server"


# -- what is built ------------------------------------------------------------------------------
def test_the_wheel_carries_every_module_the_wsdls_and_the_migrations(dist: Dist) -> None:
    names = set(zipfile.ZipFile(dist.wheel).namelist())
    expected = {
        *(p.relative_to(ROOT).as_posix() for p in (ROOT / "ips_jobs").rglob("*.py")),
        *(f"ips_jobs/wsdl/{p.name}" for p in (ROOT / "wsdl").glob("*.wsdl")),
        *(f"ips_jobs/wsdl/{p.name}" for p in (ROOT / "wsdl").glob("*.xsd")),
        "ips_jobs/alembic/env.py",
        *(f"ips_jobs/alembic/versions/{p.name}" for p in (ROOT / "alembic/versions").glob("*.py")),
    }
    assert expected - names == set()
    assert not [n for n in names if n.startswith(("tests/", "alembic/", "wsdl/", "docs/"))]


def test_the_metadata_is_what_a_package_index_expects(dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as wheel:
        (metadata_name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(wheel.read(metadata_name).decode())
        licenses = [n for n in wheel.namelist() if n.endswith("/LICENSE")]
        entry_points = wheel.read(metadata_name.replace("METADATA", "entry_points.txt")).decode()
    assert metadata["License-Expression"] == "MIT"
    assert licenses and b"MIT License" in zipfile.ZipFile(dist.wheel).read(licenses[0])
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert "Framework :: Pytest" in metadata.get_all("Classifier")
    assert "[pytest11]\nips_jobs = ips_jobs.pytest_plugin" in entry_points
    assert "ips-jobs = ips_jobs.cli:main" in entry_points
    run(sys.executable, "-m", "twine", "check", "--strict", dist.wheel, dist.sdist)


def test_the_sdist_holds_what_the_wheel_is_built_from(dist: Dist) -> None:
    with tarfile.open(dist.sdist) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"LICENSE", "README.md", "pyproject.toml", "alembic/env.py", "wsdl/IpsApi.wsdl"} <= names


def test_the_constraints_pin_everything_the_wheel_installs(venv: Installed) -> None:
    """docker/constraints.txt is the image's lock file: nothing installed escapes it."""
    pins = {
        line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
        for line in CONSTRAINTS.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    frozen = run(venv.bin / "pip", "freeze", "--exclude", "ips-jobs").split()
    installed = {n.lower().replace("_", "-"): v for n, _, v in (f.partition("==") for f in frozen)}
    assert {name: pins.get(name) for name in installed} == installed


# -- what is installed -------------------------------------------------------------------------
def test_the_installed_wheel_serves_from_an_empty_folder(venv: Installed, empty: Path) -> None:
    where = venv.run("python", "-c", "import ips_jobs; print(ips_jobs.__file__)", cwd=empty)
    assert Path(where.stdout.strip()).is_relative_to(venv.bin.parent)
    serve_from_an_empty_folder(venv.bin / "ips-jobs", empty)


def test_the_installed_wheel_migrates_a_database_file(venv: Installed, empty: Path) -> None:
    upgraded = venv.run("ips-jobs", "db", "upgrade", cwd=empty)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.startswith("database at revision ")
    assert [p.name for p in empty.iterdir()] == ["ips-jobs.db"]
    listed = venv.run("ips-jobs", "companies", "list", cwd=empty)
    assert listed.returncode == 0 and listed.stdout == ""


def test_a_missing_shipped_file_is_one_clear_line(venv: Installed, empty: Path) -> None:
    (env_py,) = venv.bin.parent.glob("lib/python*/site-packages/ips_jobs/alembic/env.py")
    moved = env_py.with_name("env.py.moved")
    env_py.rename(moved)
    try:
        done = venv.run("ips-jobs", "db", "upgrade", cwd=empty)
    finally:
        moved.rename(env_py)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: env.py of ips_jobs.alembic is missing ({env_py}): reinstall ips-jobs "
        "(pip install --force-reinstall ips-jobs)"
    ]


def test_pipx_installs_a_working_ips_jobs(tmp_path: Path, empty: Path) -> None:
    home, bin_dir = tmp_path / "pipx", tmp_path / "bin"
    env = user_env(PIPX_HOME=str(home), PIPX_BIN_DIR=str(bin_dir))
    done = subprocess.run(
        [sys.executable, "-m", "pipx", "install", "--pip-args", f"-c {CONSTRAINTS}", str(ROOT)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    serve_from_an_empty_folder(bin_dir / "ips-jobs", empty)


# -- the pytest plugin -------------------------------------------------------------------------
USER_SUITE = """
import urllib.request

SUBMIT = {submit!r}


def soap(url, body):
    request = urllib.request.Request(
        url, data=body.encode(), headers={{"Content-Type": "text/xml", "SOAPAction": "x"}})
    try:
        return urllib.request.urlopen(request).read().decode()
    except urllib.error.HTTPError as error:
        return error.read().decode()


def test_x(ips):
    assert "<jobHandle>j|1|My Test Job||</jobHandle>" in soap(ips.url, SUBMIT)


def test_each_test_starts_from_a_reset_server(ips):
    assert ips.requests() == []
    assert "<jobHandle>j|1|My Test Job||</jobHandle>" in soap(ips.url, SUBMIT)


def test_fault_rules(ips):
    ips.fault(effect="fault", operation="submitJob", code=30000, remaining=1)
    assert "<tns:code>30000</tns:code>" in soap(ips.url, SUBMIT)
    assert "<jobHandle>" in soap(ips.url, SUBMIT)


def test_seed_and_the_server_details(ips, ips_server):
    assert ips is ips_server
    assert ips.seed({{"companies": [{{"name": "Acme", "id": 47}}]}})["created"]["companies"] == [
        "c|47"]
    assert ips.company_handle == "c|1" and ips.user == "demo@example.com"
    assert ips.control_url == ips.url.split("/scene7/")[0] + "/_ips"
    assert b"IpsApi" in urllib.request.urlopen(ips.wsdl_url("2014-04-03")).read()
    assert b"definitions" in urllib.request.urlopen(ips.wsdl_url()).read()
"""


def readme_example() -> str:
    """The example test of the README's "Testing with pytest"."""
    section = (ROOT / "README.md").read_text().split("## Testing with pytest", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_a_user_suite_runs_on_the_plugin_alone(venv: Installed, empty: Path) -> None:
    run(venv.bin / "pip", "install", "-q", "pytest", "zeep")
    (empty / "test_with_ips.py").write_text(USER_SUITE.format(submit=SUBMIT))
    (empty / "test_readme_example.py").write_text(readme_example())
    done = venv.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=empty)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout
    options = venv.run("python", "-m", "pytest", "--help", cwd=empty).stdout
    assert "--ips-database-url" in options and "--ips-run-seconds" in options
    assert "--ips-uploads" in options


def test_a_second_server_on_the_same_port_exits_2_in_one_line(
    venv: Installed, empty: Path, tmp_path: Path
) -> None:
    port = str(free_port())
    first = tmp_path / "first"
    first.mkdir()
    command = [str(venv.bin / "ips-jobs"), "serve", "--port", port, "--port-file", "p"]
    with serving(command, first, tmp_path / "first.log"):
        started = time.monotonic()
        second = venv.run("ips-jobs", "serve", "--port", port, cwd=empty, timeout=30)
        elapsed = time.monotonic() - started
    assert second.returncode == 2
    assert second.stderr.splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port} (--port): the port is in use"
    ]
    assert elapsed < 2
    assert list(empty.iterdir()) == []
