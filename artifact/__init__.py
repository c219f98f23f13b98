"""The model artifact: the one thing training hands to serving.

`layout` names every file of a version folder, `writer` writes one, `loader` verifies and
memory-maps one, `packed`/`card_table`/`slug_index` are the tables it holds, `signing`
signs manifests, `registry` keeps a models folder's versions (CURRENT, HISTORY, locks)
and `remote` mirrors versions to and from a shared store. Nothing here imports training
or serving code.
"""

from relata.artifact.layout import (
    FORMAT,
    MANIFEST,
    MODEL_FILES,
    ArtifactError,
    is_version,
    sha256_file,
    version_folder,
)  # fmt: skip
from relata.artifact.loader import LoadedModel, load_features, load_model, read_manifest, verify
from relata.artifact.writer import write_model

__all__ = [
    "FORMAT", "MANIFEST", "MODEL_FILES", "ArtifactError", "LoadedModel", "is_version",
    "load_features", "load_model", "read_manifest", "sha256_file", "verify",
    "version_folder", "write_model",
]  # fmt: skip
