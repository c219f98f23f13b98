"""The model artifact's format: one folder per version, and the name of every file in it.

Layout: `models/<version>/` holds the fitted vectoriser as plain data (JSON, a packed
term table and `.npy` arrays, written by `relata.training.vectorizer_state`), the
neighbour table (`.npy`), the cards, slugs and feature names (packed pre-encoded JSON or
UTF-8, `.npy`), the content vectors (`.npz`) and `manifest.json` with the sha256 of every
file. Training writes it (`relata.artifact.writer`), serving reads it
(`relata.artifact.loader`); both name files only through this module.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from relata.artifact.packed import blob_file, offsets_file

# 2: features.npz, feature_names.json; 3: why_*.npy, fallbacks.json; 4: packed cards,
# feature names and why, slugs.json; 5: the vectoriser as plain data, not joblib;
# 6: categories, languages and publication times as packed columns
FORMAT = 6
MANIFEST = "manifest.json"
VECTORIZER_FILE = "vectorizer.json"
VECTORIZER_TERMS = "vectorizer_terms"  # packed table: every part's terms, part after part
VECTORIZER_IDF_FILE = "vectorizer_idf.npy"  # every part's idf_, part after part
INDEX_FILE = "neighbours_index.npy"
SCORE_FILE = "neighbours_score.npy"
CARDS = "cards"  # packed table: one JSON object per article
SLUGS = "slugs"  # packed table: one UTF-8 slug per article
# Packed columns the filters and the ingest overlay read instead of decoding cards:
CATEGORIES = "categories"  # case-folded category ("" for none)
LANGUAGES = "languages"  # language code
PUBLISHED = "published"  # publication time as given, ISO 8601 ("" for undated)
COLUMNS = (CATEGORIES, LANGUAGES, PUBLISHED)
SLUG_KEYS_FILE = "slug_keys.npy"  # sorted slug keys, and the row of each
SLUG_ROWS_FILE = "slug_rows.npy"
FEATURES_FILE = "features.npz"
NAMES = "feature_names"  # packed table: one JSON string per feature column
WHY = "why"  # packed table: one JSON object (or nothing) per (article, position)
FALLBACKS_FILE = "fallbacks.json"
MODEL_FILES = (
    VECTORIZER_FILE, blob_file(VECTORIZER_TERMS), offsets_file(VECTORIZER_TERMS),
    VECTORIZER_IDF_FILE, INDEX_FILE, SCORE_FILE, blob_file(CARDS), offsets_file(CARDS),
    blob_file(SLUGS), offsets_file(SLUGS), SLUG_KEYS_FILE, SLUG_ROWS_FILE,
    FEATURES_FILE, blob_file(NAMES), offsets_file(NAMES), blob_file(WHY), offsets_file(WHY),
    FALLBACKS_FILE, *(name for column in COLUMNS
                      for name in (blob_file(column), offsets_file(column))),
)  # fmt: skip


# What `relata.training.pipeline` names a version: its UTC creation time, a digest prefix.
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


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
