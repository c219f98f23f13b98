"""A synthetic archive with realistic articles: bodies of hundreds of words and a
vocabulary that keeps growing with the archive, as a real one does.

Each article takes a real article of the bundled archives (HuffPost headlines and arXiv
abstracts) as its topic: its title mostly from the topic's own words, its body a mix of
the topic's words and background words. Background words are drawn from a Zipf law over
an unbounded list of ranks: the first ranks are the real archives' words by frequency,
the rest pseudo-words, so every new batch of articles brings some words never seen
before (Heaps' law: the vocabulary grows like a power of the archive's size). Body
lengths are lognormal around `BODY_WORDS` words.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (ROOT / "data" / "articles.jsonl", ROOT / "data" / "tagged" / "articles.jsonl")
WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
BODY_WORDS = 450  # median body length, words
BODY_SPREAD = 0.55  # sigma of the lognormal body length
TOPIC_SHARE = 0.4  # share of body words taken from the topic article itself
ZIPF = 1.35  # exponent of the background word law (vocabulary grows like N ** (1 / ZIPF))


def _topics() -> list[dict]:
    topics = []
    for path in SOURCES:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                words = WORD.findall(f"{record['title']} {record['summary']} {record['body']}")
                topics.append({**record, "words": np.array(words)})
    return topics


def _background(topics: list[dict]) -> np.ndarray:
    """The real archives' words, most frequent first (the first Zipf ranks)."""
    counts = Counter(word.lower() for topic in topics for word in topic["words"].tolist())
    return np.array([word for word, _ in counts.most_common()])


def _word(rank: int, known: np.ndarray) -> str:
    if rank <= len(known):
        return str(known[rank - 1])
    return "q" + np.base_repr(rank, 36).lower()  # a pseudo-word past the real vocabulary


def write_realistic_archive(path: Path, n: int, seed: int = 0) -> Path:
    """Write `n` realistic synthetic articles as JSON Lines to `path`."""
    rng = np.random.default_rng(seed)
    topics = _topics()
    known = _background(topics)
    days = np.datetime64("2018-01-01") + rng.integers(0, 365 * 5, size=n)
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            topic = topics[rng.integers(len(topics))]
            own = topic["words"]
            length = int(np.clip(rng.lognormal(np.log(BODY_WORDS), BODY_SPREAD), 60, 3000))
            from_topic = rng.random(length) < TOPIC_SHARE
            ranks = rng.zipf(ZIPF, size=length)
            body = [
                str(own[rng.integers(len(own))]) if take else _word(int(rank), known)
                for take, rank in zip(from_topic, ranks, strict=True)
            ]
            title = [str(own[rng.integers(len(own))]) for _ in range(8)]
            record = {
                "slug": f"realistic-{i}",
                "title": " ".join(title).title(),
                "summary": " ".join(body[:30]),
                "body": " ".join(body),
                "category": topic["category"],
                "tags": topic["tags"],
                "published_at": str(days[i]),
            }
            out.write(json.dumps(record) + "\n")
    return path
