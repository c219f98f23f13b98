"""`relata stats`: the click-through report of `GET /v1/stats`, on the terminal."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from relata.cli.options import DATABASE, MODELS, open_database


def _line(group: dict[str, Any]) -> str:
    name = group["model_version"] + (f" {group['variant']}" if group["variant"] else "")
    if group["position"] is not None:
        name += f" #{group['position']}"
    interval = f"{group['ctr_low']:.2%} – {group['ctr_high']:.2%}"
    return (f"{name:<44} {group['impressions']:>11,} {group['clicks']:>9,} "
            f"{group['ctr']:>8.2%}  {interval}")  # fmt: skip


@click.command("stats")
@MODELS
@DATABASE
@click.option("--from", "start", default="", help="First day, YYYY-MM-DD [default: 30 days back].")
@click.option("--to", "end", default="", help="Last day, YYYY-MM-DD [default: today, UTC].")
@click.option(
    "--group",
    default="model_version",
    show_default=True,
    help="Rows per model_version, variant (per version) or position (per version).",
)
@click.option("--json", "as_json", is_flag=True, help="Print GET /v1/stats's JSON document.")
def stats_command(
    models_dir: Path, database_url: str, start: str, end: str, group: str, as_json: bool
) -> None:
    """Readers' impressions, clicks and click-through rate (95 % interval) per group, and
    whether the two most shown groups differ significantly."""
    import orjson

    from relata.service import stats
    from relata.service.errors import ApiError
    from relata.service.stats_api import period

    if group not in stats.GROUPS:
        raise click.BadParameter(f"choose from {', '.join(stats.GROUPS)}", param_hint="--group")
    try:
        given = {name: day for name, day in (("from", start), ("to", end)) if day}
        first, last = period(given, datetime.now(UTC).date())
    except ApiError as exc:
        raise click.BadParameter(exc.message) from None
    with open_database(models_dir, database_url) as database:
        document = stats.report(database, first, last, group)
    if as_json:
        click.echo(orjson.dumps(document).decode())
        return
    click.echo(f"{document['from']} to {document['to']}, per {group}")
    click.echo(f"{'group':<44} {'impressions':>11} {'clicks':>9} {'ctr':>8}  95 % interval")
    for row in document["groups"]:
        click.echo(_line(row))
    if not document["groups"]:
        click.echo("no events counted in this period")
    if document["comparison"]:
        click.echo(stats.verdict(document["comparison"]))
