"""Figures that cost a scan of the whole base (segment sizes, consent coverage, events per day)
are counted in the background and served from memory: a page never waits for a count that is
a little old. Each figure is recounted when it is older than ``ttl`` seconds (the page shows
the stale one meanwhile and says when it was counted); only the very first ask waits."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("monogram.console")


class Counts:
    def __init__(self, ttl: float = 300.0) -> None:
        self.ttl = ttl
        self._values: dict[str, tuple[float, Any]] = {}
        self._refreshing: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def get(self, key: str, compute: Callable[[], Any]) -> tuple[Any, float]:
        """The value and when it was counted (``time.time()``)."""
        entry = self._values.get(key)
        running = self._refreshing.get(key)
        if entry is None and running is not None:  # being counted already: wait for it
            running.wait(timeout=120)
            entry = self._values.get(key)
        if entry is None:
            value = compute()
            at = time.time()
            self._values[key] = (at, value)
            return value, at
        at, value = entry
        if time.time() - at > self.ttl:
            self.refresh(key, compute)
        return value, at

    def refresh(self, key: str, compute: Callable[[], Any]) -> None:
        """Recount in the background (once at a time per figure)."""
        with self._lock:
            if key in self._refreshing:
                return
            done = self._refreshing[key] = threading.Event()

        def work() -> None:
            try:
                self._values[key] = (time.time(), compute())
            except Exception:  # a failed count keeps the old figure; the log says why
                log.exception("recounting %s failed", key)
            finally:
                with self._lock:
                    self._refreshing.pop(key, None)
                done.set()

        threading.Thread(target=work, name=f"console-count-{key}", daemon=True).start()

    def forget(self, key: str) -> None:
        self._values.pop(key, None)
