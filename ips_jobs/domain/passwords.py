"""Passwords are stored as salted argon2 hashes; verifying one is slow on purpose, so a
successful check is remembered per stored hash for a short while."""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

#: OWASP's argon2id baseline (19 MiB, 2 passes): slow enough for stored passwords, light enough
#: that a burst of first logins does not take hundreds of MB.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
#: One verification at a time per process: concurrent cold logins would each take the hash's
#: memory at once (the 64 MiB default, times every thread).
_verifying = threading.Lock()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


class PasswordChecker:
    """Verifies passwords against stored hashes, remembering recent successes.

    The memory holds keyed digests, never passwords, and is keyed by the stored hash, so a
    changed password (a new hash) is never answered from it.
    """

    def __init__(self, ttl_seconds: float = 300.0, max_entries: int = 10_000) -> None:
        self._key = os.urandom(32)
        self._ttl = ttl_seconds
        self._max = max_entries
        self._verified: dict[tuple[str, bytes], float] = {}
        self._lock = threading.Lock()

    def verify(self, stored_hash: str, password: str) -> bool:
        digest = hmac.new(self._key, password.encode(), hashlib.sha256).digest()
        key = (stored_hash, digest)
        now = time.monotonic()
        expires = self._verified.get(key)
        if expires is not None and expires > now:
            return True
        try:
            with _verifying:
                if self._verified.get(key, 0.0) <= time.monotonic():
                    _hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        with self._lock:
            if len(self._verified) >= self._max:
                self._verified.clear()
            self._verified[key] = now + self._ttl
        return True
