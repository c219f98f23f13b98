"""Re-scoring: two text signals the sparse cosine misses, switched on by calibration.

The sparse cosine only sees the words two articles share. Two stock remedies see more:

- **Latent semantic analysis** (LSA): scikit-learn's `TruncatedSVD` of the unit text
  vectors; articles on one subject in different words are close in its few hundred
  concepts. It is fitted on a sample of at most `SAMPLE` articles and their `TERMS` most
  frequent terms (its cost then grows with the archive only through the projection) and
  blended with the sparse cosine.
- **Pseudo-relevance feedback** (Rocchio): each article's query is its own vector plus
  the mean of its first `DEPTH` neighbours, so a short headline also matches the words
  its closest stories use.

Neither is right everywhere, so `calibrate` chooses their weights on held-out text
halves, as `training.calibrate` does for tags (no label): neighbours picked in one half
of every article's words must be text-similar in the other half. Where a re-scorer does
not make those halves agree more, it gets weight 0 and costs nothing at all.

Only the stored top-K of each article is re-scored (the sparse search found it):
re-scoring re-orders a list, it never widens it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs
from sklearn.decomposition import TruncatedSVD
from sklearn.preprocessing import normalize

from relata.training import neighbours
from relata.training.pair_products import dense_pair_dots, pair_dots
from relata.training.settings import AUTO, TrainSettings
from relata.training.top_products import top_products

COMPONENTS = 200  # LSA concepts
SAMPLE = 10000  # articles the LSA projection is fitted on
TERMS = 50000  # the sample's most frequent terms the concepts are made of
DEPTH = 5  # neighbours whose mean expands a query
LSA_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5)  # share of the text score given to LSA
FEEDBACK_WEIGHTS = (0.0, 0.5, 1.0)  # weight of the neighbours' mean in a query
QUERIES = 3000  # calibration: articles whose held-out lists decide (fewer: gains drown in noise)
LIST = 50  # calibration: a query's stored list, as training keeps (re-ordered, not widened)
TOP = 10  # calibration: neighbours whose held-out similarity counts
TOLERANCE = 0.0025  # a simpler choice within this share of the best one wins
REORDER_ROWS = 8192  # articles re-scored together (bounds the score tables' memory)


@dataclass(frozen=True)
class Rescoring:
    """The re-scorers' weights for one archive, and what they were chosen from."""

    lsa_weight: float
    feedback_weight: float
    evidence: dict[str, Any]

    @property
    def active(self) -> bool:
        """True when either re-scorer has any weight."""
        return bool(self.lsa_weight or self.feedback_weight)


def concepts(text: sp.csr_matrix, seed: int = 0) -> np.ndarray:
    """Unit LSA vectors of the rows of `text`, the projection fitted on a sample and made
    of the sample's `TERMS` most frequent terms."""
    n = text.shape[0]
    sample = text[np.sort(np.random.default_rng(seed).permutation(n)[:SAMPLE])]
    # The randomised SVD holds a dense block of terms × components: over a realistic
    # vocabulary (millions of n-grams at 100k articles) that alone took gigabytes.
    df = sample.getnnz(axis=0)
    terms = np.sort(np.argsort(-df, kind="stable")[: min(TERMS, int((df > 0).sum()))])
    components = min(COMPONENTS, sample.shape[0] - 1, len(terms) - 1)
    if components < 2:  # too little text to find concepts in: no concept signal
        return np.zeros((n, 0), dtype=np.float32)
    svd = TruncatedSVD(components, random_state=seed).fit(sample[:, terms])
    return normalize(svd.transform(text[:, terms])).astype(np.float32)


def feedback_dots(
    text: sp.csr_matrix, rows: np.ndarray, index: np.ndarray, weight: float, threads: int = 1
) -> np.ndarray:
    """Cosines of each article of `rows` with its listed neighbours (`index`: their lists,
    -1 for none), its query expanded by `weight` times the mean of its first `DEPTH`
    neighbours (0: its own vector)."""
    if not weight:
        return pair_dots(text, rows, index, threads=threads)
    queries = np.column_stack([rows, index[:, :DEPTH]])
    weights = np.column_stack(
        [np.ones(len(rows)), np.full((len(rows), queries.shape[1] - 1), weight / DEPTH)]
    )
    return pair_dots(text, queries, index, weights=weights, normalise=True, threads=threads)


def text_scores(
    text: sp.csr_matrix, rows: np.ndarray, index: np.ndarray, lsa: np.ndarray | None,
    choice: Rescoring, threads: int = 1,
) -> np.ndarray:  # fmt: skip
    """The re-scored text similarity of the articles `rows` with their listed neighbours
    (`index`: their lists)."""
    score = (1 - choice.lsa_weight) * feedback_dots(
        text, rows, index, choice.feedback_weight, threads
    )
    if choice.lsa_weight and lsa is not None and lsa.shape[1]:
        score += choice.lsa_weight * dense_pair_dots(lsa, rows, index, threads)
    return score


def reorder(
    text: sp.csr_matrix, matrix: sp.csr_matrix, table: neighbours.Neighbours,
    signals: neighbours.PairSignals, settings: TrainSettings, choice: Rescoring,
) -> neighbours.Neighbours:  # fmt: skip
    """The neighbour table with each list re-scored and re-ordered: its text cosine
    replaced by the re-scored one, tags, category, recency and language as before."""
    if not choice.active:
        return table
    lsa = concepts(text) if choice.lsa_weight else None
    # The searched vectors are [√text_weight · text, tags], so a pair's content score is
    # text_weight · text cosine + its tags' product: only the text part is re-scored.
    tags = matrix[:, text.shape[1] :].tocsr()
    threads = effective_n_jobs(settings.n_jobs)
    index, score = np.empty_like(table.index), np.empty_like(table.score)
    for start in range(0, len(index), REORDER_ROWS):
        rows = np.arange(start, min(len(index), start + REORDER_ROWS))
        lists = table.index[rows]
        content = settings.text_weight * text_scores(text, rows, lists, lsa, choice, threads)
        if tags.nnz:
            content += pair_dots(tags, rows, lists, threads=threads)
        cols = np.maximum(lists, 0)
        final = np.where(
            lists >= 0, neighbours.rescore(rows[:, None], cols, content, signals, settings),
            -np.inf,
        )  # fmt: skip
        tie = np.where(lists >= 0, signals.order[cols], np.iinfo(np.int64).max)
        order = np.lexsort((tie, -final), axis=-1)  # ties as the search breaks them
        index[rows] = np.take_along_axis(lists, order, 1)
        score[rows] = np.where(index[rows] >= 0, np.take_along_axis(final, order, 1), 0)
    return neighbours.Neighbours(index=index, score=score)


def _ranked(score: np.ndarray, count: int) -> np.ndarray:
    """Columns of each row's `count` best scores, best first."""
    best = np.argpartition(-score, count - 1, axis=1)[:, :count]
    return np.take_along_axis(best, np.argsort(-np.take_along_axis(score, best, 1), 1), 1)


def _stored_lists(text: sp.csr_matrix, rows: np.ndarray, depth: int, threads: int) -> np.ndarray:
    """Each query's stored list by the sparse cosine: the `depth` best other rows of
    `text` for each of `rows`, best first (-1 past the rows it shares a term with).
    Only each row's best are kept while multiplying, on `threads` threads: a dense table
    of 3,000 × 20,000 scores was most of re-scoring's calibration."""
    products = top_products(text[rows], text.T.tocsr(), rows, depth, threads)
    owners = np.repeat(np.arange(len(rows)), np.diff(products.indptr))
    cols, scores = products.indices, products.data
    order = np.lexsort((cols, -scores, owners))  # per query: best first, ties by row
    owners, cols = owners[order], cols[order]
    slot = np.arange(len(owners)) - np.searchsorted(owners, owners)
    lists = np.full((len(rows), depth), -1, dtype=np.int64)
    keep = slot < depth
    lists[owners[keep], slot[keep]] = cols[keep]
    return lists


def calibrate(
    first: sp.csr_matrix, second: sp.csr_matrix, settings: TrainSettings, seed: int = 0
) -> Rescoring:
    """The re-scorers' weights that make neighbours found with the text half `first`
    most similar in the held-out half `second` (rows: the same articles, a sample); a
    weight given as a number is used as it is, `auto` is chosen."""
    n = first.shape[0]
    lsa, feedback = settings.lsa_weight, settings.feedback_weight
    lsa_grid = LSA_WEIGHTS if lsa == AUTO else (float(lsa),)
    feedback_grid = FEEDBACK_WEIGHTS if feedback == AUTO else (float(feedback),)
    combos = [(a, b) for a in lsa_grid for b in feedback_grid]
    usable = np.flatnonzero((first.getnnz(axis=1) > 0) & (second.getnnz(axis=1) > 0))
    rows = np.sort(np.random.default_rng(seed).permutation(usable)[:QUERIES])
    depth, top = min(LIST, n - 1), max(1, min(TOP, (n - 1) // 4))
    if len(combos) == 1 or len(rows) == 0 or depth <= top:
        a, b = combos[0] if len(combos) == 1 else (0.0, 0.0)
        method = "given" if len(combos) == 1 else "too small"
        return Rescoring(a, b, {"method": method, "lsa_weight": a, "feedback_weight": b})
    threads = effective_n_jobs(settings.n_jobs)
    lists = _stored_lists(first, rows, depth, threads)
    concept = concepts(first, seed)
    # The text score is linear in the LSA weight: each query expansion is scored once.
    dots = {b: feedback_dots(first, rows, lists, b, threads) for b in feedback_grid}
    lsa_dots = dense_pair_dots(concept, rows, lists, threads) if concept.shape[1] else 0.0
    per_query = np.zeros((len(combos), len(rows)))
    for i, (a, b) in enumerate(combos):
        picked = np.take_along_axis(lists, _ranked((1 - a) * dots[b] + a * lsa_dots, top), 1)
        per_query[i] = pair_dots(second, rows, picked, threads=threads).mean(axis=1)
    held_out = per_query.mean(axis=1)
    plain = combos.index(min(combos))
    # A re-scorer must beat the plain cosine by more than chance (two standard errors of
    # the paired per-query gain): on text without topics it must stay off.
    gain = per_query - per_query[plain]
    error = gain.std(axis=1, ddof=1) / np.sqrt(len(rows))
    allowed = [i for i in range(len(combos)) if i == plain or gain[i].mean() > 2 * error[i]]
    best = max(held_out[i] for i in allowed)
    chosen = min(
        (i for i in allowed if held_out[i] >= best * (1 - TOLERANCE)),
        key=lambda i: (sum(combos[i]), i),
    )
    evidence = {
        "method": "held-out text halves",
        "queries": len(rows),
        "lsa_weight": combos[chosen][0],
        "feedback_weight": combos[chosen][1],
        "held_out_similarity": round(float(held_out[chosen]), 5),
        "held_out_similarity_plain": round(float(held_out[plain]), 5),
        "grid": {f"lsa={a} feedback={b}": round(float(h), 5)
                 for (a, b), h in zip(combos, held_out, strict=True)},
        "gain_in_standard_errors": {
            f"lsa={a} feedback={b}": round(float(g.mean() / max(e, 1e-12)), 2)
            for (a, b), g, e in zip(combos, gain, error, strict=True) if a or b
        },
    }  # fmt: skip
    return Rescoring(*combos[chosen], evidence)
