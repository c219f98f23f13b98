"""Validation gates: a retrained model is promoted only if every gate passes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from training.evaluate import quality
from training.settings import TrainSettings


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
    quality_floor = quality(live) - s.gate_max_quality_drop
    return [
        *gates,
        Gate("row_count", candidate["articles"] >= floor, candidate["articles"], floor,
             f"live model has {live['articles']} articles"),
        Gate("coverage", candidate["coverage"] >= coverage_floor, candidate["coverage"],
             coverage_floor, f"live coverage {live['coverage']:.3f}"),
        Gate("changed_lists", changes["changed_share"] <= s.gate_max_changed_share,
             changes["changed_share"], s.gate_max_changed_share,
             "share of shown lists that differ from the live model's"),
        Gate("quality", quality(candidate) >= quality_floor, quality(candidate), quality_floor,
             f"live quality proxy {quality(live):.3f}"),
    ]  # fmt: skip
