"""Throttled background refreshes, so that no request waits for a reload."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class BackgroundRefresh:
    """Run `work` in a daemon thread at most every `interval` seconds, never twice at once."""

    def __init__(self, work: Callable[[], object], interval: float) -> None:
        self.work = work
        self.interval = interval
        self._lock = threading.Lock()
        self._running = False
        self._next = 0.0

    def kick(self, force: bool = False) -> None:
        """Start a refresh if one is due (or `force`) and none is running; cheap otherwise."""
        now = time.monotonic()
        if now < self._next and not force:
            return
        with self._lock:
            if self._running or (now < self._next and not force):
                return
            self._running, self._next = True, now + self.interval
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        try:
            self.work()
        except Exception:  # a refresh must never kill its thread silently
            log.exception("background refresh failed")
        finally:
            self._running = False
