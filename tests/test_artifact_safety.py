"""Model files are data, never code: version names, stored vectoriser state, signatures."""

from __future__ import annotations

import ast
import json
import pickle
import re
import shutil
import uuid
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from relata import artifact
from relata.artifact import layout, registry, remote, signing
from relata.training.archive import load_archive
from relata.training.features import ArticleVectorizer
from relata.training.vectorizer_state import (
    STATE_FILE,
    StateError,
    dump_state,
    load_state,
    load_vectorizer,
)
from tests.conftest import ROOT, invoke, make_app, train_cli

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


def test_a_history_naming_a_path_is_never_rolled_back_to(store: Path) -> None:
    live = registry.current_version(store)
    (store / "etc").mkdir()
    (store / "etc" / artifact.MANIFEST).write_text("{}")
    with (store / "HISTORY").open("a") as history:
        history.write(json.dumps({"at": "", "action": "promote", "version": live,
                                  "previous": "../models/etc"}) + "\n")  # fmt: skip
    result = invoke("rollback", "--models", str(store))
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert registry.current_version(store) == live


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


def _articles(archive: Path) -> pd.DataFrame:
    return load_archive([archive], 0.01).articles


def _same(a: sp.csr_matrix, b: sp.csr_matrix) -> bool:
    """Bit for bit: shape, dtype, structure and every stored value."""
    return (
        a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a.indptr, b.indptr)
        and np.array_equal(a.indices, b.indices) and np.array_equal(a.data, b.data)
    )  # fmt: skip


@pytest.mark.parametrize(
    "params", [{}, {"min_df": 1, "max_df": 1.0, "ngram_max": 1}, {"tag_weight": 0.0}]
)
def test_the_stored_vectoriser_state_rebuilds_it_bit_for_bit(
    archive: Path, tmp_path: Path, params: dict[str, float]
) -> None:
    articles = _articles(archive)
    fitted = ArticleVectorizer(**params).fit(articles)
    dump_state(fitted, tmp_path)
    rebuilt = load_state(tmp_path)
    assert _same(rebuilt.transform(articles), fitted.transform(articles))
    assert rebuilt.feature_names() == fitted.feature_names()
    assert rebuilt.get_params() == fitted.get_params()


def test_serving_and_ingest_read_a_model_without_unpickling(
    models: Path, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = models / registry.current_version(models)
    assert not [p.name for p in folder.iterdir() if p.suffix in (".joblib", ".pkl", ".pickle")]

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("something was unpickled")

    for name in ("load", "loads", "Unpickler", "_Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    artifact.load_model(folder)
    vectorizer = load_vectorizer(folder)
    articles = _articles(archive)
    fresh = ArticleVectorizer(**vectorizer.get_params()).fit(articles)
    fresh.tag_scale_ = vectorizer.tag_scale_  # what calibration chose at train time
    assert _same(vectorizer.transform(articles), fresh.transform(articles))


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"analyzer": {"function": "eval"}}, "not in the whitelist"),
        ({"analyzer": "builtins.eval"}, "not in the whitelist"),
        ({"tokenizer": "os.system"}, "tokenizer"),
        ({"input": "filename"}, "input='content'"),
        ({"dtype": "object"}, "unsupported dtype"),
        ({"__reduce__": 1}, "unknown vectoriser parameters"),
    ],
)
def test_a_state_naming_code_or_files_is_refused(
    archive: Path, tmp_path: Path, change: dict[str, object], refusal: str
) -> None:
    dump_state(ArticleVectorizer().fit(_articles(archive)), tmp_path)
    path = tmp_path / STATE_FILE
    state = json.loads(path.read_text())
    state["parts"][-1]["params"].update(change)
    path.write_text(json.dumps(state))
    with pytest.raises(StateError, match=re.escape(refusal)):
        load_state(tmp_path)


def test_a_model_of_an_older_format_is_refused_by_name(store: Path) -> None:
    folder = store / registry.current_version(store)
    manifest = json.loads((folder / artifact.MANIFEST).read_text())
    (folder / artifact.MANIFEST).write_text(json.dumps({**manifest, "format": 4}))
    with pytest.raises(artifact.ArtifactError, match="model format 4 is not supported"):
        artifact.load_model(folder)


def test_a_neighbour_table_naming_a_row_the_model_lacks_is_refused(store: Path) -> None:
    # Unsigned, a folder's files and checksums are whatever its writer made them.
    folder = store / registry.current_version(store)
    index = np.load(folder / layout.INDEX_FILE)
    index[3, 0] = len(index)
    np.save(folder / layout.INDEX_FILE, index)
    manifest = json.loads((folder / artifact.MANIFEST).read_text())
    manifest["files"][layout.INDEX_FILE] = artifact.sha256_file(folder / layout.INDEX_FILE)
    (folder / artifact.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(artifact.ArtifactError, match="names rows it does not have"):
        artifact.load_model(folder)


FORBIDDEN_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "shelve", "marshal"}


def _served_modules() -> list[Path]:
    """Every module of `service/` and `artifact/`, and every `relata` module they import,
    transitively."""
    todo = sorted([*(ROOT / "service").rglob("*.py"), *(ROOT / "artifact").rglob("*.py")])
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if not name.startswith("relata."):
                    continue
                candidate = ROOT / (name.removeprefix("relata.").replace(".", "/") + ".py")
                if candidate.is_file():
                    todo.append(candidate)
    return sorted(seen)


def _unsafe_loads(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = {a.name for a in node.names} if isinstance(node, ast.Import) else set()
            if isinstance(node, ast.ImportFrom):
                modules.add(node.module or "")
                if node.module == "joblib" and any(a.name == "load" for a in node.names):
                    found.append(f"{path.name}:{node.lineno} from joblib import load")
            found += [f"{path.name}:{node.lineno} imports {m}" for m in modules
                      if m.split(".")[0] in FORBIDDEN_MODULES]  # fmt: skip
        elif isinstance(node, ast.Attribute) and node.attr in ("load", "read_pickle"):
            owner = node.value.id if isinstance(node.value, ast.Name) else ""
            if owner == "joblib" or node.attr == "read_pickle":
                found.append(f"{path.name}:{node.lineno} {owner}.{node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value.id if isinstance(node.func.value, ast.Name) else ""
            safe = any(k.arg == "allow_pickle" and isinstance(k.value, ast.Constant)
                       and k.value.value is False for k in node.keywords)  # fmt: skip
            if owner in ("np", "numpy") and node.func.attr == "load" and not safe:
                found.append(f"{path.name}:{node.lineno} np.load without allow_pickle=False")
    return found


def test_nothing_the_service_imports_unpickles() -> None:
    modules = _served_modules()
    names = {path.name for path in modules}
    assert {"loader.py", "vectorizer_state.py", "overlay.py", "model_store.py"} <= names
    assert [line for path in modules for line in _unsafe_loads(path)] == []


KEY = "test-signing-key"


@pytest.fixture
def signed(archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A models folder whose live version was trained with a signing key set."""
    monkeypatch.setenv(signing.KEY_VARIABLE, KEY)
    folder = tmp_path / "signed"
    train_cli([archive], folder)
    return folder


def test_training_with_a_key_signs_and_a_wrong_or_missing_signature_is_refused(
    signed: Path,
) -> None:
    folder = signed / registry.current_version(signed)
    assert artifact.load_model(folder, KEY).version == folder.name
    with pytest.raises(artifact.ArtifactError, match="signature does not match"):
        artifact.load_model(folder, "another-key")
    (folder / signing.SIGNATURE_FILE).unlink()
    with pytest.raises(artifact.ArtifactError, match="unsigned manifest"):
        artifact.verify(folder, KEY)
    artifact.verify(folder)  # without a key, only the checksums are checked


@pytest.mark.slow
def test_a_rewritten_manifest_is_refused_and_the_previous_model_keeps_serving(
    signed: Path, archive: Path, tmp_path: Path
) -> None:
    live = registry.current_version(signed)
    app = make_app(signed, f"sqlite:///{tmp_path / 'relata.db'}", signing_key=KEY)
    client = app.test_client()
    assert client.get(f"/v1/related/{SLUG}").get_json()["model_version"] == live

    # Whoever can write the folder can change a file and its checksum, not the signature.
    train_cli([archive], signed)
    new = registry.current_version(signed)
    cards = signed / new / "cards.bytes.npy"
    cards.write_bytes(cards.read_bytes().replace(b"Mars", b"Venus"))
    manifest = json.loads((signed / new / artifact.MANIFEST).read_text())
    manifest["files"]["cards.bytes.npy"] = artifact.sha256_file(cards)
    (signed / new / artifact.MANIFEST).write_text(json.dumps(manifest))
    app.extensions["relata.store"].load_current()

    assert new in client.get("/readyz").get_json()["refused_versions"]
    body = client.get(f"/v1/related/{SLUG}").get_json()
    assert body["model_version"] == live
    assert "Venus" not in json.dumps(body)


@pytest.mark.slow
def test_a_replica_with_a_key_refuses_unsigned_versions_from_the_store(
    models: Path, archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"memory://relata-{uuid.uuid4().hex}/models"
    local = tmp_path / "local"
    shutil.copytree(models, local)
    assert invoke("publish", "--models", str(local), "--to", url).exit_code == 0
    cache = tmp_path / "cache"
    replica = make_app(cache, f"sqlite:///{tmp_path / 'relata.db'}", models_url=url,
                       signing_key=KEY)  # fmt: skip
    client = replica.test_client()
    assert client.get("/readyz").status_code == 503  # published unsigned: refused

    monkeypatch.setenv(signing.KEY_VARIABLE, KEY)  # training and publishing hold the key
    train_cli([archive], local)
    result = invoke("publish", "--models", str(local), "--to", url)
    assert result.exit_code == 0, result.output
    replica.extensions["relata.store"].load_current()  # what the background poll does
    body = client.get(f"/v1/related/{SLUG}").get_json()
    assert body["model_version"] == registry.current_version(local)

    # Publishing with a key signs a version trained without one, in the store too.
    first = registry.list_versions(local)[0]
    assert invoke("publish", "--models", str(local), "--to", url, "--version", first).exit_code == 0
    fs, root = fsspec.core.url_to_fs(url)
    manifest, stored = (fs.cat_file(f"{root}/{first}/{name}")
                        for name in (artifact.MANIFEST, signing.SIGNATURE_FILE))  # fmt: skip
    assert signing.is_signed(manifest, stored, KEY)


def test_promote_with_a_key_refuses_an_unsigned_version(
    models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = tmp_path / "local"
    shutil.copytree(models, local)
    monkeypatch.setenv(signing.KEY_VARIABLE, KEY)
    result = invoke("promote", registry.current_version(local), "--models", str(local))
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "unsigned manifest" in result.output
