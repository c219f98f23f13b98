"""Stale overrides: ones that point at articles the live model no longer has."""

from __future__ import annotations

from collections.abc import Iterable

from relata.artifact import LoadedModel
from relata.service.schema import GLOBAL, Override


def stale_overrides(
    rows: Iterable[Override], model: LoadedModel, unpublished: frozenset[str]
) -> dict[int, str]:
    """Override id → why it is stale, for every override that cannot apply as meant."""
    reasons = {}
    for row in rows:
        if row.scope != GLOBAL and row.scope not in model.rows:
            reasons[row.id] = "source not in the model"
        elif row.target not in model.rows:
            reasons[row.id] = "target not in the model"
        elif row.kind == "pin" and row.target in unpublished:
            reasons[row.id] = "target unpublished"
    return reasons
