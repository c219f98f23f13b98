from __future__ import annotations

import dataclasses
import json
import mmap
import weakref
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp
from click.testing import CliRunner

from relata import artifact
from relata.artifact import registry
from relata.cli.main import main
from relata.training.gates import publish_gates
from relata.training.set_aside import on_disk
from relata.training.settings import RANGES, TrainSettings
from relata.training.vectorizer_state import load_vectorizer
from tests.conftest import train_cli


def _live(models: Path) -> artifact.LoadedModel:
    return artifact.load_model(models / registry.current_version(models))


def _lists(model: artifact.LoadedModel) -> dict[str, list[str]]:
    slugs = [card["slug"] for card in model.cards]
    return {slugs[i]: [slugs[j] for j in row if j >= 0] for i, row in enumerate(model.index)}


def test_manifest_records_provenance_and_every_checksum(models: Path, archive: Path) -> None:
    version = registry.current_version(models)
    manifest = json.loads((models / version / "manifest.json").read_text())
    assert manifest["version"] == version
    assert manifest["archive"]["sha256"] == artifact.sha256_file(archive)
    assert manifest["archive"]["articles"] == 18
    assert manifest["parameters"]["neighbours"] == 50
    assert {"scikit-learn", "numpy", "pandas", "python"} <= set(manifest["libraries"])
    assert set(manifest["timings"]) >= {"load", "features", "neighbours"}
    for name, digest in manifest["files"].items():
        assert artifact.sha256_file(models / version / name) == digest


def test_lists_hold_no_self_links_and_no_duplicates(models: Path) -> None:
    for slug, related in _lists(_live(models)).items():
        assert slug not in related
        assert len(related) == len(set(related))


def test_articles_find_their_own_topic_first(models: Path) -> None:
    lists = _lists(_live(models))
    assert set(lists["mars-rover-lands"][:3]) == {
        "mars-rover-first-photos",
        "mars-helicopter-flight",
        "mars-sample-return",
    }
    assert set(lists["cup-final-report"][:2]) == {"cup-final-preview", "cup-final-fans"}
    assert set(lists["sourdough-bread-recipe"][:2]) == {
        "sourdough-starter-guide",
        "banana-bread-recipe",
    }


def test_every_article_with_a_match_gets_a_list(models: Path) -> None:
    lists = _lists(_live(models))
    # Neither shares a word or a tag with any other article; a shared category alone is
    # not a match (it is what fallbacks are for).
    assert lists.pop("zebra-xylophone-quokka") == []
    assert lists.pop("budget-deficit-under-2-percent") == []
    assert all(lists.values())


@pytest.mark.slow
def test_scores_are_ranked_and_ties_go_to_the_newer_article(tmp_path: Path, archive: Path) -> None:
    train_cli([archive], tmp_path, "--set", "diversity=1")  # relevance order alone
    model = _live(tmp_path)
    for index_row, score_row in zip(model.index, model.score, strict=True):
        scores = score_row[index_row >= 0]
        assert np.all(np.diff(scores) <= 0)
        dates = [model.cards[j]["published_at"] or "" for j in index_row[index_row >= 0]]
        for a in range(len(scores) - 1):
            if scores[a] == scores[a + 1]:
                assert dates[a] >= dates[a + 1]


@pytest.mark.slow
def test_block_size_and_repeat_runs_do_not_change_the_result(
    tmp_path: Path, archive: Path, models: Path
) -> None:
    train_cli([archive], tmp_path, "--set", "chunk_size=4")
    small_blocks, default = _live(tmp_path), _live(models)
    assert np.array_equal(small_blocks.index, default.index)
    assert np.array_equal(small_blocks.score, default.score)


@pytest.mark.slow
def test_only_the_newest_versions_are_kept(tmp_path: Path, archive: Path) -> None:
    for _ in range(3):
        output = train_cli([archive], tmp_path, "--set", "keep_versions=2")
    versions = registry.list_versions(tmp_path)
    assert len(versions) == 2
    assert registry.current_version(tmp_path) == versions[-1]
    assert f"published {versions[-1]}" in output
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.slow
def test_summary_reports_rows_vocabulary_time_and_version(tmp_path: Path, archive: Path) -> None:
    output = train_cli([archive], tmp_path)
    assert "rows read 18, invalid 0, not published 0, articles 18" in output
    assert "vocabulary" in output and "time" in output and "published" in output


@pytest.mark.slow
def test_bad_setting_is_a_usage_error_not_a_traceback(tmp_path: Path, archive: Path) -> None:
    args = ["train", "--archive", str(archive), "--models", str(tmp_path), "--set", "nope=1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "unknown training setting 'nope'" in result.output
    assert "Traceback" not in result.output


def test_vectoriser_transforms_new_articles_like_the_archive(models: Path, archive: Path) -> None:
    from relata.training.archive import load_archive

    articles = load_archive([archive], 0.01).articles
    vectorizer = load_vectorizer(models / registry.current_version(models))
    again = vectorizer.transform(articles)
    refit = type(vectorizer)(**vectorizer.get_params()).fit(articles)
    refit.tag_scale_ = vectorizer.tag_scale_  # what calibration chose at train time
    fitted = refit.transform(articles)
    assert np.allclose(again.toarray(), fitted.toarray(), atol=1e-6)


@pytest.mark.slow
def test_diversity_reorders_the_top_but_keeps_its_articles(
    tmp_path: Path, archive: Path, models: Path
) -> None:
    train_cli([archive], tmp_path / "diverse", "--set", "diversity=0.8")
    plain, diverse = _live(models), _live(tmp_path / "diverse")
    reordered = 0
    for row in range(len(plain.cards)):
        top_plain, top_diverse = plain.index[row][:20], diverse.index[row][:20]
        assert set(top_plain[top_plain >= 0]) == set(top_diverse[top_diverse >= 0])
        assert top_plain[0] == top_diverse[0]  # the best pick stays first
        reordered += not np.array_equal(top_plain, top_diverse)
    assert reordered


def test_the_served_tables_are_memory_mapped_and_load_identically(models: Path) -> None:
    folder = models / registry.current_version(models)
    model = artifact.load_model(folder)
    tables = {"neighbours_index.npy": model.index, "neighbours_score.npy": model.score,
              "cards.bytes.npy": model.cards.packed.blob, "why.bytes.npy": model.why.blob,
              "feature_names.bytes.npy": model.names.blob}  # fmt: skip
    for name, table in tables.items():
        assert np.array_equal(table, np.load(folder / name))
        owner = table
        while getattr(owner, "base", None) is not None and not isinstance(owner, np.memmap):
            owner = owner.base
        assert isinstance(owner, np.memmap | mmap.mmap), name


@pytest.mark.slow
@pytest.mark.parametrize(
    ("pair", "named"),
    [
        ("min_df=-3", "min_df=-3"),
        ("neighbours=true", "'neighbours' needs an integer"),
        ("neighbours=2.5", "'neighbours' needs an integer"),
        ("max_df=nan", "max_df=nan"),
        ("text_weight=inf", "text_weight=inf"),
        ("title_weight=-0.1", "title_weight=-0.1"),
        ("recency_weight=1.5", "recency_weight=1.5"),
        ("max_bad_share=1", "max_bad_share=1.0"),
        ("n_jobs=0", "n_jobs=0"),
        ("keep_versions=0", "keep_versions=0"),
    ],
)
def test_a_setting_out_of_range_is_refused_before_any_work(
    tmp_path: Path, archive: Path, pair: str, named: str
) -> None:
    models = tmp_path / "models"
    args = ["train", "--archive", str(archive), "--models", str(models), "--set", pair]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    error = result.output.strip().splitlines()[-1]
    assert named in error and ("range" in error or "needs" in error)
    assert "Traceback" not in result.output
    assert not models.exists()  # nothing written, not even the folder


def test_every_training_setting_has_a_range_rule() -> None:
    names = [f.name for f in dataclasses.fields(TrainSettings)]
    assert [name for name in names if name not in RANGES] == []
    assert [name for name in RANGES if name not in names] == []


@pytest.mark.parametrize(
    "changes",
    [{"neighbours": True}, {"min_df": 2.0}, {"max_df": float("nan")}, {"tag_weight": -1.0},
     {"candidates": 10, "neighbours": 20}, {"title_weight": 0, "summary_weight": 0,
     "body_weight": 0}],
)  # fmt: skip
def test_settings_made_in_code_are_validated_too(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        TrainSettings(**changes).validated()  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_model_failing_a_sanity_gate_is_kept_but_not_made_live(
    tmp_path: Path, archive: Path
) -> None:
    train_cli([archive], tmp_path)
    live = registry.current_version(tmp_path)
    args = ["train", "--quiet", "--archive", str(archive), "--models", str(tmp_path),
            "--set", "text_weight=0", "--set", "tag_weight=0"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert "failed the gate listed" in result.output and "Traceback" not in result.output
    assert registry.current_version(tmp_path) == live
    refused = [v for v in registry.list_versions(tmp_path) if v != live]
    assert len(refused) == 1 and refused[0] in result.output
    assert all(entry["version"] != refused[0] for entry in registry.history(tmp_path))

    forced = CliRunner().invoke(main, [*args, "--force"])
    assert forced.exit_code == 0
    assert "warning: made live with --force despite the gate listed" in forced.output
    assert registry.current_version(tmp_path) not in (live, refused[0])


def test_the_publish_gates_catch_self_links_hubs_and_empty_lists() -> None:
    good = {"articles": 1000, "empty": 0.1, "self_links": 0, "hub_share": 0.01, "hub": "a"}
    s = TrainSettings()
    assert all(gate.passed for gate in publish_gates(good, s))
    for bad, gate in [({"self_links": 3}, "self_links"), ({"hub_share": 0.5}, "hub_share"),
                      ({"empty": 0.9}, "listed")]:  # fmt: skip
        failed = [g.name for g in publish_gates({**good, **bad}, s) if not g.passed]
        assert failed == [gate]
    # A small archive: an article in hub_cap_min of its lists is what the hub cap allows.
    small = {**good, "articles": 18, "hub_share": 10 / 18}
    assert all(gate.passed for gate in publish_gates(small, s))


def test_a_block_set_aside_is_freed_meanwhile_and_comes_back_the_same(tmp_path: Path) -> None:
    block = sp.random(300, 200, density=0.05, format="csr", dtype=np.float32, random_state=1)
    holder = SimpleNamespace(text=block.copy())
    alive = weakref.ref(holder.text)
    with on_disk(holder, "text", tmp_path):
        assert holder.text is None and alive() is None  # its memory is free…
        assert [p.name[:5] for p in tmp_path.iterdir()] == [".tmp-"]  # …it is on disk
    back = holder.text
    assert back.dtype == block.dtype and back.format == "csr"
    assert np.array_equal(back.indptr, block.indptr) and np.array_equal(back.indices, block.indices)
    assert np.array_equal(back.data, block.data)
    assert not list(tmp_path.iterdir())  # nothing left behind


def test_a_block_that_cannot_go_to_disk_stays_in_memory(tmp_path: Path) -> None:
    block = sp.random(30, 20, density=0.1, format="csr", random_state=2)
    holder = SimpleNamespace(text=block)
    (tmp_path / "models").write_text("a file where the folder would be")
    with on_disk(holder, "text", tmp_path / "models"):
        assert holder.text is block
    assert holder.text is block
