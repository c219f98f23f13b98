"""List hygiene on the neighbour table: cap hubs, collapse near-duplicate stories.

Both work on the stored top-K and keep it sorted: an entry taken out of a list lets the
rest of the list move up, so lists still fill.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

SHOWN = 10  # positions that count for hub in-degree


def _compact(index: np.ndarray, score: np.ndarray, drop: np.ndarray) -> None:
    """Remove the entries marked in `drop` (same shape), shifting each row left in place."""
    for row in np.flatnonzero(drop.any(axis=1)):
        keep = ~drop[row] & (index[row] >= 0)
        kept = int(keep.sum())
        index[row, :kept], score[row, :kept] = index[row][keep], score[row][keep]
        index[row, kept:], score[row, kept:] = -1, 0.0


def cap_hubs(index: np.ndarray, score: np.ndarray, cap: int, passes: int = 3) -> int:
    """Let no article fill more than `cap` top-10 slots; it keeps its best-scored ones.

    Returns how many entries were taken out. Moving entries up can make a new hub, so this
    runs a few passes.
    """
    removed = 0
    for _ in range(passes):
        top = index[:, :SHOWN]
        listed = top[top >= 0]
        hubs = (
            np.flatnonzero(np.bincount(listed, minlength=len(index)) > cap) if len(listed) else []
        )
        if not len(hubs):
            break
        drop = np.zeros(index.shape, dtype=bool)
        for hub in hubs:
            rows, cols = np.nonzero(top == hub)
            ranked = np.lexsort((rows, -score[rows, cols]))  # best scores keep the hub
            drop[rows[ranked[cap:]], cols[ranked[cap:]]] = True
        removed += int(drop.sum())
        _compact(index, score, drop)
    return removed


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
    parent = np.arange(n)

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    rows, cols = np.nonzero((index >= 0) & (score >= prefilter))
    targets = index[rows, cols]
    if len(rows):
        cosine = np.asarray(text[rows].multiply(text[targets]).sum(axis=1)).ravel()
        for a, b in zip(rows[cosine >= threshold], targets[cosine >= threshold], strict=True):
            parent[find(a)] = find(b)
    roots = np.array([find(a) for a in range(n)])
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
    text: sp.csr_matrix, index: np.ndarray, score: np.ndarray, balance: float, depth: int = 20
) -> None:
    """Maximal-marginal-relevance order for the top `depth` of every list, in place.

    Each next pick maximises `balance * score - (1 - balance) * similarity to the picks
    so far`, so the top cards are not all one angle. Scores stay the relevance scores;
    `balance` 1 keeps the relevance order.
    """
    if balance >= 1:
        return
    for row in range(len(index)):
        candidates = index[row, :depth]
        candidates = candidates[candidates >= 0]
        if len(candidates) < 3:
            continue
        similarity = (text[candidates] @ text[candidates].T).toarray()
        relevance = score[row, : len(candidates)].astype(np.float64)
        chosen, closest = [0], similarity[0].copy()
        left = np.ones(len(candidates), dtype=bool)
        left[0] = False
        while left.any():
            value = np.where(left, balance * relevance - (1 - balance) * closest, -np.inf)
            pick = int(value.argmax())
            chosen.append(pick)
            left[pick] = False
            closest = np.maximum(closest, similarity[pick])
        index[row, : len(chosen)] = candidates[chosen]
        score[row, : len(chosen)] = relevance[chosen]
