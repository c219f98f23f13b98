"""The model report: `evaluation.json` for machines, and an HTML page people read (a short
verdict first, every figure explained and formatted, plots, the lists that change most as
card titles, and the calibration the model recorded), rendered from
`training/templates/report.html`."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from relata.artifact import LoadedModel
from relata.training.evaluate import SHOWN, quality
from relata.training.report_plots import ctr_by_position, plots

MOST_CHANGED = 10
# Differences smaller than this (a share) count as no change in the verdict.
SAME = 0.0005
_ENV = Environment(
    loader=PackageLoader("relata.training", "templates"), autoescape=select_autoescape()
)


def percent(share: float | None) -> str:
    """A share as a percentage with one decimal: 0.005 -> '0.5 %'."""
    return "–" if share is None else f"{100 * share:.1f} %"


def count(value: int | None) -> str:
    """A count with thousands separators."""
    return "–" if value is None else f"{value:,}"


def _title(model: LoadedModel, slug: str | None) -> str:
    row = model.rows.get(slug) if slug else None
    return model.cards[row]["title"] if row is not None else (slug or "–")


# (key, label, format, what it means); the verdict compares the three marked in VERDICT.
METRICS: list[tuple[str, str, Any, str]] = [
    ("articles", "Articles", count, "Articles in the model."),
    ("coverage", "Coverage", percent,
     f"Share of articles whose list fills all {SHOWN} shown cards from the model."),
    ("empty", "Empty lists", percent,
     "Share of articles with no related article at all (readers see fallbacks only)."),
    ("quality", "Quality proxy", percent,
     "Share of top-10 neighbours that share a tag with their article (without tags: "
     "the same category). Higher is better."),
    ("category_agreement", "Category agreement", percent,
     "Share of top-10 neighbours in their article's category."),
    ("hub_share", "Hub share", percent,
     "Largest share of top-10 lists one article appears in. Lower means more variety."),
    ("self_links", "Self-links", count, "Lists that contain their own article (must be 0)."),
    ("duplicate_lists", "Duplicate lists", count, "Lists that name one article twice."),
    ("search_recall_at_10", "Search recall", lambda v: "exact search" if v is None else percent(v),
     "Share of the exact top 10 the pruned neighbour search found."),
]  # fmt: skip
# Figure, words, and whether a higher value is better.
VERDICT = [("quality", "the quality proxy", True), ("coverage", "coverage", True),
           ("hub_share", "hub share", False)]  # fmt: skip


def _with_quality(figures: dict[str, Any], other: dict[str, Any] | None) -> dict[str, Any]:
    return {**figures, "quality": quality(figures, other)}


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def summary(figures: dict[str, Any], other: dict[str, Any] | None, against: str | None) -> str:
    """One or two plain sentences: better or worse than `against` on the quality proxy,
    coverage and hub share, or (alone) what the model is like."""
    figures = _with_quality(figures, other)
    if other is None:
        return (
            f"{count(figures['articles'])} articles; {percent(figures['coverage'])} of them get "
            f"a full list of {SHOWN}, and {percent(figures['quality'])} of recommended "
            "articles share a tag or category with their article."
        )
    other = _with_quality(other, figures)
    judged: dict[str, list[str]] = {"better": [], "worse": [], "the same": []}
    for key, words, higher_is_better in VERDICT:
        gain = (figures[key] - other[key]) * (1 if higher_is_better else -1)
        verdict = "the same" if abs(gain) < SAME else ("better" if gain > 0 else "worse")
        judged[verdict].append(f"{words} ({percent(figures[key])}, was {percent(other[key])})")
    # The verdict on the quality proxy leads: it is the one readers feel.
    order = sorted(judged, key=lambda v: not any(s.startswith("the quality") for s in judged[v]))
    lead = {"better": f"better than {against}", "worse": f"worse than {against}",
            "the same": f"as good as {against}"}  # fmt: skip
    clauses = [v for v in order if judged[v]]
    parts = [f"{lead[v] if i == 0 else v} on {_listing(judged[v])}" for i, v in enumerate(clauses)]
    sentence = f"This model is {', and '.join(parts)}."
    if judged["better"] and judged["worse"]:
        sentence += " Weigh the quality proxy first: it says whether the lists are related."
    return sentence


def metric_rows(figures: dict[str, Any], other: dict[str, Any] | None) -> list[dict[str, str]]:
    """Each figure formatted and explained, beside the compared model's when there is one."""
    figures, other = _with_quality(figures, other), _with_quality(other, figures) if other else None
    return [
        {"label": label, "value": fmt(figures.get(key)), "help": meaning,
         "other": fmt(other.get(key)) if other else ""}
        for key, label, fmt, meaning in METRICS
        if key in figures
    ]  # fmt: skip


def _shown(model: LoadedModel, slug: str) -> list[str]:
    row = model.rows[slug]
    return [model.slugs[j] for j in model.index[row, :SHOWN] if j >= 0]


def _date(model: LoadedModel, slug: str) -> str:
    return model.published[model.rows[slug]][:10] or "undated"  # the stored column: no card decoded


def kept(before: list[str], after: list[str]) -> str:
    """How much of the old list the new one keeps: "2 of 6 cards kept (33.3 %)". Not the
    Jaccard over the union, which reads 20 % for the same lists."""
    if not before:
        return "the list was empty"
    same = len(set(before) & set(after))
    return f"{same} of {len(before)} cards kept ({percent(same / len(before))})"


def changed_lists(model: LoadedModel, other: LoadedModel, changes: dict[str, Any]
                  ) -> list[dict[str, Any]]:  # fmt: skip
    """The lists that change most, as titles: before (the other model) and after. One list
    per headline: archives repeat weekly titles ("What to watch …"), whose lists all
    change alike and would fill the section with one heading."""
    lists: list[dict[str, Any]] = []
    seen: set[str] = set()
    for moved in changes["most_changed"]:
        slug = moved["slug"]
        title = _title(model, slug)
        if title in seen:
            continue
        seen.add(title)
        after, before = _shown(model, slug), _shown(other, slug)
        lists.append({
            "title": title, "slug": slug, "date": _date(model, slug),
            "kept": kept(before, after),
            "before": [{"title": _title(other, s), "gone": s not in after} for s in before],
            "after": [{"title": _title(model, s), "new": s not in before} for s in after],
        })  # fmt: skip
        if len(lists) == MOST_CHANGED:
            break
    return lists


# The calibration keys a report shows, with their labels and formats (older models lack them).
CALIBRATION = [
    ("tag_scale", "Tag scale", lambda v: f"× {v:g}", "How much a shared tag adds to a score."),
    ("category_scale", "Category scale", lambda v: f"× {v:g}",
     "How much a shared category adds."),
    ("recency_weight", "Recency weight", percent, "Share of the score that fades with time."),
    ("recency_half_life_days", "Recency half-life", lambda v: f"{v:,.0f} days",
     "Time apart after which that share is halved."),
    ("held_out_similarity", "Held-out similarity", lambda v: f"{v:.4f}",
     "Text similarity of the picks on held-out text, with the calibrated signals."),
    ("held_out_similarity_text_only", "… with text alone", lambda v: f"{v:.4f}",
     "The same without tags, category and recency: lower means they help."),
]  # fmt: skip


def calibration_rows(model: LoadedModel, other: LoadedModel | None) -> list[dict[str, str]]:
    """What calibration chose and measured, for each key the model recorded."""
    mine = model.manifest.get("calibration", {})
    theirs = other.manifest.get("calibration", {}) if other else {}
    return [
        {"label": label, "value": fmt(mine[key]), "help": meaning,
         "other": fmt(theirs[key]) if key in theirs else "–"}
        for key, label, fmt, meaning in CALIBRATION
        if key in mine
    ]  # fmt: skip


def _ctr(share: float) -> str:
    return f"{100 * share:.2f} %"  # click-through rates are small: two decimals


def _reader_row(group: dict[str, Any]) -> dict[str, str]:
    """One stats group as the report shows it: counts, CTR and its 95 % interval."""
    name = group["model_version"] + (f" ({group['variant']})" if group.get("variant") else "")
    return {"name": name, "position": str(group.get("position") or ""),
            "impressions": count(group["impressions"]), "clicks": count(group["clicks"]),
            "ctr": _ctr(group["ctr"]),
            "interval": f"{_ctr(group['ctr_low'])} – {_ctr(group['ctr_high'])}"}  # fmt: skip


def _percentiles(figures: dict[str, Any]) -> str:
    """The best neighbour's score at the 10th, 50th and 90th percentiles, or '' if unknown."""
    scores = figures.get("top_score_percentiles") or {}
    return " / ".join(f"{scores[p]:.3f}" for p in ("10", "50", "90")) if scores else ""


def render_report(figures: dict[str, Any], model: LoadedModel, other: LoadedModel | None = None,
                  changes: dict[str, Any] | None = None, css_url: str = "",
                  back_url: str = "", readers: dict[str, Any] | None = None) -> str:  # fmt: skip
    """The report page; its style inline, or linked from `css_url` (for a strict CSP), and
    a link back to `back_url` when served. `readers`: what readers clicked, per version
    and position (the service's `stats.readers`), when events were counted."""
    against = other.version if other else None
    other_figures = other.manifest.get("evaluation") if other else None
    return _ENV.get_template("report.html").render(
        version=model.version,
        created=model.manifest.get("created_at", ""),
        against=against,
        summary=summary(figures, other_figures, against),
        metrics=metric_rows(figures, other_figures),
        hub=_title(model, figures.get("hub")),
        other_hub=_title(other, other_figures.get("hub")) if other and other_figures else "–",
        scores=_percentiles(figures),
        other_scores=_percentiles(other_figures) if other_figures else "",
        # Short legend labels: a version id is 31 characters; the page names both in full.
        plots=plots([("this model", model)] + ([("compared", other)] if other else [])),
        changes=changes,
        changed_share=percent(changes["changed_share"]) if changes else "",
        changed=changed_lists(model, other, changes) if other and changes else [],
        calibration=calibration_rows(model, other),
        readers=readers,
        reader_rows=[_reader_row(g) for g in readers["versions"]] if readers else [],
        position_rows=[_reader_row(g) for g in readers["positions"]] if readers else [],
        ctr_plot=ctr_by_position(readers["positions"]) if readers else None,
        css="" if css_url else stylesheet(),
        css_url=css_url,
        back_url=back_url,
    )


def stylesheet() -> str:
    """The report's CSS (one file for the written report and the served one)."""
    return files("relata.training").joinpath("templates/report.css").read_text(encoding="utf-8")


def write_report(out: Path, figures: dict[str, Any], model: LoadedModel,
                 other: LoadedModel | None = None, changes: dict[str, Any] | None = None,
                 readers: dict[str, Any] | None = None) -> Path:  # fmt: skip
    """Write `evaluation.json` and `report.html` into `out`; returns the HTML path."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.json").write_text(
        json.dumps({"figures": figures, "changes": changes, "readers": readers}, indent=1),
        encoding="utf-8",
    )
    path = out / "report.html"
    path.write_text(render_report(figures, model, other, changes, readers=readers),
                    encoding="utf-8")  # fmt: skip
    return path
