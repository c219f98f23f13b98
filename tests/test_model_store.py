from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from relata import artifact
from relata.artifact import registry
from relata.training.vectorizer_state import load_vectorizer
from tests.conftest import make_app, train_cli
from tests.serving import wait_until

pytestmark = pytest.mark.slow  # every test uses a trained model (see SLOW_FIXTURES)


@pytest.fixture
def store_copy(models: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    shutil.copytree(models, folder)
    return folder


def test_a_tampered_model_file_is_refused(store_copy: Path, sqlite_url: str) -> None:
    version = registry.current_version(store_copy)
    cards = store_copy / version / "cards.bytes.npy"
    cards.write_bytes(cards.read_bytes().replace(b"Mars", b"Venus"))
    client = make_app(store_copy, sqlite_url).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "relata_model_load_failures_total 1.0" in metrics


def test_a_file_outside_the_manifest_is_never_loaded(store_copy: Path) -> None:
    version = registry.current_version(store_copy)
    (store_copy / version / "vectorizer.json").write_bytes(b"not what was checksummed")
    with pytest.raises(artifact.ArtifactError, match=r"checksum mismatch for vectorizer\.json"):
        load_vectorizer(store_copy / version)


def _serve_then_retrain(
    store: Path, archive: Path, database_url: str
) -> tuple[FlaskClient, str, str]:
    """A client of the store's live model, then a retrain: (client, old, new version)."""
    client = make_app(store, database_url).test_client()
    old = client.get("/readyz").get_json()["model_version"]
    train_cli([archive], store)
    new = registry.current_version(store)
    assert new != old
    return client, old, new


def test_a_newly_promoted_model_is_picked_up_without_restart(
    store_copy: Path, archive: Path, sqlite_url: str
) -> None:
    client, _, new = _serve_then_retrain(store_copy, archive, sqlite_url)
    wait_until(lambda: client.get("/readyz").get_json()["model_version"] == new)
    assert client.get("/v1/related/mars-rover-lands").get_json()["model_version"] == new


def _corrupt_version_beside(store: Path, archive: Path, tmp_path: Path) -> str:
    """A version trained on a copy of `store`, damaged, then copied into `store` (not live):
    served apps watch `store`, so it must be damaged before they can see it."""
    other = tmp_path / "other"
    shutil.copytree(store, other)
    train_cli([archive], other)
    version = registry.current_version(other)
    (other / version / "neighbours_index.npy").write_bytes(b"garbage")
    shutil.copytree(other / version, store / version)
    return version


def _point_current_at(store: Path, version: str) -> None:
    """Switch CURRENT to `version` without verifying it (as a damaged disk would)."""
    staged = store / ".CURRENT.test"
    staged.write_text(version + "\n")
    os.replace(staged, store / registry.CURRENT)


def test_a_corrupt_new_model_is_refused_and_the_old_one_keeps_serving(
    store_copy: Path, archive: Path, sqlite_url: str, tmp_path: Path
) -> None:
    client = make_app(store_copy, sqlite_url).test_client()
    old = client.get("/readyz").get_json()["model_version"]
    new = _corrupt_version_beside(store_copy, archive, tmp_path)
    _point_current_at(store_copy, new)
    wait_until(lambda: new in client.get("/readyz").get_json()["refused_versions"])
    response = client.get("/v1/related/mars-rover-lands")
    assert response.status_code == 200 and response.get_json()["model_version"] == old
