"""`relata export --static DIR`: the API's bytes as files, rewritten only when they change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from selenium.webdriver.common.by import By

from tests.browser import chromium, static_site
from tests.conftest import cli, invoke, make_app, make_token
from tests.serving import wait_until


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


@pytest.mark.slow
def test_widget_reads_a_static_export_with_no_service(
    models: Path, sqlite_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "related"
    _export(models, folder, sqlite_url)
    (tmp_path / "article.html").write_text(
        '<!doctype html><html><head><meta charset="utf-8"><title>A site</title><script>'
        "window.loaded = [];"
        'document.addEventListener("relata:load", (e) => loaded.push(e.detail));'
        '</script></head><body><div id="related" data-relata-slug="mars-rover-lands" '
        'data-limit="3"></div><script src="/related/embed.js" data-relata-static async>'
        "</script></body></html>"
    )
    listed = json.loads((folder / "mars-rover-lands.json").read_text())
    with static_site(tmp_path) as site, chromium() as browser:
        browser.get(f"{site}/article.html")
        wait_until(lambda: browser.execute_script("return loaded.length") == 1)
        assert browser.execute_script("return loaded") == [{"count": 3}]
        titles = [h3.get_attribute("textContent")
                  for h3 in browser.find_elements(By.CSS_SELECTOR, "#related h3")]  # fmt: skip
        assert titles == [item["title"] for item in listed["items"][:3]]
