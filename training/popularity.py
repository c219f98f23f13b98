"""Popularity as a tie-breaker: readers' clicks on each article, decayed with age, nudge
the order of near-equal neighbours (off unless `popularity_weight` is above 0).

Relatedness stays the score: each stored score is kept as it is and only the order within
a list changes, by score + weight × popularity, where popularity is an article's decayed
clicks on a log scale from 0 (none) to 1 (the most clicked). With a weight of at most 0.1
a popular article can only pass a neighbour scoring less than 0.1 above it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date

import numpy as np


def decayed_clicks(
    counts: Iterable[tuple[str, str, int]], today: date, half_life_days: float
) -> dict[str, float]:
    """Each article's clicks, each day's halved every `half_life_days` before `today`,
    from (ISO day, slug, clicks) rows."""
    totals: dict[str, float] = {}
    for day, slug, clicks in counts:
        age = max(0, (today - date.fromisoformat(str(day))).days)
        totals[slug] = totals.get(slug, 0.0) + clicks * 0.5 ** (age / half_life_days)
    return totals


def popularity_by_row(clicks: Mapping[str, float], slugs: list[str]) -> np.ndarray:
    """log1p(decayed clicks) per row, scaled to [0, 1] (zeros when nobody clicked)."""
    values = np.array([math.log1p(clicks.get(slug, 0.0)) for slug in slugs], dtype=np.float64)
    top = values.max(initial=0.0)
    return values / top if top > 0 else values


def break_ties(index: np.ndarray, score: np.ndarray, popularity: np.ndarray, weight: float) -> None:
    """Reorder each row of the top-K table (in place) by score + weight × popularity of the
    neighbour; empty slots (-1) stay last and every score stays its neighbour's."""
    if weight <= 0 or not popularity.any():
        return
    filled = index >= 0
    boost = np.where(filled, popularity[np.where(filled, index, 0)] * weight, 0.0)
    key = np.where(filled, score + boost, -np.inf)
    order = np.argsort(-key, axis=1, kind="stable")
    index[:] = np.take_along_axis(index, order, axis=1)
    score[:] = np.take_along_axis(score, order, axis=1)
