"""The report's plots: step outlines on shared bins, so two versions stay readable."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from matplotlib.figure import Figure  # no pyplot: no global state, no display needed

from relata.artifact import LoadedModel
from relata.training.evaluate import LIST

# Colour-blind-safe pair (Okabe-Ito): the model reported on, then the one it is compared with.
COLOURS = ("#0072b2", "#d55e00")
# A figure shrinks to ~330 px wide on a phone: a narrow figure with large type keeps its
# labels at 12-13 px there, and report.css caps its width (28rem) so they stay below
# ~18 px on wide screens. Sizes are passed to each call, not set in rcParams: those are global, and
# the service renders in threads.
SIZE = (4.4, 2.9)  # inches
LABEL, TICKS = 13, 12  # points
DPI = 120  # sharp at its natural ~530 px, and on 2x phone screens


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return base64.b64encode(buffer.getvalue()).decode()


def _style(axes: Any, xlabel: str, ylabel: str, legend: bool) -> None:
    """Readable labels, no box, and a legend only when there is more than one line."""
    axes.set_xlabel(xlabel, fontsize=LABEL)
    axes.set_ylabel(ylabel, fontsize=LABEL)
    axes.tick_params(labelsize=TICKS)
    axes.spines[["top", "right"]].set_visible(False)
    if legend:
        axes.legend(fontsize=LABEL, frameon=False)


def _best_scores(model: LoadedModel) -> np.ndarray:
    index, score = np.asarray(model.index), np.asarray(model.score)
    return score[:, 0][index[:, 0] >= 0]


def _in_degrees(model: LoadedModel) -> np.ndarray:
    listed = np.asarray(model.index)[:, :LIST]
    return np.bincount(listed[listed >= 0], minlength=len(model.cards))


def _outlines(xlabel: str, ylabel: str, series: list[tuple[str, np.ndarray]],
              log: bool = False) -> str:  # fmt: skip
    figure = Figure(figsize=SIZE, layout="constrained")  # the page's caption is its title
    axes = figure.subplots()
    values = np.concatenate([v for _, v in series]) if series else np.zeros(1)
    bins = np.histogram_bin_edges(values, bins=30)  # shared: bar for bar comparable
    for (label, data), colour, width in zip(series, COLOURS, (2.2, 1.6), strict=False):
        axes.hist(data, bins=bins, histtype="step", linewidth=width, color=colour, label=label,
                  log=log)  # fmt: skip
    _style(axes, xlabel, ylabel, legend=len(series) > 1)
    return _png(figure)


def plots(models: list[tuple[str, LoadedModel]]) -> list[dict[str, str]]:
    """Each plot as {title, caption, png (base64)}: best scores and hubs, one outline per
    (label, model); keep labels short (the legend must fit a phone)."""
    return [
        {
            "title": "Score of each article's best neighbour",
            "caption": "Further right: articles find closer neighbours. A bump at the left "
            "means many articles with only weak matches.",
            "png": _outlines(
                "score",
                "articles",
                [(label, _best_scores(m)) for label, m in models],
            ),
        },
        {
            "title": "How often an article is recommended",
            "caption": f"In how many top-{LIST} lists each article appears. A long tail to "
            "the right means a few articles (hubs) fill many lists.",
            "png": _outlines(
                f"top-{LIST} lists it appears in",
                "articles (log)",
                [(label, _in_degrees(m)) for label, m in models],
                log=True,
            ),
        },
    ]


def short(version: str) -> str:
    """A version id short enough for a legend: its date and time, '20261130T0115'."""
    return version[:13]


def ctr_by_position(groups: list[dict[str, Any]]) -> dict[str, str]:
    """CTR per card position, one line with 95 % interval bars per model version (the two
    most shown), as {title, caption, png}."""
    shown: dict[str, int] = {}
    for group in groups:
        shown[group["model_version"]] = shown.get(group["model_version"], 0) + group["impressions"]
    versions = sorted(shown, key=shown.__getitem__, reverse=True)[:2]
    figure = Figure(figsize=SIZE, layout="constrained")
    axes = figure.subplots()
    for version, colour, shift in zip(versions, COLOURS, (-0.08, 0.08), strict=False):
        rows = sorted((g for g in groups if g["model_version"] == version),
                      key=lambda g: g["position"])  # fmt: skip
        x = np.array([g["position"] for g in rows]) + shift * (len(versions) > 1)
        ctr = np.array([g["ctr"] for g in rows]) * 100
        low = ctr - np.array([g["ctr_low"] for g in rows]) * 100
        high = np.array([g["ctr_high"] for g in rows]) * 100 - ctr
        axes.errorbar(x, ctr, yerr=[low, high], color=colour, marker="o", capsize=3,
                      label=short(version))  # fmt: skip
    _style(axes, "card position", "CTR (%)", legend=len(versions) > 1)
    return {
        "title": "Click-through rate by card position",
        "caption": "Clicks on the card at each position over the lists shown, with 95 % "
        "intervals. Bars that do not overlap differ beyond chance.",
        "png": _png(figure),
    }
