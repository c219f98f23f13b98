"""The model store: load the live model version, verify it, and swap in newer ones.

A request never waits for a load: `poll()` starts, at most every `reload_interval`
seconds, a background check of `CURRENT`; a changed version is loaded and verified there
before one reference is swapped. A version that fails to load is refused, logged and
remembered; the previous model keeps serving.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.background import BackgroundRefresh
from training import artifact, registry, remote

if TYPE_CHECKING:
    from training.overlay import Overlay

log = logging.getLogger(__name__)


Model = artifact.LoadedModel


class ModelStore:
    """Holds the live model of one models folder and follows its `CURRENT` pointer."""

    def __init__(
        self,
        models_dir: Path,
        reload_interval: float,
        models_url: str = "",
        on_change: Callable[[Model | None, Model], None] | None = None,
        on_failure: Callable[[str, str], None] | None = None,
        signing_key: str = "",
    ) -> None:
        self.models_dir = models_dir
        self.models_url = models_url
        self.signing_key = signing_key
        self.reload_interval = reload_interval
        self.model: Model | None = None
        self.failed: dict[str, str] = {}
        self._on_change = on_change
        self._on_failure = on_failure
        self._refresh = BackgroundRefresh(self.load_current, reload_interval)

    def _current_version(self) -> str | None:
        if not self.models_url:
            return registry.current_version(self.models_dir)
        try:
            return remote.current_version(self.models_url)
        except (OSError, ValueError) as exc:  # an unreachable store: keep serving
            log.error("model store %s unreadable: %s", self.models_url, exc)
            return None

    def load_current(self) -> Model | None:
        """Load the version `CURRENT` names now, unless it is loaded or known bad."""
        version = self._current_version()
        if version is None or version in self.failed:
            return self.model
        if self.model is not None and self.model.version == version:
            return self.model
        try:
            folder = (
                remote.fetch(self.models_url, version, self.models_dir, self.signing_key)
                if self.models_url
                else artifact.version_folder(self.models_dir, version)
            )
            model = artifact.load_model(folder, self.signing_key)
        except (artifact.ArtifactError, OSError, ValueError, KeyError) as exc:
            self.failed[version] = str(exc)
            log.error("refused model %s: %s", version, exc)
            if self._on_failure:
                self._on_failure(version, str(exc))
            return self.model
        previous, self.model = self.model, model
        log.info("serving model %s (%d articles)", version, len(model.cards))
        if self._on_change:
            self._on_change(previous, model)
        return model

    def poll(self) -> None:
        """Check `CURRENT` in the background when due; cheap enough for every request."""
        self._refresh.kick()


class ModelExtras:
    """What only editors and ingest need of a model (vectoriser, content vectors), loaded
    on first use, verified, and kept for the live version only."""

    def __init__(self, models_dir: Path, signing_key: str = "") -> None:
        self.models_dir = models_dir
        self.signing_key = signing_key
        self._version: str | None = None
        self._features: tuple[Any, list[str]] | None = None
        self._vectorizer: Any = None
        self._lock = threading.Lock()

    def _ensure(self, model: Model) -> None:
        with self._lock:
            if self._version != model.version:
                folder = artifact.version_folder(self.models_dir, model.version)
                self._features = artifact.load_features(folder, self.signing_key)
                self._vectorizer = artifact.load_vectorizer(folder, self.signing_key)
                self._version = model.version

    def features(self, model: Model) -> tuple[Any, list[str]]:
        """The model's content vectors and feature names."""
        self._ensure(model)
        assert self._features is not None
        return self._features

    def vectorizer(self, model: Model) -> Any:
        """The model's fitted vectoriser."""
        self._ensure(model)
        return self._vectorizer


class OverlayCache:
    """The ingested articles folded into the live model, rebuilt when either changes."""

    def __init__(self, extras: ModelExtras) -> None:
        self.extras = extras
        self._key: tuple[str, int] | None = None
        self._overlay: Overlay | None = None
        self._lock = threading.Lock()

    def get(
        self, model: Model, ingested: tuple[dict, ...], deleted: frozenset[str]
    ) -> Overlay | None:
        """The overlay for this model and these ingested articles (None when there are none)."""
        if not ingested and not deleted:
            return None
        key = (model.version, hash((tuple(map(repr, ingested)), deleted)))
        with self._lock:
            if self._key != key:
                # Imported on first use: it brings pandas and scipy, which serving
                # processes without ingested articles never need.
                from training.overlay import build_overlay

                vectors = self.extras.features(model)[0] if ingested else None
                vectorizer = self.extras.vectorizer(model) if ingested else None
                self._overlay = build_overlay(model, vectors, vectorizer, list(ingested), deleted)
                self._key = key
            return self._overlay
