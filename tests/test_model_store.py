from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from service.app import create_app
from tests.conftest import train_cli
from training import artifact, registry


@pytest.fixture
def store_copy(models: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    shutil.copytree(models, folder)
    return folder


def _wait_for(predicate, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_a_tampered_model_file_is_refused(store_copy: Path) -> None:
    version = registry.current_version(store_copy)
    cards = store_copy / version / "cards.bytes.npy"
    cards.write_bytes(cards.read_bytes().replace(b"Mars", b"Venus"))
    client = create_app({"models_dir": str(store_copy)}).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "relata_model_load_failures_total 1.0" in metrics


def test_a_file_outside_the_manifest_is_never_loaded(store_copy: Path) -> None:
    version = registry.current_version(store_copy)
    (store_copy / version / "vectorizer.json").write_bytes(b"not what was checksummed")
    with pytest.raises(artifact.ArtifactError, match=r"checksum mismatch for vectorizer\.json"):
        artifact.load_vectorizer(store_copy / version)


def _serve_then_retrain(store: Path, archive: Path) -> tuple[FlaskClient, str, str]:
    """A client of the store's live model, then a retrain: (client, old, new version)."""
    client = create_app({"models_dir": str(store), "reload_interval": 0.0}).test_client()
    old = client.get("/readyz").get_json()["model_version"]
    train_cli([archive], store)
    new = registry.current_version(store)
    assert new != old
    return client, old, new


def test_a_newly_promoted_model_is_picked_up_without_restart(
    store_copy: Path, archive: Path
) -> None:
    client, _, new = _serve_then_retrain(store_copy, archive)
    _wait_for(lambda: client.get("/readyz").get_json()["model_version"] == new)
    assert client.get("/v1/related/mars-rover-lands").get_json()["model_version"] == new


def test_a_corrupt_new_model_is_refused_and_the_old_one_keeps_serving(
    store_copy: Path, archive: Path
) -> None:
    client, old, new = _serve_then_retrain(store_copy, archive)
    (store_copy / new / "neighbours_index.npy").write_bytes(b"garbage")
    _wait_for(lambda: new in client.get("/readyz").get_json()["refused_versions"])
    response = client.get("/v1/related/mars-rover-lands")
    assert response.status_code == 200 and response.get_json()["model_version"] == old
