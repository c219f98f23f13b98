"""Click-through rates from the event counters: per model version, variant or position,
with a Wilson 95 % interval, and a two-proportion z-test between the two largest groups.

Plain functions of the database, shared by `GET /v1/stats` and `relata stats`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.exc import SQLAlchemyError

from relata.service.database import Database
from relata.service.schema import ListCount

GROUPS = ("model_version", "variant", "position")
Z95 = 1.959963984540054  # the normal quantile of a two-sided 95 % interval


@dataclass(frozen=True)
class Group:
    """One row of the report: what it groups, its counts and its click-through rate."""

    model_version: str
    variant: str | None
    position: int | None
    impressions: int
    clicks: int
    ctr: float
    ctr_low: float
    ctr_high: float


def wilson(clicks: int, impressions: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a rate: sound near 0 and 1 and for few trials, where
    the plain normal interval is not (it can leave [0, 1])."""
    n = max(impressions, clicks)  # clicks without a counted impression still bound the rate
    if n == 0:
        return 0.0, 0.0
    p = clicks / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def group_of(version: str, variant: str | None, position: int | None, shown: int,
             clicks: int) -> Group:  # fmt: skip
    """A report row from its counts."""
    low, high = wilson(clicks, shown)
    ctr = clicks / shown if shown else 0.0
    return Group(version, variant, position, shown, clicks, round(ctr, 6), round(low, 6),
                 round(high, 6))  # fmt: skip


def groups(database: Database, start: date, end: date, by: str) -> list[Group]:
    """Impressions, clicks and CTR per `by` between `start` and `end` (inclusive days).

    A list's impressions are those of its first position (every list shown has one);
    grouped by position, each position has its own, so its CTR is that of one card slot.
    """
    if by not in GROUPS:
        raise ValueError(f"group must be one of {', '.join(GROUPS)}")
    table = ListCount
    keys = {
        "model_version": (table.model_version,),
        "variant": (table.model_version, table.variant),
        "position": (table.model_version, table.position),
    }[by]
    shown = func.sum(table.impressions)
    if by != "position":  # lists, not card slots
        shown = func.sum(case((table.position == 1, table.impressions), else_=0))
    query = (
        select(*keys, shown, func.sum(table.clicks))
        .where(table.day >= start, table.day <= end)
        .group_by(*keys)
        .order_by(*keys)
    )
    with database.session() as session:
        rows = session.execute(query).all()
    result = []
    for row in rows:
        version, rest = row[0], row[1:]
        variant = rest[0] if by == "variant" else None
        position = rest[0] if by == "position" else None
        result.append(group_of(version, variant, position, int(rest[-2] or 0), int(rest[-1] or 0)))
    return result


def compare(a: Group, b: Group) -> dict[str, Any]:
    """A two-proportion z-test of `b`'s CTR against `a`'s: the difference, z, the two-sided
    p-value, and whether it is significant at 5 %."""
    n1, n2 = max(a.impressions, a.clicks), max(b.impressions, b.clicks)
    difference = b.ctr - a.ctr
    pooled = (a.clicks + b.clicks) / (n1 + n2) if n1 + n2 else 0.0
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)) if n1 and n2 else 0.0
    z = difference / spread if spread else 0.0
    p_value = math.erfc(abs(z) / math.sqrt(2))
    return {"a": _label(a), "b": _label(b), "difference": round(difference, 6),
            "z": round(z, 4), "p_value": round(p_value, 6),
            "significant": bool(spread) and p_value < 0.05}  # fmt: skip


def _label(group: Group) -> str:
    return group.model_version + (f" ({group.variant})" if group.variant else "")


def report(database: Database, start: date, end: date, by: str) -> dict[str, Any]:
    """The stats document: every group, and when there are two or more lists' groups, the
    test between the two most shown (`a` the older version, or variant a)."""
    found = groups(database, start, end, by)
    document: dict[str, Any] = {
        "from": start.isoformat(), "to": end.isoformat(), "group": by,
        "groups": [asdict(group) for group in found], "comparison": None,
    }  # fmt: skip
    if by != "position" and len(found) >= 2:
        top = sorted(found, key=lambda g: g.impressions, reverse=True)[:2]
        a, b = sorted(top, key=lambda g: (g.variant or "", g.model_version))
        document["comparison"] = compare(a, b)
    return document


def verdict(comparison: dict[str, Any]) -> str:
    """One sentence on whether b's CTR differs from a's beyond chance."""
    points = comparison["difference"] * 100
    said = "significant" if comparison["significant"] else "not significant"
    return (f"{comparison['b']} against {comparison['a']}: {points:+.2f} points of CTR "
            f"(z {comparison['z']:.2f}, p {comparison['p_value']:.3f}): {said} at 5 %")  # fmt: skip


READERS_DAYS = 30  # the model report's window of readers' clicks


def readers(database: Database, today: date) -> dict[str, Any] | None:
    """What the model report shows of readers' clicks over the last `READERS_DAYS` days:
    CTR per model version (with the A/B verdict) and per card position; None when no
    list was counted (events off, or no database tables yet)."""
    start = today - timedelta(days=READERS_DAYS - 1)
    try:
        versions = report(database, start, today, "model_version")
    except SQLAlchemyError:  # a database never migrated to the event counters
        return None
    if not versions["groups"]:
        return None
    positions = report(database, start, today, "position")
    comparison = versions["comparison"]
    return {"from": versions["from"], "to": versions["to"], "versions": versions["groups"],
            "positions": positions["groups"],
            "verdict": verdict(comparison) if comparison else None}  # fmt: skip
