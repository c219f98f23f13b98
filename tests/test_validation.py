"""Editor writes are checked by the models that describe them: through the real HTTP app,
with a narrower `max_limit` than the default, the message names the field and the bound
is the app's setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from tests.conftest import make_app, make_token
from tests.test_overrides import SOURCE, Editor

pytestmark = pytest.mark.slow  # every test uses a trained model (see SLOW_FIXTURES)

TARGET = "tennis-open-final"
PIN = {"kind": "pin", "target": TARGET, "position": 5, "reason": "editor's pick"}


@pytest.fixture
def editor(models: Path, sqlite_url: str) -> Editor:
    client: FlaskClient = make_app(models, sqlite_url, max_limit=5).test_client()
    return Editor(client, make_token(sqlite_url, "editor"))


@pytest.mark.parametrize(
    ("url", "body", "message"),
    [
        (f"/v1/overrides/{SOURCE}", {**PIN, "position": 6}, "position: must be at most 5"),
        (f"/v1/overrides/{SOURCE}", {**PIN, "position": True}, "position: "),
        (f"/v1/overrides/{SOURCE}", {**PIN, "kind": "star"}, "kind: one of 'pin', 'block'"),
        (f"/v1/overrides/{SOURCE}", {**PIN, "kind": ["pin"]}, "kind: one of 'pin', 'block'"),
        (f"/v1/overrides/{SOURCE}", {**PIN, "reason": " \t"}, "reason: "),
        (f"/v1/overrides/{SOURCE}", {**PIN, "target": 7}, "target: "),
        (f"/v1/overrides/{SOURCE}/order", {"slugs": [TARGET] * 6, "reason": "x"},
         "slugs: must be at most 5 items"),
        ("/v1/blocks", {"kind": "hide", "target": TARGET, "reason": "x"}, "kind: "),
        ("/v1/blocks", {"target": TARGET, "reason": "x", "expires_at": "2001-01-01"},
         "expires_at: must be in the future"),
    ],
)  # fmt: skip
def test_a_refused_write_names_the_field(
    editor: Editor, url: str, body: dict, message: str
) -> None:
    method, scope = ("PUT", url.removesuffix("/order")) if url.endswith("/order") else ("POST", url)
    response = editor.send(method, url, body, version=editor.version(scope))
    error = response.get_json()["error"]
    assert response.status_code == 400 and error["code"] == "bad_parameter"
    assert error["message"].startswith(message), error


def test_the_bound_is_the_apps_setting(editor: Editor) -> None:
    assert editor.pin(SOURCE, TARGET, 5).status_code == 200


@pytest.mark.parametrize("tag", ["²", '"2147483648"', "3,4", "W/x"])
def test_if_match_must_be_a_version(editor: Editor, tag: str) -> None:
    headers = {**editor.headers, "If-Match": tag}
    response = editor.client.post(f"/v1/overrides/{SOURCE}", json=PIN, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"].startswith("If-Match: not a version")
