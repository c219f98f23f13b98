"""The `relata` command: the only place that reads argv, prints and exits."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from relata.cli.editors import db, overrides, stale_lines, tokens
from relata.cli.models import (
    evaluate_command,
    ingest,
    list_models,
    promote,
    publish,
    retrain,
    rollback,
    schedule,
)
from relata.cli.options import (
    DATABASE,
    MODELS,
    live_model,
    open_database,
    overrides_snapshot,
    progress,
    train_settings,
    training_options,
    training_source,
)
from relata.cli.stats import stats_command

# The commands import what they use when they run (see `relata.cli.options`).


@click.group()
@click.version_option(package_name="relata")
def main() -> None:
    """Relata: related-article recommendations for news and magazine sites."""


for command in (db, tokens, overrides, retrain, schedule, promote, rollback, publish,
                list_models, evaluate_command, ingest, stats_command):  # fmt: skip
    main.add_command(command)


@main.command()
@training_options
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--force", is_flag=True, help="Make the model live even if it fails a sanity gate.")
def train(
    archives: tuple[Path, ...],
    models_dir: Path,
    database_url: str,
    pairs: tuple[str, ...],
    dask_scheduler: str,
    quiet: bool,
    force: bool,
) -> None:
    """Train on the archive and publish the new model as the live version (exit 1, the
    live model unchanged, if it fails a sanity gate)."""
    from relata.cli.models import failures
    from relata.training.distributed import parallel_backend
    from relata.training.gates import GateFailure, publish_gates
    from relata.training.pipeline import train as run_training

    settings = train_settings(pairs)
    source = training_source(archives, models_dir, database_url)
    try:
        with parallel_backend(dask_scheduler):
            report = run_training(source, models_dir, settings, progress(quiet), force=force)
    except GateFailure as exc:
        raise click.ClickException(
            f"{exc}; not made live, kept in {models_dir} (inspect it, then "
            f"`relata promote {exc.version}` or train again with --force)"
        ) from None
    except failures() as exc:
        raise click.ClickException(str(exc)) from None
    for gate in publish_gates(report.evaluation, settings) if force else ():
        if not gate.passed:
            click.echo(f"warning: made live with --force despite the gate {gate.name}", err=True)
    for error in report.errors[:20]:
        click.echo(f"skipped {error}", err=True)
    if len(report.errors) > 20:
        click.echo(f"… and {len(report.errors) - 20} more invalid rows", err=True)
    click.echo(
        f"rows read {report.rows_read}, invalid {len(report.errors)}, "
        f"not published {report.not_published}, articles {report.articles}"
    )
    click.echo(f"vocabulary {report.vocabulary} terms and tags")
    steps = ", ".join(f"{step} {seconds:.1f}s" for step, seconds in report.timings.items())
    click.echo(f"time {report.seconds:.1f}s ({steps})")
    click.echo(f"published {report.version} in {models_dir}")
    try:
        stale = stale_lines(models_dir, database_url)
    except click.ClickException as exc:  # the model is published; overrides are advisory here
        click.echo(f"warning: stale overrides not checked: {exc.message}", err=True)
        stale = []
    if stale:
        click.echo(f"{len(stale)} overrides are stale (relata overrides stale lists them)")


@main.command()
@MODELS
@DATABASE
@click.option(
    "--out",
    type=click.File("wb"),
    default="-",
    show_default=True,
    help="JSON Lines file to write ('-' for standard output).",
)
@click.option(
    "--limit", type=click.IntRange(1, 50), default=6, show_default=True, help="Cards per article."
)
@click.option(
    "--static",
    "static_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Instead, write DIR/<slug>.json, DIR/<slug>.html and DIR/embed.js with the API's "
    "bytes, rewriting only files that changed.",
)
def export(
    models_dir: Path,
    database_url: str,
    out: click.utils.LazyFile,
    limit: int,
    static_dir: Path | None,
) -> None:
    """Write every article's related cards, one JSON object per line, as the API serves them
    (or, with --static, as files for a static host)."""
    import orjson

    from relata.artifact import signing
    from relata.service.editorial import Snapshot
    from relata.service.errors import ApiError
    from relata.service.model_store import ModelExtras, OverlayCache
    from relata.service.params import parse_query
    from relata.service.related import items_json, related_entries
    from relata.service.settings import from_environment
    from relata.service.static_export import export_static

    model = live_model(models_dir)
    if static_dir is not None:
        if database_url:
            with open_database(models_dir, database_url):
                pass  # a bad URL is one line here, not a traceback from the service
        try:
            report = export_static(models_dir, database_url, static_dir, limit)
        except (OSError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"{report.written} files written, {report.unchanged} unchanged, "
                   f"{len(report.skipped or ())} articles not served, in {static_dir}")  # fmt: skip
        return
    snapshot = overrides_snapshot(models_dir, database_url) or Snapshot()
    extras = ModelExtras(models_dir, signing.environment_key())
    overlay = OverlayCache(extras).build(model, snapshot)
    # The service's own settings (RELATA_* included), so the lists are the API's.
    config = {name.upper(): value for name, value in from_environment().items()}
    try:
        query = parse_query({"limit": limit}, config)
    except ApiError as exc:
        raise click.ClickException(exc.message) from None
    slugs = list(model.slugs)
    slugs += [slug for slug in (overlay.own if overlay else ()) if slug not in model.rows]
    hidden = snapshot.unpublished | (overlay.removed if overlay else frozenset())
    for slug in slugs:
        if slug not in hidden:
            entries = related_entries(model, slug, query, snapshot.for_source(slug), overlay)
            # The cards' bytes as the API renders them, spliced in rather than re-encoded.
            items = items_json(model, entries, query.fields)
            out.write(b'{"slug":%s,"items":%s}\n' % (orjson.dumps(slug), items))


@main.command()
@MODELS
@DATABASE
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port."
)
@click.option(
    "--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="gunicorn workers."
)
def serve(models_dir: Path, database_url: str, host: str, port: int, workers: int) -> None:
    """Serve the live model over HTTP with gunicorn, exactly as the Docker image does."""
    from relata.artifact import registry
    from relata.service.gunicorn_conf import gunicorn_args

    # A misspelt folder would be created and answer 503 for ever; a shared store's
    # replica fills its (possibly new) cache folder itself.
    if not models_dir.is_dir() and not os.environ.get("RELATA_MODELS_URL"):
        raise click.ClickException(f"--models: no such folder: {models_dir}")
    with open_database(models_dir, database_url, create=True):
        pass  # only checks the URL here: gunicorn migrates, and serves whatever it answers
    if registry.current_version(models_dir) is None:
        click.echo(f"warning: no live model in {models_dir}; /readyz answers 503", err=True)
    # gunicorn's `on_starting` migrates the database: one behaviour whether it answers,
    # refuses or hangs (lists served, `/readyz` degraded, writes 503).
    env = {**os.environ, "RELATA_MODELS_DIR": str(models_dir), "RELATA_DATABASE_URL": database_url}
    if workers > 1:
        # Workers share their metrics through files in this folder.
        env.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="relata-metrics-"))
    # Replaced by a fresh gunicorn process: the server then holds none of what this
    # command line imported for the other commands (pandas, scikit-learn, ...).
    command = [sys.executable, "-m", "gunicorn", *gunicorn_args(host, port, workers)]
    os.execve(sys.executable, [*command, "relata.service.app:create_app()"], env)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
