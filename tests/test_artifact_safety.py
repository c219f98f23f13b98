"""Model files are data, never code: version names, stored vectoriser state, signatures."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import fsspec
import pytest

from tests.conftest import invoke, make_app
from training import artifact, registry, remote

SLUG = "mars-rover-lands"
HOSTILE_NAMES = [
    "../../etc",
    "/etc/passwd",
    "",
    "..",
    "20260101T000000000000Z-0123abc",  # one hex digit short
    "20260101T000000000000Z-0123abcd/../../x",
    "20260101T000000000000Z-0123abcd\n",
    "２0260101T000000000000Z-0123abcd",  # a digit, but not an ASCII one
]


@pytest.fixture
def store(models: Path, tmp_path: Path) -> Path:
    """A private copy of the session's trained models folder."""
    folder = tmp_path / "models"
    shutil.copytree(models, folder)
    return folder


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_name_training_could_not_make_never_becomes_a_path(tmp_path: Path, name: str) -> None:
    with pytest.raises(artifact.ArtifactError, match="not a model version"):
        artifact.version_folder(tmp_path, name)


def test_a_version_named_outside_the_models_folder_in_current_is_refused(
    store: Path, tmp_path: Path
) -> None:
    live = registry.current_version(store)
    app = make_app(store, f"sqlite:///{tmp_path / 'relata.db'}")
    client = app.test_client()
    assert client.get(f"/v1/related/{SLUG}").get_json()["model_version"] == live

    (store / "CURRENT").write_text("../../etc\n")
    app.extensions["relata.store"].load_current()  # what the background poll does
    assert "../../etc" in client.get("/readyz").get_json()["refused_versions"]
    response = client.get(f"/v1/related/{SLUG}")
    assert response.status_code == 200 and response.get_json()["model_version"] == live


@pytest.mark.parametrize("command", [["promote"], ["evaluate", "--version"]])
def test_a_hostile_version_argument_is_a_one_line_error(store: Path, command: list[str]) -> None:
    result = invoke(*command, "../../etc", "--models", str(store))
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "not a model version" in result.output
    assert "Traceback" not in result.output


def test_a_store_whose_current_names_a_path_is_refused(store: Path, tmp_path: Path) -> None:
    url = f"memory://relata-{uuid.uuid4().hex}/models"
    fs, root = fsspec.core.url_to_fs(url)
    fs.pipe_file(f"{root}/CURRENT", b"../../escape\n")
    cache = tmp_path / "cache"
    with pytest.raises(artifact.ArtifactError, match="not a model version"):
        remote.fetch(url, remote.current_version(url), cache)
    assert not (tmp_path / "escape").exists() and not cache.exists()


def test_a_manifest_naming_a_file_outside_the_model_is_refused(store: Path) -> None:
    folder = store / registry.current_version(store)
    manifest = json.loads((folder / artifact.MANIFEST).read_text())
    manifest["files"]["../../outside"] = "0" * 64
    (folder / artifact.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(artifact.ArtifactError, match="exactly the model files"):
        artifact.verify(folder)
