"""The request path's view of the overrides: an in-memory snapshot, refreshed cheaply.

Serving never queries overrides per request. A snapshot of every active override is
rebuilt in the background when the database's revision counter moves (checked every
`overrides_refresh_interval` seconds) or when an override in it expires. If the database
cannot be reached, or hangs, the last snapshot keeps applying and `health()` says so, so
pages keep their related lists.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from relata.service.database import Database
from relata.service.ingest import Articles
from relata.service.overrides import Overrides, utcnow
from relata.service.schema import GLOBAL, REVISION, Scope

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
    articles_revision: int = -1  # the revision at which `ingested` or `deleted` last changed

    def for_source(self, slug: str) -> Editorial:
        """The overrides that shape `slug`'s list."""
        if slug not in self.versions and slug not in self.pins and slug not in self.blocks:
            return self._untouched
        return self._editorial(slug)

    @cached_property
    def _untouched(self) -> Editorial:
        # Most articles' lists were never overridden: they share one answer, made once
        # (no article has the empty slug, so it finds no override of its own).
        return self._editorial("")

    def _editorial(self, slug: str) -> Editorial:
        version = f"{self.versions.get(slug, 0)}.{self.versions.get(GLOBAL, 0)}.{self.epoch}"
        return Editorial(
            self.pins.get(slug, ()),
            self.blocks.get(slug, frozenset()),
            self.hidden_everywhere,
            version,
        )


def build_snapshot(
    overrides: Overrides, previous: Snapshot | None = None, expired: bool = False
) -> Snapshot:
    """Read every override once and keep the ones active now (`previous`: the snapshot
    this one replaces, `expired`: an override in it has expired since)."""
    previous = previous or Snapshot()
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
        epoch=previous.epoch + expired,
        ingested=tuple(ingested),
        deleted=deleted,
        # Overrides move the revision too: only a change of the articles needs a new
        # overlay, and comparing them here spares every request from hashing them.
        articles_revision=previous.articles_revision
        if (tuple(ingested), deleted) == (previous.ingested, previous.deleted)
        else revision,
    )


class EditorialCache:
    """Keeps a current snapshot, refreshed off the request path; survives a dead database.

    A background timer (see `relata.service.background`) calls `refresh` every
    `overrides_refresh_interval` seconds, traffic or not, so an idle worker never serves
    old overrides for long; a write in this process calls it at once. Requests only read
    `snapshot`. Before a new snapshot is published, `prepare` gets it (the overlay of
    ingested articles is built there), so requests never build anything.
    """

    def __init__(
        self,
        database: Database,
        refresh_interval: float,
        on_health: Callable[[bool], None] = lambda healthy: None,
        prepare: Callable[[Snapshot], None] = lambda snapshot: None,
    ) -> None:
        self.database = database
        self.on_health = on_health
        self.prepare = prepare
        self.overrides = Overrides(database)
        self.snapshot = Snapshot()
        self.refresh_interval = refresh_interval
        self.ready = threading.Event()  # set once the first refresh has finished, either way
        self._healthy = False
        self._error: str | None = "not checked yet"
        self._since: float | None = None  # when the running refresh started
        self._lock = threading.Lock()

    def current(self) -> Snapshot:
        """The snapshot to serve with (never touches the database)."""
        return self.snapshot

    def health(self) -> tuple[bool, str | None]:
        """(healthy, why not): also false while a refresh hangs past the timeouts, which
        is what a database that accepts but never answers looks like."""
        since = self._since
        limit = self.database.connect_timeout + self.database.statement_timeout
        if since is not None and time.monotonic() - since > limit:
            return False, "not answering"
        return self._healthy, self._error

    def refresh(self) -> None:
        """Rebuild the snapshot if the revision moved or an override expired."""
        with self._lock:
            self._since = time.monotonic()
            try:
                self._refresh()
            finally:
                self._since = None
        self.ready.set()
        self.on_health(self._healthy)

    def _refresh(self) -> None:
        try:
            with self.database.session() as session:
                revision = session.scalar(select(Scope.version).where(Scope.scope == REVISION))
            old = self.snapshot
            expired = old.next_expiry is not None and utcnow() >= old.next_expiry
            snapshot = old
            if expired or (revision or 0) != old.revision:
                snapshot = build_snapshot(self.overrides, old, expired)
            self._healthy, self._error = True, None
            self._since = None  # the database answered; what follows is this process's work
        except SQLAlchemyError as exc:
            if self._healthy or self._error != exc.__class__.__name__:
                log.error("overrides database unavailable: %s", exc)
            self._healthy, self._error = False, exc.__class__.__name__
            return
        try:  # called every time, so a model swapped in since is prepared for too
            self.prepare(snapshot)
        except Exception:  # a failed overlay must not hold back the overrides
            log.exception("preparing overrides revision %d failed", snapshot.revision)
        self.snapshot = snapshot
