"""Every failure has one shape: {"error": {"code", "message"}}, the right status, no 500."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from relata.service import background
from relata.service.app import create_app

FAILURES = [
    ("GET", "/v1/related/nope", None, 404, "unknown_slug"),
    ("GET", "/v1/related/mars-rover-lands?limit=x", None, 400, "bad_parameter"),
    ("GET", "/v1/related/mars-rover-lands?fields=", None, 400, "bad_parameter"),
    ("GET", "/v1/related/%00%ff", None, 404, "unknown_slug"),
    ("POST", "/v1/related/mars-rover-lands", None, 405, "method_not_allowed"),
    ("POST", "/v1/related:batch", b"[1,2]", 400, "bad_json"),
    ("POST", "/v1/related:batch", b'{"slugs": "a"}', 400, "bad_parameter"),
    (
        "POST",
        "/v1/related:batch",
        b'{"slugs": [' + b'"a",' * 400_000 + b'"a"]}',
        413,
        "request_entity_too_large",
    ),
    (
        "POST",
        "/v1/related:batch",
        b'{"slugs": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        400,
        "bad_json",
    ),
    ("POST", "/v1/related:batch", b'{"slugs": ["\\ud800"]}', 400, "bad_json"),
    ("POST", "/v1/related:batch", b'{"slugs": ["a"], "limit": 1e999}', 400, "bad_json"),
    ("GET", "/no/such/route", None, 404, "not_found"),
    ("DELETE", "/healthz", None, 405, "method_not_allowed"),
]


def _check(response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code and body["error"]["message"]


def test_failing_routes_share_one_error_shape(client: FlaskClient) -> None:
    for method, url, data, status, code in FAILURES:
        response = client.open(url, method=method, data=data, content_type="application/json")
        _check(response, status, code)


def test_without_a_model_the_api_answers_503_no_model(tmp_path: Path) -> None:
    app = create_app({"models_dir": str(tmp_path / "empty")})
    client = app.test_client()
    try:
        for url in ("/v1/related/anything", "/readyz"):
            _check(client.get(url), 503, "no_model")
        _check(client.post("/v1/related:batch", json={"slugs": ["a"]}), 503, "no_model")
        assert client.get("/healthz").status_code == 200
    finally:
        # Its refreshers would otherwise go on logging into later tests' captured logs.
        background.stop(app)
