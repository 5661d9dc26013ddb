"""Per-key rate limits shared by every server worker on the machine.

A token bucket per API key: ``per_minute`` requests a minute, refilled continuously, a burst
of a minute's worth. The buckets live in a small memory-mapped file in the workspace
(``run/rate-limits``, 96 KiB, owner-only), so ``monogram serve --workers N`` gives a key its
limit once, not once per worker. Each take holds an exclusive lock on the file for a few
microseconds; the clock is the machine's monotonic clock, which every process shares.

Several machines behind a load balancer each keep their own file: a key gets its limit per
machine. The file must stay on the machine's own disk (monotonic clocks of different machines
do not compare); after a reboot a key may see one early 429 until its bucket refills. Where
the file cannot be made (a read-only workspace), the buckets are this process's alone, and the
server says so once in its log.
"""

from __future__ import annotations

import hashlib
import logging
import math
import mmap
import os
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from monogram.core.errors import RateLimited

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: buckets per process
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("monogram.api")

SLOTS = 4096
PROBE = 32  # slots looked at for a key before the stalest of them is reused
SLOT = struct.Struct("<Qdd")  # key hash (0: free), tokens, last refill (monotonic seconds)
TABLE_BYTES = SLOTS * SLOT.size


class RateLimiter:
    """Token buckets per API key in a table every worker process maps (see the module
    docstring)."""

    def __init__(self) -> None:
        self._table: mmap.mmap | None = None
        self._fd: int | None = None
        self._lock = threading.Lock()

    def open(self, path: Path) -> None:
        """Map the shared table at ``path`` (made if missing); idempotent."""
        with self._lock:
            if self._table is not None:
                return
            fd = None
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                if os.fstat(fd).st_size < TABLE_BYTES:
                    os.ftruncate(fd, TABLE_BYTES)
                self._table, self._fd = mmap.mmap(fd, TABLE_BYTES), fd
            except OSError as exc:
                if fd is not None:
                    os.close(fd)
                log.warning("rate limits are per worker process: cannot use %s (%s)", path, exc)
                self._table = mmap.mmap(-1, TABLE_BYTES)

    def take(self, key_id: str, per_minute: int) -> None:
        """Spend one request of ``key_id``'s budget, or raise ``RateLimited`` with the wait."""
        if self._table is None:
            self._table = mmap.mmap(-1, TABLE_BYTES)  # never opened: this process's own
        table = self._table
        digest = int.from_bytes(hashlib.blake2b(key_id.encode(), digest_size=8).digest(), "big")
        digest = digest or 1  # 0 marks a free slot
        rate = per_minute / 60.0
        with self._locked():
            now = time.monotonic()
            home = digest % SLOTS
            chosen = free = None
            stalest, stalest_at = home, math.inf
            for step in range(PROBE):
                index = (home + step) % SLOTS
                owner, _tokens, last = SLOT.unpack_from(table, index * SLOT.size)
                if owner == digest:
                    chosen = index
                    break
                if owner == 0 and free is None:
                    free = index
                elif owner != 0 and last < stalest_at:
                    stalest, stalest_at = index, last
            if chosen is None:  # a new bucket: a free slot, else the key idle longest gives way
                chosen = free if free is not None else stalest
                SLOT.pack_into(table, chosen * SLOT.size, 0, 0.0, 0.0)
            owner, tokens, last = SLOT.unpack_from(table, chosen * SLOT.size)
            if owner != digest:
                tokens, last = float(per_minute), now
            tokens = min(float(per_minute), tokens + max(0.0, now - last) * rate)
            if tokens < 1.0:
                SLOT.pack_into(table, chosen * SLOT.size, digest, tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) / rate))
                raise RateLimited(
                    f"over this key's limit of {per_minute} requests a minute; retry in {wait} s",
                    wait,
                )
            SLOT.pack_into(table, chosen * SLOT.size, digest, tokens - 1.0, now)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            if fcntl is None or self._fd is None:
                yield
                return
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        with self._lock:
            if self._table is not None:
                self._table.close()
                self._table = None
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
