"""A synthetic archive of any size, drawn from the demo archive's vocabulary.

Each synthetic article picks a real article as its topic and mixes that article's words
with words drawn from its category's word distribution, so the term statistics (Zipf
frequencies, topical clusters, short texts) look like a real news archive.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np

DEMO = Path(__file__).resolve().parent.parent / "data" / "articles.jsonl"
WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")


def _mix(rng: np.random.Generator, own: list[str], words: np.ndarray, p: np.ndarray, n: int) -> str:
    """`n` words: each from the topic article half of the time, else from its category."""
    filler = rng.choice(words, size=n, p=p)
    return " ".join(
        own[rng.integers(len(own))] if own and rng.random() < 0.5 else str(word) for word in filler
    )


def write_synthetic_archive(path: Path, n: int, seed: int = 0) -> Path:
    """Write `n` synthetic articles as JSON Lines to `path`."""
    rng = np.random.default_rng(seed)
    with DEMO.open(encoding="utf-8") as lines:
        real = [json.loads(line) for line in lines]
    words_by_category: dict[str, Counter] = {}
    for article in real:
        words = WORD.findall(f"{article['title']} {article['summary']}")
        words_by_category.setdefault(article["category"], Counter()).update(words)
    vocab = {}
    for category, counts in words_by_category.items():
        weights = np.array(list(counts.values()), dtype=float)
        vocab[category] = (np.array(list(counts)), weights / weights.sum())
    days = np.datetime64("2018-01-01") + rng.integers(0, 365 * 5, size=n)
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            topic = real[rng.integers(len(real))]
            own = WORD.findall(f"{topic['title']} {topic['summary']}")
            words, p = vocab[topic["category"]]
            record = {
                "slug": f"synthetic-{i}",
                "title": _mix(rng, own, words, p, 10).title(),
                "summary": _mix(rng, own, words, p, 20),
                "body": "",
                "category": topic["category"],
                "tags": [],
                "published_at": str(days[i]),
            }
            out.write(json.dumps(record) + "\n")
    return path
