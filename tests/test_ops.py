from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from relata.service.openapi import document
from relata.service.operations import OPERATIONS
from tests.conftest import make_app

pytestmark = pytest.mark.slow  # every test uses a trained model (see SLOW_FIXTURES)


def test_health_and_readiness(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["model_version"]


def test_version_shows_the_live_manifest(client: FlaskClient) -> None:
    body = client.get("/-/version").get_json()
    assert body["model"]["version"] == client.get("/readyz").get_json()["model_version"]
    assert "files" in body["model"] and "flask" in body["service"]


def test_metrics_count_requests_by_route_and_status(client: FlaskClient) -> None:
    client.get("/v1/related/mars-rover-lands")
    client.get("/v1/related/nope")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'relata_requests_total{route="/v1/related/<slug>",status="200"} 1.0' in text
    assert 'relata_requests_total{route="/v1/related/<slug>",status="404"} 1.0' in text
    assert 'relata_request_seconds_bucket{le="0.01",route="/v1/related/<slug>"}' in text
    version = client.get("/readyz").get_json()["model_version"]
    assert f'relata_model_info{{version="{version}"}} 1.0' in text


def test_openapi_describes_every_route(app: Flask, client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    validate(spec)
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.rule.replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, (path, method)
    routes = app.url_map.bind("localhost")
    for path, method in documented:  # and nothing is described that no route answers
        routes.match(re.sub(r"{\w+}", "some-slug", path), method)  # raises when none
    assert spec == document(OPERATIONS, app.config)


def test_openapi_describes_the_configured_bounds(models: Path, sqlite_url: str) -> None:
    app = make_app(models, sqlite_url, max_limit=20, default_limit=4, max_batch=7)
    spec = app.test_client().get("/openapi.json").get_json()
    limit = spec["paths"]["/v1/related/{slug}"]["get"]["parameters"][1]["schema"]
    assert (limit["maximum"], limit["default"]) == (20, 4)
    batch = spec["components"]["schemas"]["BatchRequest"]["properties"]
    assert batch["slugs"]["maxItems"] == 7 and batch["limit"]["maximum"] == 20
    assert spec["components"]["schemas"]["NewPin"]["properties"]["position"]["maximum"] == 20
