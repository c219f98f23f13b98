"""Options and helpers shared by the `relata` commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from relata.artifact import LoadedModel
    from relata.service.database import Database
    from relata.service.editorial import Snapshot
    from relata.training.pipeline import Source
    from relata.training.settings import TrainSettings

# Every import of the service, training or artifact code happens inside the function that
# needs it: `relata --help` and the light commands then start without pandas,
# scikit-learn, SQLAlchemy or Flask.

MODELS = click.option(
    "--models",
    "models_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("models"),
    show_default=True,
    help="Folder of model versions.",
)
ARCHIVES = click.option(
    "--archive",
    "archives",
    multiple=True,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Archive file (.jsonl, .csv or .parquet); repeat to train on several.",
)
SETTINGS = click.option(
    "--set", "pairs", multiple=True, metavar="NAME=VALUE", help="Override a training setting."
)
CLICKS_KEPT = timedelta(days=365)  # older clicks weigh next to nothing for popularity
DATABASE = click.option(
    "--database-url",
    envvar="RELATA_DATABASE_URL",
    default="",
    help="Overrides database (SQLAlchemy URL) [default: SQLite file relata.db in --models].",
)


def one_line(exc: Exception) -> str:
    """A database error as one line: its class and the driver's first line (SQLAlchemy
    appends the SQL and a link on further lines)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return f"{exc.__class__.__name__}: {text.splitlines()[0] if text else 'failed'}"


@contextmanager
def open_database(models_dir: Path, url: str, create: bool = False) -> Iterator[Database]:
    """The overrides database (`url`, or the default beside the models), closed afterwards.

    Without a URL the default must exist unless `create` (`db upgrade`): a command run
    in the wrong folder must not leave a stray database there. A bad URL or a database
    failure becomes a one-line error.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from relata.service.database import Database, default_url

    if not create and no_database(models_dir, url):
        raise click.ClickException(
            f"no overrides database in {models_dir} (run `relata db upgrade --models "
            f"{models_dir}`, or give --database-url)"
        )
    try:
        target = Database(url or default_url(models_dir))
    except (SQLAlchemyError, ValueError) as exc:
        raise click.ClickException(f"--database-url: {one_line(exc)}") from None
    try:
        yield target
    except SQLAlchemyError as exc:
        raise click.ClickException(f"database error: {one_line(exc)}") from None
    finally:
        target.engine.dispose()


def live_model(models_dir: Path) -> LoadedModel:
    """The verified live model, or a one-line error."""
    from relata import artifact
    from relata.artifact import registry, signing

    version = registry.current_version(models_dir)
    if version is None:
        raise click.ClickException(f"no live model in {models_dir} (train one first)")
    try:
        folder = artifact.version_folder(models_dir, version)
        return artifact.load_model(folder, signing.environment_key())
    except artifact.ArtifactError as exc:
        raise click.ClickException(str(exc)) from None


def no_database(models_dir: Path, url: str) -> bool:
    """No URL given and no default database file: nothing was ever stored (and reading
    must not create it)."""
    from relata.service.database import DATABASE_FILE

    return not url and not (models_dir / DATABASE_FILE).exists()


def overrides_snapshot(models_dir: Path, url: str) -> Snapshot | None:
    """Every active override, or None when there is no overrides database yet."""
    from relata.service.editorial import build_snapshot
    from relata.service.overrides import Overrides

    if no_database(models_dir, url):
        return None
    with open_database(models_dir, url) as target:
        return build_snapshot(Overrides(target))


def train_settings(pairs: tuple[str, ...]) -> TrainSettings:
    """The default training settings with `--set NAME=VALUE` pairs applied."""
    from relata.training.settings import TrainSettings

    overrides = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--set")
        overrides[name.strip()] = value.strip()
    try:
        return TrainSettings().with_overrides(overrides)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--set") from None


def progress(quiet: bool) -> Callable[[str, int], Callable[[int], None]]:
    """A tqdm progress bar per long step, on standard error (none with --quiet)."""
    from tqdm import tqdm


    def start(step: str, total: int) -> Callable[[int], None]:
        bar = tqdm(total=total, desc=step, unit="article", disable=quiet or None, leave=False)

        def advance(n: int) -> None:
            bar.update(n)
            if bar.n >= total:
                bar.close()

        return advance

    return start


def training_source(archives: tuple[Path, ...], models_dir: Path, url: str) -> Source:
    """The archive files plus what was ingested since the last retrain (if a database is
    there)."""
    from sqlalchemy import inspect

    from relata.service.events_store import article_clicks
    from relata.service.ingest import Articles
    from relata.service.schema import ArticleCount, IngestedArticle
    from relata.training.pipeline import Source

    if no_database(models_dir, url):
        return Source(archives)
    with open_database(models_dir, url) as target:
        if not inspect(target.engine).has_table(IngestedArticle.__tablename__):
            return Source(archives)  # a database never migrated holds nothing ingested
        ingested, deleted = Articles(target).everything()
        clicks = ()
        if inspect(target.engine).has_table(ArticleCount.__tablename__):
            clicks = article_clicks(target, datetime.now(UTC).date() - CLICKS_KEPT)
    return Source(archives, tuple(ingested), deleted, clicks)


DASK = click.option(
    "--dask-scheduler",
    envvar="RELATA_DASK_SCHEDULER",
    default="",
    help="Run the parallel steps on this Dask scheduler (e.g. tcp://host:8786) [default: local].",
)


def training_options(command: Callable) -> Callable:
    """The options every training command takes: archives, models, database, settings."""
    for option in reversed((ARCHIVES, MODELS, DATABASE, SETTINGS, DASK)):
        command = option(command)
    return command
