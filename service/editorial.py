"""The request path's view of the overrides: an in-memory snapshot, refreshed cheaply.

Serving never queries overrides per request. A snapshot of every active override is
rebuilt when the database's revision counter moves (checked at most every
`overrides_refresh_interval` seconds) or when an override in it expires. If the database
cannot be reached, the last snapshot keeps applying and `healthy` turns false, so pages
keep their related lists.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from service.background import BackgroundRefresh
from service.database import Database
from service.ingest import Articles
from service.overrides import Overrides, utcnow
from service.schema import GLOBAL, REVISION, Scope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Editorial:
    """What the overrides say about one related list right now."""

    pins: tuple[tuple[int, str], ...] = ()  # (position, target), by position
    hidden_here: frozenset[str] = frozenset()  # blocked in this list
    hidden_everywhere: frozenset[str] = frozenset()  # blocked everywhere or unpublished
    version: str = "0.0.0"  # for the list's ETag

    def hides(self, slug: str) -> bool:
        """True when `slug` must not appear in this list."""
        return slug in self.hidden_here or slug in self.hidden_everywhere


@dataclass(frozen=True)
class Snapshot:
    """Every active override, grouped for O(1) lookups."""

    revision: int = -1
    versions: dict[str, int] = field(default_factory=dict)
    pins: dict[str, tuple[tuple[int, str], ...]] = field(default_factory=dict)
    blocks: dict[str, frozenset[str]] = field(default_factory=dict)
    hidden_everywhere: frozenset[str] = frozenset()
    unpublished: frozenset[str] = frozenset()
    next_expiry: datetime | None = None
    epoch: int = 0  # bumped when an expiry rebuilt the snapshot
    ingested: tuple[dict[str, Any], ...] = ()  # articles added or updated since training
    deleted: frozenset[str] = frozenset()  # articles deleted since training

    def for_source(self, slug: str) -> Editorial:
        """The overrides that shape `slug`'s list."""
        version = f"{self.versions.get(slug, 0)}.{self.versions.get(GLOBAL, 0)}.{self.epoch}"
        return Editorial(
            self.pins.get(slug, ()),
            self.blocks.get(slug, frozenset()),
            self.hidden_everywhere,
            version,
        )


def build_snapshot(overrides: Overrides, epoch: int = 0) -> Snapshot:
    """Read every override once and keep the ones active now."""
    revision, versions, rows = overrides.everything()
    ingested, deleted = Articles(overrides.database).everything()
    now = utcnow()
    pins: dict[str, list[tuple[int, str]]] = defaultdict(list)
    blocks: dict[str, set[str]] = defaultdict(set)
    everywhere: set[str] = set()
    unpublished: set[str] = set()
    expiries = []
    for row in rows:
        if row.expires_at is not None:
            if row.expires_at <= now:
                continue
            expiries.append(row.expires_at)
        if row.scope == GLOBAL:
            everywhere.add(row.target)
            if row.kind == "unpublish":
                unpublished.add(row.target)
        elif row.kind == "pin":
            pins[row.scope].append((row.position or 1, row.target))
        else:
            blocks[row.scope].add(row.target)
    return Snapshot(
        revision=revision,
        versions=versions,
        pins={scope: tuple(sorted(entries)) for scope, entries in pins.items()},
        blocks={scope: frozenset(targets) for scope, targets in blocks.items()},
        hidden_everywhere=frozenset(everywhere),
        unpublished=frozenset(unpublished),
        next_expiry=min(expiries, default=None),
        epoch=epoch,
        ingested=tuple(ingested),
        deleted=deleted,
    )


class EditorialCache:
    """Keeps a current snapshot; survives an unreachable database.

    While the database answers, the request that finds the snapshot due checks the
    revision itself (one indexed read per interval per process), so even a worker that
    sat idle serves a change at once. While it does not, retries go to the background,
    so no page waits on a dead database.
    """

    def __init__(
        self,
        database: Database,
        refresh_interval: float,
        on_health: Callable[[bool], None] = lambda healthy: None,
    ) -> None:
        self.database = database
        self.on_health = on_health
        self.overrides = Overrides(database)
        self.snapshot = Snapshot()
        self.healthy = False
        self.error: str | None = None
        self.refresh_interval = refresh_interval
        self._next_check = 0.0
        self._refreshing = threading.Lock()
        self._background = BackgroundRefresh(self.refresh, refresh_interval)

    def current(self) -> Snapshot:
        """The snapshot to serve with, checked against the database when due."""
        expiry = self.snapshot.next_expiry
        due = time.monotonic() >= self._next_check or (expiry is not None and utcnow() >= expiry)
        if due and not self.healthy:
            self._background.kick()
        elif due and self._refreshing.acquire(blocking=False):
            try:  # another thread already refreshing: serve what we have
                self.refresh()
            finally:
                self._refreshing.release()
        return self.snapshot

    def refresh(self) -> None:
        """Rebuild the snapshot if the revision moved or an override expired."""
        self._next_check = time.monotonic() + self.refresh_interval
        try:
            with self.database.session() as session:
                revision = session.scalar(select(Scope.version).where(Scope.scope == REVISION))
            old = self.snapshot
            expired = old.next_expiry is not None and utcnow() >= old.next_expiry
            if expired or (revision or 0) != old.revision:
                self.snapshot = build_snapshot(self.overrides, old.epoch + expired)
            self.healthy, self.error = True, None
        except SQLAlchemyError as exc:
            if self.healthy or self.error is None:
                log.error("overrides database unavailable: %s", exc)
            self.healthy, self.error = False, exc.__class__.__name__
        self.on_health(self.healthy)
