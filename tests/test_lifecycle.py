"""The model lifecycle through the real CLI: gated retrain, lock, promote, rollback, crash."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from benchmarks.synthetic import write_synthetic_archive
from relata import artifact
from relata.artifact import registry
from relata.training.evaluate import _tag_overlap, _with_duplicates
from relata.training.gates import check_gates
from relata.training.settings import TrainSettings
from tests.conftest import ROOT, cli, invoke, train_cli
from tests.corpus import ARTICLES, write_archive
from tests.serving import wait_until


def run(*args: str) -> tuple[int, str]:
    result = invoke(*args)
    return result.exit_code, result.output


@pytest.fixture
def store(models: Path, tmp_path: Path) -> Path:
    """A copy of the session's models folder, with one live version."""
    folder = tmp_path / "models"
    shutil.copytree(models, folder)
    return folder


def _retrain(store: Path, archive: Path, *settings: str) -> tuple[int, str]:
    # In an 18-article archive any article sits in a large share of lists: relax that
    # gate unless a test sets it.
    settings = ("gate_max_hub_share=0.5", *settings)
    pairs = [arg for setting in settings for arg in ("--set", setting)]
    return run("retrain", "--quiet", "--archive", str(archive), "--models", str(store), *pairs)


def test_a_retrain_that_passes_every_gate_goes_live(store: Path, archive: Path) -> None:
    before = registry.current_version(store)
    code, output = _retrain(store, archive)
    assert code == 0, output
    assert "FAIL" not in output and f"(was {before})" in output
    articles = len(ARTICLES)
    floor = math.ceil(articles * 0.9)  # the default gate_max_row_drop is 10 %
    assert f"PASS  row_count {articles} articles (at least {floor})" in output
    assert "PASS  changed_lists 0.0 % (at most 50.0 %)" in output
    assert re.search(r"^PASS  coverage \d+\.\d % \(at least \d+\.\d %\)", output, re.M)
    assert "e+" not in output and "limit" not in output
    assert registry.current_version(store) != before
    report = json.loads((store / registry.current_version(store) / "gates.json").read_text())
    assert report["promoted"] and report["changes"]["changed_share"] == 0.0


# What a person reads for each failing gate: value and limit in one unit, the direction
# in words (12 of 18 articles is under the 10 % drop allowed: at least 17).
FAILED_LINE = {
    "hub_share": re.compile(r"^FAIL  hub_share \d+\.\d+ % \(at most 1\.0 %\): most-listed", re.M),
    "row_count": re.compile(r"^FAIL  row_count 12 articles \(at least 17\): live model has", re.M),
    "quality": re.compile(r"^FAIL  quality \d+\.\d+ % \(at least \d+\.\d+ %\)", re.M),
}


@pytest.mark.parametrize(
    ("settings", "archive_rows", "gate"),
    [
        (("gate_max_hub_share=0.01",), None, "hub_share"),
        ((), 12, "row_count"),
        (("text_weight=0", "tag_weight=0", "category_weight=0", "gate_max_quality_drop=0"),
         None, "quality"),
    ],
)  # fmt: skip
def test_a_model_failing_a_gate_is_not_promoted(
    store: Path, tmp_path: Path, settings: tuple[str, ...], archive_rows: int | None, gate: str
) -> None:
    archive = write_archive(tmp_path / "archive.jsonl", ARTICLES[:archive_rows])
    before = registry.current_version(store)
    code, output = _retrain(store, archive, *settings)
    assert code == 1, output
    failed = [line.split()[1] for line in output.splitlines() if line.startswith("FAIL")]
    assert gate in failed
    assert FAILED_LINE[gate].search(output), output
    assert f"{before} stays live" in output
    assert registry.current_version(store) == before
    assert artifact.load_model(store / before).version == before


@pytest.mark.slow
@pytest.mark.parametrize(
    ("settings", "gate"),
    [
        (("neighbours=3", "candidates=3"), "coverage"),
        (("recency_half_life_days=1", "recency_weight=1"), "changed_lists"),
    ],
)
def test_gates_on_full_lists(
    store: Path, tmp_path: Path, settings: tuple[str, ...], gate: str
) -> None:
    # Lists of the 18-article archive are short; these gates need a larger one.
    archive = write_synthetic_archive(tmp_path / "synthetic.jsonl", 400)
    train_cli([archive], store)
    before = registry.current_version(store)
    code, output = _retrain(store, archive, *settings)
    assert code == 1 and f"FAIL  {gate}" in output
    assert registry.current_version(store) == before


def test_self_links_fail_their_gate() -> None:
    figures = {"self_links": 1, "hub_share": 0.0, "hub": "a"}
    gates = check_gates(figures, None, None, TrainSettings())
    assert [g.name for g in gates if not g.passed] == ["self_links"]


def test_only_one_retrain_at_a_time(store: Path, archive: Path) -> None:
    before = registry.current_version(store)
    with registry.exclusive(store):
        code, output = _retrain(store, archive)
    assert code == 1 and "another training run holds" in output
    assert registry.current_version(store) == before


@pytest.mark.slow
def test_promote_and_rollback_walk_the_history(store: Path, archive: Path) -> None:
    first = registry.current_version(store)
    train_cli([archive], store)
    second = registry.current_version(store)
    train_cli([archive], store)
    third = registry.current_version(store)
    assert cli("rollback", "--models", str(store)).strip() == f"rolled back to {second}"
    assert cli("rollback", "--models", str(store)).strip() == f"rolled back to {first}"
    assert registry.current_version(store) == first
    assert cli("promote", third, "--models", str(store)).strip() == f"promoted {third}"
    assert registry.current_version(store) == third
    code, output = run("promote", "no-such-version", "--models", str(store))
    assert code == 1 and "not a model" in output and registry.current_version(store) == third
    listing = cli("models", "--models", str(store))
    assert f"* {third}" in listing and first in listing and second in listing


def test_a_killed_retrain_leaves_the_live_model_untouched(store: Path) -> None:
    before = registry.current_version(store)
    archive = str(ROOT / "data/articles.jsonl")
    process = subprocess.Popen(
        [sys.executable, "-m", "relata.cli.main", "retrain", "--quiet", "--archive", archive,
         "--models", str(store)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ},
    )  # fmt: skip
    # Killed while it writes the candidate's folder: the latest moment a crash can hit.
    wait_until(lambda: any(store.glob(".tmp-*")) or process.poll() is not None, 300)
    assert process.poll() is None, "the retrain ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert list(store.glob(".tmp-*"))  # half a version folder, never published
    assert registry.current_version(store) == before
    assert artifact.load_model(store / before).version == before
    # The lock died with the process, and the next run clears what the killed one left.
    code, output = _retrain(store, write_archive(store.parent / "a.jsonl"))
    assert code == 0, output
    assert not list(store.glob(".tmp-*"))


def test_schedule_runs_retrains_in_process(store: Path, archive: Path) -> None:
    before = registry.current_version(store)
    code, output = run("schedule", "--cron", "0 0 1 1 *", "--run-now", "--max-runs", "1",
                       "--set", "gate_max_hub_share=0.5",
                       "--archive", str(archive), "--models", str(store))  # fmt: skip
    assert code == 0, output
    assert "promoted" in output and registry.current_version(store) != before
    code, output = run("schedule", "--cron", "every hour", "--archive", str(archive))
    assert code == 2 and "--cron" in output


@pytest.mark.slow
def test_evaluate_writes_figures_and_an_html_report(
    store: Path, archive: Path, tmp_path: Path
) -> None:
    first = registry.current_version(store)
    train_cli([archive], store, "--set", "recency_weight=0.9")
    out = tmp_path / "report"
    output = cli("evaluate", "--models", str(store), "--against", first, "--out", str(out))
    assert re.search(r"^Coverage: \d+\.\d % \(was \d+\.\d %\)$", output, re.M), output
    assert "This model is" in output and "of shown lists change" in output
    figures = json.loads((out / "evaluation.json").read_text())
    assert figures["figures"]["self_links"] == 0 and figures["changes"]["against"] == first
    page = (out / "report.html").read_text()
    assert "data:image/png;base64," in page and first in page


def test_the_quality_gate_compares_one_proxy_on_both_models() -> None:
    from relata.training.gates import check_gates
    from relata.training.settings import TrainSettings

    base = {"articles": 100, "coverage": 1.0, "self_links": 0, "hub_share": 0.01, "hub": "x"}
    live = {**base, "tag_overlap": None, "category_agreement": 0.60}  # trained without tags
    # The candidate's tags overlap little, but its categories agree as well as the live
    # model's: tag overlap against category agreement would wrongly fail it.
    candidate = {**base, "tag_overlap": 0.30, "category_agreement": 0.60}
    gates = check_gates(candidate, live, {"changed_share": 0.1}, TrainSettings())
    quality = next(gate for gate in gates if gate.name == "quality")
    assert quality.passed and quality.value == 0.60


def test_lists_with_a_repeat_and_shared_tags_are_counted() -> None:
    index = np.array([[1, 2, 1, -1], [0, 2, -1, -1], [3, 3, 0, 1], [-1, -1, -1, -1]])
    assert _with_duplicates(index) == 2  # rows 0 and 2; empty places never repeat
    tags = sp.csr_matrix(np.array([[1, 0], [1, 1], [0, 1], [0, 0]], dtype=np.float32))
    # row 0 shares a tag with 1 of its (1, 2); row 1 with 1 of (0, 3); row 2 with 1 of
    # (3, 3, 0, 1); row 3 has no tag and does not count
    top = np.array([[1, 2, -1, -1], [0, 3, -1, -1], [3, 3, 0, 1], [0, 1, 2, -1]])
    assert _tag_overlap(tags, top) == pytest.approx((1 / 2 + 1 / 2 + 1 / 4) / 3)
