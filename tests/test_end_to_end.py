"""The bundled demo archive, trained through the CLI and served by the real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import export_cli
from tests.serving import get_json, get_text, served

pytestmark = pytest.mark.slow
SEED = "kim-jong-un-us-north-korea-2026"
SITE_PICKS = {"kim-jong-un-party-congress-2026", "trump-kim-jong-un-summit-2025"}


@pytest.fixture(scope="module")
def server(demo_models: Path) -> Iterator[str]:
    """`relata serve` with two gunicorn workers on a free loopback port."""
    with served(demo_models) as base:
        yield base


def test_seed_article_lists_both_of_the_sites_picks(server: str) -> None:
    status, body = get_json(f"{server}/v1/related/{SEED}?limit=6")
    assert status == 200
    assert {item["slug"] for item in body["items"]} >= SITE_PICKS


def test_served_errors_are_json(server: str) -> None:
    status, body = get_json(f"{server}/v1/related/not-an-article")
    assert status == 404 and body["error"]["code"] == "unknown_slug"
    status, body = get_json(f"{server}/v1/related/{SEED}?limit=1000")
    assert status == 400 and body["error"]["code"] == "bad_parameter"


def test_metrics_add_up_across_workers(server: str) -> None:
    for _ in range(10):
        get_json(f"{server}/v1/related/{SEED}")
    text = get_text(f"{server}/metrics")
    prefix = 'relata_requests_total{route="/v1/related/<slug>",status="200"}'
    line = next(line for line in text.splitlines() if line.startswith(prefix))
    assert float(line.split()[-1]) >= 10


def test_every_list_of_the_demo_archive_is_clean(demo_models: Path, tmp_path: Path) -> None:
    lists = export_cli(demo_models, tmp_path / "export.jsonl", 50)
    assert len(lists) == 10_002
    empty = 0
    for entry in lists:
        slugs = [item["slug"] for item in entry["items"]]
        assert entry["slug"] not in slugs
        assert len(slugs) == len(set(slugs))
        empty += not slugs
    assert empty < 10  # only articles sharing no informative term with any other
