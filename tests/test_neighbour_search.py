"""The neighbour search and list hygiene on small hand-made matrices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from relata.training.hygiene import cap_hubs, diversify
from relata.training.neighbours import pair_signals, rank_block, rank_neighbours
from relata.training.settings import TrainSettings


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
def test_neighbours_rank_by_score_then_newer_then_slug(dates: list[str], expected: list) -> None:
    matrix = sp.csr_matrix(VECTORS)
    signals = pair_signals(_articles(6, published_at=dates))
    table = rank_neighbours(matrix, signals, _settings(neighbours=6, candidates=6, search_pool=6))
    row = table.index[0]
    assert row[: len(expected)].tolist() == expected
    # Article 5 shares no term with 0: never a candidate; fewer than K found: padded.
    assert row[len(expected) :].tolist() == [-1, -1]
    assert 0 not in row  # never its own neighbour
    scores = table.score[0][: len(expected)]
    assert np.all(np.diff(scores) <= 0) and table.score[0][-1] == 0


def test_pruned_search_finds_what_the_exact_search_finds() -> None:
    rng = np.random.default_rng(7)
    # 400 articles over 300 terms, a few terms each: the pruned search keeps only each
    # query's heaviest terms, then re-scores a pool exactly.
    matrix = sp.random(400, 300, density=0.03, random_state=rng, format="csr")
    matrix = normalize(matrix + sp.eye(400, 300, format="csr") * 0.1).tocsr()
    signals = pair_signals(_articles(400))
    pruned = _settings(neighbours=10, candidates=20, search_pool=60, exact_below=1, query_mass=0.8)
    rows = np.arange(400)
    found, _ = rank_block(matrix, rows, signals, pruned)
    truth, _ = rank_block(matrix, rows, signals, pruned, exact=True)
    hits = sum(len(np.intersect1d(t[t >= 0], f)) for t, f in zip(truth, found, strict=True))
    assert hits / (truth >= 0).sum() >= 0.95
    assert not np.array_equal(found, np.full_like(found, -1))


@pytest.mark.slow  # starts worker processes
@pytest.mark.parametrize("query_mass", [1.0, 0.8])
def test_worker_processes_find_the_table_one_process_finds(query_mass: float) -> None:
    # Blocks go to joblib's worker processes, which get arrays over 1 MB (these) as maps.
    rng = np.random.default_rng(3)
    matrix = normalize(sp.random(3000, 1000, density=0.1, random_state=rng, format="csr")).tocsr()
    signals = pair_signals(_articles(3000))
    common = {"neighbours": 10, "candidates": 20, "search_pool": 60, "exact_below": 1,
              "query_mass": query_mass, "chunk_size": 1000, "parallel_min_articles": 0}  # fmt: skip
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
