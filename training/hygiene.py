"""List hygiene on the neighbour table: cap hubs, collapse near-duplicate stories.

Both work on the stored top-K and keep it sorted: an entry taken out of a list lets the
rest of the list move up, so lists still fill.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

SHOWN = 10  # positions that count for hub in-degree


def _compact(index: np.ndarray, score: np.ndarray, drop: np.ndarray) -> None:
    """Remove the entries marked in `drop` (same shape), shifting each row left in place."""
    for row in np.flatnonzero(drop.any(axis=1)):
        keep = ~drop[row] & (index[row] >= 0)
        kept = int(keep.sum())
        index[row, :kept], score[row, :kept] = index[row][keep], score[row][keep]
        index[row, kept:], score[row, kept:] = -1, 0.0


def cap_hubs(index: np.ndarray, score: np.ndarray, cap: int) -> int:
    """Let no article fill more than `cap` top-10 slots; it keeps its best-scored ones.

    Returns how many entries were taken out. Moving entries up can make a new hub (the
    11th entry of a list enters its top 10), so this runs passes until no article is over
    the cap: every pass takes entries out, so it ends.
    """
    removed = 0
    while True:
        top = index[:, :SHOWN]
        listed = top[top >= 0]
        hubs = (
            np.flatnonzero(np.bincount(listed, minlength=len(index)) > cap) if len(listed) else []
        )
        if not len(hubs):
            return removed
        drop = np.zeros(index.shape, dtype=bool)
        for hub in hubs:
            rows, cols = np.nonzero(top == hub)
            ranked = np.lexsort((rows, -score[rows, cols]))  # best scores keep the hub
            drop[rows[ranked[cap:]], cols[ranked[cap:]]] = True
        removed += int(drop.sum())
        _compact(index, score, drop)


def duplicate_groups(
    text: sp.csr_matrix,
    index: np.ndarray,
    score: np.ndarray,
    days: np.ndarray,
    threshold: float,
    prefilter: float,
) -> np.ndarray:
    """Each article's story: the newest article it is a near-duplicate of (text cosine at
    or above `threshold`, among stored neighbours scoring at least `prefilter`), or itself."""
    n = len(index)
    rows, cols = np.nonzero((index >= 0) & (score >= prefilter))
    targets = index[rows, cols]
    cosine = np.asarray(text[rows].multiply(text[targets]).sum(axis=1)).ravel()
    close = cosine >= threshold
    pairs = sp.csr_matrix((np.ones(int(close.sum())), (rows[close], targets[close])), shape=(n, n))
    _, roots = connected_components(pairs, directed=False)
    age = np.nan_to_num(days, nan=-np.inf)
    newest = {}
    for article in np.lexsort((np.arange(n), -age)):  # newest first, then row
        newest.setdefault(roots[article], article)
    return np.array([newest[root] for root in roots])


def collapse_duplicates(index: np.ndarray, score: np.ndarray, story: np.ndarray) -> int:
    """Keep one article per story in each list (the story's newest one present), and no
    version of the list's own story. Returns how many entries were taken out."""
    valid = index >= 0
    stories = np.where(valid, story[np.maximum(index, 0)], -1)
    drop = valid & (stories == story[:, None])
    ordered = np.sort(stories, axis=1)
    repeated = ((ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)).any(axis=1)
    for row in np.flatnonzero(repeated):
        seen: dict[int, int] = {}
        for k in np.flatnonzero(valid[row] & ~drop[row]):
            article, group = index[row, k], stories[row, k]
            if group in seen:
                if article == group:  # the story's newest version wins its place
                    drop[row, seen[group]] = True
                    seen[group] = k
                else:
                    drop[row, k] = True
            else:
                seen[group] = k
    _compact(index, score, drop)
    return int(drop.sum())


def diversify(
    text: sp.csr_matrix,
    index: np.ndarray,
    score: np.ndarray,
    balance: float,
    depth: int = 20,
    block: int = 32,  # small blocks: the product computes every cross pair, used or not
) -> None:
    """Maximal-marginal-relevance order for the top `depth` of every list, in place.

    Each next pick maximises `balance * score - (1 - balance) * similarity to the picks
    so far`, so the top cards are not all one angle. Scores stay the relevance scores;
    `balance` 1 keeps the relevance order. Rows go in blocks, the greedy steps vectorised
    across the block.
    """
    if balance >= 1:
        return
    depth = min(depth, index.shape[1])
    for start in range(0, len(index), block):
        rows = slice(start, min(start + block, len(index)))
        candidates = index[rows, :depth]
        count = len(candidates)
        valid = candidates >= 0
        flat = text[np.maximum(candidates, 0).ravel()]
        # Similarities within each row's candidates: the diagonal blocks of one product.
        product = (flat @ flat.T).toarray().reshape(count, depth, count, depth)
        similarity = product[np.arange(count), :, np.arange(count), :]
        relevance = np.where(valid, score[rows, :depth], -np.inf).astype(np.float64)
        chosen = np.zeros((count, depth), dtype=np.int64)
        left = valid.copy()
        left[:, 0] = False
        closest = similarity[:, 0, :].copy()
        everyone = np.arange(count)
        for step in range(1, depth):
            value = np.where(left, balance * relevance - (1 - balance) * closest, -np.inf)
            pick = value.argmax(axis=1)
            chosen[:, step] = np.where(left.any(axis=1), pick, step)
            left[everyone, pick] = False
            closest = np.maximum(closest, similarity[everyone, pick, :])
        filled = valid.sum(axis=1)
        for offset in np.flatnonzero(filled >= 3):
            order = chosen[offset, : filled[offset]]
            index[start + offset, : filled[offset]] = candidates[offset, order]
            score[start + offset, : filled[offset]] = score[start + offset, :depth][order]
