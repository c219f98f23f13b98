"""Read a model version folder back: signature, checksums, then the tables serving maps.

Everything serving reads per request is memory-mapped, so the worker processes share one
copy. Nothing is unpickled: every `.npy` is read with `allow_pickle=False`. Loading
verifies every checksum first, so nothing outside a verified manifest is ever read; given
a signing key, it first checks the manifest's signature (`relata.artifact.signing`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from relata.artifact import signing
from relata.artifact.card_table import CardTable
from relata.artifact.layout import (
    CARDS,
    CATEGORIES,
    FALLBACKS_FILE,
    FEATURES_FILE,
    FORMAT,
    INDEX_FILE,
    LANGUAGES,
    MANIFEST,
    MODEL_FILES,
    NAMES,
    PUBLISHED,
    SCORE_FILE,
    SLUG_KEYS_FILE,
    SLUG_ROWS_FILE,
    SLUGS,
    WHY,
    ArtifactError,
    is_version,
    sha256_file,
)  # fmt: skip
from relata.artifact.packed import CodedColumn, Packed, TextColumn, blob_file, offsets_file
from relata.artifact.slug_index import SlugIndex

if TYPE_CHECKING:
    import scipy.sparse as sp

MIXED_BLOCK = 4096  # rows per block in `_mixed_languages`

# scipy is imported where it is used: serving processes load models without it (and
# without the memory it takes in every worker).


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
    # Per row, as filters read them: case-folded category ("" none), language code,
    # publication time as given ("" undated). See `layout.COLUMNS`.
    categories: Sequence[str] = field(default=(), repr=False)
    languages: Sequence[str] = field(default=(), repr=False)
    published: Sequence[str] = field(default=(), repr=False)
    # Per row, 1 when one of its stored neighbours is in another language than its own;
    # `load_model` derives it from `index` and `languages`, and leaves it empty elsewhere.
    mixed_languages: Sequence[int] = field(default=(), repr=False)


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
        slugs = TextColumn(_packed(folder, SLUGS))
        categories = CodedColumn(_packed(folder, CATEGORIES))
        languages = CodedColumn(_packed(folder, LANGUAGES))
        published = TextColumn(_packed(folder, PUBLISHED))
        rows = SlugIndex(slugs, _mapped(folder / SLUG_KEYS_FILE), _mapped(folder / SLUG_ROWS_FILE))
        index = _mapped(folder / INDEX_FILE)
        score = _mapped(folder / SCORE_FILE)
        why = _packed(folder, WHY)
        names = _packed(folder, NAMES)
        fallbacks = json.loads((folder / FALLBACKS_FILE).read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise ArtifactError(f"{folder.name}: unreadable model file ({exc})") from None
    sizes = {len(cards), len(slugs), index.shape[0], score.shape[0], len(categories),
             len(languages), len(published)}  # fmt: skip
    if len(sizes) != 1 or index.shape != score.shape:
        raise ArtifactError(f"{folder.name}: neighbour table and cards disagree in size")
    return LoadedModel(
        manifest["version"], manifest, cards, index, score, rows, slugs,
        why, len(why) // max(1, len(slugs)), names, fallbacks, categories, languages, published,
        _mixed_languages(folder, languages, index),
    )  # fmt: skip


def _mixed_languages(folder: Path, languages: CodedColumn, index: np.ndarray) -> memoryview:
    """Per row, 1 when a stored neighbour's language is not the row's own. Most rows have
    none (training ranks other languages low, most sites write in one), and their lists
    then need no language test on the model's picks. Read in small blocks of rows:
    larger temporaries would stay in every serving worker's heap after the load."""
    codes, mixed = languages.codes, np.zeros(len(index), dtype=np.uint8)
    for start in range(0, len(index), MIXED_BLOCK):
        block = np.asarray(index[start : start + MIXED_BLOCK])
        if block.size and not -1 <= block.min() <= block.max() < len(index):
            raise ArtifactError(f"{folder.name}: neighbour table names rows it does not have")
        # -1 (no neighbour) reads the last row's code, then is masked out.
        differs = (codes[block] != codes[start : start + len(block), None]) & (block >= 0)
        mixed[start : start + len(block)] = differs.any(axis=1)
    return memoryview(mixed)


def load_features(folder: Path, key: str = "") -> tuple[sp.csr_matrix, list[str]]:
    """The content vectors and their feature names, after verifying the folder (as
    `load_model`)."""
    import scipy.sparse as sp

    verify(folder, key)
    matrix = sp.load_npz(folder / FEATURES_FILE).tocsr()
    return matrix, [orjson.loads(name) for name in _packed(folder, NAMES)]
