"""A gated retrain: train a candidate, evaluate it against the live model, promote if it passes.

Safe to run from cron: one run at a time (a file lock), and a run that fails a gate, raises
or is killed leaves the live model as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relata import artifact
from relata.artifact import registry
from relata.training.evaluate import compare, evaluate
from relata.training.gates import Gate, check_gates
from relata.training.pipeline import Progress, Source, TrainReport, build_version, no_progress
from relata.training.settings import TrainSettings

GATE_REPORT = "gates.json"


@dataclass
class RetrainReport:
    """What a retrain did and why."""

    train: TrainReport
    live_before: str | None
    gates: list[Gate]
    changes: dict[str, Any] | None
    promoted: bool
    pruned: list[str] = field(default_factory=list)


def _live(models_dir: Path) -> tuple[artifact.LoadedModel | None, dict[str, Any] | None]:
    """The live model and its figures: those its manifest recorded when it was trained
    (evaluated again only for a version whose manifest has none)."""
    version = registry.current_version(models_dir)
    if version is None:
        return None, None
    try:
        folder = artifact.version_folder(models_dir, version)
        model = artifact.load_model(folder)
        figures = model.manifest.get("evaluation")
        if not isinstance(figures, dict) or not figures:
            figures = evaluate(model, artifact.load_features(folder))
        return model, figures
    except artifact.ArtifactError:  # a broken live model is no bar to replacing it
        return None, None


def retrain(
    source: Source,
    models_dir: Path,
    settings: TrainSettings,
    progress: Progress = no_progress,
) -> RetrainReport:
    """Train a candidate; promote it only if every gate passes against the live model."""
    with registry.exclusive(models_dir):
        live_before = registry.current_version(models_dir)
        done = progress("evaluate the live model", 1)
        live, live_figures = _live(models_dir)
        done(1)
        report = build_version(source, models_dir, settings, progress)
        done = progress("compare with the live model", 1)
        candidate = report.model or artifact.load_model(report.folder)
        changes = compare(candidate, live) if live is not None else None
        gates = check_gates(report.evaluation, live_figures, changes, settings)
        done(1)
        promoted = all(gate.passed for gate in gates)
        outcome = {
            "promoted": promoted,
            "live_before": live_before,
            "gates": [gate.as_dict() for gate in gates],
            "changes": changes,
        }
        # Beside the checksummed files, never loaded as model data: a record for reviewers.
        (report.folder / GATE_REPORT).write_text(json.dumps(outcome, indent=1), encoding="utf-8")
        pruned = []
        if promoted:
            registry.promote(models_dir, report.version, action="retrain", verified=True)
            pruned = registry.prune(models_dir, settings.keep_versions)
    return RetrainReport(report, live_before, gates, changes, promoted, pruned)
