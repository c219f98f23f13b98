"""`GET /v1/stats` and `relata stats`: CTR per group with its interval, for viewers only,
bad parameters named, and the same figures on the terminal."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from relata.service.database import Database
from relata.service.events_store import Event, EventCounters
from relata.service.stats import wilson
from tests.conftest import cli, invoke, make_app, make_token

OLD, NEW = "20260101T000000000000Z-aaaaaaaa", "20260201T000000000000Z-bbbbbbbb"


def _count(database_url: str) -> None:
    """1,000 lists of 3 cards per variant on 2026-03-01; a: 30 clicks, b: 60, at position 1."""
    database = Database(database_url)
    counters = EventCounters(database)
    for version, variant, clicks in ((OLD, "a", 30), (NEW, "b", 60)):
        shown = Event("impression", version, variant, "s", None, 3)
        clicked = Event("click", version, variant, "s", "t", 1)
        counters.record([shown] * 1000 + [clicked] * clicks, date(2026, 3, 1))
    counters.flush()
    database.engine.dispose()


def test_stats_report_ctr_intervals_and_the_test(models: Path, database_url: str) -> None:
    _count(database_url)
    client = make_app(models, database_url).test_client()
    viewer = {"Authorization": f"Bearer {make_token(database_url, 'viewer')}"}
    response = client.get("/v1/stats?from=2026-03-01&to=2026-03-01&group=variant", headers=viewer)
    assert response.status_code == 200
    body = response.get_json()
    a, b = body["groups"]
    assert (a["model_version"], a["variant"], a["impressions"], a["clicks"]) == (OLD, "a", 1000, 30)
    assert (b["model_version"], b["variant"], b["impressions"], b["clicks"]) == (NEW, "b", 1000, 60)
    assert b["ctr"] == 0.06
    assert (b["ctr_low"], b["ctr_high"]) == pytest.approx(wilson(60, 1000), abs=1e-6)
    assert body["comparison"]["significant"] and body["comparison"]["difference"] == 0.03
    slots = client.get("/v1/stats?from=2026-03-01&group=position", headers=viewer).get_json()
    assert [(g["model_version"], g["position"], g["impressions"], g["clicks"])
            for g in slots["groups"]] == [(OLD, 1, 1000, 30), (OLD, 2, 1000, 0),
                                          (OLD, 3, 1000, 0), (NEW, 1, 1000, 60),
                                          (NEW, 2, 1000, 0), (NEW, 3, 1000, 0)]  # fmt: skip
    outside = client.get("/v1/stats?from=2026-03-02", headers=viewer).get_json()
    assert outside["groups"] == [] and outside["comparison"] is None


def test_stats_need_a_token_and_name_bad_parameters(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/v1/stats").status_code == 401
    token = make_token(client.application.config["DATABASE_URL"], "viewer")
    viewer = {"Authorization": f"Bearer {token}"}
    for query, named in [("group=day", "group"), ("from=yesterday", "from"), ("to=", "to"),
                         ("to=2026-13-01", "to"), ("from=2026-03-02&to=2026-03-01", None),
                         ("to=0001-01-01", None)]:  # fmt: skip
        response = client.get(f"/v1/stats?{query}", headers=viewer)
        if named is None:
            assert response.status_code == 200
            continue
        assert response.status_code == 400, query
        error = response.get_json()["error"]
        assert error["code"] == "bad_parameter" and error["message"].startswith(named)


def test_relata_stats_prints_the_report(sqlite_url: str) -> None:
    _count(sqlite_url)
    out = cli("stats", "--database-url", sqlite_url, "--from", "2026-03-01", "--to",
              "2026-03-01", "--group", "variant")  # fmt: skip
    assert f"{OLD} a" in out and "3.00%" in out and "6.00%" in out
    assert out.strip().splitlines()[-1].endswith("significant at 5 %")
    assert "+3.00 points of CTR" in out
    as_json = json.loads(cli("stats", "--database-url", sqlite_url, "--from", "2026-03-01",
                             "--json"))  # fmt: skip
    assert [g["clicks"] for g in as_json["groups"]] == [30, 60]
    bad = invoke("stats", "--database-url", sqlite_url, "--from", "March")
    assert bad.exit_code == 2 and "ISO date" in bad.output and "Traceback" not in bad.output
