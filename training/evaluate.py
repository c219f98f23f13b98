"""Figures of one model, and of what changes between two: for gates, reports and reviews.

Works from published artifacts only, so any two versions can be compared.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from relata.artifact import LoadedModel

LIST = 10  # a list as evaluated: the top 10
SHOWN = 6  # a list as a page shows it: the top 6


def _tag_columns(names: list[str]) -> np.ndarray:
    return np.array([i for i, name in enumerate(names) if name.startswith("tag:")], dtype=int)


def _share_matching(labels: np.ndarray, top: np.ndarray) -> float:
    """Mean share of each row's listed neighbours whose label equals the row's own."""
    valid = top >= 0
    has_label = labels >= 0
    same = (labels[np.where(valid, top, 0)] == labels[:, None]) & valid
    rows = has_label & valid.any(axis=1)
    if not rows.any():
        return 0.0
    return float((same[rows].sum(axis=1) / valid[rows].sum(axis=1)).mean())


def _tag_overlap(tags: sp.csr_matrix, top: np.ndarray) -> float | None:
    """Mean share of listed neighbours that share at least one tag with the row."""
    tagged = np.flatnonzero(tags.getnnz(axis=1) > 0)
    if not len(tagged):
        return None
    lists = top[tagged]
    valid = lists >= 0
    listed = valid.sum(axis=1)
    binary = (tags > 0).astype(np.float32).tocsr()
    own = binary[tagged]
    shared = np.column_stack([
        own.multiply(binary[np.maximum(column, 0)]).getnnz(axis=1) > 0 for column in lists.T
    ]) & valid  # fmt: skip
    shares = shared.sum(axis=1)[listed > 0] / listed[listed > 0]
    return float(np.mean(shares)) if len(shares) else None


def _with_duplicates(index: np.ndarray) -> int:
    """Rows listing some neighbour twice."""
    padding = (-1 - np.arange(index.shape[1])).astype(index.dtype)  # empty places differ
    ordered = np.where(index >= 0, index, padding)
    ordered.sort(axis=1)
    return int((ordered[:, 1:] == ordered[:, :-1]).any(axis=1).sum())


def evaluate(model: LoadedModel, features: tuple[sp.csr_matrix, list[str]]) -> dict[str, Any]:
    """Coverage, hubs, self-links, scores and the quality proxies of one model."""
    index, score = np.asarray(model.index), np.asarray(model.score)
    n = len(model.cards)
    top = index[:, :LIST]
    listed = top[top >= 0]
    in_degree = np.bincount(listed, minlength=n) if n else np.zeros(0, dtype=int)
    hub = int(in_degree.argmax()) if n else 0
    categories = list(model.categories)  # decoded once
    codes = {name: code for code, name in enumerate(sorted(set(categories) - {""}))}
    labels = np.array([codes.get(c, -1) for c in categories])
    matrix, names = features
    tags = matrix[:, _tag_columns(names)] if len(names) else sp.csr_matrix((n, 0))
    best = score[:, 0][index[:, 0] >= 0]
    return {
        "version": model.version,
        "articles": n,
        "coverage": float((index[:, SHOWN - 1] >= 0).mean()) if index.shape[1] >= SHOWN else 0.0,
        "empty": float((index[:, 0] < 0).mean()),
        "self_links": int((index == np.arange(n)[:, None]).sum()),
        "duplicate_lists": _with_duplicates(index),
        "hub_share": float(in_degree.max() / n) if n else 0.0,
        "hub": model.slugs[hub] if n else None,
        "top_score_percentiles": {
            str(p): float(np.percentile(best, p)) if len(best) else 0.0 for p in (10, 50, 90)
        },
        "category_agreement": _share_matching(labels, top),
        "tag_overlap": _tag_overlap(tags.tocsr(), top),
    }


def quality(figures: dict[str, Any], other: dict[str, Any] | None = None) -> float:
    """The quality proxy: tag overlap where the archive has tags, else category agreement;
    beside `other`, the one both have, so two models are never compared on different
    measures."""
    with_tags = [f.get("tag_overlap") is not None for f in (figures, other) if f is not None]
    return figures["tag_overlap"] if all(with_tags) else figures["category_agreement"]


def compare(new: LoadedModel, old: LoadedModel, most: int = 20) -> dict[str, Any]:
    """How the shown lists change from `old` to `new`, and which change most."""
    changed, jaccards, moves = 0, [], []
    common = [slug for slug in new.rows if slug in old.rows]
    for slug in common:
        now = {new.slugs[j] for j in new.index[new.rows[slug], :SHOWN] if j >= 0}
        before = {old.slugs[j] for j in old.index[old.rows[slug], :SHOWN] if j >= 0}
        union = now | before
        jaccard = len(now & before) / len(union) if union else 1.0
        jaccards.append(jaccard)
        if now != before:
            changed += 1
            moves.append((jaccard, slug, sorted(now - before), sorted(before - now)))
    moves.sort()
    return {
        "against": old.version,
        "common_articles": len(common),
        "added_articles": len(new.rows) - len(common),
        "removed_articles": len(old.rows) - len(common),
        "changed_share": changed / len(common) if common else 0.0,
        "mean_jaccard": float(np.mean(jaccards)) if jaccards else 1.0,
        "most_changed": [
            {"slug": slug, "jaccard": round(j, 3), "in": came, "out": went}
            for j, slug, came, went in moves[:most]
        ],
    }
