"""What code produced a model, or is serving it: library versions for manifests."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from importlib import metadata


def library_versions(names: Iterable[str]) -> dict[str, str]:
    """Python's version and each installed distribution's version ("unknown" if absent)."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions
