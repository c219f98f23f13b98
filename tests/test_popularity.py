"""Popularity, an optional tie-breaker: readers' decayed clicks reorder near-equal
neighbours at training, never the scores, and nothing at all by default."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from relata.training.popularity import break_ties, decayed_clicks, popularity_by_row
from tests.conftest import make_app, train_cli


def test_clicks_halve_every_half_life() -> None:
    rows = [("2026-11-29", "a", 8), ("2026-11-15", "a", 8), ("2026-11-29", "b", 1)]
    assert decayed_clicks(rows, date(2026, 11, 29), 14) == {"a": 12.0, "b": 1.0}


def test_popularity_breaks_only_near_ties_and_keeps_each_score() -> None:
    index = np.array([[1, 2, 3, -1], [0, 2, 3, -1]])
    score = np.array([[0.90, 0.55, 0.50, 0.0], [0.8, 0.7, 0.2, 0.0]])
    popularity = popularity_by_row({"d": 100.0, "c": 1.0}, ["a", "b", "c", "d"])
    before = {(r, j): s for r in range(2) for j, s in zip(index[r], score[r], strict=True)}
    break_ties(index, score, popularity, 0.1)
    # "d" (row 3) passes a neighbour 0.05 above it, not one 0.4 or 0.5 above it.
    assert index.tolist() == [[1, 3, 2, -1], [0, 2, 3, -1]]
    after = {(r, j): s for r in range(2) for j, s in zip(index[r], score[r], strict=True)}
    assert after == before
    unchanged = index.copy()
    break_ties(index, score, popularity, 0.0)
    assert (index == unchanged).all()


@pytest.mark.slow
def test_training_with_popularity_moves_a_clicked_near_tie_up(
    models: Path, archive: Path, sqlite_url: str, tmp_path: Path
) -> None:
    store = tmp_path / "models"
    shutil.copytree(models, store)
    client = make_app(store, sqlite_url, events_flush_interval=3600).test_client()
    # A list with two neighbours less than 0.1 apart: click the lower one many times.
    for card in client.application.extensions["relata.store"].model.cards:
        served = client.get(f"/v1/related/{card['slug']}?fallbacks=false").get_json()
        items = served["items"]
        pairs = [k for k in range(1, len(items)) if items[k - 1]["score"] - items[k]["score"] < 0.1]
        if pairs:
            break
    else:
        pytest.fail("no near tie in the test corpus")
    k = pairs[0]
    lower = items[k]["slug"]
    click = {"type": "click", "rid": served["rid"], "slug": served["slug"], "target": lower,
             "position": k + 1}  # fmt: skip
    response = client.post("/v1/events", data=json.dumps({"events": [click] * 20}))
    assert response.status_code == 202
    client.application.extensions["relata.events"].flush()

    train_cli([archive], store, "--database-url", sqlite_url)  # off by default
    again = make_app(store, sqlite_url).test_client()
    slugs = [i["slug"] for i in again.get(f"/v1/related/{served['slug']}").get_json()["items"]]
    assert slugs.index(lower) == k
    train_cli([archive], store, "--database-url", sqlite_url, "--set", "popularity_weight=0.1")
    again = make_app(store, sqlite_url).test_client()
    moved = again.get(f"/v1/related/{served['slug']}?fallbacks=false").get_json()["items"]
    assert [i["slug"] for i in moved].index(lower) < k
    assert {i["slug"]: i["score"] for i in moved}[lower] == items[k]["score"]
