"""A/B between two model versions: a deterministic split by slug (or visitor), shares
within tolerance, each response naming its variant, events and stats per variant."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from relata.artifact import registry
from relata.service import ab
from relata.service.stats import compare, group_of, report
from tests.conftest import make_app, train_cli

SLUGS = [
    "mars-rover-lands", "cup-final-report", "sourdough-bread-recipe", "election-polls-close",
    "mars-rover-first-photos", "mars-helicopter-flight", "election-results-senate",
]  # fmt: skip


@pytest.fixture(scope="module")
def two_versions(models: Path, archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test models folder with a second version trained beside the first."""
    store = tmp_path_factory.mktemp("ab") / "models"
    shutil.copytree(models, store)
    train_cli([archive], store, "--set", "recency_weight=0.9")
    return store


def _client(store: Path, sqlite_url: str, share: float = 0.5) -> tuple[FlaskClient, list[str]]:
    """The service running the experiment: the older version as a, the newer as b."""
    versions = registry.recent_versions(store)[:2][::-1]
    app = make_app(store, sqlite_url, ab_versions=versions, ab_share=share)
    return app.test_client(), versions


def test_the_split_is_deterministic_and_keeps_its_share_over_many_slugs() -> None:
    versions = ["20260101T000000000000Z-aaaaaaaa", "20260102T000000000000Z-bbbbbbbb"]
    for share in (0.1, 0.5, 0.8):
        slugs = [f"article-{n}" for n in range(20000)]
        variants = [ab.assign(slug, versions, share) for slug in slugs]
        assert variants == [ab.assign(slug, versions, share) for slug in slugs]
        assert abs(variants.count("b") / len(slugs) - share) < 0.015, share
    assert {ab.assign("x", versions, 0.0) for _ in range(3)} == {"a"}
    assert ab.assign("x", versions, 1.0) == "b"
    # A new pair of versions draws the split again.
    moved = [ab.assign(f"article-{n}", versions[::-1], 0.5) for n in range(2000)]
    assert moved != [ab.assign(f"article-{n}", versions, 0.5) for n in range(2000)]


@pytest.mark.slow
def test_each_list_is_served_by_its_variant_and_says_so(
    two_versions: Path, sqlite_url: str
) -> None:
    client, versions = _client(two_versions, sqlite_url)
    assert len(set(versions)) == 2
    seen = set()
    for slug in SLUGS:
        first = client.get(f"/v1/related/{slug}")
        body = first.get_json()
        variant = ab.assign(slug, versions, 0.5)
        assert body["variant"] == variant
        assert body["model_version"] == versions[ab.VARIANTS.index(variant)]
        assert body["rid"] == f"{body['model_version']}.{variant}.{slug}"
        again = client.get(f"/v1/related/{slug}")
        assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
        assert first.headers["ETag"].endswith(f'.{variant}"')
        html = client.get(f"/v1/related/{slug}.html").get_data(as_text=True)
        assert f'data-relata-rid="{body["rid"]}"' in html
        seen.add(variant)
    assert seen == {"a", "b"}
    # A visitor id, when the site passes one, decides instead of the slug.
    for visitor in ("v1", "v2", "v3", "v4", "v5", "v6"):
        body = client.get(f"/v1/related/{SLUGS[0]}?visitor={visitor}").get_json()
        assert body["variant"] == ab.assign(visitor, versions, 0.5)
    bad = client.get(f"/v1/related/{SLUGS[0]}?visitor=not%20a%20visitor%21")
    assert bad.status_code == 400 and "visitor" in bad.get_json()["error"]["message"]


@pytest.mark.slow
def test_events_and_stats_are_kept_per_variant(two_versions: Path, sqlite_url: str) -> None:
    client, versions = _client(two_versions, sqlite_url)
    for slug in SLUGS:
        served = client.get(f"/v1/related/{slug}?limit=3").get_json()
        events = [{"type": "impression", "rid": served["rid"], "slug": slug, "position": 3}]
        if served["variant"] == "b":
            events.append({"type": "click", "rid": served["rid"], "slug": slug,
                           "target": served["items"][0]["slug"], "position": 1})  # fmt: skip
        response = client.post("/v1/events", data=json.dumps({"events": events}))
        assert response.status_code == 202, response.get_json()
    client.application.extensions["relata.events"].flush()
    database = client.application.extensions["relata.database"]
    document = report(database, date(2000, 1, 1), date(2100, 1, 1), "variant")
    by_variant = {g["variant"]: g for g in document["groups"]}
    shown = {v: sum(ab.assign(s, versions, 0.5) == v for s in SLUGS) for v in ("a", "b")}
    assert by_variant["a"]["impressions"] == shown["a"] and by_variant["a"]["clicks"] == 0
    assert by_variant["b"]["impressions"] == by_variant["b"]["clicks"] == shown["b"]
    assert by_variant["a"]["model_version"] == versions[0]
    assert document["comparison"]["a"].endswith("(a)") and document["comparison"]["b"].endswith(
        "(b)"
    )


def test_the_z_test_says_when_a_difference_is_significant() -> None:
    a = group_of("v1", "a", None, 10000, 300)
    clear = compare(a, group_of("v2", "b", None, 10000, 400))
    assert clear["significant"] and clear["p_value"] < 0.001 and clear["difference"] == 0.01
    noise = compare(a, group_of("v2", "b", None, 10000, 310))
    assert not noise["significant"] and noise["p_value"] > 0.5
    assert not compare(a, group_of("v2", "b", None, 0, 0))["significant"]
