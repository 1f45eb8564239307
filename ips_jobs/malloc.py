"""glibc's malloc, told to give big blocks back.

A login checks its password with Argon2, which takes a 19 MiB block for each check. glibc
serves a block that large with mmap and unmaps it when freed, but then raises its mmap
threshold to that size (the "dynamic threshold"), so the next such blocks come from the
thread's heap arena and stay with the process: each request thread's arena ended up holding
tens of MiB (a 20,000-request soak with wrong passwords among them: 216 and 271 MB per
worker). A fixed threshold keeps every big block an mmap of its own, returned on free.
"""

from __future__ import annotations

import ctypes
import sys

#: mallopt's parameter numbers (glibc malloc.h).
M_MMAP_THRESHOLD = -3
#: Blocks from this size on are mapped on their own (glibc's default starting threshold).
THRESHOLD = 128 * 1024


def return_big_blocks() -> bool:
    """Fixes glibc's mmap threshold for this process and its forks; False where the C
    library is not glibc (musl, macOS): nothing to do there."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD))
