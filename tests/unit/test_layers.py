"""The layers stay apart: the domain knows no XML or SQL, the store no SOAP, the wire no SQL."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ips_jobs"

FORBIDDEN = {
    "domain": ("lxml", "spyne", "sqlalchemy", "alembic", "ips_jobs.wire", "ips_jobs.store"),
    "store": ("lxml", "spyne", "ips_jobs.wire"),
    "wire": ("sqlalchemy", "alembic", "ips_jobs.store"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_nothing_it_must_not_know(layer: str) -> None:
    files = sorted((PACKAGE / layer).glob("*.py"))
    assert files, f"no modules found in {layer}"
    offenders = [
        f"{path.name} imports {name}"
        for path in files
        for name in imported_modules(path)
        if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN[layer])
    ]
    assert offenders == []
