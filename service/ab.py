"""A/B between two model versions, and the list id (`rid`) every served list carries.

With `ab_versions = "V1,V2"`, a list is served by V1 (variant `a`) or V2 (variant `b`),
chosen by a hash of the source slug, or of a visitor id when the site passes one
(`?visitor=…`). The choice is a pure function of the URL, so a shared cache (a CDN) can
keep one copy per URL and still serve each reader the variant the service would: hashing
the slug splits articles, not readers, and keeps one cached copy per list. Without an
experiment every list is the live model's, variant `live`.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from pathlib import Path

from flask import Flask

from relata import artifact
from relata.service import background

log = logging.getLogger(__name__)

LIVE = "live"
VARIANTS = ("a", "b")
VISITOR = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a site's own visitor id, e.g. a hashed cookie


def list_id(version: str, variant: str, slug: str) -> str:
    """The `rid` of a list: its model version, variant and source slug, dot-separated
    (none of them can hold a dot)."""
    return f"{version}.{variant}.{slug}"


def parse_list_id(rid: str) -> tuple[str, str, str] | None:
    """(version, variant, slug) of a `rid`, or None when it is not one."""
    parts = rid.split(".")
    if len(parts) != 3 or not artifact.is_version(parts[0]):
        return None
    if parts[1] not in (LIVE, *VARIANTS):
        return None
    return parts[0], parts[1], parts[2]


def bucket(key: str, versions: Sequence[str]) -> float:
    """Where `key` falls in [0, 1) for this experiment: uniform, stable across processes
    and releases (sha256, not Python's salted `hash`), and re-drawn for a new pair."""
    digest = hashlib.sha256(f"{','.join(versions)}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign(key: str, versions: Sequence[str], share: float) -> str:
    """The variant of `key`: `b` for a `share` of keys, `a` for the rest."""
    return VARIANTS[1] if bucket(key, versions) < share else VARIANTS[0]


class Experiment:
    """The two versions of an A/B test, loaded and verified off the request path."""

    def __init__(
        self, models_dir: Path, versions: Sequence[str], share: float, signing_key: str = ""
    ) -> None:
        self.models_dir = models_dir
        self.versions = tuple(versions)
        self.share = share
        self.signing_key = signing_key
        self.models: dict[str, artifact.LoadedModel] = {}
        self._refused: set[str] = set()

    @property
    def active(self) -> bool:
        """Both versions are loaded (until then every list is the live model's)."""
        return len(self.versions) == 2 and len(self.models) == 2

    def load(self) -> None:
        """Load whichever version is not loaded yet; a refused one is logged once."""
        for version in self.versions:
            if version in self.models:
                continue
            try:
                folder = artifact.version_folder(self.models_dir, version)
                self.models[version] = artifact.load_model(folder, self.signing_key)
                log.info("A/B: serving model %s as a variant", version)
            except (artifact.ArtifactError, OSError, ValueError, KeyError) as exc:
                if version not in self._refused:
                    log.error("A/B: model %s refused, serving the live model: %s", version, exc)
                    self._refused.add(version)

    def pick(self, slug: str, visitor: str | None) -> tuple[artifact.LoadedModel, str] | None:
        """The model and variant serving this list, or None (no experiment running)."""
        if not self.active:
            return None
        variant = assign(visitor or slug, self.versions, self.share)
        return self.models[self.versions[VARIANTS.index(variant)]], variant


def init_app(app: Flask) -> None:
    """Load the experiment's versions now (a local read, like the live model) and keep
    retrying a refused one in the background."""
    config = app.config
    if not config["AB_VERSIONS"]:
        return
    experiment = Experiment(
        Path(config["MODELS_DIR"]), config["AB_VERSIONS"], config["AB_SHARE"], config["SIGNING_KEY"]
    )
    experiment.load()
    app.extensions["relata.experiment"] = experiment
    background.start(app, experiment.load, config["RELOAD_INTERVAL"], "experiment", at_once=False)
