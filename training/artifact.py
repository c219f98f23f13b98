"""The versioned model artifact: one version folder, written, verified and read back.

Layout: `models/<version>/` holds the fitted vectoriser as plain data (JSON, a packed
term table and `.npy` arrays: see `training.vectorizer_state`), the neighbour table
(`.npy`), the cards and feature names (packed pre-encoded JSON, `.npy`), the content
vectors (`.npz`) and `manifest.json` with the sha256 of every file. Everything serving
reads per request is memory-mapped, so the worker processes share one copy. Nothing is
unpickled: every `.npy` is read with `allow_pickle=False`. Loading verifies every
checksum first, so nothing outside a verified manifest is ever read; given a signing key,
it first checks the manifest's signature (`training.signing`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from training import signing
from training.card_table import CardTable
from training.packed import Packed, blob_file, offsets_file, write_packed
from training.slug_index import SlugIndex, SlugList, key_table
from training.vectorizer_state import STATE_FILES, dump_state, load_state

if TYPE_CHECKING:
    import scipy.sparse as sp

# scipy and scikit-learn are imported where they are used: serving processes load models
# without them (and without the memory they take in every worker).

# 2: features.npz, feature_names.json; 3: why_*.npy, fallbacks.json; 4: packed cards,
# feature names and why, slugs.json; 5: the vectoriser as plain data, not joblib
FORMAT = 5
MANIFEST = "manifest.json"
INDEX_FILE = "neighbours_index.npy"
SCORE_FILE = "neighbours_score.npy"
CARDS = "cards"  # packed table: one JSON object per article
SLUGS = "slugs"  # packed table: one UTF-8 slug per article
SLUG_KEYS_FILE = "slug_keys.npy"  # sorted slug keys, and the row of each
SLUG_ROWS_FILE = "slug_rows.npy"
FEATURES_FILE = "features.npz"
NAMES = "feature_names"  # packed table: one JSON string per feature column
WHY = "why"  # packed table: one JSON object (or nothing) per (article, position)
FALLBACKS_FILE = "fallbacks.json"
MODEL_FILES = (
    *STATE_FILES, INDEX_FILE, SCORE_FILE, blob_file(CARDS), offsets_file(CARDS),
    blob_file(SLUGS), offsets_file(SLUGS), SLUG_KEYS_FILE, SLUG_ROWS_FILE,
    FEATURES_FILE, blob_file(NAMES), offsets_file(NAMES), blob_file(WHY), offsets_file(WHY),
    FALLBACKS_FILE,
)  # fmt: skip


# What `training.pipeline` names a version: its UTC creation time, then a digest prefix.
VERSION_PATTERN = re.compile(r"[0-9]{8}T[0-9]{12}Z-[0-9a-f]{8}")


class ArtifactError(Exception):
    """A model folder is missing, incomplete or does not match its manifest."""


def is_version(name: str) -> bool:
    """Whether `name` has the form of a version training makes."""
    return VERSION_PATTERN.fullmatch(name) is not None


def version_folder(models_dir: Path, version: str) -> Path:
    """The folder of `version` in `models_dir`, refusing any name training could not have
    made: a name read from `CURRENT`, `HISTORY`, a store or a command line becomes a path
    only here (so `../x`, `/etc` or an empty name never does)."""
    if not isinstance(version, str) or not is_version(version):
        raise ArtifactError(
            f"not a model version: {version!r} (expected YYYYmmddTHHMMSSffffffZ-<8 hex>)"
        )
    return models_dir / version


@dataclass(frozen=True)
class LoadedModel:
    """What serving needs of one verified model version."""

    version: str
    manifest: dict[str, Any]
    cards: Sequence[dict[str, Any]]  # a CardTable once published
    index: np.ndarray
    score: np.ndarray
    rows: Mapping[str, int] = field(repr=False)  # slug -> row
    slugs: Sequence[str] = field(default=(), repr=False)  # row -> slug
    why: Sequence[bytes] = field(default=(), repr=False)  # JSON per (row, position), row-major
    why_width: int = 0  # positions per row that have a `why`
    names: Sequence[bytes] = field(default=(), repr=False)  # feature names, JSON-encoded
    fallbacks: dict[str, Any] = field(default_factory=dict, repr=False)  # rows, newest first


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1), encoding="utf-8")


def write_model(
    models_dir: Path,
    version: str,
    *,
    vectorizer: Any,
    index: np.ndarray,
    score: np.ndarray,
    cards: list[dict[str, Any]],
    features: sp.spmatrix,
    feature_names: list[str],
    why: Iterable[bytes],
    fallbacks: dict[str, Any],
    manifest: dict[str, Any],
) -> Path:
    """Write a complete, verified version folder beside the live ones, unpublished.

    The folder is built under a temporary name and renamed into place only once every
    file is written and checked, so a crash leaves at most a `.tmp-*` folder behind.
    """
    import scipy.sparse as sp

    final = version_folder(models_dir, version)
    models_dir.mkdir(parents=True, exist_ok=True)
    if final.exists():
        raise ArtifactError(f"model version {version} already exists")
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=models_dir))
    try:
        dump_state(vectorizer, tmp)
        np.save(tmp / INDEX_FILE, np.ascontiguousarray(index, dtype=np.int32))
        np.save(tmp / SCORE_FILE, np.ascontiguousarray(score, dtype=np.float32))
        write_packed(tmp, CARDS, map(orjson.dumps, cards))
        slugs = [card["slug"] for card in cards]
        write_packed(tmp, SLUGS, (slug.encode() for slug in slugs))
        keys, rows = key_table(slugs)
        np.save(tmp / SLUG_KEYS_FILE, keys)
        np.save(tmp / SLUG_ROWS_FILE, rows)
        sp.save_npz(tmp / FEATURES_FILE, features.tocsr(), compressed=False)
        write_packed(tmp, NAMES, map(orjson.dumps, feature_names))
        write_packed(tmp, WHY, why)
        _write_json(tmp / FALLBACKS_FILE, fallbacks)
        files = {name: sha256_file(tmp / name) for name in MODEL_FILES}
        _write_json(
            tmp / MANIFEST, {**manifest, "format": FORMAT, "version": version, "files": files}
        )
        # Read here rather than passed down: every run that writes a version (train,
        # retrain, benchmarks) signs it when the operator has set a key.
        key = signing.environment_key()
        if key:
            signing.sign(tmp / MANIFEST, key)
        load_model(tmp, key)  # refuse to publish what could not be served
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def read_manifest(folder: Path, key: str = "") -> dict[str, Any]:
    """A version folder's manifest (plain JSON: safe to read without verifying), after
    checking its signature when a signing `key` is given."""
    try:
        raw = (folder / MANIFEST).read_bytes()  # read once: what is checked is what is parsed
    except FileNotFoundError:
        raise ArtifactError(f"{folder.name}: no manifest") from None
    except OSError as exc:
        raise ArtifactError(f"{folder.name}: unreadable manifest ({exc})") from None
    if key:
        _check_signature(folder, raw, key)
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise ArtifactError(f"{folder.name}: unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{folder.name}: unreadable manifest (not an object)")
    if manifest.get("format") != FORMAT:
        raise ArtifactError(
            f"{folder.name}: model format {manifest.get('format')!r} is not supported "
            f"(this release reads format {FORMAT} only; train the model again)"
        )
    if not is_version(str(manifest.get("version"))):
        raise ArtifactError(f"{folder.name}: manifest names no valid version")
    return manifest


def _check_signature(folder: Path, manifest: bytes, key: str) -> None:
    try:
        stored = (folder / signing.SIGNATURE_FILE).read_bytes()
    except FileNotFoundError:
        raise ArtifactError(
            f"{folder.name}: unsigned manifest (a signing key is set: only signed versions load)"
        ) from None
    except OSError as exc:
        raise ArtifactError(f"{folder.name}: unreadable signature ({exc})") from None
    if not signing.is_signed(manifest, stored, key):
        raise ArtifactError(f"{folder.name}: manifest signature does not match the signing key")


def verify(folder: Path, key: str = "") -> dict[str, Any]:
    """The folder's manifest, after checking its signature (when a signing `key` is given)
    and every file against its sha256."""
    manifest = read_manifest(folder, key)
    files = manifest.get("files")
    # Exactly the model files: a name of the manifest's own choosing never becomes a path.
    if not isinstance(files, dict) or set(files) != set(MODEL_FILES):
        raise ArtifactError(f"{folder.name}: manifest does not list exactly the model files")
    for name, expected in files.items():
        path = folder / name
        if not path.is_file():
            raise ArtifactError(f"{folder.name}: missing file {name}")
        if sha256_file(path) != expected:
            raise ArtifactError(f"{folder.name}: checksum mismatch for {name}")
    return manifest


def _mapped(path: Path) -> np.ndarray:
    # Memory-mapped, so processes share the pages; viewed as a plain ndarray because
    # np.memmap's per-slice bookkeeping costs more than the lookup itself.
    return np.load(path, mmap_mode="r", allow_pickle=False).view(np.ndarray)


def _packed(folder: Path, name: str) -> Packed:
    return Packed(_mapped(folder / blob_file(name)), _mapped(folder / offsets_file(name)))


def load_model(folder: Path, key: str = "") -> LoadedModel:
    """Verify a version folder (and its signature under `key`, if given), then read what
    serving needs (tables memory-mapped)."""
    manifest = verify(folder, key)
    try:
        cards = CardTable(_packed(folder, CARDS))
        slugs = SlugList(_packed(folder, SLUGS))
        rows = SlugIndex(slugs, _mapped(folder / SLUG_KEYS_FILE), _mapped(folder / SLUG_ROWS_FILE))
        index = _mapped(folder / INDEX_FILE)
        score = _mapped(folder / SCORE_FILE)
        why = _packed(folder, WHY)
        names = _packed(folder, NAMES)
        fallbacks = json.loads((folder / FALLBACKS_FILE).read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise ArtifactError(f"{folder.name}: unreadable model file ({exc})") from None
    sizes = {len(cards), len(slugs), index.shape[0], score.shape[0]}
    if len(sizes) != 1 or index.shape != score.shape:
        raise ArtifactError(f"{folder.name}: neighbour table and cards disagree in size")
    return LoadedModel(
        manifest["version"], manifest, cards, index, score, rows, slugs,
        why, len(why) // max(1, len(slugs)), names, fallbacks,
    )  # fmt: skip


def load_vectorizer(folder: Path, key: str = "") -> Any:
    """The fitted vectoriser of a version folder, after verifying it (as `load_model`),
    rebuilt from plain data (nothing unpickled)."""
    verify(folder, key)
    try:
        return load_state(folder)
    except (ValueError, OSError) as exc:
        raise ArtifactError(f"{folder.name}: unreadable vectoriser ({exc})") from None


def load_features(folder: Path, key: str = "") -> tuple[sp.csr_matrix, list[str]]:
    """The content vectors and their feature names, after verifying the folder (as
    `load_model`)."""
    import scipy.sparse as sp

    verify(folder, key)
    matrix = sp.load_npz(folder / FEATURES_FILE).tocsr()
    return matrix, [orjson.loads(name) for name in _packed(folder, NAMES)]
