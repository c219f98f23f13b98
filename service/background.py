"""Background timers, so that no request waits for a reload or for the database."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Flask

log = logging.getLogger(__name__)

MIN_INTERVAL = 0.01  # an interval of 0 (tests) would spin a core
TICKERS = "relata.tickers"


class Ticker:
    """Run `work` in a daemon thread every `interval` seconds until stopped (the first
    time at once, or after one interval unless `at_once`; once more on `stop` if `final`,
    for work that must not be lost, such as counters not yet written)."""

    def __init__(
        self,
        work: Callable[[], object],
        interval: float,
        name: str,
        at_once: bool = True,
        final: bool = False,
    ) -> None:
        self.work = work
        self.interval = max(interval, MIN_INTERVAL)
        self.at_once = at_once
        self.final = final
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Ticker:
        """Start the thread; returns self."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to end after its current run, and wait for it."""
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self.final:
            self.work()

    def _run(self) -> None:
        if not self.at_once and self._stopped.wait(self.interval):
            return
        while True:
            try:
                self.work()
            except Exception:  # a failed run must never end the timer silently
                log.exception("%s failed", self._thread.name)
            if self._stopped.wait(self.interval):
                return


def start(
    app: Flask,
    work: Callable[[], object],
    interval: float,
    name: str,
    at_once: bool = True,
    final: bool = False,
) -> Ticker:
    """Run `work` every `interval` seconds for as long as `app` lives (see `stop`)."""
    ticker = Ticker(work, interval, name, at_once, final).start()
    app.extensions.setdefault(TICKERS, []).append(ticker)
    return ticker


def stop(app: Flask) -> None:
    """Stop every timer `app` started (tests, a clean shutdown), running the `final` ones
    once more."""
    for ticker in app.extensions.pop(TICKERS, []):
        ticker.stop()
