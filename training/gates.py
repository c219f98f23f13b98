"""Validation gates: a retrained model is promoted only if every gate passes.

`train` (no live model to compare with) checks the gates that need none: `publish_gates`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass
from typing import Any

from relata.training.evaluate import quality
from relata.training.settings import TrainSettings


@dataclass(frozen=True)
class Gate:
    """One gate's outcome."""

    name: str
    passed: bool
    value: float
    limit: float
    message: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)

    def describe(self) -> str:
        """The measured value and the limit in the gate's own unit, with the direction in
        words: `coverage 98.2 % (at least 93.1 %)`."""
        unit, at_least = UNITS[self.name]
        if unit == "%":
            digits = _distinguishing_digits(100 * self.value, 100 * self.limit)
            value, limit = f"{100 * self.value:.{digits}f} %", f"{100 * self.limit:.{digits}f} %"
        else:
            # A fractional floor (90 % of a count) is met by the next whole count.
            whole = math.ceil(self.limit) if at_least else math.floor(self.limit)
            value, limit = f"{round(self.value):,} {unit}", f"{whole:,}"
        return f"{self.name} {value} ({'at least' if at_least else 'at most'} {limit})"


# Each gate's unit ("%" for a share, else what it counts) and whether its limit is a floor.
UNITS: dict[str, tuple[str, bool]] = {
    "self_links": ("links", False),
    "hub_share": ("%", False),
    "listed": ("%", True),
    "row_count": ("articles", True),
    "coverage": ("%", True),
    "changed_lists": ("%", False),
    "quality": ("%", True),
}


def _distinguishing_digits(value: float, limit: float) -> int:
    """One decimal, or more when one would show a failing value equal to its limit."""
    for digits in range(1, 4):
        if f"{value:.{digits}f}" != f"{limit:.{digits}f}":
            return digits
    return 1


def check_gates(
    candidate: dict[str, Any],
    live: dict[str, Any] | None,
    changes: dict[str, Any] | None,
    s: TrainSettings,
) -> list[Gate]:
    """Every gate for `candidate` (figures from `evaluate`) against the live model's."""
    gates = [
        Gate("self_links", candidate["self_links"] == 0, candidate["self_links"], 0,
             "no article may be related to itself"),
        Gate("hub_share", candidate["hub_share"] <= s.gate_max_hub_share, candidate["hub_share"],
             s.gate_max_hub_share, f"most-listed article: {candidate['hub']}"),
    ]  # fmt: skip
    if live is None or changes is None:
        return gates
    floor = live["articles"] * (1 - s.gate_max_row_drop)
    coverage_floor = live["coverage"] - s.gate_max_coverage_drop
    quality_floor = quality(live, candidate) - s.gate_max_quality_drop
    return [
        *gates,
        Gate("row_count", candidate["articles"] >= floor, candidate["articles"], floor,
             f"live model has {live['articles']:,} articles"),
        Gate("coverage", candidate["coverage"] >= coverage_floor, candidate["coverage"],
             coverage_floor, f"live model fills {100 * live['coverage']:.1f} % of shown lists"),
        Gate("changed_lists", changes["changed_share"] <= s.gate_max_changed_share,
             changes["changed_share"], s.gate_max_changed_share,
             "share of shown lists that differ from the live model's"),
        Gate("quality", quality(candidate, live) >= quality_floor, quality(candidate, live),
             quality_floor, f"live quality proxy {100 * quality(live, candidate):.1f} %"),
    ]  # fmt: skip


# Below this share of articles with any related article, a model is broken, not weak
# (e.g. a text cut-off that left no vocabulary): every page would show fallbacks only.
MIN_LISTED_SHARE = 0.5


class GateFailure(Exception):
    """A built model failed a gate, so it was not made live."""

    def __init__(self, version: str, failed: list[Gate]) -> None:
        self.version, self.failed = version, failed
        names = ", ".join(f"{g.describe()}: {g.message}" for g in failed)
        super().__init__(f"model {version} failed the gate{'s' * (len(failed) > 1)} {names}")


def publish_gates(candidate: dict[str, Any], s: TrainSettings) -> list[Gate]:
    """The gates a model must pass to go live without a live model to compare with.

    Those of `check_gates` that need no live model, plus a floor on the share of articles
    listed at all. The hub limit is never below `hub_cap_min` lists: the archive's hub cap
    lets one article fill that many, and a small archive has few lists to share.
    """
    articles = max(1, candidate["articles"])
    hub_limit = max(s.gate_max_hub_share, s.hub_cap_min / articles)
    listed = 1.0 - candidate["empty"]
    return [
        *check_gates(candidate, None, None, dataclasses.replace(s, gate_max_hub_share=hub_limit)),
        Gate("listed", listed >= MIN_LISTED_SHARE, listed, MIN_LISTED_SHARE,
             "share of articles with at least one related article"),
    ]  # fmt: skip
