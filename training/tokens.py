"""Analysed text as token streams: every field of every article as stem ids, once.

Training used to analyse each article's words in Python several times over (to fit, to
transform each field, and twice more for calibration's held-out halves). Here each
article is tokenised once and each distinct word of a language stemmed once (caches per
language: whitespace-separated piece → its stem ids, word → stem id), and the result is a
flat int32 array of stem ids: what the vocabulary, the count matrices and the held-out
halves are all built from (see `training.ngrams`). Articles are analysed in chunks, in
parallel processes on big archives; each chunk numbers its own stems, the parent
renumbers them.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
from joblib import delayed

from relata.training import distributed
from relata.training.language import TOKEN, stemmer, stop_words

# Articles analysed per task. Each task analyses each distinct piece of text and stems each
# distinct word once, so fewer, larger tasks repeat less of that (a million realistic
# articles: 107.0 s in tasks of 5,000, 99.2 s in tasks of 10,000); a smaller archive is
# cut into at least `TASKS` so that its last task does not run alone.
CHUNK = 10000
TASKS = 8


@dataclass(frozen=True)
class Tokens:
    """The analysed fields of `n` articles: segment `field * n + article` holds that
    field's stem ids (stop words out) in text order, `ids[starts[s]:starts[s + 1]]`."""

    stems: list[str]  # each stem id's text
    ids: np.ndarray  # int32 stem ids, segment after segment
    starts: np.ndarray  # int64, len(fields) * n + 1 segment offsets
    fields: tuple[str, ...]

    @property
    def n(self) -> int:
        """Number of articles."""
        return (len(self.starts) - 1) // max(1, len(self.fields))

    def field(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """One field's stem ids and its per-article offsets into them (from 0)."""
        k, n = self.fields.index(name), self.n
        starts = self.starts[k * n : (k + 1) * n + 1]
        return self.ids[starts[0] : starts[-1]], starts - starts[0]

    def rows(self, articles: np.ndarray) -> Tokens:
        """The same fields of some of the articles (`articles`: row numbers)."""
        segments = (np.arange(len(self.fields))[:, None] * self.n + articles).ravel()
        return self._segments(segments, 0, 1)

    def halves(self) -> tuple[Tokens, Tokens]:
        """Two streams holding every other token of each segment (calibration's halves)."""
        segments = np.arange(len(self.starts) - 1)
        return self._segments(segments, 0, 2), self._segments(segments, 1, 2)

    def renumbered(self, stems: list[str]) -> Tokens:
        """The same stream with stem ids of another numbering (`stems`); a stem that
        numbering lacks becomes -1, which starts and ends no n-gram."""
        if stems is self.stems:
            return self
        known = {stem: i for i, stem in enumerate(stems)}
        renumber = np.array([known.get(stem, -1) for stem in self.stems], dtype=np.int32)
        return Tokens(stems, renumber[self.ids], self.starts, self.fields)

    def _segments(self, segments: np.ndarray, offset: int, step: int) -> Tokens:
        """The stream of `segments`, keeping positions `offset`, `offset + step`, … of each."""
        lengths = self.starts[segments + 1] - self.starts[segments]
        kept = np.maximum(0, (lengths - offset + step - 1) // step)
        starts = np.concatenate(([0], np.cumsum(kept)))
        within = np.arange(starts[-1]) - np.repeat(starts[:-1], kept)
        positions = np.repeat(self.starts[segments], kept) + offset + step * within
        return Tokens(self.stems, self.ids[positions], starts, self.fields)


def _analyse_chunk(
    texts: Sequence[Sequence[str]], languages: Sequence[str]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Stem ids of a chunk's fields (field-major), numbered within the chunk, with their
    segment lengths and the chunk's stems."""
    stem_ids: dict[str, int] = {}
    pieces: dict[str, _PieceIds] = {}
    ids, lengths = array("i"), array("q")
    for field in texts:
        for code, text in zip(languages, field, strict=True):
            known = pieces.get(code)
            if known is None:
                known = pieces[code] = _PieceIds(code, stem_ids)
            before = len(ids)
            # No Python code runs per word: a whitespace-separated piece is looked up (and
            # analysed, the first time) as a whole.
            ids.extend(chain.from_iterable(map(known.__getitem__, text.split())))
            lengths.append(len(ids) - before)
    return list(stem_ids), np.frombuffer(ids, dtype=np.int32), np.frombuffer(lengths, np.int64)


class _PieceIds(dict):
    """A whitespace-separated piece of text → the stem ids of its words in one language
    (stop words left out), each piece analysed once and each word stemmed once. Words
    never span whitespace, so the pieces' words are the text's words."""

    def __init__(self, code: str, stem_ids: dict[str, int]) -> None:
        super().__init__()
        self.words = _WordIds(code, stem_ids)

    def __missing__(self, piece: str) -> tuple[int, ...]:
        value = tuple(
            i for i in map(self.words.__getitem__, TOKEN.findall(piece.casefold())) if i >= 0
        )
        self[piece] = value
        return value


class _WordIds(dict):
    """A word → its stem id in one language, -1 for a stop word."""

    def __init__(self, code: str, stem_ids: dict[str, int]) -> None:
        super().__init__()
        self.stops, self.stemmer, self.stem_ids = stop_words(code), stemmer(code), stem_ids

    def __missing__(self, word: str) -> int:
        value = -1 if word in self.stops else self.stem_ids.setdefault(
            self.stemmer.stemWord(word), len(self.stem_ids)
        )
        self[word] = value
        return value


def analyse(
    fields: dict[str, Sequence[str]], languages: Sequence[str], n_jobs: int = 1
) -> Tokens:
    """Every field of every article as stem ids, each article in its language (`fields`:
    name → one text per article), on `n_jobs` processes."""
    n = len(languages)
    size = max(1, min(CHUNK, -(-n // TASKS)))
    bounds = [(a, min(n, a + size)) for a in range(0, n, size)]
    tasks = (
        delayed(_analyse_chunk)([list(texts[a:b]) for texts in fields.values()], languages[a:b])
        for a, b in bounds
    )
    parts = distributed.parallel(n_jobs if len(bounds) > 1 else 1)(tasks)
    stem_ids: dict[str, int] = {}
    per_field: list[list[np.ndarray]] = [[] for _ in fields]
    lengths = []
    for stems, chunk_ids, chunk_lengths in parts:
        renumber = np.array(
            [stem_ids.setdefault(stem, len(stem_ids)) for stem in stems], dtype=np.int32
        )
        counts = chunk_lengths.reshape(len(fields), -1)  # a chunk is field-major too
        cuts = np.cumsum(counts.sum(axis=1))[:-1]
        for k, piece in enumerate(np.split(renumber[chunk_ids], cuts)):
            per_field[k].append(piece)
        lengths.append(counts)
    pieces = [piece for field in per_field for piece in field]
    by_field = np.concatenate(lengths, axis=1) if lengths else np.zeros((len(fields), 0))
    return Tokens(
        list(stem_ids),
        np.concatenate(pieces).astype(np.int32) if pieces else np.zeros(0, dtype=np.int32),
        np.concatenate(([0], np.cumsum(by_field.ravel()))).astype(np.int64),
        tuple(fields),
    )
