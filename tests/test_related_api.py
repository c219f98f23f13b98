from __future__ import annotations

import json
from pathlib import Path

from flask.testing import FlaskClient

from relata.training.text import excerpt
from tests.conftest import export_cli, make_app

CARD_KEYS = {
    "slug",
    "title",
    "category",
    "excerpt",
    "url",
    "image",
    "published_at",
    "language",
    "score",
    "source",
    "why",
    "position",
}


def _slugs(response) -> list[str]:
    return [item["slug"] for item in response.get_json()["items"]]


def test_related_list_has_ranked_cards(client: FlaskClient) -> None:
    response = client.get("/v1/related/mars-rover-lands?fallbacks=false")
    assert response.status_code == 200
    body = response.get_json()
    assert body["slug"] == "mars-rover-lands" and body["model_version"]
    assert body["fallbacks"] == 0
    items = body["items"]
    assert 1 <= len(items) <= 6
    assert all(set(item) == CARD_KEYS and item["source"] == "model" for item in items)
    assert items[0]["slug"].startswith("mars-")
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)
    assert "mars-rover-lands" not in _slugs(response)


def test_excerpt_is_cut_at_a_word_boundary() -> None:
    text = "word " * 50
    cut = excerpt(text.strip(), 160)
    assert len(cut) <= 161 and cut.endswith("…") and cut[:-1].endswith("word")


def test_limit_and_fields(client: FlaskClient) -> None:
    response = client.get("/v1/related/mars-rover-lands?limit=2&fields=title,score")
    items = response.get_json()["items"]
    assert len(items) == 2
    assert all(set(item) == {"slug", "position", "title", "score"} for item in items)


def test_filters_apply_to_the_stored_list_and_still_fill(client: FlaskClient) -> None:
    full = _slugs(client.get("/v1/related/mars-rover-lands?limit=3"))
    excluded = _slugs(client.get(f"/v1/related/mars-rover-lands?limit=3&exclude={full[0]}"))
    assert full[0] not in excluded and len(excluded) == 3
    url = "/v1/related/cup-final-report?category=SPACE&limit=50&fallbacks=false"
    only_space = _slugs(client.get(url))
    assert only_space == []
    url = "/v1/related/cup-final-report?category=Sports,food&fallbacks=false"
    sports = client.get(url).get_json()["items"]
    assert sports and all(item["category"] == "sports" for item in sports)
    no_sports = client.get("/v1/related/cup-final-report?exclude_category=sports&limit=50")
    assert all(item["category"] != "sports" for item in no_sports.get_json()["items"])


def test_date_filters(client: FlaskClient) -> None:
    since = client.get("/v1/related/mars-rover-lands?since=2024-01-01&limit=50").get_json()["items"]
    assert since and all(item["published_at"] >= "2024-01-01" for item in since)
    until = client.get("/v1/related/mars-rover-lands?until=2023-12-31&limit=50").get_json()["items"]
    assert until and all(item["published_at"] <= "2023-12-31" for item in until)
    older = client.get("/v1/related/mars-rover-first-photos?older_only=true&limit=50").get_json()
    assert {i["slug"] for i in older["items"]} >= {"mars-rover-lands", "mars-sample-return"}
    assert all(item["published_at"] < "2024-02-20" for item in older["items"])


def test_bad_parameters_are_400_naming_the_parameter(client: FlaskClient) -> None:
    for query, name in [
        ("limit=0", "limit"), ("limit=51", "limit"), ("limit=abc", "limit"),
        ("fields=title,secret", "fields"), ("since=yesterday", "since"),
        ("until=2024-13-01", "until"), ("older_only=maybe", "older_only"),
        ("since=2024-02-01&until=2024-01-01", "since"),
    ]:  # fmt: skip
        response = client.get(f"/v1/related/mars-rover-lands?{query}")
        assert response.status_code == 400, query
        error = response.get_json()["error"]
        assert error["code"] == "bad_parameter" and error["message"].startswith(name), query


def test_unknown_slug_is_404_json(client: FlaskClient) -> None:
    response = client.get("/v1/related/no-such-article")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_slug"


def test_etag_and_conditional_requests(client: FlaskClient) -> None:
    first = client.get("/v1/related/mars-rover-lands")
    etag = first.headers["ETag"]
    assert etag.startswith(f'"{first.get_json()["model_version"]}.')
    cache_control = first.headers["Cache-Control"]
    assert (
        cache_control.startswith("public, max-age=300")
        and "stale-while-revalidate=" in cache_control
    )
    again = client.get("/v1/related/mars-rover-lands", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    changed = client.get("/v1/related/mars-rover-lands", headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200


def test_cors_only_for_configured_origins(models: Path, sqlite_url: str) -> None:
    app = make_app(models, sqlite_url, cors_origins=["https://site.example"])
    client = app.test_client()
    allowed = client.get("/v1/related/mars-rover-lands", headers={"Origin": "https://site.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://site.example"
    assert "ETag" in allowed.headers["Access-Control-Expose-Headers"]
    other = client.get("/v1/related/mars-rover-lands", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_batch_returns_each_slug_in_order(client: FlaskClient) -> None:
    response = client.post(
        "/v1/related:batch",
        json={
            "slugs": ["cup-final-report", "nope", "mars-rover-lands"],
            "limit": 2,
            "fields": ["title"],
        },
    )
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["slug"] for r in results] == ["cup-final-report", "nope", "mars-rover-lands"]
    assert results[1]["error"]["code"] == "unknown_slug"
    single = client.get("/v1/related/cup-final-report?limit=2&fields=title").get_json()["items"]
    assert results[0]["items"] == single



def test_batch_counts_fallbacks_as_the_single_route_does_whatever_the_fields(
    client: FlaskClient,
) -> None:
    # 17 cards from an 18-article corpus: the list fills with fallbacks.
    single = client.get("/v1/related/cup-final-report?limit=17&fields=title").get_json()
    assert single["fallbacks"] > 0
    body = {"slugs": ["cup-final-report"], "limit": 17, "fields": ["title"]}
    result = client.post("/v1/related:batch", json=body).get_json()["results"][0]
    assert (result["items"], result["fallbacks"]) == (single["items"], single["fallbacks"])


def test_batch_rejects_bad_bodies(client: FlaskClient) -> None:
    cases = [
        (b"not json", "bad_json"),
        (json.dumps({"slugs": []}).encode(), "bad_parameter"),
        (json.dumps({"slugs": ["a"] * 101}).encode(), "bad_parameter"),
        (json.dumps({"slugs": ["mars-rover-lands"], "limit": "many"}).encode(), "bad_parameter"),
    ]
    for body, code in cases:
        response = client.post("/v1/related:batch", data=body, content_type="application/json")
        assert response.status_code == 400, body
        assert response.get_json()["error"]["code"] == code


def test_export_writes_the_same_cards_as_the_api(
    models: Path, client: FlaskClient, tmp_path: Path
) -> None:
    lines = export_cli(models, tmp_path / "export.jsonl", 3)
    assert len(lines) == 18
    for line in lines[:5]:
        api = client.get(f"/v1/related/{line['slug']}?limit=3").get_json()["items"]
        assert line["items"] == api
