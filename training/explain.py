"""Why two articles are related: the shared tags and the terms that weigh most."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp


def explain_pair(
    matrix: sp.csr_matrix, names: list[str], source: int, target: int, top_terms: int = 3
) -> dict[str, Any]:
    """Shared tags and the `top_terms` shared terms that add most to the pair's score."""
    a, b = matrix[source], matrix[target]
    common, in_a, in_b = np.intersect1d(a.indices, b.indices, return_indices=True)
    contribution = a.data[in_a] * b.data[in_b]
    terms: list[str] = []
    tags: list[str] = []
    for column in common[np.argsort(-contribution, kind="stable")]:
        kind, _, name = names[column].partition(":")
        if kind == "tag":
            tags.append(name)
        elif name not in terms and len(terms) < top_terms:
            terms.append(name)
    return {"tags": sorted(tags), "terms": terms}
