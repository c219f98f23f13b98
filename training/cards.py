"""Card metadata: what a "Related" card shows, precomputed once per model."""

from __future__ import annotations

from typing import Any

import pandas as pd

from relata.training.text import excerpt


def _present(value: Any) -> Any:
    # pandas stores a missing string as NaN; a card says null.
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def build_cards(articles: pd.DataFrame, excerpt_chars: int) -> list[dict[str, Any]]:
    """One card per article, in row order, with the excerpt cut at a word boundary."""
    cards = []
    for row in articles.itertuples(index=False):
        text = _present(row.summary) or _present(row.body)
        cards.append(
            {
                "slug": row.slug,
                "title": row.title,
                "category": _present(row.category),
                "excerpt": excerpt(text, excerpt_chars) if text else None,
                "url": _present(row.url),
                "image": _present(row.image),
                "published_at": _present(row.published_at),
                "language": row.language,
            }
        )
    return cards
