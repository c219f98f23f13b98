"""The training settings table: every knob of the offline pipeline, with its default and help.

The table is the single source for defaults, for `relata train --set NAME=VALUE`, for the
manifest's recorded parameters and for the README's settings section (a test keeps the two
in step).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from relata.training.language import LANGUAGES

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
        allowed = _KINDS.get(kind, kind.__name__) + (f" or {AUTO}" if default == AUTO else "")
        raise ValueError(f"setting {name!r} needs {allowed}, got {text!r}") from None


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
        "off; an undated pair counts as one half-life apart). auto: measured on the archive "
        "like tags, from 0 to 0.7.",
    )
    recency_half_life_days: float | str = _setting(
        AUTO,
        "Days between two articles after which the decaying share is halved. auto: chosen "
        "with the recency weight (30, 90, 365 or 1095 days).",
    )
    lsa_weight: float | str = _setting(
        AUTO,
        "Share of each stored list's text score given to LSA (cosine in 200 TruncatedSVD "
        "concepts), re-ordering the list. auto: chosen on held-out text halves from 0 to "
        "0.5 (0 where it does not help).",
    )
    feedback_weight: float | str = _setting(
        AUTO,
        "Pseudo-relevance feedback: weight of an article's first 5 neighbours' mean text "
        "added to its query when its stored list is re-scored. auto: chosen on held-out "
        "text halves (0, 0.5 or 1; 0 where it does not help).",
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
    search_common_df: int = _setting(
        3000,
        "Neighbour search: terms found in more articles than this are left out of the "
        "candidate search (their long posting lists make it grow with the square of the "
        "archive) and added to each candidate's exact score.",
    )
    search_pool: int = _setting(
        300, "Neighbour search: candidates per article whose exact scores are computed."
    )
    search_recall_target: float = _setting(
        0.99,
        "Neighbour search: the lowest of 1/6, 1/3, 1/2 and 2/3 of search_common_df whose "
        "recall@10 against the exact search, on recall_sample articles, is at least this "
        "is used (0: search_common_df as set).",
    )
    recall_sample: int = _setting(
        500,
        "Articles whose pruned neighbours are checked against an exact search (recall@10); "
        "as many again choose the cut (0: no check, and search_common_df as set).",
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
    chunk_size: int = _setting(2048, "Articles scored per block in the neighbour search.")
    n_jobs: int = _setting(
        -1, "Worker processes for analysis, the neighbour search and why (-1 = all cores)."
    )
    parallel_min_articles: int = _setting(
        5000, "Smaller archives are trained in one process (workers cost more than they save)."
    )
    popularity_weight: float = _setting(
        0.0,
        "Tie-breaker from readers' clicks (`POST /v1/events`, decayed with age): neighbours are "
        "ordered by score + this × popularity (0 to 1, log scale), scores unchanged; at most "
        "0.1, so relatedness always leads. 0 turns it off.",
    )
    popularity_half_life_days: float = _setting(
        14.0, "Days after which a click counts half towards popularity."
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
        """Self, after checking every value's type and range (`RANGES`), then the rules
        between settings."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.default == AUTO and value == AUTO:
                continue  # measured on the archive at train time
            check_setting(f.name, value, float if f.default == AUTO else type(f.default))
        if self.candidates < self.neighbours:
            raise ValueError(
                f"need neighbours <= candidates, got {self.neighbours} > {self.candidates}"
            )
        if self.search_pool < self.candidates:
            raise ValueError(
                f"need candidates <= search_pool, got {self.candidates} > {self.search_pool}"
            )
        if self.title_weight + self.summary_weight + self.body_weight == 0:
            raise ValueError("title_weight, summary_weight and body_weight must not all be 0")
        return self

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-ready values (recorded in the manifest)."""
        return dataclasses.asdict(self)


_KINDS = {int: "an integer", float: "a number", bool: "true or false"}


@dataclass(frozen=True)
class Range:
    """The values a setting may take: from `low` to `high`, both included unless open."""

    low: float
    high: float = math.inf
    low_open: bool = False  # `low` itself is not allowed
    high_open: bool = False

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int | float) or not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def __str__(self) -> str:
        if self.high == math.inf:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        opening, closing = "(["[not self.low_open], ")]"[not self.high_open]
        return f"{opening}{self.low:g}, {self.high:g}{closing}"


SHARE = Range(0, 1)
WEIGHT = Range(0, 1)
POSITIVE = Range(0, low_open=True)
COUNT = Range(1)
SIZE = Range(0)  # a count where 0 is meaningful (nothing, or never)

# One rule per setting (a `Range`, or a set of allowed values), kept apart from the table
# above so that adding a setting and its rule are two small edits; `validated` refuses a
# setting without one.
RANGES: dict[str, Range | frozenset[Any]] = {
    "title_weight": WEIGHT,
    "summary_weight": WEIGHT,
    "body_weight": WEIGHT,
    "text_weight": WEIGHT,
    "tag_weight": WEIGHT,
    "category_weight": WEIGHT,
    "recency_weight": SHARE,
    "recency_half_life_days": POSITIVE,
    "lsa_weight": WEIGHT,
    "feedback_weight": Range(0, 4),
    "language": frozenset(LANGUAGES),
    "ngram_max": Range(1, 5),
    "min_df": COUNT,
    "max_df": Range(0, 1, low_open=True),
    "min_tag_count": COUNT,
    "neighbours": COUNT,
    "candidates": COUNT,
    "search_common_df": COUNT,
    "search_pool": COUNT,
    "search_recall_target": SHARE,
    "recall_sample": SIZE,
    "duplicate_threshold": Range(0, 1.01, low_open=True),
    "diversity": SHARE,
    "hub_cap_share": Range(0, 1, low_open=True),
    "hub_cap_min": COUNT,
    "max_bad_share": Range(0, 1, high_open=True),
    "excerpt_chars": COUNT,
    "keep_versions": COUNT,
    "chunk_size": COUNT,
    "n_jobs": Range(-1),  # -1 = all cores; 0 is refused below
    "parallel_min_articles": SIZE,
    "popularity_weight": Range(0, 0.1),
    "popularity_half_life_days": POSITIVE,
    "gate_max_row_drop": SHARE,
    "gate_max_coverage_drop": SHARE,
    "gate_max_hub_share": SHARE,
    "gate_max_changed_share": SHARE,
    "gate_max_quality_drop": SHARE,
}


def check_setting(name: str, value: Any, kind: type) -> None:
    """Refuse `value` for the setting `name` unless it is a `kind` its rule in `RANGES` allows
    (numbers: finite and inside the range)."""
    if name not in RANGES:
        raise ValueError(f"training setting {name!r} has no rule in RANGES")
    # bool is an int to Python, never to a setting; an int is a fine float.
    wanted = (int, float) if kind is float else (kind,)
    if isinstance(value, bool) is not (kind is bool) or not isinstance(value, wanted):
        raise ValueError(f"setting {name!r} needs {_KINDS.get(kind, kind.__name__)}, got {value!r}")
    rule = RANGES[name]
    if value not in rule or (name == "n_jobs" and value == 0):
        allowed = f"{rule}{' (not 0)' if name == 'n_jobs' else ''}"
        if isinstance(rule, frozenset):
            allowed = "one of " + ", ".join(sorted(map(repr, rule)))
        raise ValueError(f"setting {name}={value!r} is outside its allowed range {allowed}")
