"""Counters of readers' events, aggregated in memory and written in one upsert.

A worker never writes an event as it arrives: it adds it to two small dictionaries,
per (day, model version, variant, position) and per (day, article), and a background
timer folds them into the database every `events_flush_interval` seconds, once more on a
clean shutdown. So an event costs a dictionary update on the request path, the database
sees one statement per table per interval whatever the traffic, and a database that is
away loses nothing (the counts wait for the next flush). Writes only ever add.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from relata.service.database import Database
from relata.service.schema import ArticleCount, ListCount

log = logging.getLogger(__name__)

CHUNK = 500  # rows per INSERT: well inside SQLite's 32,766 bound parameters


class Event(NamedTuple):
    """One validated event (see `service.events`)."""

    type: str  # impression | click
    version: str  # the model version that served the list
    variant: str
    slug: str  # the page the list was on
    target: str | None  # the card followed (clicks)
    position: int  # clicks: the card's; impressions: how many cards were shown


Counts = dict[tuple[Any, ...], list[int]]


def _add(counts: Counts, key: tuple[Any, ...], first: int, second: int) -> None:
    pair = counts.setdefault(key, [0, 0])
    pair[0] += first
    pair[1] += second


def _merge(into: Counts, counts: Counts) -> None:
    for key, (first, second) in counts.items():
        _add(into, key, first, second)


def _upsert(session: Session, table: Table, keys: tuple[str, ...], sums: tuple[str, ...],
            counts: Counts) -> None:  # fmt: skip
    """Add `counts` to `table`'s rows in one statement per chunk: the dialect's INSERT …
    ON CONFLICT DO UPDATE (SQLite and PostgreSQL spell it alike)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    rows = [dict(zip((*keys, *sums), (*key, *pair), strict=True)) for key, pair in counts.items()]
    for start in range(0, len(rows), CHUNK):
        statement = insert(table).values(rows[start : start + CHUNK])
        statement = statement.on_conflict_do_update(
            index_elements=list(keys),
            set_={name: table.c[name] + statement.excluded[name] for name in sums},
        )
        session.execute(statement)


class EventCounters:
    """One worker's counts not yet in the database."""

    def __init__(self, database: Database, log_path: str = "") -> None:
        self.database = database
        self.log_path = log_path
        self._lists: Counts = {}  # (day, version, variant, position) -> [impressions, clicks]
        self._articles: Counts = {}  # (day, slug) -> [views, clicks]
        self._lock = threading.Lock()  # held for dictionary updates only
        self._flushing = threading.Lock()  # one flush at a time (timer, shutdown)
        self._failing = False

    def record(self, events: Iterable[Event], day: date | None = None) -> None:
        """Count `events` (all of them or, on an error, none)."""
        day = day or datetime.now(UTC).date()
        events = list(events)
        with self._lock:
            for event in events:
                if event.type == "impression":
                    # A list seen with n cards is an impression of each position 1..n.
                    for position in range(1, event.position + 1):
                        _add(self._lists, (day, event.version, event.variant, position), 1, 0)
                    _add(self._articles, (day, event.slug), 1, 0)
                else:
                    _add(self._lists, (day, event.version, event.variant, event.position), 0, 1)
                    _add(self._articles, (day, event.target), 0, 1)
        if self.log_path:
            self._log(events)

    def _log(self, events: list[Event]) -> None:
        at = datetime.now(UTC).isoformat(timespec="milliseconds")
        lines = b"".join(orjson.dumps({"at": at, **event._asdict()}) + b"\n" for event in events)
        # One write on an O_APPEND descriptor: workers appending at once never interleave.
        descriptor = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(descriptor, lines)
        finally:
            os.close(descriptor)

    def pending(self) -> int:
        """How many counter rows wait for the next flush."""
        return len(self._lists) + len(self._articles)

    def flush(self) -> None:
        """Add the counts so far to the database in one transaction; on failure keep them
        for the next flush."""
        with self._flushing:
            with self._lock:
                lists, articles = self._lists, self._articles
                self._lists, self._articles = {}, {}
            if not lists and not articles:
                return
            try:
                with self.database.session() as session:
                    _upsert(session, ListCount.__table__,
                            ("day", "model_version", "variant", "position"),
                            ("impressions", "clicks"), lists)  # fmt: skip
                    _upsert(session, ArticleCount.__table__, ("day", "slug"),
                            ("views", "clicks"), articles)  # fmt: skip
                self._failing = False
            except SQLAlchemyError as exc:
                if not self._failing:
                    log.error("event counters not written (kept for the next try): %s", exc)
                self._failing = True
                with self._lock:
                    _merge(self._lists, lists)
                    _merge(self._articles, articles)


def article_clicks(database: Database, since: date) -> tuple[tuple[str, str, int], ...]:
    """(ISO day, slug, clicks) for every article clicked since `since`, for training's
    popularity tie-breaker."""
    query = select(ArticleCount.day, ArticleCount.slug, ArticleCount.clicks).where(
        ArticleCount.day >= since, ArticleCount.clicks > 0
    )
    with database.session() as session:
        rows = session.execute(query).all()
    return tuple((day.isoformat(), slug, clicks) for day, slug, clicks in rows)
