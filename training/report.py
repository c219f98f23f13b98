"""A static evaluation report: JSON figures plus an HTML page with plots, for reviewers."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure  # no pyplot: no global state, no display needed

from training.artifact import LoadedModel
from training.evaluate import LIST


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def _plots(models: list[LoadedModel]) -> list[tuple[str, str]]:
    scores, degrees = Figure(figsize=(6, 3.5)), Figure(figsize=(6, 3.5))
    scores, degrees = (scores, scores.subplots()), (degrees, degrees.subplots())
    for model in models:
        index, score = np.asarray(model.index), np.asarray(model.score)
        scores[1].hist(score[:, 0][index[:, 0] >= 0], bins=40, alpha=0.6, label=model.version)
        listed = index[:, :LIST]
        in_degree = np.bincount(listed[listed >= 0], minlength=len(model.cards))
        degrees[1].hist(in_degree, bins=40, alpha=0.6, label=model.version, log=True)
    scores[1].set(title="Score of the best neighbour", xlabel="score", ylabel="articles")
    degrees[1].set(title=f"In how many top-{LIST} lists an article appears", xlabel="lists",
                   ylabel="articles (log)")  # fmt: skip
    for _, axes in (scores, degrees):
        axes.legend(fontsize="small")
    return [("Best scores", _png(scores[0])), ("Hubs", _png(degrees[0]))]


def _table(figures: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(json.dumps(v))}</td></tr>"
        for k, v in figures.items()
    )
    return f"<table>{rows}</table>"


def write_report(
    out: Path,
    figures: dict[str, Any],
    models: list[LoadedModel],
    changes: dict[str, Any] | None = None,
) -> Path:
    """Write `evaluation.json` and `report.html` into `out`; returns the HTML path."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.json").write_text(
        json.dumps({"figures": figures, "changes": changes}, indent=1), encoding="utf-8"
    )
    parts = [f"<h1>Relata model {html.escape(figures['version'])}</h1>", _table(figures)]
    for title, png in _plots(models):
        parts.append(f'<h2>{title}</h2><img alt="{title}" src="data:image/png;base64,{png}">')
    if changes:
        summary = {k: v for k, v in changes.items() if k != "most_changed"}
        parts += [f"<h2>Against {html.escape(changes['against'])}</h2>", _table(summary)]
        items = "".join(
            f"<li><b>{html.escape(m['slug'])}</b> (Jaccard {m['jaccard']}): in "
            f"{html.escape(', '.join(m['in']))}; out {html.escape(', '.join(m['out']))}</li>"
            for m in changes["most_changed"]
        )
        parts.append(f"<h3>Lists that change most</h3><ul>{items}</ul>")
    page = (
        '<!doctype html><html lang="en"><meta charset="utf-8"><title>Relata evaluation</title>'
        "<style>body{font:15px system-ui;margin:2rem}th{text-align:left;padding-right:1rem}"
        "</style><body>" + "".join(parts) + "</body></html>"
    )
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
