"""Articles ingested between retrains: validated like the archive, kept in the database.

They apply to serving at once (see `relata.service.overlay`) and are folded into the next full
retrain, so nothing ingested is lost when the service restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from relata.service.database import Database
from relata.service.overrides import bump_revision, record_audit, utcnow
from relata.service.schema import IngestedArticle
from relata.training.records import validate_record

log = logging.getLogger(__name__)
SCOPE = "articles"  # the audit log's scope for ingest


def _servable(row: IngestedArticle) -> bool:
    """Whether a stored article still passes validation (else it is logged and skipped)."""
    try:
        validate_record(row.record)
    except ValueError as exc:
        # Stored before validation refused it (or written by hand): one bad row must not
        # take down every list, so it is left out until it is updated or deleted.
        log.error("ingested article %r skipped: %s", row.slug, exc)
        return False
    return True


class Articles:
    """Add, update and delete articles between retrains."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def upsert(self, records: Sequence[dict[str, Any]], actor: str) -> None:
        """Add or replace validated articles, all or none; one whose status is not
        `published` is withdrawn (taken out of every list, like a deletion)."""
        with self.database.session() as session:
            for record in records:
                row = session.get(IngestedArticle, record["slug"])
                before = None if row is None or row.deleted else row.record
                if row is None:
                    row = IngestedArticle(slug=record["slug"])
                    session.add(row)
                if record["status"] == "published":
                    row.record, row.deleted = dict(record), False
                    action = "ingest_add" if before is None else "ingest_update"
                else:
                    row.record, row.deleted, action = None, True, "ingest_withdraw"
                row.author, row.updated_at = actor, utcnow()
                record_audit(session, actor, action, SCOPE, record["slug"], before, row.record)
            bump_revision(session)

    def stored(self, slug: str) -> bool:
        """Whether `slug` was ever ingested (served, withdrawn, deleted or skipped as bad)."""
        with self.database.session() as session:
            return session.get(IngestedArticle, slug) is not None

    def delete(self, slug: str, actor: str) -> None:
        """Take an article out of every list, and its own list away."""
        with self.database.session() as session:
            row = session.get(IngestedArticle, slug)
            before = row.record if row is not None and not row.deleted else None
            if row is None:
                row = IngestedArticle(slug=slug)
                session.add(row)
            row.record, row.deleted, row.author, row.updated_at = None, True, actor, utcnow()
            record_audit(session, actor, "ingest_delete", SCOPE, slug, before, None)
            bump_revision(session)

    def everything(self) -> tuple[list[dict[str, Any]], frozenset[str]]:
        """Active ingested records (oldest change first) and deleted slugs."""
        with self.database.session() as session:
            rows = list(
                session.scalars(select(IngestedArticle).order_by(IngestedArticle.updated_at))
            )
        records = [row.record for row in rows if not row.deleted and _servable(row)]
        return records, frozenset(row.slug for row in rows if row.deleted)
