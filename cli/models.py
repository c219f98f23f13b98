"""The model lifecycle: `relata retrain`, `schedule`, `promote`, `rollback`, `models`,
`evaluate`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import click

from relata.cli.options import (
    DATABASE,
    MODELS,
    live_model,
    no_database,
    open_database,
    progress,
    train_settings,
    training_options,
    training_source,
)

log = logging.getLogger("relata.schedule")


def failures() -> tuple[type[Exception], ...]:
    """What a training command reports as a one-line error rather than a traceback."""
    from relata import artifact
    from relata.artifact import registry
    from relata.training.archive import ArchiveError

    return (ArchiveError, artifact.ArtifactError, registry.RegistryError, OSError)


def _retrain_once(archives: tuple[Path, ...], models_dir: Path, database_url: str,
                  pairs: tuple[str, ...], dask_scheduler: str, quiet: bool) -> bool:  # fmt: skip
    """One gated retrain with its report printed; True when the candidate went live."""
    from relata.training.distributed import parallel_backend
    from relata.training.retrain import retrain as run_retrain

    settings = train_settings(pairs)
    source = training_source(archives, models_dir, database_url)
    try:
        with parallel_backend(dask_scheduler):
            report = run_retrain(source, models_dir, settings, progress(quiet))
    except failures() as exc:
        raise click.ClickException(str(exc)) from None
    for gate in report.gates:
        click.echo(f"{'PASS' if gate.passed else 'FAIL'}  {gate.describe()}: {gate.message}")
    version = report.train.version
    if report.promoted:
        click.echo(f"promoted {version} (was {report.live_before})")
    else:
        click.echo(f"not promoted: {version} failed a gate; {report.live_before} stays live")
    return report.promoted


@click.command()
@training_options
@click.option("--quiet", is_flag=True, help="No progress bar.")
def retrain(
    archives: tuple[Path, ...],
    models_dir: Path,
    database_url: str,
    pairs: tuple[str, ...],
    dask_scheduler: str,
    quiet: bool,
) -> None:
    """Train, evaluate and promote only if every gate passes (exit 1 if one fails)."""
    if not _retrain_once(archives, models_dir, database_url, pairs, dask_scheduler, quiet):
        raise SystemExit(1)


@click.command()
@training_options
@click.option("--cron", required=True, help='When to retrain, a crontab line, e.g. "0 * * * *".')
@click.option("--run-now", is_flag=True, help="Also retrain once at start.")
@click.option("--max-runs", type=click.IntRange(1), help="Stop after this many runs.")
def schedule(archives: tuple[Path, ...], models_dir: Path, database_url: str,
             pairs: tuple[str, ...], dask_scheduler: str, cron: str,
             run_now: bool, max_runs: int | None) -> None:  # fmt: skip
    """Retrain on a cron schedule in this process (the embedded default)."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    try:
        trigger = CronTrigger.from_crontab(cron, timezone="UTC")
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--cron") from None
    train_settings(pairs)  # refuse bad settings before the first run, not at it
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    scheduler = BlockingScheduler(timezone="UTC")
    runs = 0

    def job() -> None:
        nonlocal runs
        runs += 1
        try:
            outcome = (
                "promoted"
                if _retrain_once(archives, models_dir, database_url, pairs, dask_scheduler, True)
                else "rejected"
            )
        except click.ClickException as exc:
            outcome = f"failed: {exc.message}"
        log.info("retrain run %d: %s", runs, outcome)
        if max_runs and runs >= max_runs:
            scheduler.shutdown(wait=False)

    scheduler.add_job(job, trigger, id="retrain", max_instances=1, coalesce=True)
    if run_now:
        scheduler.add_job(job, id="retrain-now")
    next_run = trigger.get_next_fire_time(None, datetime.now(UTC))
    log.info("retraining on %r (UTC); next run %s", cron, next_run)
    scheduler.start()


@click.command()
@MODELS
@click.argument("version")
def promote(models_dir: Path, version: str) -> None:
    """Make VERSION the live model (no gates: the operator decides)."""
    from relata import artifact
    from relata.artifact import registry, signing

    try:
        registry.promote(models_dir, version, key=signing.environment_key())
    except artifact.ArtifactError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"promoted {version}")


@click.command()
@MODELS
def rollback(models_dir: Path) -> None:
    """Make the previously live version live again."""
    from relata import artifact
    from relata.artifact import registry, signing

    try:
        target = registry.rollback(models_dir, signing.environment_key())
    except (registry.RegistryError, artifact.ArtifactError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"rolled back to {target}")


@click.command()
@MODELS
@click.option(
    "--to",
    "url",
    required=True,
    help="fsspec URL of the shared store, e.g. s3://bucket/relata/models.",
)
@click.option("--version", help="Version to publish [default: the live one].")
def publish(models_dir: Path, url: str, version: str | None) -> None:
    """Upload a verified version to a shared store and make it live there (replicas
    serving with `models_url` follow); an older VERSION there is a rollback."""
    from relata import artifact
    from relata.artifact import registry, remote, signing

    version = version or registry.current_version(models_dir)
    if version is None:
        raise click.ClickException(f"no live model in {models_dir}")
    try:
        remote.publish(models_dir, version, url, signing.environment_key())
    except (artifact.ArtifactError, OSError, ValueError, ImportError) as exc:
        raise click.ClickException(f"could not publish {version} to {url}: {exc}") from None
    click.echo(f"published {version} to {url}")


@click.command("models")
@MODELS
def list_models(models_dir: Path) -> None:
    """List model versions with their manifest figures; * marks the live one."""
    from relata import artifact
    from relata.artifact import registry

    live = registry.current_version(models_dir)
    click.echo("  version                                 articles coverage  hub    quality recall")
    for version in registry.list_versions(models_dir):
        try:
            manifest = artifact.read_manifest(models_dir / version)
        except artifact.ArtifactError as exc:
            click.echo(f"  {version}  unreadable: {exc}")
            continue
        figures = manifest.get("evaluation", {})
        proxy = figures.get("tag_overlap") or figures.get("category_agreement", 0.0)
        recall = figures.get("search_recall_at_10")  # None: searched exactly
        marker = "*" if version == live else " "
        click.echo(
            f"{marker} {version:<39} {figures.get('articles', 0):>8} "
            f"{figures.get('coverage', 0.0):>8.3f} {figures.get('hub_share', 0.0):>6.3f} "
            f"{proxy:>8.3f} {'exact' if recall is None else f'{recall:.3f}':>6}"
        )


def readers_report(models_dir: Path, database_url: str) -> dict | None:
    """Readers' clicks for the report (the service's counters), when there is a database."""
    from relata.service.stats import readers

    if no_database(models_dir, database_url):
        return None
    with open_database(models_dir, database_url) as target:
        return readers(target, datetime.now(UTC).date())


@click.command("evaluate")
@MODELS
@DATABASE
@click.option("--version", help="Version to evaluate [default: the live one].")
@click.option("--against", help="Another version to compare with, list by list.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Report folder [default: MODELS/reports/VERSION].")  # fmt: skip
def evaluate_command(
    models_dir: Path, database_url: str, version: str | None, against: str | None,
    out: Path | None,
) -> None:  # fmt: skip
    """Print and write (JSON + HTML with plots) a model's figures, optionally against another."""
    from relata import artifact
    from relata.artifact import signing
    from relata.training.evaluate import compare, evaluate
    from relata.training.report import metric_rows, percent, summary, write_report

    folder_of, key = partial(artifact.version_folder, models_dir), signing.environment_key()
    try:
        model = artifact.load_model(folder_of(version), key) if version else live_model(models_dir)
        figures = evaluate(model, artifact.load_features(folder_of(model.version), key))
        other = artifact.load_model(folder_of(against), key) if against else None
    except artifact.ArtifactError as exc:
        raise click.ClickException(str(exc)) from None
    changes = compare(model, other) if other else None
    other_figures = other.manifest.get("evaluation") if other else None
    click.echo(summary(figures, other_figures, against))
    for row in metric_rows(figures, other_figures):
        click.echo(f"{row['label']}: {row['value']}" + (f" (was {row['other']})" * bool(other)))
    if changes:
        click.echo(f"against {against}: {percent(changes['changed_share'])} of shown lists "
                   f"change, mean Jaccard {changes['mean_jaccard']:.3f}")  # fmt: skip
    folder = out or models_dir / "reports" / (model.version + (f"-vs-{against}" if against else ""))
    readers = readers_report(models_dir, database_url)
    if readers:
        click.echo(f"readers {readers['from']} to {readers['to']}: " + "; ".join(
            f"{g['model_version']} CTR {g['ctr']:.2%} of {g['impressions']:,} lists"
            for g in readers["versions"]
        ) + (f". {readers['verdict']}" if readers["verdict"] else ""))  # fmt: skip
    report = write_report(folder, figures, model, other, changes, readers)
    click.echo(f"report: {report}")


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@MODELS
@DATABASE
@click.option("--author", default="cli", show_default=True, help="Recorded in the audit log.")
def ingest(file: Path, models_dir: Path, database_url: str, author: str) -> None:
    """Add or update the articles of FILE between retrains (all or none)."""
    from relata.service.ingest import Articles
    from relata.training.archive import ArchiveError, load_archive

    try:
        archive = load_archive([file], max_bad_share=0.0, keep_unpublished=True)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from None
    with open_database(models_dir, database_url) as target:
        Articles(target).upsert(archive.records(), author)
    published = len(archive.articles) - archive.not_published
    click.echo(
        f"ingested {published} articles, withdrew {archive.not_published} (status not "
        "published); serving picks them up at once"
    )
