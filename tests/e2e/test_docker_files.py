"""docker/Dockerfile, docker/constraints.txt, .dockerignore and docker/compose.yaml, checked
without a Docker engine: the files parse and say what they should, what the build copies is in
the build context, the pins cover what the wheel needs, and the image's command, run directly
with the environment the Dockerfile sets, answers the Dockerfile's own HEALTHCHECK command and
refuses a /data it may not write in with one line."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml
from conftest import ROOT, free_port
from packaging.requirements import Requirement  # pytest depends on packaging
from packaging.utils import canonicalize_name
from packaging.version import Version

import ips_jobs

DOCKERFILE = ROOT / "docker" / "Dockerfile"
CONSTRAINTS = ROOT / "docker" / "constraints.txt"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "docker" / "compose.yaml"
PYPROJECT = ROOT / "pyproject.toml"
DATABASE_URL = "postgresql://postgres:postgres@db:5432/ips"
SOURCE_TREE = {"ips_jobs", "wsdl", "alembic", "pyproject.toml", "."}
NOBODY = 65534  # nobody:nogroup on Debian


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str

    def exec_form(self) -> list[str]:
        """The JSON array of an exec-form CMD / ENTRYPOINT (the shell form is not used)."""
        value = json.loads(self.args)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), self
        return value


@dataclass(frozen=True)
class Copy:
    stage: str | None  # --from=STAGE, or None for the build context
    sources: list[str]
    destination: str


def instructions(text: str) -> list[Instruction]:
    """Dockerfile instructions, with comments dropped and continuation lines joined."""
    found: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        found.append(Instruction(keyword.upper(), args.strip()))
        pending = ""
    assert not pending, "dangling line continuation"
    return found


def split_stages(found: list[Instruction]) -> list[list[Instruction]]:
    """The build stages, each from its FROM on (an ARG before the first FROM is dropped)."""
    stages: list[list[Instruction]] = []
    for instruction in found:
        if instruction.keyword == "FROM":
            stages.append([])
        elif not stages:
            assert instruction.keyword == "ARG", f"{instruction} before the first FROM"
            continue
        stages[-1].append(instruction)
    return stages


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return instructions(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def stages(dockerfile: list[Instruction]) -> list[list[Instruction]]:
    return split_stages(dockerfile)


@pytest.fixture(scope="module")
def image(stages: list[list[Instruction]]) -> list[Instruction]:
    """The final stage: what `docker build` tags and `docker run` runs."""
    return stages[-1]


def only(found: list[Instruction], keyword: str) -> Instruction:
    matching = [i for i in found if i.keyword == keyword]
    assert len(matching) == 1, f"expected one {keyword}, got {matching}"
    return matching[0]


def base_and_name(stage: list[Instruction]) -> tuple[str, str | None]:
    """FROM IMAGE [AS NAME]"""
    words = stage[0].args.split()
    assert words and not words[0].startswith("--"), stage[0]
    if len(words) == 3 and words[1].upper() == "AS":
        return words[0], words[2]
    assert len(words) == 1, stage[0]
    return words[0], None


def copies(stage: list[Instruction]) -> list[Copy]:
    found: list[Copy] = []
    for instruction in stage:
        if instruction.keyword not in {"COPY", "ADD"}:
            continue
        words = shlex.split(instruction.args)
        options = [w for w in words if w.startswith("--")]
        paths = [w for w in words if not w.startswith("--")]
        assert len(paths) >= 2, instruction
        origin = [o.partition("=")[2] for o in options if o.startswith("--from=")]
        found.append(Copy(origin[0] if origin else None, paths[:-1], paths[-1]))
    return found


def copied_to(copy: Copy, source: str) -> str:
    """Where COPY puts one of its sources in the image."""
    if copy.destination.endswith("/"):
        return copy.destination + Path(source).name
    return copy.destination


def pip_installs(stage: list[Instruction]) -> list[list[str]]:
    """The arguments after `pip install` of each such command in the stage's RUN lines."""
    found: list[list[str]] = []
    for instruction in stage:
        if instruction.keyword != "RUN":
            continue
        for command in re.split(r"&&|\|\||;", instruction.args):
            words = shlex.split(command)
            for i, word in enumerate(words[:-1]):
                if re.fullmatch(r"pip[0-9.]*", Path(word).name) and words[i + 1] == "install":
                    found.append(words[i + 2 :])
    return found


def constraint_files(args: list[str]) -> list[str]:
    """The -c / --constraint files of one `pip install`."""
    files: list[str] = []
    for i, arg in enumerate(args):
        if arg in {"-c", "--constraint"} and i + 1 < len(args):
            files.append(args[i + 1])
        elif arg.startswith("--constraint="):
            files.append(arg.partition("=")[2])
        elif arg.startswith("-c") and len(arg) > 2:
            files.append(arg[2:])
    return files


def env_of(found: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in found:
        if instruction.keyword == "ENV":
            for pair in shlex.split(instruction.args):
                key, sep, value = pair.partition("=")
                assert sep, f"use ENV KEY=VALUE: {instruction.args}"
                env[key] = value
    return env


def healthcheck_command(found: list[Instruction]) -> list[str]:
    args = only(found, "HEALTHCHECK").args
    options, sep, command = args.partition("CMD ")
    assert sep and all(o.startswith("--") for o in options.split()), args
    return Instruction("CMD", command).exec_form()


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except (requests.ConnectionError, requests.Timeout):
        return False


def dockerignore_patterns() -> list[str]:
    lines = (line.strip() for line in DOCKERIGNORE.read_text().splitlines())
    return [line.rstrip("/") for line in lines if line and not line.startswith("#")]


def pins() -> dict[str, str]:
    """docker/constraints.txt as {canonical name: the line}."""
    found: dict[str, str] = {}
    for raw in CONSTRAINTS.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            name = canonicalize_name(re.split(r"[=<>!~;\[ ]", line, maxsplit=1)[0])
            assert name not in found, f"{name} pinned twice"
            found[name] = line
    return found


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    return [Requirement(line) for line in project["dependencies"]]


def blocked_folder(path: Path, uid: int, gid: int) -> Path | None:
    """The first folder on the way to `path` (itself included, if a folder) that uid:gid,
    with no other groups, may not enter; None if it reaches it."""
    path = Path(os.path.realpath(path))
    folders = [*reversed(path.parents), *([path] if path.is_dir() else [])]
    for folder in folders:
        info = folder.stat()
        if info.st_uid == uid:
            bit = stat.S_IXUSR
        elif info.st_gid == gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            return folder
    return None


# -- the Dockerfile ---------------------------------------------------------------------------
def test_the_image_is_slim_python_311_running_as_a_user(image: list[Instruction]) -> None:
    """The image runs on python:3.11-slim, and not as root."""
    assert base_and_name(image)[0] == "python:3.11-slim"
    users = [i.args for i in image if i.keyword == "USER"]
    assert users, "no USER: the image would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    last_user = max(i for i, ins in enumerate(image) if ins.keyword == "USER")
    assert only(image, "ENTRYPOINT") in image[last_user:]


def test_the_image_serves_on_all_interfaces_port_8080(image: list[Instruction]) -> None:
    assert only(image, "EXPOSE").args == "8080"
    assert env_of(image)["IPS_HOST"] == "0.0.0.0"
    assert only(image, "ENTRYPOINT").exec_form() == ["ips-jobs"]
    assert only(image, "CMD").exec_form() == ["serve"]


def test_the_image_keeps_its_sqlite_database_in_the_data_volume(image: list[Instruction]) -> None:
    """`docker run -v NAME:/data` keeps the jobs; the server runs in /data, its home."""
    assert only(image, "VOLUME").args in {"/data", '["/data"]'}
    assert [i.args for i in image if i.keyword == "WORKDIR"][-1] == "/data"
    assert env_of(image)["IPS_DATABASE_URL"] == "sqlite:////data/ips-jobs.db"


def test_the_wheel_is_built_in_a_stage_of_its_own(stages: list[list[Instruction]]) -> None:
    """The build stage's tools and sources stay out of the image; only its wheel goes on."""
    assert len(stages) == 2, "expected a build stage and the image"
    base, name = base_and_name(stages[0])
    assert base == "python:3.11-slim"
    assert name, "name the build stage (FROM ... AS build) for the image to copy from"
    runs = " && ".join(i.args for i in stages[0] if i.keyword == "RUN")
    assert re.search(r"\bpip wheel\b|-m build\b.*--wheel", runs), runs
    from_build = [c for c in copies(stages[-1]) if c.stage == name]
    assert from_build, f"the image copies nothing --from={name}"
    assert all(s.endswith(".whl") for c in from_build for s in c.sources), from_build


def test_the_image_installs_the_wheel_with_the_pinned_versions(image: list[Instruction]) -> None:
    """A plain (not editable) install of the wheel, with every dependency at the version
    docker/constraints.txt pins, so that two builds of one commit run the same code."""
    installs = pip_installs(image)
    assert len(installs) == 1, installs
    args = installs[0]
    assert not [a for a in args if a.startswith(("-e", "--editable"))], args
    constraints = {
        copied_to(c, s)
        for c in copies(image)
        if c.stage is None
        for s in c.sources
        if s == "docker/constraints.txt"
    }
    assert constraints, "docker/constraints.txt is not copied into the image"
    assert set(constraint_files(args)) == constraints, args
    wheel_folders = {c.destination.rstrip("/") for c in copies(image) if c.stage is not None}
    wheels = [a for a in args if a.endswith(".whl")]
    assert len(wheels) == 1, f"install the wheel, and only it: {args}"
    assert str(Path(wheels[0]).parent) in wheel_folders, (wheels, wheel_folders)
    assert fnmatch.fnmatch("ips_jobs-1.2.3-py3-none-any.whl", Path(wheels[0]).name)


def test_the_image_holds_no_source_tree(image: list[Instruction]) -> None:
    """Nothing imports ips_jobs from a checkout in the image: the installed wheel is all."""
    for copy in copies(image):
        tops = {Path(s).parts[0] if Path(s).parts else "." for s in copy.sources}
        assert not tops & SOURCE_TREE, f"the image copies the source tree: {copy}"
        if copy.stage is None:
            assert copy.sources == ["docker/constraints.txt"], copy
        else:
            assert all(s.endswith(".whl") for s in copy.sources), copy


def test_every_file_the_dockerfile_copies_reaches_the_build_context(
    dockerfile: list[Instruction],
) -> None:
    """`docker build` fails on a COPY of a file that is missing or that .dockerignore drops."""
    patterns = dockerignore_patterns()
    context = [s for c in copies(dockerfile) if c.stage is None for s in c.sources]
    assert context
    for source in context:
        assert (ROOT / source).exists() or list(ROOT.glob(source)), f"COPY {source}: missing"
        names = {Path(source).parts[0], source.rstrip("/")}
        ignored = [p for p in patterns for n in names if fnmatch.fnmatch(n, p)]
        assert not ignored, f"COPY {source}: .dockerignore drops it ({ignored})"


def test_the_build_stage_copies_what_the_wheel_is_built_from(
    stages: list[list[Instruction]],
) -> None:
    """pyproject.toml builds the wheel from its readme, license files and package folders
    (wsdl/ and alembic/ are mapped into the package): the build stage needs all of them."""
    project_file = tomllib.loads(PYPROJECT.read_text())
    project, setuptools = project_file["project"], project_file["tool"]["setuptools"]
    readme = project["readme"]
    needed = {"pyproject.toml", readme if isinstance(readme, str) else readme["file"]}
    needed |= {Path(f).parts[0] for f in project.get("license-files", [])}
    package_dir: dict[str, str] = setuptools.get("package-dir", {})
    for package in setuptools["packages"]:
        parts = package.split(".")
        mapped = [i for i in range(len(parts), 0, -1) if ".".join(parts[:i]) in package_dir]
        if mapped:
            needed.add(Path(package_dir[".".join(parts[: mapped[0]])]).parts[0])
        else:
            needed.add(parts[0])
    copied = {Path(s).parts[0] for c in copies(stages[0]) if c.stage is None for s in c.sources}
    assert needed <= copied or "." in copied, sorted(needed - copied)


# -- docker/constraints.txt -------------------------------------------------------------------
def test_the_constraints_pin_every_line_to_one_version() -> None:
    """A range or a bare name would let two builds of the image install different code."""
    found = pins()
    assert found
    for line in found.values():
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!-]+", line), line


def test_the_constraints_pin_every_runtime_dependency() -> None:
    """Each requirement in pyproject.toml, legacy-cgi (Python 3.13 only) included, is pinned,
    at a version the requirement accepts, or pip would refuse to install the wheel."""
    found = pins()
    for requirement in runtime_requirements():
        name = canonicalize_name(requirement.name)
        assert name in found, f"{requirement} is not pinned in {CONSTRAINTS.name}"
        version = Version(found[name].partition("==")[2])
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{found[name]} does not satisfy {requirement}"
        )


def test_the_healthcheck_passes_against_the_image_command(
    image: list[Instruction], tmp_path: Path
) -> None:
    check = healthcheck_command(image)
    assert check[0] == "python"  # python:3.11-slim's interpreter; here, this test's one
    check = [sys.executable, *check[1:]]
    command = [*only(image, "ENTRYPOINT").exec_form(), *only(image, "CMD").exec_form()]
    assert command[0] == "ips-jobs"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPS_")}
    env.update(env_of(image))
    env.update(IPS_PORT=str(port), IPS_DATABASE_URL=f"sqlite:///{tmp_path / 'ips.db'}")

    def healthy() -> bool:
        done = subprocess.run(check, env=env, capture_output=True, timeout=30)
        return done.returncode == 0

    assert not healthy(), "the health check passes with no server running"
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "ips_jobs", *command[1:]],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not answers(f"http://127.0.0.1:{port}/"):
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "no answer within 60 s"
            time.sleep(0.05)
        assert healthy(), "the server answers, but not the health check"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
    assert f"0.0.0.0:{port}" in (tmp_path / "serve.log").read_text()


@pytest.fixture
def unwritable_data(tmp_path: Path) -> Iterator[tuple[list[str], Path]]:
    """A folder that a command run with the returned prefix may enter but not write in, as
    /data is for the image's user when the volume or bind mount belongs to another user.
    Root may write anywhere: as root, the command runs as nobody (setpriv), in a folder of its
    own outside tmp_path (pytest makes tmp_path's parents 0700, which nobody cannot enter)."""
    if os.geteuid() != 0:
        folder = tmp_path / "data"
        folder.mkdir(mode=0o555)
        try:
            if os.access(folder, os.W_OK):
                pytest.skip("this user may write in a folder of mode 0555 (a capability?)")
            yield [], folder
        finally:
            folder.chmod(0o755)  # for pytest to remove it
        return
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip(
            "running as root, which may write anywhere, and setpriv is missing to run "
            "the command as an unprivileged user (util-linux has it)"
        )
    with tempfile.TemporaryDirectory(prefix="ips-jobs-data-") as name:
        folder = Path(name)
        folder.chmod(0o755)  # root's, so nobody may enter it but not write in it
        needed = {
            "this Python": Path(sys.executable).parent,
            "this Python's interpreter": Path(os.path.realpath(sys.executable)),
            "this Python's installation": Path(sys.base_prefix),
            "this virtual environment": Path(sys.prefix),
            "the ips_jobs package": Path(ips_jobs.__file__).parent,
            "the data folder": folder,
        }
        for what, path in needed.items():
            blocked = blocked_folder(path, NOBODY, NOBODY)
            if blocked is not None:
                mode = stat.filemode(blocked.stat().st_mode)
                pytest.skip(
                    f"uid {NOBODY} (nobody) may not enter {blocked} ({mode}) on the way to "
                    f"{what}, {path}, so it cannot run the server here; this test changes "
                    "no permissions outside its own folders"
                )
        prefix = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        probe = subprocess.run(
            [*prefix, sys.executable, "-c", "import ips_jobs.cli"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=folder,
        )
        if probe.returncode != 0:
            last = (probe.stderr.strip().splitlines() or ["(no output)"])[-1]
            pytest.skip(f"uid {NOBODY} (nobody) cannot import ips_jobs with this Python: {last}")
        yield prefix, folder


def test_the_image_command_says_in_one_line_that_it_may_not_write_in_data(
    image: list[Instruction], unwritable_data: tuple[list[str], Path]
) -> None:
    """A /data that the image's user may not write in (say, a bind mount of a host folder) is
    the likeliest first failure of the container: the image's command says so in one line that
    names the folder, and exits 2, instead of SQLite's "unable to open database file"."""
    prefix, folder = unwritable_data
    command = [*only(image, "ENTRYPOINT").exec_form(), *only(image, "CMD").exec_form()]
    assert command[0] == "ips-jobs"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPS_")}
    env.update(env_of(image))
    url = env["IPS_DATABASE_URL"]
    assert url.startswith("sqlite:////data/"), url
    env.update(
        IPS_DATABASE_URL=url.replace("/data/", f"{folder}/", 1),
        IPS_PORT=str(free_port()),
        HOME=str(folder),  # the image's user has /data as its home
    )
    database = folder / url.rpartition("/")[2]
    done = subprocess.run(
        [*prefix, sys.executable, "-m", "ips_jobs", *command[1:]],
        env=env,
        cwd=folder,  # WORKDIR /data
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: cannot open the SQLite database {database}: "), lines
    assert f"may not write in the folder {folder} " in lines[0], lines
    assert not list(folder.iterdir()), "it wrote in the folder it says it may not write in"


# -- compose ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, object]]:
    compose = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(compose, dict) and isinstance(compose.get("services"), dict)
    return compose["services"]


def test_compose_runs_postgres_16_with_a_healthcheck(services: dict[str, dict]) -> None:
    db = services["db"]
    assert str(db["image"]).startswith("postgres:16")
    assert db["healthcheck"]["test"]
    assert db["environment"]["POSTGRES_PASSWORD"] == "postgres"
    assert db["environment"]["POSTGRES_DB"] == "ips"


def test_compose_runs_two_servers_and_two_workers_on_the_db(services: dict[str, dict]) -> None:
    apps = {name: s for name, s in services.items() if name != "db"}
    commands = sorted(tuple(s["command"][:2]) for s in apps.values())
    assert commands == [("serve", "--no-engine")] * 2 + [("worker",)] * 2
    host_ports = sorted(
        str(port).rsplit(":", 1)[0]
        for s in apps.values()
        if s["command"][0] == "serve"
        for port in s["ports"]
    )
    assert host_ports == ["8080", "8081"]
    for name, service in apps.items():
        assert service["environment"]["IPS_DATABASE_URL"] == DATABASE_URL, name
        assert service["depends_on"]["db"]["condition"] == "service_healthy", name
        build = service["build"]
        assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE


def test_compose_says_it_is_for_compose_v2() -> None:
    """v2 (`docker compose`) reads the file as it is; v1 (`docker-compose`) is retired, and
    v2 warns that a top-level `version:` is obsolete."""
    first = COMPOSE.read_text().splitlines()[0]
    assert first.startswith("#") and "Compose v2" in first and "docker compose" in first, first
    compose = yaml.safe_load(COMPOSE.read_text())
    assert "version" not in compose
