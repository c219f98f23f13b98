"""`POST /v1/events`: hard validation (nothing stored unless every event is right), caps
on size and rate, counters upserted on SQLite and PostgreSQL and kept through a clean
shutdown of `relata serve`."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from relata.service.database import Database
from relata.service.events_rate import RateLimiter
from relata.service.stats import report
from tests.conftest import make_app
from tests.serving import get_json, served

SLUG = "mars-rover-lands"


@pytest.fixture
def app(models: Path, database_url: str) -> Flask:
    # Counters are written by hand (`_flush`) so each test sees exactly what it sent.
    return make_app(models, database_url, events_flush_interval=3600)


def _list(client: FlaskClient, slug: str = SLUG) -> dict[str, Any]:
    return client.get(f"/v1/related/{slug}?limit=4").get_json()


def _good(served: dict[str, Any]) -> list[dict[str, Any]]:
    """An impression of `served` and a click on its second card."""
    rid, slug = served["rid"], served["slug"]
    return [
        {"type": "impression", "rid": rid, "slug": slug, "position": len(served["items"])},
        {"type": "click", "rid": rid, "slug": slug, "target": served["items"][1]["slug"],
         "position": 2},
    ]  # fmt: skip


def _post(client: FlaskClient, body: Any, **kwargs: Any) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    # What sendBeacon sends for a string body.
    return client.post("/v1/events", data=data, content_type="text/plain;charset=UTF-8", **kwargs)


def _counts(app: Flask, group: str = "position") -> list[dict[str, Any]]:
    app.extensions["relata.events"].flush()
    database = app.extensions["relata.database"]
    return report(database, date(2000, 1, 1), date(2100, 1, 1), group)["groups"]


def test_events_are_counted_per_version_and_position(app: Flask) -> None:
    client = app.test_client()
    served = _list(client)
    assert served["rid"] == f"{served['model_version']}.live.{SLUG}"
    assert [item["position"] for item in served["items"]] == [1, 2, 3, 4]
    batch = client.post("/v1/related:batch", json={"slugs": [SLUG], "limit": 4}).get_json()
    assert batch["results"][0]["rid"] == served["rid"]
    assert batch["results"][0]["items"] == served["items"]
    response = _post(client, {"events": _good(served)})
    assert response.status_code == 202 and response.get_json() == {"accepted": 2}
    assert _post(client, {"events": _good(served)[1:]}).status_code == 202
    rows = {row["position"]: row for row in _counts(app)}
    assert {p: (r["impressions"], r["clicks"]) for p, r in rows.items()} == {
        1: (1, 0), 2: (1, 2), 3: (1, 0), 4: (1, 0)
    }
    assert {row["model_version"] for row in rows.values()} == {served["model_version"]}
    # A second flush adds to the rows: the upsert never replaces a count.
    assert _post(client, {"events": _good(served)}).status_code == 202
    (whole,) = _counts(app, "model_version")
    assert (whole["impressions"], whole["clicks"]) == (2, 3)


BAD = [
    (b"not json", "bad_json"),
    ([], "bad_event"),
    ({"events": []}, "bad_event"),
    ({"events": "x"}, "bad_event"),
    ({"events": [{}] * 51}, "bad_event"),
    ({"events": [None]}, "bad_event"),
    ({"more": 1, "events": []}, "bad_event"),
]
# Each spoils one field of a good impression or click.
SPOILED = [
    ("type", "view"), ("type", None), ("rid", "x"), ("rid", 5), ("slug", "other-slug"),
    ("slug", "../etc"), ("position", 0), ("position", 51), ("position", True), ("position", 1.5),
    ("position", -3), ("target", "no-such-article"), ("target", 7), ("count", 1000),
]  # fmt: skip


def test_bad_events_are_400_and_nothing_is_stored(app: Flask) -> None:
    client = app.test_client()
    served = _list(client)
    bodies: list[Any] = [body for body, _ in BAD]
    for field, value in SPOILED:
        spoiled = [{**event, field: value} for event in _good(served)]
        bodies.append({"events": [_good(served)[0], spoiled[1]]})  # one bad event spoils all
    other = _list(client, "cup-final-report")["rid"]
    bodies.append({"events": [{**_good(served)[1], "rid": other}]})  # rid of another list
    unknown = served["rid"].replace(served["model_version"], "20200101T000000000000Z-00000000")
    bodies.append({"events": [{**_good(served)[0], "rid": unknown}]})
    bodies.append({"events": [{**_good(served)[0], "target": SLUG}]})  # impressions: no target
    bodies.append({"events": [{**_good(served)[1], "target": None}]})  # clicks: a target
    for body in bodies:
        response = _post(client, body)
        assert response.status_code == 400, (body, response.get_json())
        error = response.get_json()["error"]
        assert error["code"] in ("bad_json", "bad_event") and error["message"], body
    assert _counts(app) == []


def test_oversized_bodies_are_413_even_without_a_length(app: Flask) -> None:
    client = app.test_client()
    served = _list(client)
    big = json.dumps({"events": _good(served) * 25, "pad": " " * 20000}).encode()
    response = _post(client, big)
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "too_large"
    # A chunked body (no Content-Length) as gunicorn hands it over, already de-chunked.
    chunked = client.post(
        "/v1/events", input_stream=io.BytesIO(big), environ_base={"wsgi.input_terminated": True},
        headers={"Transfer-Encoding": "chunked", "Content-Type": "text/plain"},
    )  # fmt: skip
    assert chunked.status_code == 413
    assert _counts(app) == []


def test_a_client_past_its_rate_gets_429(models: Path, sqlite_url: str) -> None:
    app = make_app(models, sqlite_url, events_per_minute=3, events_flush_interval=3600)
    client = app.test_client()
    served = _list(client)
    statuses = [_post(client, {"events": _good(served)}).status_code for _ in range(5)]
    assert statuses == [202, 202, 202, 429, 429]
    other = _post(client, {"events": _good(served)}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 202  # buckets are per client address
    (whole,) = _counts(app, "model_version")
    assert (whole["impressions"], whole["clicks"]) == (4, 4)


def test_rate_limiter_refills_with_time() -> None:
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])
    assert all(limiter.allow("a") for _ in range(60)) and not limiter.allow("a")
    now[0] += 1.0  # one a second
    assert limiter.allow("a") and not limiter.allow("a")


def test_events_can_be_switched_off(models: Path, sqlite_url: str) -> None:
    client = make_app(models, sqlite_url, events=False).test_client()
    response = _post(client, {"events": _good(_list(client))})
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "events_disabled"


def test_raw_events_go_to_the_log_file_when_configured(
    models: Path, sqlite_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "events.jsonl"
    client = make_app(models, sqlite_url, events_log=str(log)).test_client()
    served = _list(client)
    assert _post(client, {"events": _good(served)}).status_code == 202
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(line["type"], line["position"], line["target"]) for line in lines] == [
        ("impression", 4, None), ("click", 2, served["items"][1]["slug"])
    ]  # fmt: skip


def _send(base: str, events: list[dict[str, Any]]) -> int:
    request = urllib.request.Request(
        f"{base}/v1/events", data=json.dumps({"events": events}).encode(),
        headers={"Content-Type": "text/plain"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.slow
def test_counters_survive_a_clean_shutdown(models: Path, database_url: str) -> None:
    # Flushed only at exit: what the database holds afterwards came from the shutdown.
    with served(models, "--database-url", database_url, RELATA_EVENTS_FLUSH_INTERVAL="3600",
                RELATA_EVENTS_PER_MINUTE="1000") as base:  # fmt: skip
        status, listed = get_json(f"{base}/v1/related/{SLUG}?limit=4")
        assert status == 200
        for _ in range(20):  # spread over both workers
            assert _send(base, _good(listed)) == 202
    database = Database(database_url)
    try:
        groups = report(database, date(2000, 1, 1), date(2100, 1, 1), "model_version")["groups"]
    finally:
        database.engine.dispose()
    assert [(g["model_version"], g["impressions"], g["clicks"]) for g in groups] == [
        (listed["model_version"], 20, 20)
    ]
