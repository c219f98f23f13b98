"""The neighbour search and list hygiene on small hand-made matrices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from relata.training import neighbours as neighbours_module
from relata.training.hygiene import cap_hubs, diversify
from relata.training.neighbours import (
    TrialIndex,
    _ranked,
    _recall,
    choose_cut,
    pair_signals,
    rank_block,
    rank_neighbours,
    search_index,
)
from relata.training.pair_products import dense_pair_dots, pair_dots, shared_features
from relata.training.settings import TrainSettings
from relata.training.top_products import top_products


def _articles(n: int, **columns: list) -> pd.DataFrame:
    base = {
        "slug": [f"a{i:03d}" for i in range(n)],
        "category": [""] * n,
        "published_at": ["2024-01-01"] * n,
        "language": ["en"] * n,
    }
    return pd.DataFrame({**base, **columns})


def _settings(**values: object) -> TrainSettings:
    chosen = {"recency_weight": 0, "category_weight": 0, "tag_weight": 0, "n_jobs": 1, **values}
    return TrainSettings().with_overrides({name: str(value) for name, value in chosen.items()})


# Rows: unit vectors over four terms. Row 0's neighbours by cosine: 1 (0.98), 2 (0.8),
# then 3 and 4 tie (0.6) — the tie goes to the newer article, then the smaller slug;
# row 5 shares no term with row 0.
VECTORS = normalize(np.array([
    [1.0, 0.0, 0.0, 0.0],
    [0.98, 0.199, 0.0, 0.0],
    [0.8, 0.6, 0.0, 0.0],
    [0.6, 0.0, 0.8, 0.0],
    [0.6, 0.0, 0.0, 0.8],
    [0.0, 0.0, 0.0, 1.0],
]))  # fmt: skip


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["2024-01-01"] * 6, [1, 2, 3, 4]),  # 3 and 4 tie: same day, slug a003 first
        (["2024-01-01"] * 4 + ["2024-02-01", "2024-01-01"], [1, 2, 4, 3]),  # 4 newer
    ],
)
# 2: term 0 (in five articles) is left out of the candidate search, and row 0 has no
# other term: its list comes from the common terms' own search, exactly as the full one.
@pytest.mark.parametrize("common_df", [3000, 2])
def test_neighbours_rank_by_score_then_newer_then_slug(
    dates: list[str], expected: list, common_df: int
) -> None:
    matrix = sp.csr_matrix(VECTORS)
    signals = pair_signals(_articles(6, published_at=dates))
    chosen = _settings(neighbours=6, candidates=6, search_pool=6, search_common_df=common_df)
    table = rank_neighbours(matrix, signals, chosen)
    row = table.index[0]
    assert row[: len(expected)].tolist() == expected
    # Article 5 shares no term with 0: never a candidate; fewer than K found: padded.
    assert row[len(expected) :].tolist() == [-1, -1]
    assert 0 not in row  # never its own neighbour
    scores = table.score[0][: len(expected)]
    assert np.all(np.diff(scores) <= 0) and table.score[0][-1] == 0


def test_pruned_search_finds_what_the_exact_search_finds() -> None:
    # The common words are left out of the candidate search and added to each
    # candidate's score.
    matrix = _subjects_and_common_words()
    signals = pair_signals(_articles(400))
    pruned = _settings(neighbours=10, candidates=20, search_pool=60, search_common_df=50)
    assert search_index(matrix, 50).common.shape[1] == 30  # the common words, left out
    found, scores = rank_block(matrix, np.arange(400), signals, pruned)
    truth, exact = rank_block(matrix, np.arange(400), signals, pruned, exact=True)
    hits = sum(len(np.intersect1d(t[t >= 0], f)) for t, f in zip(truth, found, strict=True))
    assert hits / (truth >= 0).sum() >= 0.99
    # Scores are exact, common words included, wherever the same neighbour was found.
    same = found == truth
    assert np.array_equal(scores[same], exact[same]) and same.mean() > 0.9


@pytest.mark.parametrize("common_df", [3000, 300])
def test_threads_find_the_table_one_thread_finds(common_df: int) -> None:
    # 300: about half the terms (each in ~300 articles) are left out of the candidate search.
    rng = np.random.default_rng(3)
    matrix = normalize(sp.random(3000, 1000, density=0.1, random_state=rng, format="csr")).tocsr()
    signals = pair_signals(_articles(3000))
    common = {"neighbours": 10, "candidates": 20, "search_pool": 60, "search_common_df": common_df,
              "chunk_size": 1000, "parallel_min_articles": 0}  # fmt: skip
    alone = rank_neighbours(matrix, signals, _settings(**common))
    workers = rank_neighbours(matrix, signals, _settings(**common, n_jobs=2))
    assert np.array_equal(alone.index, workers.index)
    assert np.array_equal(alone.score, workers.score)
    assert (alone.index[:, 0] >= 0).all()


def test_category_and_recency_reorder_candidates_of_equal_text() -> None:
    # Rows 1 and 2 are equally close to row 0 in text; 2 shares row 0's category.
    matrix = sp.csr_matrix(normalize(np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])))
    articles = _articles(3, category=["world", "sport", "world"])
    plain = rank_neighbours(matrix, pair_signals(articles), _settings(neighbours=2, candidates=2,
                            search_pool=2))  # fmt: skip
    assert plain.index[0].tolist() == [1, 2]  # a tie: the smaller slug first
    bonus = pair_signals(articles, category_bonus=0.1)
    ranked = rank_neighbours(matrix, bonus, _settings(neighbours=2, candidates=2, search_pool=2))
    assert ranked.index[0].tolist() == [2, 1]
    assert ranked.score[0][0] == pytest.approx(plain.score[0][0] + 0.1)


@pytest.mark.parametrize(
    ("cap", "expected_removed"),
    [(10, 0), (3, 2), (1, 4)],
)
def test_cap_hubs_keeps_a_hub_only_where_it_scores_best(cap: int, expected_removed: int) -> None:
    # Article 9 is in all five lists, with a different score in each.
    index = np.array([[9, 1, -1], [9, 2, -1], [9, 3, -1], [9, 4, -1], [9, 5, -1]])
    score = np.array([[0.5, 0.4, 0], [0.9, 0.4, 0], [0.7, 0.4, 0], [0.6, 0.4, 0],
                      [0.8, 0.4, 0]], dtype=np.float32)  # fmt: skip
    removed = cap_hubs(index, score, cap)
    assert removed == expected_removed
    keeps = sorted(int(r) for r in np.flatnonzero((index == 9).any(axis=1)))
    by_score = sorted(np.argsort(-np.array([0.5, 0.9, 0.7, 0.6, 0.8]))[: min(cap, 5)].tolist())
    assert keeps == by_score
    for row in np.flatnonzero(~(index == 9).any(axis=1)):
        assert index[row].tolist()[:2] == [row + 1, -1]  # the rest moved up, padded


@pytest.mark.parametrize(("balance", "expected"), [(1.0, [1, 2, 3]), (0.5, [1, 3, 2])])
def test_diversify_moves_a_near_copy_of_an_earlier_pick_down(
    balance: float, expected: list[int]
) -> None:
    # Candidates 1 and 2 are near copies of each other; 3 is a different angle.
    text = sp.csr_matrix(normalize(np.array([
        [1.0, 1.0, 0.0], [1.0, 0.9, 0.0], [1.0, 0.92, 0.0], [0.6, 0.0, 1.0],
    ])))  # fmt: skip
    index = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])
    score = np.array([[0.9, 0.88, 0.6]] * 4, dtype=np.float32)
    diversify(text, index, score, balance, depth=3)
    assert index[0].tolist() == expected
    assert sorted(score[0].tolist(), reverse=True) == score[0].tolist() or balance < 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_top_products_are_each_rows_best_products_but_its_own(dtype: type) -> None:
    rng = np.random.default_rng(11)
    matrix = sp.random(500, 300, density=0.03, random_state=rng, format="csr", dtype=dtype)
    matrix.data[::7] = 0  # explicit zeros: never a candidate, never listed twice
    transposed = matrix.T.tocsr()
    rows = np.array([0, 3, 99, 250, 499])
    products = (matrix[rows] @ transposed).toarray().astype(np.float64)
    products[np.arange(len(rows)), rows] = 0  # its own article is no candidate
    for width, threads in [(8, 1), (8, 2), (40, 2), (0, 1)]:
        found = top_products(matrix[rows], transposed, rows, width, threads)
        assert found.dtype == dtype and found.shape == (len(rows), 500)
        for i, row in enumerate(found):
            positive = np.flatnonzero(products[i] > 0)  # continuous values: no ties
            best = positive[np.argsort(-products[i, positive])][:width]
            assert sorted(row.indices) == sorted(best), (width, i)
            np.testing.assert_allclose(row.toarray()[0, best], products[i, best], rtol=1e-6)
    lonely = top_products(matrix[rows], transposed, np.full(len(rows), -1), 10_000)
    assert (np.diff(lonely.indptr) == (products > 0).sum(axis=1) + 1).all()  # own included
    # One article reached through many terms whose products are 0 (a text weight of 0
    # stores zeros): counted once, when a product is not 0, and listed once.
    postings = sp.csr_matrix(np.array([[0.0], [0.0], [0.0], [0.5], [0.0], [0.25]], dtype))
    query = sp.csr_matrix(np.ones((1, 6), dtype))
    single = top_products(query, postings, np.array([-1]), 5)
    assert single.indices.tolist() == [0] and single.data.tolist() == [0.75]


# 300,000 columns: wider than FILTER_ABOVE, so candidates' terms go through the query's
# bit filter (and two columns 131,072 apart share a filter bit).
@pytest.mark.parametrize("width", [80, 300_000])
def test_pair_products_are_the_dot_products_of_the_given_pairs(width: int) -> None:
    rng = np.random.default_rng(5)
    matrix = normalize(sp.random(300, width, density=8 / width, random_state=rng, format="csr"))
    if width > 80:  # column 7's entries again in a column with the same filter bit
        seven = matrix[:, [7]].tocoo()
        twin = np.full(seven.nnz, 131_072 + 7)
        matrix = normalize(matrix + sp.csr_matrix((seven.data, (seven.row, twin)), matrix.shape))
    products = (matrix @ matrix.T).toarray()
    rows = np.array([4, 17, 250])
    cols = rng.integers(-1, 300, size=(3, 40))  # -1: no pair, scores 0
    plain = pair_dots(matrix, rows, cols, threads=2)
    expected = np.where(cols >= 0, np.take_along_axis(products[rows], np.maximum(cols, 0), 1), 0)
    np.testing.assert_allclose(plain, expected, atol=1e-12)
    sums, _ = shared_features(matrix, rows, cols, width // 2, (2, 4), threads=2)
    np.testing.assert_allclose(sums.sum(axis=2), expected, atol=1e-12)
    # A query that is a weighted sum of rows (one missing: -1), unit-normalised.
    queries = np.array([[4, 9, -1], [17, 17, 3], [250, -1, -1]])
    weights = np.array([[1.0, 0.5, 0.5], [1.0, 0.2, 0.2], [1.0, 0.3, 0.3]])
    mix = sp.csr_matrix(
        (weights[queries >= 0], (np.nonzero(queries >= 0)[0], queries[queries >= 0])),
        shape=(3, 300),
    )
    summed = (normalize(mix @ matrix) @ matrix.T).toarray()
    expanded = pair_dots(matrix, queries, cols, weights=weights, normalise=True)
    expected = np.where(cols >= 0, np.take_along_axis(summed, np.maximum(cols, 0), 1), 0)
    np.testing.assert_allclose(expanded, expected, atol=1e-12)
    # Dense vectors (LSA's): the same pairs.
    concepts = rng.normal(size=(300, 16)).astype(np.float32)
    wide = concepts.astype(np.float64)  # the sums are in float64
    expected = np.where(cols >= 0, np.einsum("ij,ikj->ik", wide[rows], wide[cols]), 0)
    np.testing.assert_allclose(dense_pair_dots(concepts, rows, cols, 2), expected, atol=1e-12)


def test_a_pool_is_ranked_by_score_then_tie_order_then_place() -> None:
    """The compiled ranking is numpy's lexsort cut to the best `count`: ties by the
    articles' order, an empty place (-1) after every article, then by place."""
    rng = np.random.default_rng(3)
    keys = np.round(rng.random((200, 30)), 1)  # many ties
    keys[rng.random(keys.shape) < 0.2] = -np.inf
    cols = rng.integers(-1, 40, keys.shape)
    order = rng.permutation(40)
    tie = np.where(cols >= 0, order[cols], np.iinfo(np.int64).max)
    for count in (1, 10, 30):
        expected = np.lexsort((tie, -keys), axis=-1)[:, :count]
        assert np.array_equal(_ranked(keys, cols, order, count), expected)


def _subjects_and_common_words() -> sp.csr_matrix:
    """400 articles in 20 subjects: five of their subject's 15 words each (in about 7
    articles each), weighing most, and six of 30 common words (in about 80 each)."""
    rng = np.random.default_rng(7)
    entries = [
        (article, term, weight)
        for article in range(400)
        for term, weight in zip(
            [*30 + 15 * (article % 20) + rng.choice(15, 5, replace=False),
             *rng.choice(30, 6, replace=False)],
            [*rng.uniform(1, 2, 5), *rng.uniform(0.2, 0.5, 6)],
            strict=True,
        )
    ]  # fmt: skip
    rows, terms, weights = zip(*entries, strict=True)
    return normalize(sp.csr_matrix((weights, (rows, terms)), shape=(400, 330))).tocsr()


def test_the_lowest_cut_whose_recall_holds_is_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    matrix, signals = _subjects_and_common_words(), pair_signals(_articles(400))
    chosen = {"neighbours": 10, "candidates": 20, "search_pool": 20, "search_common_df": 12}
    settings = _settings(**chosen)
    truth, _ = rank_block(matrix, np.arange(400), signals, settings, exact=True)

    def cut_of(index: object) -> int:
        widths = {search_index(matrix, cut).common.shape[1]: cut for cut in (2, 4, 6, 8, 12)}
        assert len(widths) == 5  # each cut leaves a different number of terms out
        return widths[index.common.shape[1]]

    # 0: the cut as set, still checked against the exact search.
    index, cut, check = choose_cut(matrix, signals, _settings(**chosen, search_recall_target=0))
    assert cut == cut_of(index) == 12
    found, _ = rank_block(matrix, np.arange(400), signals, settings, index=index)
    assert check is not None and len(check.rows) == 400  # the sample is every article here
    assert np.array_equal(check.truth, truth)  # the exact lists, not the searched
    # A smaller sample: its own rows' exact lists, out of the search of both samples.
    sampled = _settings(**chosen, search_recall_target=0, recall_sample=100, chunk_size=64)
    check = choose_cut(matrix, signals, sampled)[2]
    assert check is not None and len(check.rows) == 100
    assert np.array_equal(check.truth, truth[check.rows])
    # The lowest step whose measured recall holds, with its own index.
    index, cut, check = choose_cut(matrix, signals, settings)
    found, _ = rank_block(matrix, np.arange(400), signals, settings, index=index)
    assert cut == cut_of(index) == 2 and _recall(truth, found) >= 0.99
    # Recall below the target at the lowest step: the next one up; below it everywhere:
    # the cut as set.
    for measured, expected in (([0.98, 0.995], 4), ([0.98] * 4, 12)):
        answers = iter(measured)
        monkeypatch.setattr(neighbours_module, "_recall", lambda *_, answers=answers: next(answers))
        index, cut, _ = choose_cut(matrix, signals, settings)
        assert cut == cut_of(index) == expected
        assert next(answers, None) is None  # stopped at the first cut that held
    # An exact search (no term above the cut) has nothing to check.
    assert choose_cut(matrix, signals, _settings(**{**chosen, "search_common_df": 400}))[2] is None


def test_a_trial_of_a_cut_finds_what_its_index_finds() -> None:
    # Words drawn by a Zipf-like law, and pools too small to always hold the exact top ten:
    # the pruned search misses neighbours, and the trial must miss the same ones.
    rng = np.random.default_rng(3)
    odds = 1 / np.arange(1, 301)
    terms = [rng.choice(300, 12, replace=False, p=odds / odds.sum()) for _ in range(400)]
    rows = np.repeat(np.arange(400), 12)
    matrix = normalize(
        sp.csr_matrix((rng.uniform(0.2, 1, rows.size), (rows, np.concatenate(terms))))
    ).tocsr()
    signals = pair_signals(_articles(400))
    settings = _settings(neighbours=10, candidates=10, search_pool=10)
    every_term = search_index(matrix, np.inf).rare_t
    df = np.bincount(matrix.indices, minlength=matrix.shape[1])
    queries = np.arange(400)
    truth, _ = rank_block(matrix, queries, signals, settings, exact=True)
    for cut in (10, 40, 160):
        index = search_index(matrix, cut)
        found, scores = rank_block(matrix, queries, signals, settings, index=index)
        trial = TrialIndex(every_term, df > cut)
        tried, tried_scores = rank_block(matrix, queries, signals, settings, index=trial)
        assert not np.array_equal(found, truth)  # the cut dropped neighbours…
        assert np.array_equal(tried, found)  # …and the trial dropped the same
        np.testing.assert_allclose(tried_scores, scores, atol=1e-6)
