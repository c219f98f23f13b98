"""Calibration: what each signal besides text is worth on this archive, measured without
labels.

The yardstick is the text itself. Articles that share a tag (or a category) are, on
average, more text-similar than two random articles by some amount; that lift, in cosine
units, is what sharing the tag adds to a pair's score. A tag stuck on half the archive,
or tags handed out at random, lift nothing and so add nothing; a tag whose articles are
about one subject adds a lot. Small groups are shrunk towards zero, since a handful of
pairs can look coherent by chance. Recency is measured the same way: how much less
text-similar articles far apart in time are than articles close in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from training.settings import AUTO

SHRINK = 5  # members at which a group's measured lift counts half
MAX_RECENCY = 0.5  # calibrated recency never decides more than half of a score
RECENCY_SAMPLE = (2000, 20000)  # articles × articles compared to measure recency
MIN_PAIRS = 1000  # fewer sampled pairs than this in a time band measure nothing


def baseline(text: sp.csr_matrix) -> float:
    """Mean text cosine of two different random articles (rows are unit vectors)."""
    n = text.shape[0]
    if n < 2:
        return 0.0
    total = np.asarray(text.sum(axis=0), dtype=np.float64).ravel()
    squares = float(text.multiply(text).sum())
    return float((total @ total - squares) / (n * (n - 1)))


def group_lifts(
    text: sp.csr_matrix, members: sp.csr_matrix, base: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per group (column of the 0/1 `members`): the shrunk lift of its articles' mean
    pairwise text cosine over `base`, and the raw mean itself."""
    members = (members > 0).astype(np.float64).tocsc()
    sizes = np.asarray(members.sum(axis=0)).ravel()
    sums = (members.T @ text).tocsr()
    squared = np.asarray(sums.multiply(sums).sum(axis=1)).ravel()
    own = np.asarray(members.T @ np.asarray(text.multiply(text).sum(axis=1))).ravel()
    pairs = sizes * (sizes - 1)
    within = np.where(pairs > 0, (squared - own) / np.maximum(pairs, 1), base)
    lift = np.clip(within - base, 0, None) * sizes / (sizes + SHRINK)
    return lift, within


def recency_weight(
    text: sp.csr_matrix, days: np.ndarray, half_life: float, seed: int = 0
) -> tuple[float, dict[str, Any]]:
    """The share of the score recency should decide, from how much text similarity falls
    between pairs under half a half-life apart and pairs over two half-lives apart."""
    dated = np.flatnonzero(~np.isnan(days))
    rng = np.random.default_rng(seed)
    rows = rng.permutation(dated)[: RECENCY_SAMPLE[0]]
    cols = rng.permutation(dated)[: RECENCY_SAMPLE[1]]
    if len(rows) < 2:
        return 0.0, {"measured": False, "reason": "too few dated articles"}
    cosine = (text[rows] @ text[cols].T).toarray()
    gap = np.abs(days[rows][:, None] - days[cols][None, :])
    other = rows[:, None] != cols[None, :]
    near = other & (gap < half_life / 2)
    far = other & (gap > 2 * half_life)
    if near.sum() < MIN_PAIRS or far.sum() < MIN_PAIRS:
        return 0.0, {"measured": False, "reason": "the archive spans too little time"}
    near_mean, far_mean = float(cosine[near].mean()), float(cosine[far].mean())
    weight = float(np.clip(1 - far_mean / near_mean, 0, MAX_RECENCY)) if near_mean > 0 else 0.0
    return weight, {
        "measured": True,
        "near_mean_cosine": round(near_mean, 5),
        "far_mean_cosine": round(far_mean, 5),
    }


def summary(names: list[str], lift: np.ndarray, sizes: np.ndarray, top: int = 10) -> dict:
    """What a group calibration found, for the manifest: the mean lift a shared member
    brings (weighted by how many pairs share it) and the groups that weigh most."""
    pairs = sizes * (sizes - 1)
    mean = float((lift * pairs).sum() / pairs.sum()) if pairs.sum() else 0.0
    order = np.argsort(-lift, kind="stable")[:top]
    return {
        "groups": len(names),
        "mean_added_score": round(mean, 5),
        "largest": {names[i]: round(float(lift[i]), 5) for i in order if lift[i] > 0},
    }


@dataclass(frozen=True)
class Blend:
    """The pairwise signals' weights for one archive, and what they were measured from."""

    category_bonus: dict[str, float] | float  # per case-folded category, or one for all
    recency_weight: float
    evidence: dict[str, Any]


def blend(
    text: sp.csr_matrix,
    categories: pd.Series,
    days: np.ndarray,
    category_weight: float | str,
    recency: float | str,
    half_life: float,
) -> Blend:
    """Category and recency weights: measured on the archive where they are `auto`,
    taken as given otherwise (`categories` case-folded, "" for none)."""
    base = baseline(text)
    evidence: dict[str, Any] = {"baseline_cosine": round(base, 5)}
    if category_weight == AUTO:
        codes, names = pd.factorize(categories.where(categories != "", None))
        rows = np.flatnonzero(codes >= 0)
        members = sp.csr_matrix(
            (np.ones(len(rows)), (rows, codes[rows])), shape=(text.shape[0], len(names))
        )
        lift, _ = group_lifts(text, members, base)
        sizes = np.asarray(members.sum(axis=0)).ravel()
        bonus: dict[str, float] | float = dict(zip(names, lift.tolist(), strict=True))
        evidence["category"] = summary(list(names), lift, sizes)
    else:
        bonus = float(category_weight)
    if recency == AUTO:
        weight, evidence["recency"] = recency_weight(text, days, half_life)
    else:
        weight = float(recency)
    return Blend(bonus, weight, evidence)
