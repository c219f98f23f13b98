"""Articles between retrains: ingest, update and delete through the API and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from relata import artifact
from relata.artifact import registry
from tests.conftest import cli, export_cli, invoke, make_app, make_token, train_cli

pytestmark = pytest.mark.slow  # every test uses a trained model (see SLOW_FIXTURES)

ROVER = {
    "slug": "mars-rover-finds-water",
    "title": "Mars Rover Finds Signs Of Water In Jezero Crater",
    "summary": "The Perseverance rover found minerals that formed in water on Mars.",
    "category": "space",
    "tags": ["mars", "nasa"],
    "published_at": "2024-06-01",
}


@pytest.fixture
def app(models: Path, database_url: str):
    return make_app(models, database_url)


def _slugs(client: FlaskClient, slug: str) -> list[str]:
    response = client.get(f"/v1/related/{slug}?limit=50")
    assert response.status_code == 200, response.get_json()
    return [item["slug"] for item in response.get_json()["items"]]


def test_an_ingested_article_is_related_both_ways_at_once(client: FlaskClient, admin: dict) -> None:
    response = client.post("/v1/articles", json=ROVER, headers=admin)
    assert response.status_code == 200, response.get_json()
    own = [item["slug"] for item in response.get_json()["related"][ROVER["slug"]]]
    assert own[:3] and set(own[:3]) <= {"mars-rover-lands", "mars-rover-first-photos",
                                        "mars-helicopter-flight", "mars-sample-return"}  # fmt: skip
    assert _slugs(client, ROVER["slug"])[:6] == own[:6]
    assert ROVER["slug"] in _slugs(client, "mars-rover-lands")[:4]
    assert ROVER["slug"] not in _slugs(client, "cup-final-report")


def test_an_update_and_a_delete_take_effect_at_once(client: FlaskClient, admin: dict) -> None:
    rewritten = {"slug": "tennis-open-final", "title": "Mars Rover Drives Across Jezero Crater",
                 "summary": "NASA's rover on Mars crossed the crater floor.", "category": "space",
                 "tags": ["mars"], "published_at": "2024-03-01"}  # fmt: skip
    assert (
        client.post("/v1/articles", json={"articles": [rewritten]}, headers=admin).status_code
        == 200
    )
    items = client.get("/v1/related/mars-rover-lands?limit=50").get_json()["items"]
    card = next(item for item in items if item["slug"] == "tennis-open-final")
    assert card["title"] == rewritten["title"]
    assert _slugs(client, "tennis-open-final")[0].startswith("mars-")

    assert "cup-final-fans" in _slugs(client, "cup-final-report")
    assert client.delete("/v1/articles/cup-final-fans", headers=admin).status_code == 200
    assert "cup-final-fans" not in _slugs(client, "cup-final-report")
    gone = client.get("/v1/related/cup-final-fans")
    assert gone.status_code == 410 and gone.get_json()["error"]["code"] == "deleted"


def test_bad_articles_get_the_archive_validation_errors(
    client: FlaskClient, admin: dict, database_url: str
) -> None:
    cases = [({**ROVER, "slug": "Not A Slug"}, "is not of the form"),
             ({**ROVER, "title": ""}, "missing title"),
             ({**ROVER, "published_at": "soon"}, "not an ISO date"),
             ({**ROVER, "tags": "mars"}, "tags must be a list of strings")]  # fmt: skip
    for body, reason in cases:
        response = client.post("/v1/articles", json={"articles": [ROVER, body]}, headers=admin)
        assert response.status_code == 400
        error = response.get_json()["error"]
        assert error["code"] == "invalid_article" and error["message"].startswith("articles[1]: ")
        assert reason in error["message"]
    assert client.get(f"/v1/related/{ROVER['slug']}").status_code == 404  # nothing stored
    editor = {"Authorization": f"Bearer {make_token(database_url, 'editor')}"}
    assert client.post("/v1/articles", json=ROVER, headers=editor).status_code == 403


@pytest.mark.slow
def test_ingested_articles_survive_a_restart_and_fold_into_the_next_retrain(
    models: Path, archive: Path, tmp_path: Path, database_url: str
) -> None:
    store = tmp_path / "models"
    store.mkdir()
    train_cli([archive], store)
    admin = {"Authorization": f"Bearer {make_token(database_url, 'admin')}"}
    make_app(store, database_url).test_client().post("/v1/articles", json=ROVER, headers=admin)
    restarted = make_app(store, database_url).test_client()
    assert "mars-rover-lands" in _slugs(restarted, ROVER["slug"])

    output = cli("retrain", "--quiet", "--archive", str(archive), "--models", str(store),
                 "--database-url", database_url, "--set", "gate_max_hub_share=0.5")  # fmt: skip
    assert "promoted" in output
    model = artifact.load_model(store / registry.current_version(store))
    assert ROVER["slug"] in model.rows
    assert any(
        model.cards[j]["slug"] == ROVER["slug"] for j in model.index[model.rows["mars-rover-lands"]]
    )


def test_cli_ingest_is_all_or_nothing_and_export_includes_it(
    models: Path, tmp_path: Path, sqlite_url: str
) -> None:
    good = tmp_path / "new.jsonl"
    good.write_text(json.dumps(ROVER) + "\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({**ROVER, "slug": "other-rover"}) + "\n" + json.dumps({"slug": "x"}) + "\n"
    )
    result = invoke("ingest", str(bad), "--models", str(models), "--database-url", sqlite_url)
    assert result.exit_code == 1 and "missing title" in result.output
    assert "ingested 1 articles" in cli("ingest", str(good), "--models", str(models),
                                        "--database-url", sqlite_url)  # fmt: skip
    lists = {
        entry["slug"]: entry["items"]
        for entry in export_cli(models, tmp_path / "e.jsonl", 6, sqlite_url)
    }
    assert "other-rover" not in lists
    assert lists[ROVER["slug"]] and ROVER["slug"] in [i["slug"] for i in lists["mars-rover-lands"]]


def test_cli_ingest_withdraws_an_article_sent_as_a_draft(
    models: Path, tmp_path: Path, sqlite_url: str
) -> None:
    live = tmp_path / "live.jsonl"
    live.write_text(json.dumps(ROVER) + "\n")
    cli("ingest", str(live), "--models", str(models), "--database-url", sqlite_url)
    draft = tmp_path / "draft.jsonl"
    draft.write_text(json.dumps({**ROVER, "status": "draft"}) + "\n")
    output = cli("ingest", str(draft), "--models", str(models), "--database-url", sqlite_url)
    assert "ingested 0 articles, withdrew 1" in output  # said, never dropped silently
    lists = {
        entry["slug"]: entry["items"]
        for entry in export_cli(models, tmp_path / "e.jsonl", 6, sqlite_url)
    }
    assert ROVER["slug"] not in lists
    assert ROVER["slug"] not in [i["slug"] for i in lists["mars-rover-lands"]]
