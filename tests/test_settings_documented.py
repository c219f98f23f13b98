from __future__ import annotations

from pathlib import Path

import pytest

from relata.service.settings import SETTINGS, resolve
from relata.training.settings import TrainSettings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_the_readme() -> None:
    for setting in SETTINGS:
        assert f"| `{setting.name}` | `{setting.env}` |" in README, setting.name
    for name, default, _ in TrainSettings.help_table():
        assert f"| `{name}` | `{default}` |" in README, name


def test_environment_overrides_defaults_and_bad_values_are_named() -> None:
    values = resolve(
        {"RELATA_MAX_LIMIT": "20", "RELATA_CORS_ORIGINS": "https://a, https://b"}, None
    )
    assert values["max_limit"] == 20
    assert values["cors_origins"] == ["https://a", "https://b"]
    with pytest.raises(ValueError, match="RELATA_MAX_LIMIT"):
        resolve({"RELATA_MAX_LIMIT": "lots"}, None)
