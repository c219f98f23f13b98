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
import shutil
import tempfile
from collections import Counter
from functools import cache
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (ROOT / "data" / "articles.jsonl", ROOT / "data" / "tagged" / "articles.jsonl")
WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
BODY_WORDS = 450  # median body length, words
BODY_SPREAD = 0.55  # sigma of the lognormal body length
TOPIC_SHARE = 0.4  # share of body words taken from the topic article itself
PART = 50000  # articles written per process task
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


def _words(ranks: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The background words of Zipf `ranks`: real words first, pseudo-words past them."""
    words = np.empty(len(ranks), dtype=object)
    real = ranks <= len(known)
    words[real] = known[ranks[real] - 1]
    # Pseudo-words: the rank in base 36, so every rank past the real vocabulary is new.
    words[~real] = ["q" + np.base_repr(rank, 36).lower() for rank in ranks[~real].tolist()]
    return words


@cache
def _corpus() -> tuple[list[dict], np.ndarray]:
    """The topics and the background words (once per process)."""
    topics = _topics()
    return topics, _background(topics)


def _write_part(path: Path, first: int, count: int, seed: int, part: int) -> None:
    """Articles `first` to `first + count - 1`, drawn from part `part`'s own stream."""
    rng = np.random.default_rng(seed if part == 0 else [seed, part])
    topics, known = _corpus()
    days = np.datetime64("2018-01-01") + rng.integers(0, 365 * 5, size=count)
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            topic = topics[rng.integers(len(topics))]
            own = topic["words"]
            length = int(np.clip(rng.lognormal(np.log(BODY_WORDS), BODY_SPREAD), 60, 3000))
            from_topic = rng.random(length) < TOPIC_SHARE
            body = _words(rng.zipf(ZIPF, size=length), known)
            # Drawn in one call, the same numbers as one draw per topic word.
            body[from_topic] = own[rng.integers(len(own), size=int(from_topic.sum()))]
            body = body.tolist()
            title = own[rng.integers(len(own), size=8)].tolist()
            record = {
                "slug": f"realistic-{first + i}",
                "title": " ".join(title).title(),
                "summary": " ".join(body[:30]),
                "body": " ".join(body),
                "category": topic["category"],
                "tags": topic["tags"],
                "published_at": str(days[i]),
            }
            out.write(json.dumps(record) + "\n")


def write_realistic_archive(path: Path, n: int, seed: int = 0, n_jobs: int = -1) -> Path:
    """Write `n` realistic synthetic articles as JSON Lines to `path`, `PART` articles at
    a time in `n_jobs` processes (each part its own random stream: the first part is
    the whole archive up to `PART` articles)."""
    parts = [(p, p * PART, min(PART, n - p * PART)) for p in range(-(-n // PART))]
    with tempfile.TemporaryDirectory(dir=path.parent) as folder:
        files = [Path(folder) / f"{p}.jsonl" for p, _, _ in parts]
        Parallel(n_jobs=n_jobs if len(parts) > 1 else 1)(
            delayed(_write_part)(file, first, count, seed, p)
            for file, (p, first, count) in zip(files, parts, strict=True)
        )
        with path.open("wb") as out:
            for file in files:
                with file.open("rb") as part:
                    shutil.copyfileobj(part, out)
    return path
