"""Calibration: what each signal besides text is worth on this archive, measured without
labels.

The yardstick is the text itself, split in two. Each article's analysed words (stop
words out, stemmed) go alternately to two halves; the blend (tags, category, recency) is
chosen so that neighbours picked with one half are as text-similar as possible on the
other half. A signal that says
something about what articles are about makes those held-out halves agree more; tags
handed out at random, or stuck on half the archive, make them agree less and end up
with no weight at all. No label is used, so nothing is tuned towards the benchmark's
relevance judgements.

Within a signal, each tag (or category) is worth the log of how much more text-similar
its articles are than two random articles, shrunk for small groups: a rare, coherent tag
says a lot, a common or incoherent one nothing. Calibration scales those worths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp
from joblib import effective_n_jobs

from relata.training.compiled import compiled
from relata.training.neighbours import decay
from relata.training.pair_products import pair_dots
from relata.training.settings import AUTO

if TYPE_CHECKING:
    from relata.training.features import ArticleVectorizer
    from relata.training.tokens import Tokens

SHRINK = 5  # members at which a group's measured worth counts half
# The sample of the archive calibration searches (all of a smaller one). On a big archive
# the sample's neighbours are weaker than the archive's, which flatters the other signals
# a little; a bounded cost was preferred.
ARTICLES = 20000
QUERIES = 1000  # articles whose held-out neighbours decide the blend
BLOCK = 25  # queries scored together (a dense block of BLOCK × archive scores)
POOL = 100  # candidates per query kept from each ranking (text alone, strongest blend)
TOP = 10  # neighbours whose held-out similarity counts
TOLERANCE = 0.0025  # a simpler blend within this share of the best one wins
TAG_SCALES = (0.0, 0.01, 0.02, 0.04, 0.08, 0.16)
CATEGORY_SCALES = (0.0, 0.01, 0.02, 0.04, 0.08, 0.16)
RECENCY_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7)
HALF_LIVES = (30.0, 90.0, 365.0, 1095.0)  # days
SQUARES = 1 << 22  # stored values squared at a time by `baseline`


def baseline(text: sp.csr_matrix) -> float:
    """Mean text cosine of two different random articles (rows are unit vectors)."""
    n = text.shape[0]
    if n < 2:
        return 0.0
    total = np.asarray(text.sum(axis=0), dtype=np.float64).ravel()
    # In float64 a slice at a time: `text.multiply(text)` was a copy of the whole block.
    squares = sum(
        float(np.square(text.data[a : a + SQUARES], dtype=np.float64).sum())
        for a in range(0, text.nnz, SQUARES)
    )  # fmt: skip
    return float((total @ total - squares) / (n * (n - 1)))


@compiled
def _group_squares(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, group_indptr: np.ndarray,
    group_rows: np.ndarray, width: int, threads: int,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per group (its rows `group_rows[group_indptr[g]:group_indptr[g + 1]]`): the squared
    norm of the sum of its rows, and the sum of its rows' squared norms."""
    groups = len(group_indptr) - 1
    summed, own = np.zeros(groups), np.zeros(groups)
    for part in numba.prange(threads):
        total = np.zeros(width)
        for g in range(part, groups, threads):
            for m in range(group_indptr[g], group_indptr[g + 1]):
                row = group_rows[m]
                for e in range(indptr[row], indptr[row + 1]):
                    total[indices[e]] += data[e]
                    own[g] += np.float64(data[e]) ** 2
            # Read back over the same entries, clearing behind: each column counts once.
            for m in range(group_indptr[g], group_indptr[g + 1]):
                row = group_rows[m]
                for e in range(indptr[row], indptr[row + 1]):
                    summed[g] += total[indices[e]] ** 2
                    total[indices[e]] = 0.0
    return summed, own


def group_worth(
    text: sp.csr_matrix, members: sp.csr_matrix, base: float, threads: int = 1
) -> np.ndarray:
    """Per group (column of the 0/1 `members`): log of how much more text-similar its
    articles are, pair by pair, than random articles (0 if not), shrunk for small groups.
    Each group's sum of text vectors is a dense row on each of `threads` threads, read and
    cleared group by group: as a sparse matrix, every tag's sum at once took GBs."""
    members = (members > 0).tocsc()
    sizes = np.diff(members.indptr).astype(np.float64)
    squared, own = _group_squares(
        text.indptr, text.indices, text.data, members.indptr, members.indices,
        text.shape[1], threads,
    )  # fmt: skip
    pairs = sizes * (sizes - 1)
    within = np.where(pairs > 0, (squared - own) / np.maximum(pairs, 1), 0.0)
    ratio = within / base if base > 0 else np.ones_like(within)
    return np.log(np.maximum(ratio, 1.0)) * sizes / (sizes + SHRINK)


def sample_rows(n: int, seed: int = 0) -> np.ndarray:
    """The rows calibration searches: all of a small archive, a sample of a big one."""
    return np.sort(np.random.default_rng(seed).permutation(n)[:ARTICLES])


def split_text(
    vectorizer: ArticleVectorizer, articles: pd.DataFrame, sample: np.ndarray,
    tokens: Tokens | None = None,
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Unit text vectors of the two held-out halves (every other analysed term) of the
    articles `sample`; from `tokens`, the articles as the vectoriser analysed them, when
    given, else analysed here."""
    analysed = (
        vectorizer.analyse(articles.iloc[sample]) if tokens is None else tokens.rows(sample)
    )
    return vectorizer.held_out_halves(analysed)


@dataclass(frozen=True)
class Blend:
    """The non-text signals' weights for one archive, and what they were measured from."""

    tag_scale: float  # multiplies each tag's worth
    category_bonus: dict[str, float] | float  # per case-folded category, or one for all
    recency_weight: float
    recency_half_life_days: float
    evidence: dict[str, Any]


def _candidates(
    rows: np.ndarray, half: sp.csr_matrix, transposed: sp.csr_matrix, weight: float,
    extra: Any, pool: int,
) -> np.ndarray:  # fmt: skip
    """Each query's candidates: its best `pool` by text alone and by `weight` × text plus
    `extra`."""
    text = (half[rows] @ transposed).toarray()
    pools = []
    for score in (text, weight * text + extra):
        score[np.arange(len(rows)), rows] = -np.inf  # never the query itself
        pools.append(np.argpartition(-score, pool - 1, axis=1)[:, :pool])
    return np.concatenate(pools, axis=1)


@compiled
def _held_out_sums(
    text: np.ndarray, tag: np.ndarray, category: np.ndarray, decays: np.ndarray,
    held_out: np.ndarray, excluded: np.ndarray, tag_scales: np.ndarray,
    category_scales: np.ndarray, recency_weights: np.ndarray, top: int,
) -> np.ndarray:  # fmt: skip
    """For each blend of the grid (tag scale × category scale × recency weight × half-life,
    in that nesting), the summed `held_out` similarity of each query's `top` candidates
    by that blend's score (`excluded` candidates never count). One pass per query: the
    grid's 864 blends each rank a query's candidates, which in numpy was 864 small sorts
    per block of queries."""
    n, k = text.shape
    grid = (len(tag_scales), len(category_scales), len(recency_weights), decays.shape[0])
    combos = grid[0] * grid[1] * grid[2] * grid[3]
    sums = np.zeros((n, combos), dtype=np.float64)
    for q in numba.prange(n):
        best = np.empty(top, dtype=np.float64)
        where = np.empty(top, dtype=np.int64)
        i = 0
        content = np.empty(k, dtype=np.float64)
        for t in tag_scales:
            for c in category_scales:
                for j in range(k):
                    # rounded as numpy rounds text + t * tag + c * category
                    content[j] = text[q, j] + np.float32(t) * tag[q, j]
                    content[j] = content[j] + np.float32(c) * category[q, j]
                for r in recency_weights:
                    for h in range(grid[3]):
                        found = 0
                        for j in range(k):
                            if excluded[q, j]:
                                continue
                            score = content[j] * ((1 - r) + r * decays[h, q, j])
                            if found < top:
                                slot = found
                                found += 1
                            elif score > best[top - 1]:
                                slot = top - 1
                            else:
                                continue
                            while slot > 0 and best[slot - 1] < score:
                                best[slot], where[slot] = best[slot - 1], where[slot - 1]
                                slot -= 1
                            best[slot], where[slot] = score, j
                        for m in range(found):
                            sums[q, i] += held_out[q, where[m]]
                        i += 1
    return sums.sum(axis=0)


def blend(
    vectorizer: ArticleVectorizer,
    articles: pd.DataFrame,
    text: sp.csr_matrix,
    members: sp.csr_matrix | None,
    categories: pd.Series,
    days: np.ndarray,
    settings: Any,
    seed: int = 0,
    split: tuple[sp.csr_matrix, sp.csr_matrix] | None = None,
) -> Blend:
    """Tag scale, category bonus and recency weight: chosen on held-out text halves where
    the setting is `auto`, taken as given otherwise (`categories` case-folded, "" for
    none; `days` NaN when undated; `text` the articles' unit text vectors; `split` the
    `split_text` of the `sample_rows`, made here when the caller has none)."""
    base = baseline(text)
    n = text.shape[0]
    codes, names = pd.factorize(categories.where(categories != "", None))
    labelled = np.flatnonzero(codes >= 0)
    category_members = sp.csr_matrix(
        (np.ones(len(labelled)), (labelled, codes[labelled])), shape=(n, len(names))
    )
    category_worth = group_worth(text, category_members, base, effective_n_jobs(settings.n_jobs))
    # Worths come from the whole archive; the blend is judged within a sample of it, so
    # calibration costs the same on a million articles as on fifty thousand.
    sample = sample_rows(n, seed)
    codes, days, n = codes[sample], days[sample], len(sample)
    first, second = split if split is not None else split_text(vectorizer, articles, sample)
    tags = (
        vectorizer.tag_vectors(members[sample], scale=1.0)
        if members is not None and len(vectorizer.tag_worth_)
        else None
    )
    def grid(setting: float | str, auto: tuple[float, ...], given: float) -> tuple[float, ...]:
        return auto if setting == AUTO else (given,)

    grids = {
        "tags": grid(settings.tag_weight, TAG_SCALES, 1.0) if tags is not None else (0.0,),
        "category": grid(settings.category_weight, CATEGORY_SCALES, 1.0),
        "recency": grid(settings.recency_weight, RECENCY_WEIGHTS, settings.recency_weight),
        "half_life": grid(
            settings.recency_half_life_days, HALF_LIVES, settings.recency_half_life_days
        ),
    }
    if settings.category_weight != AUTO:
        category_worth = np.full(len(names), float(settings.category_weight))
    usable = np.flatnonzero(
        (first.getnnz(axis=1) > 0) & (second.getnnz(axis=1) > 0)
    )
    rows = np.sort(np.random.default_rng(seed).permutation(usable)[:QUERIES])
    # On a small archive a top ten is most of it: judge a shorter top there.
    pool, top = min(POOL, n - 1), max(1, min(TOP, (n - 1) // 4))
    if top < 1 or not len(rows):
        rows = rows[:0]
    combos = [  # the order `_held_out_sums` scores them in
        (t, c, r, h)
        for t in grids["tags"] for c in grids["category"]
        for r in grids["recency"] for h in grids["half_life"]
    ]  # fmt: skip
    held_out = np.zeros(len(combos))
    transposed = first.T.tocsr()  # once: each block's product would convert it again
    for start in range(0, len(rows), BLOCK):
        block = rows[start : start + BLOCK]
        same = (codes[block][:, None] == codes[None, :]) & (codes[block][:, None] >= 0)
        own_worth = category_worth[np.maximum(codes[block], 0)] if len(names) else 0.0
        category = np.where(same, np.reshape(own_worth, (-1, 1)), 0.0).astype(np.float32)
        tag = (tags[block] @ tags.T).toarray() if tags is not None else 0.0
        strongest = max(grids["tags"]) * tag + max(grids["category"]) * category
        cols = _candidates(block, first, transposed, settings.text_weight, strongest, pool)
        own = np.arange(len(block))[:, None]
        text_a = settings.text_weight * pair_dots(first, block, cols)  # as training will
        text_b = pair_dots(second, block, cols)  # the yardstick: held-out text alone
        tag_c = np.take_along_axis(tag, cols, 1) if tags is not None else 0.0
        category_c = np.take_along_axis(category, cols, 1)
        gap = np.abs(days[block][:, None] - days[cols])
        decays = {h: decay(gap, h) for h in grids["half_life"]}
        duplicate = np.zeros(cols.shape, dtype=bool)  # a candidate found by both rankings
        order = np.argsort(cols, axis=1, kind="stable")
        ranked = np.take_along_axis(cols, order, 1)
        duplicate[own, order[:, 1:]] = ranked[:, 1:] == ranked[:, :-1]
        held_out += _held_out_sums(
            text_a, np.broadcast_to(tag_c, cols.shape).astype(np.float32),
            category_c.astype(np.float32), np.stack([decays[h] for h in grids["half_life"]]),
            text_b, duplicate | (cols == block[:, None]), np.array(grids["tags"]),
            np.array(grids["category"]), np.array(grids["recency"]), top,
        )  # fmt: skip
    held_out /= max(1, len(rows) * top)
    best = held_out.max()
    # The simplest blend that does (almost) as well: less weight is less to go wrong.
    chosen = min(
        (i for i in range(len(combos)) if held_out[i] >= best * (1 - TOLERANCE)),
        key=lambda i: (sum(combos[i][:3]), -combos[i][3], i),  # then the gentlest decay
    )
    tag_scale, category_scale, recency, half_life = combos[chosen]
    bonus: dict[str, float] | float = (
        dict(zip(names, (category_scale * category_worth).tolist(), strict=True))
        if settings.category_weight == AUTO
        else float(settings.category_weight)
    )
    plain = min(
        range(len(combos)), key=lambda i: (sum(combos[i][:3]), -combos[i][3], i)
    )  # the least of every signal the grid has: text alone where calibrated
    evidence = {
        "method": "held-out text halves",
        "queries": len(rows),
        "articles_searched": n,
        "baseline_cosine": round(base, 5),
        "held_out_similarity": round(float(held_out[chosen]), 5),
        "held_out_similarity_text_only": round(float(held_out[plain]), 5),
        "tag_scale": tag_scale,
        "category_scale": category_scale,
        "recency_weight": recency,
        "recency_half_life_days": half_life,
    }
    return Blend(tag_scale, bonus, recency, half_life, evidence)


def summary(scores: dict[str, float], top: int = 10) -> dict[str, Any]:
    """What the calibrated groups add, for the manifest: how many, and the largest."""
    largest = sorted(scores.items(), key=lambda item: -item[1])[:top]
    return {
        "groups": len(scores),
        "adding_something": sum(value > 0 for value in scores.values()),
        "largest": {name: round(value, 4) for name, value in largest if value > 0},
    }
