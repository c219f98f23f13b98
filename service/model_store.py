"""The model store: load the live model version, verify it, and swap in newer ones.

A request never waits for a load: `poll()` is a cheap, throttled read of `CURRENT`, and a
changed version is loaded and verified in a background thread before one reference is
swapped. A version that fails to load is refused, logged and remembered; the previous
model keeps serving.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from training import artifact

log = logging.getLogger(__name__)


Model = artifact.LoadedModel


class ModelStore:
    """Holds the live model of one models folder and follows its `CURRENT` pointer."""

    def __init__(
        self,
        models_dir: Path,
        reload_interval: float,
        on_change: Callable[[Model | None, Model], None] | None = None,
        on_failure: Callable[[str, str], None] | None = None,
    ) -> None:
        self.models_dir = models_dir
        self.reload_interval = reload_interval
        self.model: Model | None = None
        self.failed: dict[str, str] = {}
        self._on_change = on_change
        self._on_failure = on_failure
        self._lock = threading.Lock()
        self._loading = False
        self._next_check = 0.0

    def load_current(self) -> Model | None:
        """Load the version `CURRENT` names now, unless it is loaded or known bad."""
        version = artifact.current_version(self.models_dir)
        if version is None or version in self.failed:
            return self.model
        if self.model is not None and self.model.version == version:
            return self.model
        try:
            model = artifact.load_model(self.models_dir / version)
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
        """Start a background load when `CURRENT` changed; cheap enough for every request."""
        now = time.monotonic()
        if now < self._next_check:
            return
        with self._lock:
            if self._loading or now < self._next_check:
                return
            self._next_check = now + self.reload_interval
            version = artifact.current_version(self.models_dir)
            current = self.model.version if self.model else None
            if version is None or version == current or version in self.failed:
                return
            self._loading = True
        threading.Thread(target=self._load_in_background, daemon=True).start()

    def _load_in_background(self) -> None:
        try:
            self.load_current()
        finally:
            self._loading = False
