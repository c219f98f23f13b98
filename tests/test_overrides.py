"""Editors' overrides through the real HTTP app, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from relata.artifact import registry
from tests.conftest import cli, make_app, make_token, train_cli
from tests.corpus import ARTICLES, write_archive
from tests.serving import wait_until

pytestmark = pytest.mark.slow  # every test uses a trained model (see SLOW_FIXTURES)

SOURCE = "mars-rover-lands"


class Editor:
    """A client that speaks to the editor API with one token."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def version(self, scope_url: str) -> int:
        return self.client.get(scope_url, headers=self.headers).get_json()["version"]

    def send(self, method: str, url: str, body: dict | None = None, version: int | None = None,
             scope_url: str | None = None):  # fmt: skip
        if version is None:
            version = self.version(
                scope_url or (url.rsplit("/", 1)[0] if method == "DELETE" else url)
            )
        headers = {**self.headers, "If-Match": f'"{version}"'}
        return self.client.open(url, method=method, json=body, headers=headers)

    def pin(self, source: str, target: str, position: int, **extra):
        url = f"/v1/overrides/{source}"
        body = {"kind": "pin", "target": target, "position": position, "reason": "editor's pick"}
        return self.send("POST", url, {**body, **extra})

    def block(self, source: str, target: str):
        body = {"kind": "block", "target": target, "reason": "off topic"}
        return self.send("POST", f"/v1/overrides/{source}", body)

    def block_everywhere(self, target: str, kind: str = "block"):
        return self.send("POST", "/v1/blocks", {"kind": kind, "target": target, "reason": "legal"})


@pytest.fixture
def app(models: Path, database_url: str):
    return make_app(models, database_url)


@pytest.fixture
def editor(client: FlaskClient, database_url: str) -> Editor:
    return Editor(client, make_token(database_url, "editor"))


def _slugs(client: FlaskClient, slug: str = SOURCE, query: str = "") -> list[str]:
    return [item["slug"] for item in client.get(f"/v1/related/{slug}?{query}").get_json()["items"]]


def _items(client: FlaskClient, slug: str = SOURCE, query: str = "") -> list[dict]:
    return client.get(f"/v1/related/{slug}?{query}").get_json()["items"]


def test_pin_takes_its_position_and_the_list_still_fills(
    client: FlaskClient, editor: Editor
) -> None:
    before = _slugs(client, query="limit=4")
    assert editor.pin(SOURCE, "tennis-open-final", 2).status_code == 200
    items = _items(client, query="limit=4")
    assert [i["slug"] for i in items] == [before[0], "tennis-open-final", *before[1:3]]
    assert items[1]["source"] == "pin" and items[1]["score"] is None
    assert {i["source"] for i in items[:1] + items[2:]} == {"model"}


def test_pin_past_the_end_of_a_short_list_closes_it(client: FlaskClient, editor: Editor) -> None:
    full = _slugs(client, query="limit=50&fallbacks=false")
    editor.pin(SOURCE, "tennis-open-final", 50)
    assert _slugs(client, query="limit=50&fallbacks=false") == [*full, "tennis-open-final"]


def test_block_here_skips_the_target_and_fills_from_the_model(
    client: FlaskClient, editor: Editor
) -> None:
    before = _slugs(client, query="limit=3")
    editor.block(SOURCE, before[0])
    after = _slugs(client, query="limit=3")
    assert before[0] not in after and len(after) == 3 and after[:2] == before[1:]
    # Blocked in this list only: other lists still show it.
    assert before[0] in _slugs(client, "mars-helicopter-flight", "limit=50")


def test_reorder_sets_the_top_of_the_list(client: FlaskClient, editor: Editor) -> None:
    order = ["mars-sample-return", "moon-landing-anniversary", "mars-helicopter-flight"]
    url = f"/v1/overrides/{SOURCE}"
    body = {"slugs": order, "reason": "lead"}
    response = editor.send("PUT", f"{url}/order", body, version=editor.version(url))
    assert response.status_code == 200, response.get_json()
    items = _items(client, query="limit=4")
    assert [i["slug"] for i in items[:3]] == order and items[3]["source"] == "model"


def _pins(client: FlaskClient, editor: Editor) -> dict[str, dict]:
    overrides = client.get(f"/v1/overrides/{SOURCE}", headers=editor.headers).get_json()
    return {o["target"]: o for o in overrides["overrides"] if o["kind"] == "pin"}


def _move(editor: Editor, target: str, position: int, reason: str = "moved"):
    body = {"position": position, "reason": reason}
    url = f"/v1/overrides/{SOURCE}"
    return editor.send("PATCH", f"{url}/{target}", body, scope_url=url)


def test_a_move_changes_only_the_moved_card(client: FlaskClient, database_url: str) -> None:
    alice = Editor(client, make_token(database_url, "editor", name="alice"))
    bob = Editor(client, make_token(database_url, "editor", name="bob"))
    assert alice.pin(SOURCE, "tennis-open-final", 1).status_code == 200
    before, pinned = _slugs(client, query="limit=6"), _pins(client, alice)
    moved = before[4]
    response = _move(bob, moved, 2, "lead story")
    assert response.status_code == 200, response.get_json()
    # The moved card takes position 2; every other card keeps its order around it.
    assert _slugs(client, query="limit=6") == [before[0], moved, *before[1:4], before[5]]
    after = _pins(client, alice)
    assert after["tennis-open-final"] == pinned["tennis-open-final"]  # reason, author, time
    assert (after[moved]["position"], after[moved]["author"], after[moved]["reason"]) == (
        2, "bob", "lead story"
    )  # fmt: skip

    # Moving a pin moves that pin alone; a position another pin holds is refused.
    assert _move(bob, "tennis-open-final", 3).status_code == 200
    assert _pins(client, alice)[moved] == after[moved]
    refused = _move(bob, "tennis-open-final", 2)
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "duplicate"
    assert "pinned to" in refused.get_json()["error"]["message"]
    entries = client.get(f"/v1/audit?scope={SOURCE}", headers=bob.headers).get_json()["entries"]
    assert [(e["action"], e["target"]) for e in entries[:2]] == [
        ("move", "tennis-open-final"), ("move", moved)
    ]  # fmt: skip
    assert entries[0]["before"]["position"] == 1 and entries[0]["after"]["position"] == 3


@pytest.mark.parametrize(
    ("target", "body", "status", "code"),
    [
        ("nope", {"position": 2, "reason": "x"}, 404, "unknown_slug"),
        (SOURCE, {"position": 2, "reason": "x"}, 400, "self_link"),
        ("tennis-open-final", {"position": 0, "reason": "x"}, 400, "bad_parameter"),
        ("tennis-open-final", {"position": 2}, 400, "bad_parameter"),
        ("pasta-sauce-recipe", {"position": 2, "reason": "x"}, 400, "duplicate"),
    ],
)
def test_bad_moves_are_refused_and_change_nothing(
    client: FlaskClient, editor: Editor, target: str, body: dict, status: int, code: str
) -> None:
    url = f"/v1/overrides/{SOURCE}"
    editor.block(SOURCE, "pasta-sauce-recipe")
    before = client.get(url, headers=editor.headers).get_json()
    response = editor.send("PATCH", f"{url}/{target}", body, scope_url=url)
    assert response.status_code == status and response.get_json()["error"]["code"] == code
    assert client.get(url, headers=editor.headers).get_json() == before


def test_reorder_leaves_pins_that_stay_in_place_alone(
    client: FlaskClient, database_url: str
) -> None:
    alice = Editor(client, make_token(database_url, "editor", name="alice"))
    bob = Editor(client, make_token(database_url, "editor", name="bob"))
    alice.pin(SOURCE, "tennis-open-final", 1)
    kept = _pins(client, alice)["tennis-open-final"]
    url = f"/v1/overrides/{SOURCE}"
    body = {"slugs": ["tennis-open-final", "mars-sample-return"], "reason": "second"}
    assert bob.send("PUT", f"{url}/order", body, version=bob.version(url)).status_code == 200
    pins = _pins(client, alice)
    assert pins["tennis-open-final"] == kept
    assert (pins["mars-sample-return"]["author"], pins["mars-sample-return"]["position"]) == (
        "bob", 2
    )  # fmt: skip


def test_block_everywhere_and_unpublish(client: FlaskClient, editor: Editor) -> None:
    assert "mars-helicopter-flight" in _slugs(client, SOURCE, "limit=50")
    assert editor.block_everywhere("mars-helicopter-flight").status_code == 200
    for source in (SOURCE, "mars-rover-first-photos", "mars-sample-return"):
        assert "mars-helicopter-flight" not in _slugs(client, source, "limit=50")
    assert client.get("/v1/related/mars-helicopter-flight").status_code == 200

    assert editor.block_everywhere("mars-sample-return", "unpublish").status_code == 200
    assert "mars-sample-return" not in _slugs(client, SOURCE, "limit=50")
    gone = client.get("/v1/related/mars-sample-return")
    assert gone.status_code == 410 and gone.get_json()["error"]["code"] == "unpublished"
    batch = client.post("/v1/related:batch", json={"slugs": ["mars-sample-return", SOURCE]})
    results = batch.get_json()["results"]
    assert results[0]["error"]["code"] == "unpublished" and results[1]["items"]


def test_expired_overrides_stop_applying(client: FlaskClient, editor: Editor) -> None:
    soon = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
    assert editor.pin(SOURCE, "tennis-open-final", 1, expires_at=soon).status_code == 200
    assert _slugs(client)[0] == "tennis-open-final"
    wait_until(lambda: _slugs(client)[0] != "tennis-open-final", seconds=10)
    listing = editor.client.get(f"/v1/overrides/{SOURCE}", headers=editor.headers).get_json()
    assert listing["overrides"][0]["expired"] is True


def test_etag_changes_only_with_overrides_that_affect_the_list(
    client: FlaskClient, editor: Editor
) -> None:
    mine, other = client.get(f"/v1/related/{SOURCE}"), client.get("/v1/related/cup-final-report")
    editor.pin(SOURCE, "tennis-open-final", 1)
    assert client.get(f"/v1/related/{SOURCE}").headers["ETag"] != mine.headers["ETag"]
    assert client.get("/v1/related/cup-final-report").headers["ETag"] == other.headers["ETag"]
    stale = client.get(f"/v1/related/{SOURCE}", headers={"If-None-Match": mine.headers["ETag"]})
    assert stale.status_code == 200
    editor.block_everywhere("banana-bread-recipe")
    assert client.get("/v1/related/cup-final-report").headers["ETag"] != other.headers["ETag"]


def test_tokens_and_roles(client: FlaskClient, database_url: str) -> None:
    url = f"/v1/overrides/{SOURCE}"
    body = {"kind": "block", "target": "tennis-open-final", "reason": "x"}
    assert client.get(url).status_code == 401
    assert client.get(url).headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get(url, headers={"Authorization": "Bearer rlt_wrong"}).status_code == 401
    viewer = Editor(client, make_token(database_url, "viewer"))
    assert client.get(url, headers=viewer.headers).status_code == 200
    denied = viewer.send("POST", url, body, version=0)
    assert denied.status_code == 403 and denied.get_json()["error"]["code"] == "forbidden"
    editor = Editor(client, make_token(database_url, "editor", name="alice"))
    assert editor.send("POST", url, body, version=0).status_code == 200
    cli("tokens", "revoke", "alice", "--database-url", database_url)
    assert client.get(url, headers=editor.headers).status_code == 401
    assert client.post(f"/v1/related/{SOURCE}", json=body).status_code == 405


def test_if_match_is_required_and_a_stale_version_loses_nothing(
    client: FlaskClient, editor: Editor
) -> None:
    url = f"/v1/overrides/{SOURCE}"
    body = {"kind": "block", "target": "tennis-open-final", "reason": "x"}
    missing = client.post(url, json=body, headers=editor.headers)
    assert (
        missing.status_code == 428
        and missing.get_json()["error"]["code"] == "precondition_required"
    )
    assert editor.send("POST", url, body, version=0).status_code == 200
    again = {**body, "target": "pasta-sauce-recipe"}
    conflict = editor.send("POST", url, again, version=0)
    assert (
        conflict.status_code == 412
        and conflict.get_json()["error"]["code"] == "precondition_failed"
    )
    state = client.get(url, headers=editor.headers)
    assert state.get_json()["version"] == 1 and state.headers["ETag"] == '"1"'
    assert [o["target"] for o in state.get_json()["overrides"]] == ["tennis-open-final"]


PIN = {"kind": "pin", "target": "tennis-open-final", "position": 1, "reason": "x"}
BLOCK = {"kind": "block", "target": "tennis-open-final", "reason": "x"}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({**PIN, "target": "nope"}, 404, "unknown_slug"),
        ({**PIN, "position": 0}, 400, "bad_parameter"),
        ({**PIN, "position": 51}, 400, "bad_parameter"),
        ({**PIN, "reason": ""}, 400, "bad_parameter"),
        ({**PIN, "target": SOURCE}, 400, "self_link"),
        ({**BLOCK, "kind": "star"}, 400, "bad_parameter"),
        ({**BLOCK, "expires_at": "2001-01-01T00:00:00"}, 400, "bad_parameter"),
        ({**BLOCK, "expires_at": "next week"}, 400, "bad_parameter"),
        ({**BLOCK, "target": "pasta-sauce-recipe"}, 400, "duplicate"),
        ({**BLOCK, "reason": "x" * 2_000_000}, 413, "request_entity_too_large"),
    ],
)
def test_bad_overrides_are_refused_and_change_nothing(
    client: FlaskClient, editor: Editor, body: dict, status: int, code: str
) -> None:
    url = f"/v1/overrides/{SOURCE}"
    editor.block(SOURCE, "pasta-sauce-recipe")
    before = client.get(url, headers=editor.headers).get_json()
    response = editor.send("POST", url, body, version=before["version"])
    assert response.status_code == status and response.get_json()["error"]["code"] == code
    assert client.get(url, headers=editor.headers).get_json() == before


def test_every_change_is_in_the_audit_log(client: FlaskClient, database_url: str) -> None:
    editor = Editor(client, make_token(database_url, "editor", name="bob"))
    editor.pin(SOURCE, "tennis-open-final", 1)
    editor.send("DELETE", f"/v1/overrides/{SOURCE}/tennis-open-final", version=1)
    entries = client.get(f"/v1/audit?scope={SOURCE}", headers=editor.headers).get_json()["entries"]
    assert [e["action"] for e in entries] == ["remove_pin", "add_pin"]
    assert all(e["actor"] == "bob" for e in entries)
    assert entries[1]["before"] is None and entries[1]["after"]["position"] == 1
    assert entries[0]["before"]["target"] == "tennis-open-final" and entries[0]["after"] is None


def test_concurrent_edits_lose_nothing_and_conflicts_are_412(
    client: FlaskClient, editor: Editor, app
) -> None:
    url = f"/v1/overrides/{SOURCE}"
    others = [slug for slug, *_ in ARTICLES if slug != SOURCE]
    outcomes: list[int] = []

    def work(targets: list[str]) -> None:
        local = Editor(app.test_client(), editor.headers["Authorization"].split()[1])
        for target in targets:
            while True:  # read, write, and on 412 read again: no edit may be lost
                status = local.send(
                    "POST", url, {"kind": "block", "target": target, "reason": "x"}
                ).status_code
                outcomes.append(status)
                if status != 412:
                    break

    threads = [threading.Thread(target=work, args=(others[i::4][:3],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert set(outcomes) <= {200, 412} and outcomes.count(200) == 12
    state = client.get(url, headers=editor.headers).get_json()
    assert state["version"] == 12 and len(state["overrides"]) == 12


@pytest.mark.slow
def test_pins_survive_a_retrain_and_stale_ones_are_flagged(
    models: Path, tmp_path: Path, archive: Path, database_url: str
) -> None:
    store = tmp_path / "models"
    shutil.copytree(models, store)
    app = make_app(store, database_url)
    client = app.test_client()
    editor = Editor(client, make_token(database_url, "editor"))
    editor.pin(SOURCE, "tennis-open-final", 1)
    editor.pin(SOURCE, "pasta-sauce-recipe", 2)
    smaller = write_archive(
        tmp_path / "smaller.jsonl", [a for a in ARTICLES if a[0] != "pasta-sauce-recipe"]
    )
    output = train_cli([smaller], store, "--database-url", database_url)
    assert "1 overrides are stale" in output
    new = registry.current_version(store)
    wait_until(lambda: client.get("/readyz").get_json()["model_version"] == new, seconds=10)
    assert _slugs(client)[0] == "tennis-open-final"
    stale = client.get("/v1/overrides:stale", headers=editor.headers).get_json()["stale"]
    assert [(s["scope"], s["target"], s["stale"]) for s in stale] == [
        (SOURCE, "pasta-sauce-recipe", "target not in the model")
    ]
    listed = cli("overrides", "stale", "--models", str(store), "--database-url", database_url)
    assert "pasta-sauce-recipe\ttarget not in the model" in listed
    train_cli([archive], store, "--database-url", database_url)  # the article comes back
    assert cli("overrides", "stale", "--models", str(store), "--database-url", database_url) == ""


def test_an_unreachable_database_does_not_break_pages(models: Path) -> None:
    app = make_app(models, "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    client = app.test_client()
    assert client.get(f"/v1/related/{SOURCE}").status_code == 200
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "degraded" and ready["database"].startswith("unavailable")
    assert "relata_database_up 0.0" in client.get("/metrics").get_data(as_text=True)
    token = {"Authorization": "Bearer rlt_anything"}
    response = client.get(f"/v1/overrides/{SOURCE}", headers=token)
    assert (
        response.status_code == 503
        and response.get_json()["error"]["code"] == "database_unavailable"
    )
