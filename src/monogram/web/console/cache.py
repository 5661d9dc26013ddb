"""Figures that cost a scan of the whole base (segment sizes, consent coverage, events per day)
are counted in the background and served from memory: a page never waits for a count. Each
figure is recounted when it is older than ``ttl`` seconds (the page shows the stale one
meanwhile and says when it was counted); before the first count is in, the page says
"counting" and looks again a moment later."""

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

    def peek(self, key: str, compute: Callable[[], Any]) -> tuple[Any, float | None]:
        """The value and when it was counted, never waiting: ``(None, None)`` while the first
        count runs in the background (a page shows "counting" and looks again)."""
        entry = self._values.get(key)
        if entry is None or time.time() - entry[0] > self.ttl:
            self.refresh(key, compute)
        return (None, None) if entry is None else (entry[1], entry[0])

    def get(self, key: str, compute: Callable[[], Any]) -> tuple[Any, float]:
        """The value and when it was counted (``time.time()``); the first ask waits."""
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
        self.refresh_all([(key, compute)])

    def refresh_all(self, items: list[tuple[str, Callable[[], Any]]]) -> None:
        """Recount several figures one after the other in one background thread: one core
        counts while the other serves pages."""
        with self._lock:
            todo = [(k, c, threading.Event()) for k, c in items if k not in self._refreshing]
            for key, _compute, done in todo:
                self._refreshing[key] = done
        if not todo:
            return

        def work() -> None:
            for key, compute, done in todo:
                try:
                    self._values[key] = (time.time(), compute())
                except Exception:  # a failed count keeps the old figure; the log says why
                    log.exception("recounting %s failed", key)
                finally:
                    with self._lock:
                        self._refreshing.pop(key, None)
                    done.set()

        threading.Thread(target=work, name="console-counts", daemon=True).start()

    def forget(self, key: str) -> None:
        self._values.pop(key, None)
