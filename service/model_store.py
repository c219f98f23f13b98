"""The model store: load the live model version, verify it, and swap in newer ones.

A request never waits for a load: a background timer (see `relata.service.background`) checks
`CURRENT` every `reload_interval` seconds, traffic or not, so every worker swaps within
`reload_interval` plus the load time. A changed version is loaded, verified and prepared
(its overlay of ingested articles built) there before one reference is swapped. A version
that fails to load is refused, logged and remembered; the previous model keeps serving,
or, at a cold start, the newest version in `HISTORY` that verifies (said loudly).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relata import artifact
from relata.artifact import registry, remote
from relata.training.vectorizer_state import load_vectorizer

if TYPE_CHECKING:
    from relata.service.editorial import Snapshot
    from relata.service.overlay import Overlay

log = logging.getLogger(__name__)


Model = artifact.LoadedModel


class ModelStore:
    """Holds the live model of one models folder and follows its `CURRENT` pointer."""

    def __init__(
        self,
        models_dir: Path,
        reload_interval: float,
        models_url: str = "",
        on_change: Callable[[Model | None, Model, bool], None] | None = None,
        on_failure: Callable[[str, str], None] | None = None,
        prepare: Callable[[Model], None] = lambda model: None,
        signing_key: str = "",
    ) -> None:
        self.models_dir = models_dir
        self.models_url = models_url
        self.signing_key = signing_key
        self.reload_interval = reload_interval
        self.model: Model | None = None
        self.failed: dict[str, str] = {}
        # Set while serving a version HISTORY offered because CURRENT's failed at start.
        self.fallback: dict[str, str] | None = None
        self._on_change = on_change
        self._on_failure = on_failure
        self._prepare = prepare
        self._loading = threading.Lock()

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
        with self._loading:  # one load at a time: a second caller finds it done
            return self._load_current()

    def _load_current(self) -> Model | None:
        version = self._current_version()
        if self.model is not None and self.model.version == version:
            if self.fallback is not None:  # CURRENT came round to what the fallback serves
                self._swap(self.model, fallback=None)
            return self.model
        if version is None:
            return self.model
        model = None if version in self.failed else self._load(version)
        if model is not None:
            self._swap(model, fallback=None)
        elif self.model is None and not self.models_url:
            self._fall_back(version)
        return self.model

    def _load(self, version: str) -> Model | None:
        """The verified model `version`, or None (refused, logged and remembered)."""
        try:
            folder = (
                remote.fetch(self.models_url, version, self.models_dir, self.signing_key)
                if self.models_url
                else artifact.version_folder(self.models_dir, version)
            )
            return artifact.load_model(folder, self.signing_key)
        except (artifact.ArtifactError, OSError, ValueError, KeyError) as exc:
            self.failed[version] = str(exc)
            log.error("refused model %s: %s", version, exc)
            if self._on_failure:
                self._on_failure(version, str(exc))
            return None

    def _fall_back(self, version: str) -> None:
        """Cold start on a bad `CURRENT`: serve the newest version in HISTORY that verifies,
        rather than nothing, until `CURRENT` names a good one."""
        for candidate in registry.recent_versions(self.models_dir):
            if candidate == version or candidate in self.failed:
                continue
            model = self._load(candidate)
            if model is not None:
                log.error(
                    "CURRENT names %s, which failed to load (%s); serving %s from HISTORY "
                    "instead: promote a good version or roll back",
                    version, self.failed[version], candidate,
                )  # fmt: skip
                self._swap(model, fallback={"current": version, "serving": candidate,
                                            "reason": self.failed[version]})  # fmt: skip
                return

    def _swap(self, model: Model, fallback: dict[str, str] | None) -> None:
        try:  # before the swap, so the first request on this model finds it ready
            self._prepare(model)
        except Exception:  # a failed overlay must not hold back the model
            log.exception("preparing model %s failed", model.version)
        previous, self.model, self.fallback = self.model, model, fallback
        log.info("serving model %s (%d articles)", model.version, len(model.cards))
        if self._on_change:
            self._on_change(previous, model, fallback is not None)


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
                self._vectorizer = load_vectorizer(folder, self.signing_key)
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
    """Ingested articles folded into a model, built off the request path.

    Keyed by the model version and the snapshot's `articles_revision` (a number, so no
    request hashes any article). `build` runs in the background (or once in the write
    that changed the articles); `get` only looks up, and keeps answering with the overlay
    built last for the model while a newer one is being built.
    """

    KEPT_MODELS = 2  # the live model and the one being swapped in

    def __init__(self, extras: ModelExtras) -> None:
        self.extras = extras
        self._built: dict[str, tuple[int, Overlay | None]] = {}  # version → (revision, overlay)
        self._failed: set[tuple[str, int]] = set()
        self._lock = threading.Lock()

    def get(self, model: Model, snapshot: Snapshot) -> Overlay | None:
        """The newest overlay built for `model` (None when nothing was ingested)."""
        if not snapshot.ingested and not snapshot.deleted:
            return None
        entry = self._built.get(model.version)
        return entry[1] if entry else None

    def build(self, model: Model, snapshot: Snapshot) -> Overlay | None:
        """Build and keep the overlay of `snapshot`'s articles on `model`, unless it is."""
        key = (model.version, snapshot.articles_revision)
        with self._lock:
            entry = self._built.get(model.version)
            if entry is not None and entry[0] == key[1]:
                return entry[1]
            if key in self._failed:  # logged once; retried when the articles change
                return self.get(model, snapshot)
            try:
                overlay = self._overlay(model, snapshot)
            except Exception:
                self._failed.add(key)
                raise
            built = {v: e for v, e in self._built.items() if v != model.version}
            built[model.version] = (key[1], overlay)
            while len(built) > self.KEPT_MODELS:
                del built[next(iter(built))]
            self._built = built  # one reference swap: readers never see a half-built dict
            return overlay

    def _overlay(self, model: Model, snapshot: Snapshot) -> Overlay | None:
        if not snapshot.ingested and not snapshot.deleted:
            return None
        # Imported on first use: it brings pandas and scipy, which serving processes
        # without ingested articles never need.
        from relata.service.overlay import build_overlay

        ingested = list(snapshot.ingested)
        vectors = self.extras.features(model)[0] if ingested else None
        vectorizer = self.extras.vectorizer(model) if ingested else None
        return build_overlay(model, vectors, vectorizer, ingested, snapshot.deleted)
