"""`relata export --static DIR`: the API's bytes as files, rewritten only when they change."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from tests.conftest import cli, invoke, make_app, make_token


def _export(models: Path, folder: Path, database_url: str) -> str:
    args = ["export", "--models", str(models), "--static", str(folder), "--limit", "4"]
    return cli(*args, "--database-url", database_url)


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    """Each file's (inode, mtime in ns): what a rewrite would change."""
    return {path.name: (path.stat().st_ino, path.stat().st_mtime_ns) for path in folder.iterdir()}


def test_static_files_are_the_api_bytes(models: Path, sqlite_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "site"
    output = _export(models, folder, sqlite_url)
    client = make_app(models, sqlite_url).test_client()
    slugs = [card["slug"] for card in client.application.extensions["relata.store"].model.cards]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["embed.js", *(f"{slug}.json" for slug in slugs), *(f"{slug}.html" for slug in slugs)]
    )
    assert output.startswith(f"{2 * len(slugs) + 1} files written, 0 unchanged")
    for slug in slugs:
        assert (folder / f"{slug}.json").read_bytes() == client.get(
            f"/v1/related/{slug}?limit=4"
        ).data
        assert (folder / f"{slug}.html").read_bytes() == client.get(
            f"/v1/related/{slug}.html?limit=4"
        ).data
    assert (folder / "embed.js").read_bytes() == client.get("/embed.js").data
    assert not list(folder.glob(".relata-*"))  # no temporary file left behind


def test_only_changed_files_are_rewritten(
    models: Path, sqlite_url: str, client: FlaskClient, tmp_path: Path
) -> None:
    folder = tmp_path / "site"
    _export(models, folder, sqlite_url)
    before = _files(folder)
    output = _export(models, folder, sqlite_url)
    assert output.startswith(f"0 files written, {len(before)} unchanged")
    assert _files(folder) == before  # same inodes, same mtimes: nothing was touched

    # An editor pins a card in one list: that list's two files change, nothing else.
    token = make_token(sqlite_url, "editor")
    pin = {"kind": "pin", "target": "cup-final-report", "position": 1, "reason": "test"}
    headers = {"Authorization": f"Bearer {token}", "If-Match": '"0"'}
    response = client.post("/v1/overrides/mars-rover-lands", json=pin, headers=headers)
    assert response.status_code == 200, response.get_json()
    output = _export(models, folder, sqlite_url)
    assert output.startswith(f"2 files written, {len(before) - 2} unchanged")
    after = _files(folder)
    changed = {name for name in before if after[name] != before[name]}
    assert changed == {"mars-rover-lands.json", "mars-rover-lands.html"}
    assert b"cup-final-report" in (folder / "mars-rover-lands.json").read_bytes()


def test_static_export_needs_no_database_and_creates_none(models: Path, tmp_path: Path) -> None:
    folder = tmp_path / "site"
    before = sorted(p.name for p in models.iterdir())
    result = invoke("export", "--models", str(models), "--static", str(folder))
    assert result.exit_code == 0, result.output
    assert (folder / "mars-rover-lands.json").exists()
    assert sorted(p.name for p in models.iterdir()) == before


def test_static_export_errors_are_one_line(tmp_path: Path) -> None:
    result = invoke("export", "--models", str(tmp_path / "none"), "--static", str(tmp_path / "s"))
    assert result.exit_code == 1 and "no live model" in result.output
    assert "Traceback" not in result.output
