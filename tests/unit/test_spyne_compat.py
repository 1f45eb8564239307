"""Tests for ips_jobs.wire.spyne_compat: spyne 2.14 must import on 3.11-3.13."""

from __future__ import annotations

import collections.abc
import importlib
import importlib.util
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from ips_jobs.wire import spyne_compat

PROJECT_ROOT = Path(__file__).resolve().parents[2]

SPYNE_MODULES = (
    "spyne",
    "spyne.protocol.soap",
    "spyne.protocol.xml",
    "spyne.model.complex",
    "spyne.model.primitive",
)


def _run_fresh_python(code: str, extra_env: dict[str, str] | None = None) -> None:
    """Run ``code`` in a new interpreter with warnings as errors; fail on non-zero exit."""
    env = dict(os.environ)
    env.pop("PYTHONWARNINGS", None)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p
    )
    env.update(extra_env or {})
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, (
        f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )
    assert proc.stdout.strip().endswith("ok"), proc.stdout


def test_install_twice_is_harmless() -> None:
    spyne_compat.install()
    before = list(sys.meta_path)
    filters_before = list(warnings.filters)

    spyne_compat.install()
    spyne_compat.install()

    assert spyne_compat.is_installed()
    patchers = [f for f in sys.meta_path if type(f).__name__ == "_SixImporterPatcher"]
    assert len(patchers) == 1
    assert sys.meta_path == before
    assert warnings.filters == filters_before


def test_spyne_modules_import() -> None:
    for name in SPYNE_MODULES:
        importlib.import_module(name)

    six = sys.modules["spyne.util.six"]
    importer_cls = type(six._importer)
    for method in ("find_spec", "create_module", "exec_module"):
        assert hasattr(importer_cls, method), method
    assert any(f is six._importer for f in sys.meta_path)


def test_six_moves_alias_keeps_real_spec() -> None:
    moved = importlib.import_module("spyne.util.six.moves.collections_abc")

    assert moved is sys.modules["collections.abc"]
    assert moved.MutableSet is collections.abc.MutableSet
    # The import system sets __spec__ on whatever create_module returns; the
    # compat loader must put the stdlib module's own spec back.
    assert moved.__spec__ is not None
    assert not moved.__spec__.name.startswith("spyne.")


def test_complex_model_round_trips_through_xml_document() -> None:
    from lxml import etree
    from spyne.model.complex import Array, ComplexModel
    from spyne.model.primitive import Integer, Unicode
    from spyne.protocol.xml import XmlDocument

    class CompatProbe(ComplexModel):
        __namespace__ = "urn:ips-jobs:test:spyne-compat"
        name = Unicode
        priority = Integer
        tags = Array(Unicode)

    original = CompatProbe(name="nightly-export", priority=7, tags=["a", "b"])
    parent = etree.Element("parent")
    XmlDocument().to_parent(None, CompatProbe, original, parent, CompatProbe.get_namespace())

    assert len(parent) == 1
    element = parent[0]
    assert etree.QName(element).namespace == "urn:ips-jobs:test:spyne-compat"

    reparsed = etree.fromstring(etree.tostring(element))
    decoded = XmlDocument().from_element(None, CompatProbe, reparsed)

    assert isinstance(decoded, CompatProbe)
    assert decoded.name == "nightly-export"
    assert decoded.priority == 7
    assert list(decoded.tags) == ["a", "b"]


IMPORT_SPYNE_AFTER_WIRE = f"""
    import sys
    import ips_jobs.wire
    assert "spyne" not in sys.modules, "install() must run before spyne is imported"
    import importlib
    for name in {SPYNE_MODULES!r}:
        importlib.import_module(name)
    print("ok")
"""


def test_fresh_interpreter_imports_spyne_after_ips_jobs_wire() -> None:
    _run_fresh_python(IMPORT_SPYNE_AFTER_WIRE)


def test_fresh_interpreter_without_bytecode_cache_is_quiet(tmp_path: Path) -> None:
    # Forces every module, spyne's included, to be compiled from source, which
    # is when spyne's invalid escape sequence warning would be raised.
    _run_fresh_python(IMPORT_SPYNE_AFTER_WIRE, {"PYTHONPYCACHEPREFIX": str(tmp_path)})


@pytest.mark.skipif(sys.version_info < (3, 13), reason="cgi is in the stdlib before 3.13")
def test_cgi_is_available_on_313() -> None:
    assert importlib.util.find_spec("cgi") is not None
