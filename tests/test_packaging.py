"""The installed package: one import name, and a command line that starts fast."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # Run from an empty folder: only what is installed is importable, not the checkout.
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True)


@pytest.mark.parametrize("name", ["service", "training", "artifact", "cli"])
def test_no_generic_top_level_module_is_installed(tmp_path: Path, name: str) -> None:
    result = _python(f"import {name}", tmp_path)
    assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr


@pytest.mark.slow  # imports every library in a fresh interpreter
def test_everything_imports_under_relata(tmp_path: Path) -> None:
    code = (
        "import relata.artifact, relata.cli.main, relata.service.app, relata.training.pipeline;"
        "print(relata.service.app.__name__)"
    )
    result = _python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "relata.service.app"


def test_help_does_not_import_the_heavy_libraries(tmp_path: Path) -> None:
    # What makes `relata --help` slow is importing these up front; each command imports
    # what it uses when it runs.
    code = (
        "import sys; from click.testing import CliRunner; from relata.cli.main import main;"
        "result = CliRunner().invoke(main, ['--help']); assert result.exit_code == 0;"
        "print(' '.join(m for m in ('sklearn', 'pandas', 'scipy', 'sqlalchemy', 'flask',"
        " 'matplotlib') if m in sys.modules))"
    )
    result = _python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
