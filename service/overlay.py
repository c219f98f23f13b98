"""Articles between retrains: fold ingested articles into a trained model's lists.

An ingested article is vectorised with the model's own fitted vectoriser and scored, with
the same blend and re-scoring as training, against every article. That gives it its own
list at once, and puts it into the stored lists it scores into (scores are symmetric, so
one product serves both directions). An ingested update replaces the article's card and
vector; a deletion hides it everywhere. The next full retrain folds all of it in.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from relata.artifact import LoadedModel
from relata.training.cards import build_cards
from relata.training.language import article_languages, language_code
from relata.training.neighbours import pair_signals, rank_block, rescore
from relata.training.settings import TrainSettings

Entry = tuple[str, float]  # (slug, score)


@dataclass(frozen=True)
class Overlay:
    """What ingested articles change about a model's lists."""

    cards: dict[str, dict[str, Any]] = field(default_factory=dict)  # ingested articles
    own: dict[str, list[Entry]] = field(default_factory=dict)  # their lists
    extra: dict[str, list[Entry]] = field(default_factory=dict)  # entries they add, best first
    drop: dict[str, frozenset[str]] = field(default_factory=dict)  # stored entries replaced
    removed: frozenset[str] = frozenset()  # deleted: in no list, no list of their own
    languages: frozenset[str] = frozenset()  # of the ingested articles

    def knows(self, slug: str) -> bool:
        """True for an ingested article's slug."""
        return slug in self.own


def model_settings(model: LoadedModel) -> TrainSettings:
    """The settings a model was trained with (defaults for any it predates)."""
    names = {f.name for f in dataclasses.fields(TrainSettings)}
    recorded = model.manifest.get("parameters", {})
    return dataclasses.replace(TrainSettings(), **{k: v for k, v in recorded.items() if k in names})


def build_overlay(
    model: LoadedModel,
    features: sp.csr_matrix,
    vectorizer: Any,
    records: list[dict[str, Any]],
    removed: frozenset[str],
) -> Overlay:
    """The overlay of validated `records` (new or updated articles) and `removed` slugs."""
    if not records:
        return Overlay(removed=removed)
    settings = model_settings(model)
    n, new = len(model.cards), pd.DataFrame(records).reset_index(drop=True)
    new["language"] = article_languages(new, language_code(settings.language) or "en")
    replaced = [model.rows[s] for s in [*new["slug"], *removed] if s in model.rows]
    keep = np.ones(n, dtype=np.float32)
    keep[replaced] = 0  # an updated or deleted article's old vector matches nothing
    fresh = vectorizer.transform(new).astype(np.float32)
    matrix = sp.vstack([sp.diags(keep) @ features, fresh], format="csr")
    cards = build_cards(new, settings.excerpt_chars)
    # The model's rows from its stored columns (no card decoded), then the new cards.
    slugs = [*model.slugs, *(card["slug"] for card in cards)]
    table = pd.DataFrame({
        "slug": slugs,
        "category": [*model.categories, *(card["category"] for card in cards)],
        "published_at": [*(p or None for p in model.published),
                         *(card["published_at"] for card in cards)],
        "language": [*model.languages, *(card["language"] for card in cards)],
    })  # fmt: skip
    signals = pair_signals(table, model.manifest.get("calibration", {}).get("category_bonus", 0.0))
    index, score = rank_block(matrix, np.arange(n, n + len(cards)), signals, settings)

    own = {}
    for offset, card in enumerate(cards):
        listed = index[offset] >= 0
        own[card["slug"]] = [
            (slugs[j], float(s))
            for j, s in zip(index[offset][listed], score[offset][listed], strict=True)
        ]
    # Where an ingested article scores into a stored top-K, it enters that list.
    stored = np.asarray(model.score)
    full = np.asarray(model.index)[:, -1] >= 0
    threshold = np.where(full, stored[:, -1], -np.inf)
    products = (fresh @ matrix[:n].T).tocsr()
    extra: dict[str, list[Entry]] = defaultdict(list)
    for offset, card in enumerate(cards):
        lo, hi = products.indptr[offset], products.indptr[offset + 1]
        cols, content = products.indices[lo:hi], products.data[lo:hi]
        cols, content = cols[content > 0], content[content > 0]
        final = rescore(n + offset, cols, content, signals, settings)
        for j, value in zip(
            cols[final > threshold[cols]], final[final > threshold[cols]], strict=True
        ):
            extra[model.slugs[j]].append((card["slug"], float(value)))
    # Stored entries of an updated article carry its old score: drop them (the new score
    # came back through `extra` where it still qualifies).
    updated = [model.rows[c["slug"]] for c in cards if c["slug"] in model.rows]
    drop: dict[str, set[str]] = defaultdict(set)
    for j, k in zip(*np.nonzero(np.isin(np.asarray(model.index), updated)), strict=True):
        drop[model.slugs[j]].add(model.slugs[model.index[j, k]])
    return Overlay(
        cards={card["slug"]: card for card in cards},
        own=own,
        extra={slug: sorted(entries, key=lambda e: -e[1]) for slug, entries in extra.items()},
        drop={slug: frozenset(targets) for slug, targets in drop.items()},
        removed=removed,
        languages=frozenset(card["language"] for card in cards),
    )
