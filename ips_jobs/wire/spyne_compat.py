"""Make spyne 2.14.0 importable on Python 3.11, 3.12 and 3.13.

Call :func:`install` before spyne is first imported (``ips_jobs.wire`` does so
on import, so any ``import ips_jobs.wire.*`` is enough). It is idempotent.

What it fixes:

* spyne bundles an old ``six`` (``spyne/util/six.py``) whose meta-path importer
  ``_SixMetaPathImporter`` serves ``spyne.util.six.moves.*`` through the
  PEP 302 ``find_module``/``load_module`` protocol only. Python 3.12 removed
  that fallback from the import system, so spyne's own
  ``from spyne.util.six.moves.collections_abc import ...`` fails with
  ``ModuleNotFoundError``; on 3.11 it still works but emits an
  ``ImportWarning`` per lookup, which is fatal under ``-W error`` (and under
  pytest's ``filterwarnings = error``). The importer class cannot be reached
  before spyne's package ``__init__`` starts importing, so :func:`install` puts
  a small finder of ours at the front of ``sys.meta_path``. It never finds
  anything itself; on each lookup it checks ``sys.meta_path`` for a
  ``spyne.util.six._SixMetaPathImporter`` that lacks ``find_spec`` and gives
  that class the PEP 451 trio ``find_spec``/``create_module``/``exec_module``,
  built on the class's own ``find_module``/``load_module``/``is_package``.
  six appends its importer at the end of ``sys.meta_path`` while spyne's
  ``__init__`` runs, and the next import statement (the ``moves`` import) runs
  our finder before reaching six's importer, so the patch is in place in time.
  An importer that already has ``find_spec`` (a spyne with a modern six) is
  left alone. The import system sets ``__spec__`` on whatever
  ``create_module`` returns, so ``exec_module`` puts back the real spec of a
  stdlib module served as a "moved" alias (for example ``collections.abc``).
* ``spyne.protocol.soap`` does ``import cgi``. On 3.11/3.12 that emits
  ``DeprecationWarning: 'cgi' is deprecated``; :func:`install` imports ``cgi``
  once with exactly that warning ignored, so spyne's later import is a cache
  hit and silent. On 3.13+ the stdlib module is gone and the ``legacy-cgi``
  distribution (a dependency of this project there) provides it;
  :func:`install` raises :class:`ImportError` with that hint if it is missing.

Warnings filtered: besides the one-off ``cgi`` import above, :func:`install`
adds a process-wide ``ignore`` filter for the "invalid escape sequence"
warning (``SyntaxWarning`` on 3.12+, ``DeprecationWarning`` on 3.11) raised
only while compiling spyne's own source files (``spyne/protocol/http.py``
has one), matched by message, category and the path of the file. It fires
only when no bytecode cache exists; without the filter, ``-W error`` turns it
into a ``SyntaxError``. Note that a test runner that resets warning filters
(pytest does, per phase) drops this filter; pip's install-time bytecode
compilation normally makes the issue moot there.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

__all__ = ["install", "is_installed"]

_SIX_MODULE = "spyne.util.six"
_SIX_IMPORTER_CLASS = "_SixMetaPathImporter"

# The "module" a compile-time warning is attributed to is the source path
# without ".py", so this matches files inside any directory named "spyne".
_SPYNE_SOURCE_PATH = r".*[\\/]spyne[\\/]"
_ESCAPE_WARNING = r"invalid escape sequence"
_CGI_WARNING = r"'cgi' is deprecated"

_lock = threading.Lock()


def _six_find_spec(
    self: Any,
    fullname: str,
    path: Sequence[str] | None = None,
    target: ModuleType | None = None,
) -> importlib.machinery.ModuleSpec | None:
    """PEP 451 ``find_spec`` on top of six's ``find_module``."""
    if self.find_module(fullname, path) is None:
        return None
    return importlib.util.spec_from_loader(
        fullname, self, is_package=bool(self.is_package(fullname))
    )


def _six_create_module(self: Any, spec: importlib.machinery.ModuleSpec) -> ModuleType:
    """Produce the module with six's ``load_module``.

    The module may be an existing one (``collections.abc`` for
    ``spyne.util.six.moves.collections_abc``); its own ``__spec__`` is kept in
    ``spec.loader_state`` so :func:`_six_exec_module` can restore it after the
    import system has replaced it.
    """
    module: ModuleType = self.load_module(spec.name)
    spec.loader_state = getattr(module, "__spec__", None)
    return module


def _six_exec_module(self: Any, module: ModuleType) -> None:
    """Nothing to execute: six's modules are ready; only restore ``__spec__``."""
    spec = getattr(module, "__spec__", None)
    original = getattr(spec, "loader_state", None)
    if isinstance(original, importlib.machinery.ModuleSpec):
        module.__spec__ = original


_PEP451_METHODS: dict[str, Callable[..., Any]] = {
    "find_spec": _six_find_spec,
    "create_module": _six_create_module,
    "exec_module": _six_exec_module,
}


def _patch_six_importers() -> None:
    """Give every spyne six importer on ``sys.meta_path`` the PEP 451 methods."""
    for finder in sys.meta_path:
        cls = type(finder)
        if (
            cls.__name__ == _SIX_IMPORTER_CLASS
            and cls.__module__ == _SIX_MODULE
            and not hasattr(cls, "find_spec")
        ):
            for name, method in _PEP451_METHODS.items():
                setattr(cls, name, method)


class _SixImporterPatcher(importlib.abc.MetaPathFinder):
    """Finder that never finds: it patches spyne's six importer when it shows up.

    It stays first on ``sys.meta_path`` so that it runs before six's importer
    (appended at the end) is consulted; the check costs one scan of a short
    list per import that misses ``sys.modules``.
    """

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> None:
        _patch_six_importers()
        return None


def is_installed() -> bool:
    """Return whether :func:`install` has put its finder on ``sys.meta_path``."""
    return any(isinstance(finder, _SixImporterPatcher) for finder in sys.meta_path)


def _filter_compile_warnings() -> None:
    category: type[Warning] = SyntaxWarning if sys.version_info >= (3, 12) else DeprecationWarning
    warnings.filterwarnings(
        "ignore", message=_ESCAPE_WARNING, category=category, module=_SPYNE_SOURCE_PATH
    )


def _preload_cgi() -> None:
    if sys.version_info >= (3, 13):
        if importlib.util.find_spec("cgi") is None:
            raise ImportError(
                "spyne needs the 'cgi' module, which Python 3.13 removed from the "
                "standard library; install the 'legacy-cgi' package"
            )
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_CGI_WARNING, category=DeprecationWarning)
        importlib.import_module("cgi")


def install() -> None:
    """Make spyne importable on this interpreter; safe to call any number of times.

    Must run before spyne is first imported. Repeated calls only re-assert the
    warning filter (``warnings.filterwarnings`` does not duplicate entries).
    """
    with _lock:
        if not is_installed():
            sys.meta_path.insert(0, _SixImporterPatcher())
        # spyne may already be imported (it works, noisily, on 3.11).
        _patch_six_importers()
        _filter_compile_warnings()
        _preload_cgi()
