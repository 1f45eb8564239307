"""The files that ship inside the package: the WSDLs and schemas (`wsdl/` in the repository)
and the Alembic migrations (`alembic/`). A wheel carries them as `ips_jobs.wsdl` and
`ips_jobs.alembic` (pyproject.toml maps the folders in), found with importlib.resources.

Neither folder has an `__init__.py` (one in `alembic/` would shadow the Alembic library for
anything run from the repository root), and setuptools' editable finder cannot import such a
mapped folder; an editable install is therefore read from the source tree that its PEP 610
`direct_url.json` names."""

from __future__ import annotations

import functools
import importlib.resources
import json
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ips_jobs.errors import ConfigError

DISTRIBUTION = "ips-jobs"


class MissingResource(ConfigError):
    """A file that ships with ips-jobs is missing: reinstall ips-jobs."""


@functools.cache
def wsdl_folder() -> Path:
    """The served WSDL files and the schemas they import."""
    return _folder("wsdl", "ips-types.xsd")


@functools.cache
def migrations_folder() -> Path:
    """Alembic's script directory (env.py, versions/)."""
    return _folder("alembic", "env.py")


def _folder(name: str, marker: str) -> Path:
    """The shipped folder `name`, checked to hold `marker`, as a real directory (Alembic and
    the WSDL server read files by path)."""
    package = f"ips_jobs.{name}"
    try:
        found = importlib.resources.files(package) / marker
    except ModuleNotFoundError:
        found = _editable_source(package) / name / marker
    if not isinstance(found, Path) or not found.is_file():
        raise MissingResource(
            f"{marker} of {package} is missing ({found}): reinstall ips-jobs "
            "(pip install --force-reinstall ips-jobs)"
        )
    return found.parent


def _editable_source(package: str) -> Path:
    """The source tree of an editable install, from its direct_url.json (other metadata of
    the same name, such as a build's ips_jobs.egg-info in the checkout, is passed over)."""
    for distribution in metadata.distributions(name=DISTRIBUTION):
        origin = json.loads(distribution.read_text("direct_url.json") or "{}")
        if origin.get("dir_info", {}).get("editable"):
            return Path(unquote(urlsplit(origin["url"]).path))
    raise MissingResource(
        f"{package} is missing: install ips-jobs with pip (pip install ips-jobs, or "
        "pip install -e . in a checkout) rather than running it from a bare source tree"
    )
