"""Editors' overrides in the database: pin, block, reorder, block everywhere, unpublish.

Every change runs in one transaction that first advances its scope's version with a
compare-and-set (`UPDATE … WHERE version = :expected`): two editors who read the same
version cannot both write, the loser gets 412 and nothing is lost. Each change is written
to the audit log with the state before and after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from relata.service.database import Database
from relata.service.errors import ApiError
from relata.service.schema import GLOBAL, REVISION, AuditEntry, Override, Scope

SCOPED_KINDS = ("pin", "block")
GLOBAL_KINDS = ("block", "unpublish")


def utcnow() -> datetime:
    """Naive UTC now, as the database columns store it."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class NewOverride:
    """A validated request to add one override."""

    kind: str
    target: str
    reason: str
    position: int | None = None
    expires_at: datetime | None = None


def _insert_ignore(session: Session, scope: str) -> None:
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = module.insert(Scope).values(scope=scope, version=0).on_conflict_do_nothing()
    session.execute(statement)


def _advance(session: Session, scope: str, expected: int) -> int:
    """Move `scope` from version `expected` to the next, or 412 if someone was first."""
    _insert_ignore(session, scope)
    moved = session.execute(
        update(Scope)
        .where(Scope.scope == scope, Scope.version == expected)
        .values(version=Scope.version + 1)
    )
    if moved.rowcount != 1:
        current = session.scalar(select(Scope.version).where(Scope.scope == scope))
        raise ApiError(
            412,
            "precondition_failed",
            f"the overrides changed since version {expected} (now {current}); reload and retry",
        )
    bump_revision(session)
    return expected + 1


def bump_revision(session: Session) -> None:
    """Tell every serving process that something it snapshots has changed."""
    _insert_ignore(session, REVISION)
    session.execute(update(Scope).where(Scope.scope == REVISION).values(version=Scope.version + 1))


def _listing(session: Session, scope: str) -> list[Override]:
    query = select(Override).where(Override.scope == scope).order_by(Override.id)
    return list(session.scalars(query))


def record_audit(session: Session, actor: str, action: str, scope: str, target: str | None,
           before: Any, after: Any) -> None:  # fmt: skip
    session.add(AuditEntry(at=utcnow(), actor=actor, action=action, scope=scope,
                           target=target, before=before, after=after))  # fmt: skip


class Overrides:
    """Reads and changes of the overrides, one scope (source slug, or GLOBAL) at a time."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def state(self, scope: str) -> tuple[int, list[Override]]:
        """The scope's version and its overrides (expired ones included)."""
        with self.database.session() as session:
            version = session.scalar(select(Scope.version).where(Scope.scope == scope)) or 0
            return version, _listing(session, scope)

    def add(self, scope: str, expected: int, actor: str, new: NewOverride) -> int:
        """Add one pin or block; returns the scope's new version."""
        with self.database.session() as session:
            version = _advance(session, scope, expected)
            current = _listing(session, scope)
            if any(o.target == new.target for o in current):
                raise ApiError(400, "duplicate", f"{new.target!r} already has an override here")
            if new.position is not None and any(o.position == new.position for o in current):
                raise ApiError(400, "duplicate", f"position {new.position} is already pinned")
            row = Override(scope=scope, kind=new.kind, target=new.target, position=new.position,
                           author=actor, reason=new.reason, created_at=utcnow(),
                           expires_at=new.expires_at)  # fmt: skip
            session.add(row)
            session.flush()
            record_audit(session, actor, f"add_{new.kind}", scope, new.target, None, row.as_dict())
            return version

    def remove(self, scope: str, expected: int, actor: str, target: str) -> int:
        """Remove the override of `target` in the scope; 404 when there is none."""
        with self.database.session() as session:
            version = _advance(session, scope, expected)
            row = session.scalar(
                select(Override).where(Override.scope == scope, Override.target == target)
            )
            if row is None:
                raise ApiError(404, "unknown_override", f"no override of {target!r} here")
            before = row.as_dict()
            session.delete(row)
            record_audit(session, actor, f"remove_{row.kind}", scope, target, before, None)
            return version

    def reorder(
        self, scope: str, expected: int, actor: str, targets: Sequence[str], reason: str,
        expires_at: datetime | None,
    ) -> int:  # fmt: skip
        """Make `targets` the pins at positions 1, 2, …; blocks stay. A pin already at its
        new position is left as it is (its reason, author and time are the editor's who
        set it); the others are replaced."""
        with self.database.session() as session:
            version = _advance(session, scope, expected)
            current = _listing(session, scope)
            blocked = {o.target for o in current if o.kind != "pin"} & set(targets)
            if blocked:
                raise ApiError(
                    400, "duplicate", f"blocked here, cannot be ordered: {sorted(blocked)}"
                )
            wanted = {target: position for position, target in enumerate(targets, start=1)}
            pins = [o for o in current if o.kind == "pin"]
            before = [o.as_dict() for o in pins]
            kept = {o.target for o in pins if wanted.get(o.target) == o.position}
            for pin in pins:
                if pin.target not in kept:
                    session.delete(pin)
            session.flush()  # the unique (scope, target) constraint sees the deletes first
            now = utcnow()
            for target, position in wanted.items():
                if target not in kept:
                    session.add(Override(scope=scope, kind="pin", target=target,
                                         position=position, author=actor, reason=reason,
                                         created_at=now, expires_at=expires_at))  # fmt: skip
            session.flush()
            after = [o.as_dict() for o in _listing(session, scope) if o.kind == "pin"]
            record_audit(session, actor, "reorder", scope, None, before, after)
            return version

    def move(self, scope: str, expected: int, actor: str, new: NewOverride) -> int:
        """Put `new.target` at `new.position`: its pin moves there, or a pin is made.
        Nothing else changes: another pin at that position is an error, not displaced."""
        with self.database.session() as session:
            version = _advance(session, scope, expected)
            current = _listing(session, scope)
            mine = next((o for o in current if o.target == new.target), None)
            if mine is not None and mine.kind != "pin":
                message = f"{new.target!r} is blocked here: unblock it first"
                raise ApiError(400, "duplicate", message)
            taken = next((o for o in current if o.position == new.position and o is not mine), None)
            if taken is not None:
                raise ApiError(
                    400, "duplicate", f"position {new.position} is pinned to {taken.target!r} "
                    f"by {taken.author}: move or remove that pin first",
                )  # fmt: skip
            before = mine.as_dict() if mine is not None else None
            if mine is None:
                mine = Override(scope=scope, kind="pin", target=new.target)
                session.add(mine)
            mine.position, mine.author, mine.reason = new.position, actor, new.reason
            mine.created_at, mine.expires_at = utcnow(), new.expires_at
            session.flush()
            record_audit(session, actor, "move", scope, new.target, before, mine.as_dict())
            return version

    def audit(self, scope: str | None, limit: int) -> list[dict[str, Any]]:
        """The newest audit entries, of one scope or of all."""
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if scope is not None:
            query = query.where(AuditEntry.scope == scope)
        with self.database.session() as session:
            return [entry.as_dict() for entry in session.scalars(query)]

    def history(self, slug: str, limit: int) -> list[dict[str, Any]]:
        """The newest changes that shaped one article's list: its own overrides, and the
        blocks and unpublishing that apply everywhere (this list included)."""
        query = (
            select(AuditEntry)
            .where(AuditEntry.scope.in_((slug, GLOBAL)))
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
        with self.database.session() as session:
            return [entry.as_dict() for entry in session.scalars(query)]

    def everything(self) -> tuple[int, dict[str, int], list[Override]]:
        """Revision, every scope's version and every override: one consistent read."""
        with self.database.session() as session:
            versions = {
                scope: version
                for scope, version in session.execute(select(Scope.scope, Scope.version))
            }
            rows = list(session.scalars(select(Override).order_by(Override.id)))
            return versions.pop(REVISION, 0), versions, rows
