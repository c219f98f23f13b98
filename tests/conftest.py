from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from relata.cli.main import main
from relata.service import background
from relata.service.app import create_app
from tests.corpus import write_archive
from tests.serving import wait_until

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get(
    "RELATA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


# Fixtures that train a model or start a server: a test using one is `slow`. A test that
# trains or serves by itself, starts worker processes, fits LSA or takes over a second
# carries the mark itself. `scripts/test -m "not slow"` runs the rest in seconds.
SLOW_FIXTURES = frozenset(
    {"models", "demo_models", "mixed_models", "signed", "server", "browser", "cluster"}
)
# A module whose every test is slow says so in one line, which is read without importing it.
WHOLLY_SLOW = re.compile(r"^pytestmark = pytest\.mark\.slow\b", re.MULTILINE)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under `-m "not slow"`, skip importing a wholly slow module: none of its tests would
    run, and its imports (schemathesis, Dask, Selenium) cost the fast tier seconds."""
    if collection_path.suffix != ".py" or config.option.markexpr.strip() != "not slow":
        return None
    return bool(WHOLLY_SLOW.search(collection_path.read_text(encoding="utf-8"))) or None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def train_cli(archives: list[Path], models: Path, *extra: str) -> str:
    """Run `relata train` through the real CLI; returns its output, failing on errors."""
    args = ["train", "--quiet", "--models", str(models)]
    for archive in archives:
        args += ["--archive", str(archive)]
    result = CliRunner().invoke(main, [*args, *extra])
    assert result.exit_code == 0, result.output
    return result.output


def export_cli(models: Path, out: Path, limit: int, database_url: str = "") -> list[dict]:
    """Run `relata export` through the real CLI; returns the lists it wrote."""
    args = ["export", "--models", str(models), "--out", str(out), "--limit", str(limit)]
    args += ["--database-url", database_url] if database_url else []
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text().splitlines()]


@pytest.fixture(scope="session", autouse=True)
def _state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the services' state (the session key) out of the real home folder; served
    children inherit it."""
    folder = tmp_path_factory.mktemp("state")
    before = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(folder)
    yield folder
    if before is None:
        del os.environ["XDG_STATE_HOME"]
    else:
        os.environ["XDG_STATE_HOME"] = before


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


def invoke(*args: str) -> Result:
    """Run any `relata` command through the real CLI, whatever its exit code."""
    return CliRunner().invoke(main, list(args))


def cli(*args: str) -> str:
    """Run any `relata` command through the real CLI; returns its output, failing on errors."""
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.output


def make_token(database_url: str, role: str, name: str | None = None) -> str:
    """A fresh token from `relata tokens create`."""
    name = name or f"{role}-{uuid.uuid4().hex[:8]}"
    args = ["tokens", "create", "--database-url", database_url, "--role", role, "--name", name]
    return cli(*args).strip()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated overrides database: a SQLite file, or a schema on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'relata.db'}"
        cli("db", "upgrade", "--database-url", url)
        yield url
        return
    schema = f"relata_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    try:
        cli("db", "upgrade", "--database-url", url)
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def admin(database_url: str) -> dict[str, str]:
    """Headers carrying a fresh admin token of `database_url`."""
    return {"Authorization": f"Bearer {make_token(database_url, 'admin')}"}


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite overrides database, for tests that are not about the database."""
    url = f"sqlite:///{tmp_path / 'relata.db'}"
    cli("db", "upgrade", "--database-url", url)
    return url


_APPS: list[Flask] = []


@pytest.fixture(autouse=True)
def _close_apps() -> Iterator[None]:
    """Stop the background timers and close the connection pools of the apps a test made
    (psycopg warns otherwise)."""
    yield
    while _APPS:
        app = _APPS.pop()
        background.stop(app)
        app.extensions["relata.database"].engine.dispose()


def make_app(models: Path, database_url: str, **settings: object) -> Flask:
    """The service on `models` and `database_url`, refreshing in the background every
    50 ms, once its first overrides snapshot is read (as a gunicorn worker starts)."""
    config = {
        "models_dir": str(models),
        "database_url": database_url,
        "reload_interval": 0.05,
        "overrides_refresh_interval": 0.05,
        "secret_key": "test-only-key",
        **settings,
    }
    app = create_app(config)
    _APPS.append(app)
    wait_until(app.extensions["relata.editorial"].ready.is_set)
    return app


@pytest.fixture
def app(models: Path, sqlite_url: str) -> Flask:
    return make_app(models, sqlite_url)


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client
