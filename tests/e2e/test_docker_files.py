"""docker/Dockerfile and docker/compose.yaml, checked without a Docker engine: the files parse
and say what they should, and the image's command, run directly with the environment the
Dockerfile sets, answers the Dockerfile's own HEALTHCHECK command."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml
from conftest import ROOT, free_port

DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "compose.yaml"
DATABASE_URL = "postgresql://postgres:postgres@db:5432/ips"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str

    def exec_form(self) -> list[str]:
        """The JSON array of an exec-form CMD / ENTRYPOINT (the shell form is not used)."""
        value = json.loads(self.args)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), self
        return value


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


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return instructions(DOCKERFILE.read_text())


def only(found: list[Instruction], keyword: str) -> Instruction:
    matching = [i for i in found if i.keyword == keyword]
    assert len(matching) == 1, f"expected one {keyword}, got {matching}"
    return matching[0]


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


# -- the Dockerfile ---------------------------------------------------------------------------
def test_the_image_is_slim_python_311_running_as_a_user(dockerfile: list[Instruction]) -> None:
    assert dockerfile[0] == Instruction("FROM", "python:3.11-slim")
    users = [i.args for i in dockerfile if i.keyword == "USER"]
    assert users, "no USER: the image would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    last_user = max(i for i, ins in enumerate(dockerfile) if ins.keyword == "USER")
    assert only(dockerfile, "ENTRYPOINT") in dockerfile[last_user:]


def test_the_image_serves_on_all_interfaces_port_8080(dockerfile: list[Instruction]) -> None:
    assert only(dockerfile, "EXPOSE").args == "8080"
    assert env_of(dockerfile)["IPS_HOST"] == "0.0.0.0"
    assert only(dockerfile, "ENTRYPOINT").exec_form() == ["ips-jobs"]
    assert only(dockerfile, "CMD").exec_form() == ["serve"]


def test_the_project_is_copied_with_its_wsdl_and_migrations(dockerfile: list[Instruction]) -> None:
    """The package finds wsdl/ and alembic/ next to its sources (editable install)."""
    copied = {
        Path(source).name
        for ins in dockerfile
        if ins.keyword == "COPY"
        for source in shlex.split(ins.args)[:-1]
        if not source.startswith("--")
    }
    assert {"pyproject.toml", "ips_jobs", "wsdl", "alembic"} <= copied or "." in copied
    assert any(i.keyword == "RUN" and "pip install -e ." in i.args for i in dockerfile)


def test_the_healthcheck_passes_against_the_image_command(
    dockerfile: list[Instruction], tmp_path: Path
) -> None:
    check = healthcheck_command(dockerfile)
    assert check[0] == "python"  # python:3.11-slim's interpreter; here, this test's one
    check = [sys.executable, *check[1:]]
    command = [*only(dockerfile, "ENTRYPOINT").exec_form(), *only(dockerfile, "CMD").exec_form()]
    assert command[0] == "ips-jobs"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPS_")}
    env.update(env_of(dockerfile))
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
            assert time.monotonic() < deadline, "no answer within 30 s"
            time.sleep(0.05)
        assert healthy(), "the server answers, but not the health check"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
    assert f"0.0.0.0:{port}" in (tmp_path / "serve.log").read_text()


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
