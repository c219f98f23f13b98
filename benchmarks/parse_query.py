"""The read path's hand-tuned `parse_query` against validating the same parameters with
the pydantic model that describes them (`ListParams`) plus building the same
`RelatedQuery` from it (what a model-based parser would do), per call.

    .venv/bin/python benchmarks/parse_query.py [--repeat 5] [--number 20000]

`parse_query` stays on the read path while it is faster; `tests/test_api_models.py`
checks that both accept and refuse the same values.
"""

from __future__ import annotations

import argparse
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from relata.service.api_models import ListParams
from relata.service.params import parse_query
from relata.service.related import RelatedQuery
from relata.service.settings import SETTINGS

CONFIG = {setting.name.upper(): setting.default for setting in SETTINGS}
QUERIES = {
    "no parameters (most calls)": {},
    "limit": {"limit": "4"},
    "limit, fields, category, since": {
        "limit": "4", "fields": "slug,title,url", "category": "politics", "since": "2024-01-01",
    },
}  # fmt: skip


def _parts(text: str | None, fold: bool = False) -> list[str]:
    parts = [part.strip() for part in (text or "").split(",") if part.strip()]
    return [part.casefold() for part in parts] if fold else parts


def via_model(params: dict[str, str]) -> RelatedQuery:
    """The query `parse_query` builds, from the model's validation instead."""
    asked = ListParams.model_validate(params, context=CONFIG)
    return RelatedQuery(
        limit=asked.limit or CONFIG["DEFAULT_LIMIT"],
        fields=tuple(_parts(asked.fields)) if asked.fields else None,
        category=frozenset(_parts(asked.category, fold=True)),
        exclude_category=frozenset(_parts(asked.exclude_category, fold=True)),
        exclude=frozenset(_parts(asked.exclude)),
        since=asked.since,
        until=asked.until,
        older_only=bool(asked.older_only),
        fallbacks=asked.fallbacks,
        min_score=CONFIG["MIN_SCORE"],
        language=asked.language,
    )


def _best_microseconds(call: object, repeat: int, number: int) -> float:
    # CPU time of this process: the figure holds on a machine busy with other work.
    runs = timeit.repeat(call, repeat=repeat, number=number, timer=time.process_time)  # type: ignore[arg-type]
    return min(runs) / number * 1e6


def main() -> None:
    """Print CPU microseconds per call of each parser on each query, best of `--repeat`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timing runs; the best is kept")
    parser.add_argument("--number", type=int, default=20000, help="calls per timing run")
    args = parser.parse_args()
    print(f"{'query':34} {'parse_query µs':>15} {'model µs':>9} {'model/hand':>11}")
    for name, params in QUERIES.items():
        assert via_model(params) == parse_query(params, CONFIG), name
        hand = _best_microseconds(lambda p=params: parse_query(p, CONFIG), args.repeat, args.number)
        model = _best_microseconds(lambda p=params: via_model(p), args.repeat, args.number)
        print(f"{name:34} {hand:15.2f} {model:9.2f} {model / hand:10.1f}×")


if __name__ == "__main__":
    main()
