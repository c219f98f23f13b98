"""The pruned neighbour search keeps recall@10 >= 0.99 of the exact search."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from relata import artifact
from relata.artifact import registry
from relata.training.archive import load_archive
from relata.training.neighbours import pair_signals, rank_block
from relata.training.settings import TrainSettings
from tests.conftest import cli, train_cli

pytestmark = pytest.mark.slow  # every test uses a trained model (see SLOW_FIXTURES)

DEMO = Path(__file__).resolve().parent.parent / "data" / "articles.jsonl"


@pytest.mark.slow
def test_pruned_search_finds_the_exact_top_ten(tmp_path: Path) -> None:
    # No term of the 10,000-article demo is in more than 3,000 articles (max_df 0.3): leave
    # the terms in more than 600 out of the candidate search.
    train_cli([DEMO], tmp_path, "--set", "search_common_df=600")
    folder = tmp_path / registry.current_version(tmp_path)
    manifest = artifact.read_manifest(folder)
    recorded = manifest["evaluation"]["search_recall_at_10"]
    assert recorded >= 0.99
    assert f"{recorded:.3f}" in cli("models", "--models", str(tmp_path))  # ops see it

    # Measured again here, independently of the figure training recorded.
    matrix, _ = artifact.load_features(folder)
    settings = dataclasses.replace(
        TrainSettings(**manifest["parameters"]),  # the weights calibration chose
        search_common_df=manifest["evaluation"]["search_common_df_used"],  # and the cut
    )
    signals = pair_signals(
        load_archive((DEMO,), settings.max_bad_share).articles.reset_index(drop=True),
        manifest["calibration"]["category_bonus"],
    )
    rows = np.arange(0, matrix.shape[0], 25)
    exact, _ = rank_block(matrix, rows, signals, settings, exact=True)
    pruned, _ = rank_block(matrix, rows, signals, settings)
    pairs = zip(exact[:, :10], pruned[:, :10], strict=True)
    hits = sum(len(np.intersect1d(e[e >= 0], p)) for e, p in pairs)
    assert hits / (exact[:, :10] >= 0).sum() >= 0.99
    # Pruning really changed the search: the pool differs somewhere below the top ten.
    assert not np.array_equal(exact, pruned)


@pytest.mark.slow
def test_small_archives_are_searched_exactly(tmp_path: Path, archive: Path) -> None:
    train_cli([archive], tmp_path / "default")
    train_cli([archive], tmp_path / "exact", "--set", "search_common_df=1000000")
    default, exact = (
        artifact.load_model(m / registry.current_version(m))
        for m in (tmp_path / "default", tmp_path / "exact")
    )
    assert np.array_equal(default.index, exact.index)
    assert (
        artifact.read_manifest(tmp_path / "default" / default.version)["evaluation"][
            "search_recall_at_10"
        ]
        is None
    )
