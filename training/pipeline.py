"""One training run: archive → features → neighbours → published model version."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import scipy.sparse as sp
from joblib import effective_n_jobs

from relata import artifact
from relata.artifact import registry
from relata.artifact.card_table import CardTable
from relata.artifact.packed import Packed, pack
from relata.artifact.writer import columns
from relata.training import calibrate, rescore
from relata.training.archive import Archive, RowError, load_archive, release_text_memory
from relata.training.cards import build_cards
from relata.training.evaluate import evaluate
from relata.training.explain import explain_table, render_table
from relata.training.features import ArticleVectorizer
from relata.training.gates import GateFailure, publish_gates
from relata.training.hygiene import cap_hubs, collapse_duplicates, diversify, duplicate_groups
from relata.training.language import language_code, with_languages
from relata.training.neighbours import (
    Neighbours,
    PairSignals,
    category_names,
    choose_cut,
    pair_signals,
    publication_days,
    rank_neighbours,
)
from relata.training.popularity import break_ties, decayed_clicks, popularity_by_row
from relata.training.provenance import library_versions
from relata.training.set_aside import on_disk
from relata.training.settings import TrainSettings
from relata.training.vectorizer_state import dump_state

# A callable that, given a step name and its total, returns an `advance(n)` callable.
Progress = Callable[[str, int], Callable[[int], None]]

LIBRARIES = ("relata", "scikit-learn", "scipy", "numpy", "pandas", "joblib")


@dataclass(frozen=True)
class Source:
    """What a model is trained on: archive files, plus what was ingested since."""

    archives: tuple[Path, ...]
    ingested: tuple[dict[str, Any], ...] = ()  # added or updated articles
    deleted: frozenset[str] = frozenset()
    clicks: tuple[tuple[str, str, int], ...] = ()  # readers' (day, slug, clicks), for popularity


@dataclass
class TrainReport:
    """What a run did, for the CLI's summary and for tests."""

    version: str
    folder: Path
    rows_read: int
    articles: int
    errors: list[RowError]
    not_published: int
    vocabulary: int
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    evaluation: dict = field(default_factory=dict)
    pruned: list[str] = field(default_factory=list)
    model: artifact.LoadedModel | None = None  # as written and verified


# What the steps after the analysis read of the article table (signals, hygiene,
# fallbacks, the manifest; the features read the tags too): the cards have the rest.
LATER_COLUMNS = ("slug", "category", "published_at", "language")
FALLBACK_ROWS = 100  # newest articles kept per category, and site-wide, for fallbacks


def fallback_rows(articles: pd.DataFrame, signals: PairSignals) -> dict[str, Any]:
    """Rows of the newest articles, site-wide and per category, for filling short lists."""
    newest = np.argsort(signals.order, kind="stable")
    by_category: dict[str, list[int]] = {}
    categories = category_names(articles).to_numpy()
    for row in newest.tolist():
        bucket = by_category.setdefault(categories[row], [])
        if len(bucket) < FALLBACK_ROWS and categories[row]:
            bucket.append(row)
    by_category.pop("", None)
    return {"recent": newest[:FALLBACK_ROWS].tolist(), "by_category": by_category}


def _new_version(archive_sha: str, settings: TrainSettings) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    digest = hashlib.sha256(
        (archive_sha + json.dumps(settings.as_dict(), sort_keys=True)).encode()
    ).hexdigest()
    return f"{stamp}-{digest[:8]}"


def no_progress(step: str, total: int) -> Callable[[int], None]:
    return lambda n: None


@dataclass
class Features:
    """The features step's output: the fitted vectoriser, the content vectors, and the
    blend calibration chose (recency resolved to numbers in `settings`)."""

    vectorizer: ArticleVectorizer
    text: sp.csr_matrix  # the text block alone (near-duplicates and MMR compare text)
    matrix: sp.csr_matrix  # text and tags combined: what neighbours are searched in
    settings: TrainSettings
    category_bonus: dict[str, float] | float
    calibration: dict[str, Any]
    rescoring: rescore.Rescoring  # LSA and feedback weights for re-ordering the lists


def load_articles(source: Source, settings: TrainSettings) -> Archive:
    """The archive (plus what was ingested since), each article with its language
    (detected as each part of the archive is read: in parallel on a big one)."""
    default = language_code(settings.language) or "en"
    return load_archive(
        source.archives, settings.max_bad_share, source.ingested, source.deleted,
        prepare=partial(with_languages, default=default), n_jobs=settings.n_jobs,
    )  # fmt: skip


def fit_features(archive: Archive, settings: TrainSettings) -> Features:
    """Fit the vectoriser, calibrate the blend on held-out text halves, combine.

    Once the text is analysed, `archive.articles` is cut to the columns later steps read
    (`LATER_COLUMNS`): build the cards before. A million realistic articles' text is about
    3 GB, which would otherwise stay through the steps that need the most memory."""
    articles = archive.articles
    vectorizer = ArticleVectorizer(
        field_weights={
            "title": settings.title_weight,
            "summary": settings.summary_weight,
            "body": settings.body_weight,
        },
        text_weight=settings.text_weight,
        tag_weight=settings.tag_weight,
        ngram_max=settings.ngram_max,
        min_df=settings.min_df,
        max_df=settings.max_df,
        min_tag_count=settings.min_tag_count,
        language=language_code(settings.language) or "en",
        n_jobs=settings.n_jobs if len(articles) >= settings.parallel_min_articles else 1,
    )
    tokens = vectorizer.analyse(articles)  # once, for fitting and calibration alike
    archive.articles = articles = articles[[*LATER_COLUMNS, "tags"]]
    release_text_memory()
    text, members = vectorizer.fit_blocks(articles, tokens)
    split = calibrate.split_text(
        vectorizer, articles, calibrate.sample_rows(len(articles)), tokens
    )
    del tokens
    weights = calibrate.blend(
        vectorizer, articles, text, members, category_names(articles),
        publication_days(articles).to_numpy(dtype=np.float64), settings, split=split,
    )  # fmt: skip
    rescoring = rescore.calibrate(*split, settings)
    vectorizer.tag_scale_ = weights.tag_scale
    # From here on recency is numbers: the ones measured, or the ones given.
    settings = dataclasses.replace(
        settings,
        recency_weight=weights.recency_weight,
        recency_half_life_days=weights.recency_half_life_days,
        lsa_weight=rescoring.lsa_weight,
        feedback_weight=rescoring.feedback_weight,
    )
    calibration = {
        **weights.evidence,
        "tags": calibrate.summary(vectorizer.tag_scores()),
        "categories": calibrate.summary(
            weights.category_bonus if isinstance(weights.category_bonus, dict) else {}
        ),
        "category_bonus": weights.category_bonus,
        "rescoring": rescoring.evidence,
    }
    return Features(vectorizer, text, vectorizer.combine(text, members), settings,
                    weights.category_bonus, calibration, rescoring)  # fmt: skip


def clean_lists(
    neighbours: Neighbours, text: sp.csr_matrix, signals: PairSignals,
    articles: pd.DataFrame, settings: TrainSettings, clicks: tuple[Any, ...],
) -> None:  # fmt: skip
    """List hygiene, in place: one version per story, MMR, the hub cap, then readers'
    clicks as a tie-breaker when asked."""
    index, score = neighbours.index, neighbours.score
    # A near-duplicate pair's stored score cannot be below this, whatever its dates.
    lowest = settings.duplicate_threshold * settings.text_weight * (1 - settings.recency_weight)
    story = duplicate_groups(
        text, index, score, signals.days, settings.duplicate_threshold, prefilter=lowest
    )
    collapse_duplicates(index, score, story)
    diversify(text, index, score, settings.diversity)
    cap = max(settings.hub_cap_min, math.floor(settings.hub_cap_share * len(articles)))
    cap_hubs(index, score, cap)
    if settings.popularity_weight and clicks:
        today = datetime.now(UTC).date()
        popular = decayed_clicks(clicks, today, settings.popularity_half_life_days)
        popularity = popularity_by_row(popular, articles["slug"].tolist())
        break_ties(index, score, popularity, settings.popularity_weight)


def manifest_for(
    source: Source, archive: Archive, articles: pd.DataFrame, features: Features,
    figures: dict[str, Any], timings: dict[str, float],
) -> dict[str, Any]:  # fmt: skip
    """What a version records about how it was made (the writer adds files and format)."""
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "archive": {
            "files": [str(p) for p in source.archives],
            "ingested": len(source.ingested),
            "deleted": len(source.deleted),
            "sha256": archive.sha256,
            "rows_read": archive.rows_read,
            "rows_invalid": len(archive.errors),
            "rows_not_published": archive.not_published,
            "articles": len(articles),
        },
        "parameters": features.settings.as_dict(),
        "libraries": library_versions(LIBRARIES),
        "vocabulary": features.vectorizer.vocabulary_size(),
        # What the cut-offs were on this archive (tiny archives relax them; see features).
        "cutoffs_used": {
            name: getattr(features.vectorizer, f"{name}_", None)
            for name in ("min_df", "max_df", "min_tag_count")
        },
        "languages": articles["language"].value_counts().to_dict(),
        "evaluation": figures,
        "calibration": features.calibration,
        "timings": timings,
    }


def build_version(
    source: Source,
    models_dir: Path,
    settings: TrainSettings,
    progress: Progress = no_progress,
) -> TrainReport:
    """Train on the archive (plus what was ingested since) and publish the new version
    folder, without making it live: load → features → neighbours → rescore → hygiene →
    evaluate → write, each step timed."""
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(step: str, since: float) -> float:
        now = time.perf_counter()
        timings[step] = round(now - since, 3)
        return now

    archive = load_articles(source, settings)
    mark = lap("load", started)
    # Packed at once: as a million dicts the cards held about a GB through every step.
    cards = CardTable(
        Packed(*pack(map(orjson.dumps, build_cards(archive.articles, settings.excerpt_chars))))
    )
    features = fit_features(archive, settings)  # cuts the archive's table to LATER_COLUMNS
    settings, matrix = features.settings, features.matrix
    archive.articles = articles = archive.articles[list(LATER_COLUMNS)]
    mark = lap("features", mark)
    signals = pair_signals(articles, features.category_bonus)
    # The search holds the most memory of any step, and never reads the text block (the
    # size of the matrix: 2 GB at a million articles), so that waits on disk meanwhile.
    with on_disk(features, "text", models_dir):
        index, cut, check = choose_cut(matrix, signals, settings, effective_n_jobs(settings.n_jobs))
        settings = dataclasses.replace(settings, search_common_df=cut)  # the cut searched with
        neighbours = rank_neighbours(
            matrix, signals, settings, progress("neighbours", len(articles)), index
        )
        del index  # the posting lists: 2 GB at a million articles
    recall = None if check is None else check.recall(neighbours.index)
    # The step's time includes choosing the cut, the exact search of the samples, and
    # writing the text block and reading it back.
    mark = lap("neighbours", mark)
    neighbours = rescore.reorder(
        features.text, matrix, neighbours, signals, settings, features.rescoring
    )
    mark = lap("rescore", mark)
    clean_lists(neighbours, features.text, signals, articles, settings, source.clicks)
    index, score = neighbours.index, neighbours.score
    mark = lap("hygiene", mark)

    version = _new_version(archive.sha256, settings)
    slugs = articles["slug"].tolist()
    rows = {slug: row for row, slug in enumerate(slugs)}
    # The columns' names are LoadedModel's field names.
    in_memory = artifact.LoadedModel(
        version, {}, cards, index, score, rows, slugs, **columns(cards)
    )
    names = features.vectorizer.feature_names()
    figures = evaluate(in_memory, (matrix, names))
    # From here on the names are only stored and spliced into `why`, both as JSON: one
    # packed table of them rather than millions of strings (180 MB at 100k articles).
    names = pack(map(orjson.dumps, names))
    figures["search_recall_at_10"] = recall
    figures["search_common_df_used"] = cut
    mark = lap("evaluate", mark)
    why = explain_table(matrix, features.text.shape[1], index, signals, settings)
    model = artifact.write_model(
        models_dir,
        version,
        write_vectorizer=partial(dump_state, features.vectorizer),
        index=index,
        score=score,
        cards=cards,
        features=matrix,
        feature_names=Packed(*names),
        why=render_table(why, index, names, features.vectorizer.n_jobs),
        fallbacks=fallback_rows(articles, signals),
        manifest=manifest_for(source, archive, articles, features, figures, timings),
    )
    lap("write", mark)
    return TrainReport(
        version=version,
        folder=artifact.version_folder(models_dir, version),
        model=model,
        rows_read=archive.rows_read,
        articles=len(articles),
        errors=archive.errors,
        not_published=archive.not_published,
        vocabulary=features.vectorizer.vocabulary_size(),
        seconds=time.perf_counter() - started,
        timings=timings,
        evaluation=figures,
    )


def train(
    source: Source,
    models_dir: Path,
    settings: TrainSettings,
    progress: Progress = no_progress,
    *,
    force: bool = False,
) -> TrainReport:
    """Train, publish and make the new version live at once, comparing with no live model
    (see `retrain`) but refusing one that fails a `publish_gates` gate unless `force`.

    A refused version stays in the models folder, not live, for the operator to inspect
    (and `relata promote` if they choose); the next runs prune it like any other.
    """
    settings.validated()  # before any work: a bad setting must not cost a training run
    with registry.exclusive(models_dir):
        report = build_version(source, models_dir, settings, progress)
        failed = [g for g in publish_gates(report.evaluation, settings) if not g.passed]
        if failed and not force:
            raise GateFailure(report.version, failed)
        registry.promote(models_dir, report.version, verified=True)
        report.pruned = registry.prune(models_dir, settings.keep_versions)
    return report
