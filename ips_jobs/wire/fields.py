"""responseFieldArray and excludeFieldArray: which elements of an answer are written.

Paths are `/`-separated and relative to the `<op>Return` element (`assetArray/items/name`,
`totalRows`, `folders/path`); naming an element keeps all of it, its containers are kept on
the way to it, and a path the answer has no element for is ignored (ips-asset-api.md §4.2).
The order written stays the schema's, whatever the order of the paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Data = dict[str, Any]
Steps = tuple[str, ...]


def select(data: Data, include: Sequence[str] | None, exclude: Sequence[str] | None) -> Data:
    """`data` cut down to the included paths (all when none are given), less the excluded."""
    if include:
        data = _keep(data, [_steps(p) for p in include])
    if exclude:
        data = _drop(data, [_steps(p) for p in exclude])
    return data


def _steps(path: str) -> Steps:
    return tuple(step for step in path.strip().split("/") if step)


def _below(key: str, paths: list[Steps]) -> list[Steps]:
    return [p[1:] for p in paths if p and p[0] == key]


def _keep(value: Any, paths: list[Steps]) -> Any:
    if isinstance(value, list):
        return [_keep(item, paths) for item in value]
    if not isinstance(value, dict) or any(not p for p in paths):
        return value
    return {key: _keep(child, sub) for key, child in value.items() if (sub := _below(key, paths))}


def _drop(value: Any, paths: list[Steps]) -> Any:
    if isinstance(value, list):
        return [_drop(item, paths) for item in value]
    if not isinstance(value, dict):
        return value
    kept = {}
    for key, child in value.items():
        sub = _below(key, paths)
        if () not in sub:
            kept[key] = _drop(child, sub) if sub else child
    return kept
