"""The training settings table: every knob of the offline pipeline, with its default and help.

The table is the single source for defaults, for `relata train --set NAME=VALUE`, for the
manifest's recorded parameters and for the README's settings section (a test keeps the two
in step).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from training.language import language_code

AUTO = "auto"  # a blend weight measured on the archive at train time (training.calibrate)


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


def _parse(name: str, default: Any, text: str) -> Any:
    """A setting's text value as the type of its default (`auto` where that is allowed)."""
    if default == AUTO:
        if text.strip().casefold() == AUTO:
            return AUTO
        kind: type = float
    else:
        kind = type(default)
    try:
        return kind(text)
    except ValueError:
        allowed = f"{kind.__name__} or {AUTO}" if default == AUTO else kind.__name__
        raise ValueError(f"setting {name!r} needs a {allowed}, got {text!r}") from None


@dataclass(frozen=True)
class TrainSettings:
    """Parameters of one training run; frozen so a run cannot change them half-way."""

    title_weight: float = _setting(0.2, "Share of the text signal given to the title.")
    summary_weight: float = _setting(0.1, "Share of the text signal given to the summary (dek).")
    body_weight: float = _setting(
        0.7, "Share of the text signal given to the body (shared out again when it is empty)."
    )
    text_weight: float = _setting(1.0, "Blend weight of text similarity (TF-IDF cosine).")
    tag_weight: float | str = _setting(
        AUTO,
        "Score a shared tag adds. auto: what the tag is worth on this archive (how much more "
        "text-similar its articles are than random pairs, shrunk for small tags; noise tags "
        "add nothing); a number: that much times the tag's rarity (idf / largest idf).",
    )
    category_weight: float | str = _setting(
        AUTO,
        "Score a shared category adds (case-insensitive). auto: measured per category like "
        "tags; a number: that much for every category.",
    )
    recency_weight: float | str = _setting(
        AUTO,
        "Share of the score that decays with the time between two articles (0 turns recency "
        "off; an undated pair counts as one half-life apart). auto: how much less "
        "text-similar articles two half-lives apart are than articles close in time, at most "
        "0.5.",
    )
    recency_half_life_days: float = _setting(
        365.0, "Days between two articles after which the decaying share is halved."
    )
    language: str = _setting(
        "en",
        "Language of articles that declare none and whose own language cannot be told from "
        "their stop words (ISO 639-1 code).",
    )
    ngram_max: int = _setting(2, "Longest word n-gram in the text features (1 = words only).")
    min_df: int = _setting(2, "Ignore terms found in fewer articles than this.")
    max_df: float = _setting(
        0.3, "Ignore terms found in more than this share of articles (they say little)."
    )
    min_tag_count: int = _setting(2, "Ignore tags carried by fewer articles than this.")
    neighbours: int = _setting(50, "Related articles stored per article (top-K).")
    candidates: int = _setting(
        100, "Text-and-tag candidates per article, re-scored with category and recency."
    )
    query_mass: float = _setting(
        0.95,
        "Neighbour search: share of each article's squared term weight its query keeps, "
        "heaviest terms first (1 = exact search over every shared term).",
    )
    search_pool: int = _setting(
        200, "Neighbour search: likely neighbours per article whose exact scores are computed."
    )
    exact_below: int = _setting(
        50000, "Archives with fewer articles are searched exactly (pruning pays off on big ones)."
    )
    recall_sample: int = _setting(
        500, "Articles whose pruned neighbours are checked against an exact search (recall@10)."
    )
    duplicate_threshold: float = _setting(
        0.8,
        "Text cosine at which two articles count as versions of one story; a list keeps "
        "only the newest (1.01 turns it off).",
    )
    diversity: float = _setting(
        1.0,
        "MMR balance for the top 20 of each list: 1 ranks by relevance alone, lower values "
        "trade relevance for variety (e.g. 0.8).",
    )
    hub_cap_share: float = _setting(
        0.005, "Most top-10 lists one article may fill, as a share of all articles."
    )
    hub_cap_min: int = _setting(20, "Floor of that cap, in lists (small archives).")
    max_bad_share: float = _setting(
        0.01, "Fail the run when more than this share of archive rows is invalid."
    )
    excerpt_chars: int = _setting(160, "Target length of a card's excerpt, in characters.")
    keep_versions: int = _setting(5, "Model versions kept in the model folder for rollback.")
    chunk_size: int = _setting(512, "Articles scored per block in the neighbour search.")
    n_jobs: int = _setting(-1, "Worker processes for the neighbour search (-1 = all cores).")
    parallel_min_articles: int = _setting(
        5000, "Smaller archives are ranked in one process (workers cost more than they save)."
    )
    gate_max_row_drop: float = _setting(
        0.10, "Retrain gate: most the article count may fall versus the live model (share)."
    )
    gate_max_coverage_drop: float = _setting(
        0.05, "Retrain gate: most the share of full (6-card) lists may fall versus the live model."
    )
    gate_max_hub_share: float = _setting(
        0.02, "Retrain gate: largest share of top-10 lists any one article may appear in."
    )
    gate_max_changed_share: float = _setting(
        0.50, "Retrain gate: largest share of shown (top-6) lists that may change versus live."
    )
    gate_max_quality_drop: float = _setting(
        0.02,
        "Retrain gate: most the quality proxy (tag overlap, else category agreement) may fall.",
    )

    @classmethod
    def help_table(cls) -> list[tuple[str, Any, str]]:
        """(name, default, help) for every setting, in declaration order."""
        return [(f.name, f.default, f.metadata["help"]) for f in dataclasses.fields(cls)]

    def with_overrides(self, overrides: dict[str, str]) -> TrainSettings:
        """A copy with `overrides` (names to text values) parsed to each setting's type."""
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        parsed: dict[str, Any] = {}
        for name, text in overrides.items():
            if name not in defaults:
                raise ValueError(f"unknown training setting {name!r}")
            parsed[name] = _parse(name, defaults[name], text)
        return dataclasses.replace(self, **parsed).validated()

    def validated(self) -> TrainSettings:
        """Self, after checking the values that would make training meaningless."""
        if self.neighbours < 1 or self.candidates < self.neighbours:
            raise ValueError("need 1 <= neighbours <= candidates")
        if not 0 <= self.max_bad_share < 1:
            raise ValueError("max_bad_share must be in [0, 1)")
        if not 0 < self.query_mass <= 1 or self.search_pool < self.candidates:
            raise ValueError("need 0 < query_mass <= 1 and search_pool >= candidates")
        if not 0 < self.max_df <= 1:
            raise ValueError("max_df must be in (0, 1]")
        if self.recency_weight != AUTO and not 0 <= float(self.recency_weight) <= 1:
            raise ValueError("recency_weight must be in [0, 1]")
        weights = (self.title_weight, self.summary_weight, self.body_weight)
        if min(weights) < 0 or sum(weights) == 0:
            raise ValueError("field weights must be >= 0 and not all 0")
        blend = [self.text_weight, self.tag_weight, self.category_weight]
        if min(float(w) for w in blend if w != AUTO) < 0:
            raise ValueError("blend weights must be >= 0")
        if language_code(self.language) is None:
            raise ValueError(f"language: no analyser for {self.language!r}")
        if self.keep_versions < 1 or self.chunk_size < 1 or self.ngram_max < 1:
            raise ValueError("keep_versions, chunk_size and ngram_max must be >= 1")
        return self

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-ready values (recorded in the manifest)."""
        return dataclasses.asdict(self)
