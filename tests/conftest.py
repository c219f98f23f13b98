from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from service.app import create_app
from service.cli import main
from tests.corpus import write_archive

ROOT = Path(__file__).resolve().parent.parent


def train_cli(archives: list[Path], models: Path, *extra: str) -> str:
    """Run `relata train` through the real CLI; returns its output, failing on errors."""
    args = ["train", "--quiet", "--models", str(models)]
    for archive in archives:
        args += ["--archive", str(archive)]
    result = CliRunner().invoke(main, [*args, *extra])
    assert result.exit_code == 0, result.output
    return result.output


def export_cli(models: Path, out: Path, limit: int) -> list[dict]:
    """Run `relata export` through the real CLI; returns the lists it wrote."""
    args = ["export", "--models", str(models), "--out", str(out), "--limit", str(limit)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text().splitlines()]


@pytest.fixture(scope="session")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_archive(tmp_path_factory.mktemp("archive") / "articles.jsonl")


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory, archive: Path) -> Path:
    """A model trained once per session on the inline corpus."""
    folder = tmp_path_factory.mktemp("models")
    train_cli([archive], folder)
    return folder


@pytest.fixture(scope="session")
def demo_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained on the bundled demo archive plus the seed example."""
    folder = tmp_path_factory.mktemp("demo-models")
    train_cli([ROOT / "data/articles.jsonl", ROOT / "data/seed/articles.jsonl"], folder)
    return folder


@pytest.fixture
def app(models: Path) -> Flask:
    return create_app({"models_dir": str(models), "reload_interval": 0.0})


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client
