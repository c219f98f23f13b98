"""Replicas serving from a shared fsspec store that `relata publish` writes."""

from __future__ import annotations

import uuid
from pathlib import Path

import fsspec
import pytest
from flask import Flask

from relata.artifact import registry
from tests.conftest import cli, invoke, make_app, train_cli

SLUG = "mars-rover-lands"


@pytest.fixture(params=["memory", "file"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store: fsspec's in-memory filesystem, or a local folder by URL."""
    if request.param == "memory":
        return f"memory://relata-{uuid.uuid4().hex}/models"
    return (tmp_path / "store").as_uri()


def _publish(models: Path, url: str, *version: str) -> None:
    result = invoke("publish", "--models", str(models), "--to", url, *version)
    assert result.exit_code == 0, result.output


def _database(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'relata.db'}"
    cli("db", "upgrade", "--database-url", url)
    return url


def _replica(tmp_path: Path, url: str) -> Flask:
    cache = tmp_path / f"replica-{uuid.uuid4().hex[:6]}"
    # No background checks of the store: these tests take each step with `_follow`.
    return make_app(cache, _database(cache), models_url=url, reload_interval=3600.0)


def _follow(app: Flask) -> None:
    app.extensions["relata.store"].load_current()  # what the background timer does


@pytest.mark.slow
def test_replicas_serve_publish_and_rollback_through_the_store(
    archive: Path, tmp_path: Path, store_url: str
) -> None:
    local = tmp_path / "local"
    train_cli([archive], local)
    first = registry.current_version(local)
    replica = _replica(tmp_path, store_url)
    assert replica.test_client().get("/readyz").status_code == 503  # nothing published yet

    _publish(local, store_url)
    _follow(replica)
    served = replica.test_client().get(f"/v1/related/{SLUG}").get_json()
    reference = make_app(local, _database(tmp_path / "ref")).test_client()
    assert served == reference.get(f"/v1/related/{SLUG}").get_json()
    assert served["model_version"] == first

    train_cli([archive], local, "--set", "diversity=1")
    second = registry.current_version(local)
    _publish(local, store_url)
    other = _replica(tmp_path, store_url)  # a second replica, same store
    _follow(replica)
    for app in (replica, other):
        body = app.test_client().get(f"/v1/related/{SLUG}").get_json()
        assert body["model_version"] == second

    _publish(local, store_url, "--version", first)  # rollback, store-wide
    _follow(replica)
    assert replica.test_client().get(f"/v1/related/{SLUG}").get_json()["model_version"] == first


@pytest.mark.slow
def test_a_tampered_version_in_the_store_is_refused(archive: Path, tmp_path: Path) -> None:
    url = f"memory://relata-{uuid.uuid4().hex}/models"
    local = tmp_path / "local"
    train_cli([archive], local)
    first = registry.current_version(local)
    _publish(local, url)
    replica = _replica(tmp_path, url)

    train_cli([archive], local, "--set", "diversity=1")
    second = registry.current_version(local)
    _publish(local, url)
    fs, root = fsspec.core.url_to_fs(url)
    cards = f"{root}/{second}/cards.bytes.npy"
    fs.pipe_file(cards, fs.cat_file(cards).replace(b"Mars", b"Venus"))
    _follow(replica)

    client = replica.test_client()
    assert client.get(f"/v1/related/{SLUG}").get_json()["model_version"] == first
    assert "relata_model_load_failures_total 1.0" in client.get("/metrics").get_data(True)
    cache = Path(replica.extensions["relata.store"].models_dir)
    assert not (cache / second).exists()  # nothing unverified is kept


def test_publishing_without_a_live_model_is_a_clear_error(tmp_path: Path) -> None:
    result = invoke("publish", "--models", str(tmp_path / "empty"), "--to", "memory://x/m")
    assert result.exit_code == 1
    assert "no live model" in result.output
