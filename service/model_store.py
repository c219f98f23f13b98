"""The model store: load the live model version, verify it, and swap in newer ones.

A request never waits for a load: `poll()` starts, at most every `reload_interval`
seconds, a background check of `CURRENT`; a changed version is loaded and verified there
before one reference is swapped. A version that fails to load is refused, logged and
remembered; the previous model keeps serving.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from service.background import BackgroundRefresh
from training import artifact, registry

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
        self._refresh = BackgroundRefresh(self.load_current, reload_interval)

    def load_current(self) -> Model | None:
        """Load the version `CURRENT` names now, unless it is loaded or known bad."""
        version = registry.current_version(self.models_dir)
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
        """Check `CURRENT` in the background when due; cheap enough for every request."""
        self._refresh.kick()
