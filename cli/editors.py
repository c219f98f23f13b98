"""`relata db`, `relata tokens` and `relata overrides`: the editors' side of the CLI."""

from __future__ import annotations

from pathlib import Path

import click

from relata.cli.options import DATABASE, MODELS, live_model, open_database, overrides_snapshot
from relata.service.roles import ROLES


@click.group()
def db() -> None:
    """The overrides database."""


@db.command("upgrade")
@MODELS
@DATABASE
def db_upgrade(models_dir: Path, database_url: str) -> None:
    """Create or migrate the database schema to the newest version."""
    from relata.service.database import upgrade

    with open_database(models_dir, database_url, create=True) as target:
        upgrade(target.engine)
    click.echo(f"database at the newest schema: {target.engine.url.render_as_string()}")


@click.group()
def tokens() -> None:
    """API tokens for editors and admins."""


@tokens.command("create")
@MODELS
@DATABASE
@click.option("--name", required=True, help="Who or what the token is for (unique).")
@click.option(
    "--role", type=click.Choice(ROLES), default="editor", show_default=True, help="Role."
)
def tokens_create(models_dir: Path, database_url: str, name: str, role: str) -> None:
    """Create a token and print it once (only its digest is stored)."""
    from relata.service import auth

    try:
        with open_database(models_dir, database_url) as target:
            token = auth.create_token(target, name, role)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(token)


@tokens.command("list")
@MODELS
@DATABASE
def tokens_list(models_dir: Path, database_url: str) -> None:
    """List tokens: name, role, created, revoked."""
    from relata.service import auth

    with open_database(models_dir, database_url) as target:
        rows = auth.list_tokens(target)
    for row in rows:
        revoked = f"revoked {row['revoked_at']:%Y-%m-%d}" if row["revoked_at"] else "active"
        click.echo(f"{row['name']}\t{row['role']}\t{row['created_at']:%Y-%m-%d}\t{revoked}")


@tokens.command("revoke")
@MODELS
@DATABASE
@click.argument("name")
def tokens_revoke(models_dir: Path, database_url: str, name: str) -> None:
    """Revoke the token called NAME."""
    from relata.service import auth

    with open_database(models_dir, database_url) as target:
        revoked = auth.revoke_token(target, name)
    if not revoked:
        raise click.ClickException(f"no active token named {name!r}")
    click.echo(f"revoked {name}")


@click.group()
def overrides() -> None:
    """Editors' overrides."""


def stale_lines(models_dir: Path, database_url: str) -> list[str]:
    """One line per stale override of the live model (none without a database)."""
    from relata.service.overrides import Overrides
    from relata.service.stale import stale_overrides

    snapshot = overrides_snapshot(models_dir, database_url)
    if snapshot is None:
        return []
    model = live_model(models_dir)
    with open_database(models_dir, database_url) as target:
        _, _, rows = Overrides(target).everything()
    reasons = stale_overrides(rows, model, snapshot.unpublished)
    return [
        f"{row.scope}\t{row.kind}\t{row.target}\t{reasons[row.id]}"
        for row in rows
        if row.id in reasons
    ]


@overrides.command("stale")
@MODELS
@DATABASE
def overrides_stale(models_dir: Path, database_url: str) -> None:
    """List overrides whose source or target the live model no longer has (or unpublished)."""
    for line in stale_lines(models_dir, database_url):
        click.echo(line)
