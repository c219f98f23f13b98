"""Database tables: editors' overrides, their versions, the audit log, API tokens and
readers' event counters.

Overrides live apart from any model, keyed by slug, so they survive every retrain.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

GLOBAL = "*"  # the scope of blocks and unpublishing that apply to every list
REVISION = "#"  # a scope row whose version counts every change, for cheap cache checks


class Base(DeclarativeBase):
    """Declarative base of Relata's tables."""


class Override(Base):
    """One editorial decision: pin or block a target in one list, or everywhere."""

    __tablename__ = "overrides"
    __table_args__ = (UniqueConstraint("scope", "target", name="uq_overrides_scope_target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(200), index=True)  # source slug or GLOBAL
    kind: Mapped[str] = mapped_column(String(16))  # pin | block | unpublish
    target: Mapped[str] = mapped_column(String(200))
    position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    author: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "id": self.id,
            "kind": self.kind,
            "target": self.target,
            "position": self.position,
            "author": self.author,
            "reason": self.reason,
            "created_at": self.created_at.isoformat(timespec="seconds") + "Z",
            "expires_at": self.expires_at.isoformat(timespec="seconds") + "Z"
            if self.expires_at
            else None,
        }


class Scope(Base):
    """The version of one scope's overrides, for If-Match and ETags."""

    __tablename__ = "scopes"

    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class AuditEntry(Base):
    """Who changed what, when, with the state before and after."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(200), index=True)
    target: Mapped[str | None] = mapped_column(String(200), nullable=True)
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "id": self.id,
            "at": self.at.isoformat(timespec="seconds") + "Z",
            "actor": self.actor,
            "action": self.action,
            "scope": self.scope,
            "target": self.target,
            "before": self.before,
            "after": self.after,
        }


class Token(Base):
    """An API token; only its sha256 digest is stored."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # viewer | editor | admin
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class IngestedArticle(Base):
    """An article added, updated or deleted between retrains; folded into the next one."""

    __tablename__ = "ingested_articles"

    slug: Mapped[str] = mapped_column(String(200), primary_key=True)
    record: Mapped[Any] = mapped_column(JSON, nullable=True)  # the validated article
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    author: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class ListCount(Base):
    """Readers' impressions and clicks of related lists, per day, model version, variant
    and card position (`POST /v1/events`, aggregated by each worker)."""

    __tablename__ = "event_list_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    model_version: Mapped[str] = mapped_column(String(64), primary_key=True)
    variant: Mapped[str] = mapped_column(String(8), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)  # lists seen this long
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)  # cards followed here


class ArticleCount(Base):
    """Per day and article: lists seen on its page (views) and clicks that led to it."""

    __tablename__ = "event_article_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), primary_key=True)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
