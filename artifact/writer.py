"""Write a model version folder: every file, its manifest of checksums, its signature.

The folder is built under a temporary name and renamed into place only once every file
is written and read back through the verifying loader, so a crash leaves at most a
`.tmp-*` folder behind and nothing unservable is ever published.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
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
    sha256_file,
    version_folder,
)  # fmt: skip
from relata.artifact.loader import LoadedModel, load_model
from relata.artifact.packed import write_blocks, write_packed
from relata.artifact.slug_index import key_table

if TYPE_CHECKING:
    import scipy.sparse as sp


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1), encoding="utf-8")


def columns(cards: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    """The packed columns of a card table (see `layout.COLUMNS`): what filters and the
    ingest overlay read per row without decoding a card."""
    categories, languages, published = [], [], []
    for card in cards:  # once: a card table decodes every card it yields
        categories.append((card["category"] or "").casefold())
        languages.append(card["language"] or "")
        published.append(card["published_at"] or "")
    return {CATEGORIES: categories, LANGUAGES: languages, PUBLISHED: published}


def write_model(
    models_dir: Path,
    version: str,
    *,
    write_vectorizer: Callable[[Path], None],
    index: np.ndarray,
    score: np.ndarray,
    cards: Sequence[dict[str, Any]],
    features: sp.spmatrix,
    feature_names: Iterable[bytes],
    why: Iterable[tuple[np.ndarray, np.ndarray]],
    fallbacks: dict[str, Any],
    manifest: dict[str, Any],
) -> LoadedModel:
    """Write a complete, verified version folder beside the live ones, unpublished;
    `write_vectorizer(folder)` writes the vectoriser's files (see `layout.MODEL_FILES`);
    `feature_names` are JSON-encoded, as the model stores them.
    Returns the version as loaded (verified once, here) from its final folder."""
    import scipy.sparse as sp

    final = version_folder(models_dir, version)
    models_dir.mkdir(parents=True, exist_ok=True)
    if final.exists():
        raise ArtifactError(f"model version {version} already exists")
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=models_dir))
    try:
        write_vectorizer(tmp)  # the vectoriser's own plain-data writer
        np.save(tmp / INDEX_FILE, np.ascontiguousarray(index, dtype=np.int32))
        np.save(tmp / SCORE_FILE, np.ascontiguousarray(score, dtype=np.float32))
        # A card table is already JSON: written as it is.
        write_packed(
            tmp, CARDS, cards.packed if isinstance(cards, CardTable) else map(orjson.dumps, cards)
        )
        slugs = [card["slug"] for card in cards]
        write_packed(tmp, SLUGS, (slug.encode() for slug in slugs))
        for name, values in columns(cards).items():
            write_packed(tmp, name, (value.encode() for value in values))
        keys, rows = key_table(slugs)
        np.save(tmp / SLUG_KEYS_FILE, keys)
        np.save(tmp / SLUG_ROWS_FILE, rows)
        sp.save_npz(tmp / FEATURES_FILE, features.tocsr(), compressed=False)
        write_packed(tmp, NAMES, feature_names)
        write_blocks(tmp, WHY, why)
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
        model = load_model(tmp, key)  # refuse to publish what could not be served
        os.rename(tmp, final)  # the mapped files stay mapped: same inodes
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return model
