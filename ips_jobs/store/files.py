"""The asset file store: the bytes of uploaded files, content-addressed (a file is named by its
SHA-256), never in SQL rows. The same bytes uploaded twice are kept once; a file is never
changed once written, so a reader (an export download) needs no lock."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class Stored:
    """A file in the store: its key (SHA-256, hex) and size."""

    key: str
    size: int


class TooLarge(Exception):
    """The file is larger than the store was asked to take."""


class FileStore:
    """Files under `root`, as `root/ab/abcdef…` (the first two hex digits make 256 folders)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def put(self, chunks: Iterable[bytes], max_bytes: int) -> Stored:
        """Writes the bytes to a temporary file beside their place, then renames it there (a
        reader never sees half a file). TooLarge past `max_bytes`: nothing is kept."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        handle, partial = tempfile.mkstemp(dir=self.root, prefix=".partial-")
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"the file is larger than {max_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
            key = digest.hexdigest()
            target = self.path(key)
            target.parent.mkdir(exist_ok=True)
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        return Stored(key, size)

    def path(self, key: str) -> Path:
        """Where the file of `key` is (or would be)."""
        if len(key) != 64 or not set(key) <= _HEX:
            raise ValueError(f"{key!r} is not a file key")
        return self.root / key[:2] / key

    def clear(self) -> int:
        """Deletes every stored file (a reset), and how many there were. Only the store's own
        key folders go: anything else in `root` is left, and a missing root is empty."""
        try:
            entries = list(self.root.iterdir())
        except FileNotFoundError:
            return 0
        removed = 0
        for entry in entries:
            if len(entry.name) == 2 and set(entry.name) <= _HEX and entry.is_dir():
                removed += sum(1 for _ in entry.iterdir())
                shutil.rmtree(entry, ignore_errors=True)
        return removed
