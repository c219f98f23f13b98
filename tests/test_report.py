"""The model report: `relata evaluate` through the real CLI, and the same report at
`/editor/models` for anyone logged in to the editor page."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from flask.testing import FlaskClient
from markupsafe import escape

from relata import artifact
from relata.artifact import registry
from relata.service.database import Database
from relata.service.events_store import Event, EventCounters
from relata.training.evaluate import SHOWN, compare
from relata.training.report import MOST_CHANGED, changed_lists, render_report
from tests.conftest import cli, make_app, make_token, train_cli
from tests.corpus import ARTICLES

TITLES = {slug: title for slug, title, *_ in ARTICLES}
# A model that ranks by recency alone: its lists share neither tag nor category by design.
NO_SIGNALS = ("--set", "text_weight=0", "--set", "tag_weight=0", "--set", "category_weight=0")


@pytest.fixture(scope="module")
def pair(models: Path, archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder with the session's model, then a live one trained without signals."""
    folder = tmp_path_factory.mktemp("report") / "models"
    shutil.copytree(models, folder)
    train_cli([archive], folder, *NO_SIGNALS, "--force")
    return folder


def _evaluate(models: Path, out: Path, *args: str) -> str:
    cli("evaluate", "--models", str(models), "--out", str(out), *args)
    return (out / "report.html").read_text()


def _summary(page: str) -> str:
    return re.search(r'<p class="summary" id="summary">(.*?)</p>', page, re.S).group(1)


def test_the_summary_says_worse_and_better_for_a_known_pair(pair: Path, tmp_path: Path) -> None:
    good, weak = registry.recent_versions(pair)[1], registry.current_version(pair)
    worse = _summary(_evaluate(pair, tmp_path / "weak", "--against", good))
    assert worse.startswith(f"This model is worse than {good} on the quality proxy ("), worse
    better = _summary(_evaluate(pair, tmp_path / "good", "--version", good, "--against", weak))
    assert better.startswith(f"This model is better than {weak} on the quality proxy ("), better


def test_figures_are_formatted_and_explained(pair: Path, tmp_path: Path) -> None:
    good = registry.recent_versions(pair)[1]
    page = _evaluate(pair, tmp_path / "out", "--version", good)
    figures = json.loads((tmp_path / "out/evaluation.json").read_text())["figures"]
    coverage = f"{100 * figures['coverage']:.1f} %"
    row = rf'"row">Coverage<span class="help">[^<]*</span></th><td class="num">{coverage}<'
    assert re.search(row, page), page
    assert "Share of articles whose list fills all 6 shown cards" in page
    assert "Most-listed article" in page and TITLES[figures["hub"]] in page
    assert not re.search(r"\d\.\d{5,}", page)  # no raw floats such as 0.005000500050005001
    assert "data:image/png;base64," in page and "than" not in _summary(page)  # alone: no verdict


def test_the_lists_that_change_most_show_titles_before_and_after(
    pair: Path, tmp_path: Path
) -> None:
    good = registry.recent_versions(pair)[1]
    page = _evaluate(pair, tmp_path / "out", "--against", good)
    changes = json.loads((tmp_path / "out/evaluation.json").read_text())["changes"]
    moved = changes["most_changed"][0]
    section = page[page.index("The lists that change most") :]
    assert f"<h4>{escape(TITLES[moved['slug']])} <small>" in section
    assert f'<span class="slug">{moved["slug"]}</span> · 20' in section  # slug and date
    for slug in moved["out"]:
        assert f'<li class="gone">{TITLES[slug]}</li>' in section
    for slug in moved["in"]:
        assert f'<li class="new">{TITLES[slug]}</li>' in section


def _with_list(model: artifact.LoadedModel, slug: str, kept: int) -> artifact.LoadedModel:
    """`model` as a version whose shown list for `slug` keeps only its first `kept` cards,
    the rest replaced by articles the list does not hold."""
    index = np.array(model.index, copy=True)
    row = model.rows[slug]
    others = [j for j in range(len(model.slugs)) if j != row and j not in index[row]]
    index[row, kept:SHOWN] = others[: SHOWN - kept]
    return dataclasses.replace(model, version="older", index=index)


def test_the_share_kept_is_of_the_old_list_not_of_the_union(models: Path) -> None:
    model = artifact.load_model(models / registry.current_version(models))
    slug = "mars-rover-lands"
    other = _with_list(model, slug, kept=2)
    row = model.rows[slug]
    assert len(set(other.index[row, :SHOWN]) & set(model.index[row, :SHOWN])) == 2
    page = render_report(model.manifest["evaluation"], model, other, compare(model, other))
    heading = re.search(rf"<h4>{TITLES[slug]} <small>([^<]*)</small>", page).group(1)
    assert heading == "2 of 6 cards kept (33.3 %)"  # the Jaccard over the union is 20 %


def test_the_lists_that_change_most_name_each_headline_once(models: Path) -> None:
    model = artifact.load_model(models / registry.current_version(models))
    slugs = list(model.rows)[: MOST_CHANGED + 3]
    # Weekly columns share one headline: three of the changed lists here do.
    cards = [dict(model.cards[i]) for i in range(len(model.cards))]
    for slug in slugs[:3]:
        cards[model.rows[slug]]["title"] = "What To Watch This Week"
    renamed = dataclasses.replace(model, cards=cards)
    changes = {"most_changed": [{"slug": slug} for slug in slugs]}
    shown = changed_lists(renamed, model, changes)
    assert [c["slug"] for c in shown] == [slugs[0], *slugs[3 : MOST_CHANGED + 2]]
    assert len({c["title"] for c in shown}) == len(shown) == MOST_CHANGED
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d|undated", c["date"]) for c in shown)


def test_the_hub_and_best_scores_are_shown_for_both_models(pair: Path, tmp_path: Path) -> None:
    good, weak = registry.recent_versions(pair)[1], registry.current_version(pair)
    page = _evaluate(pair, tmp_path / "out", "--against", good)
    hubs = [artifact.load_model(pair / v).manifest["evaluation"]["hub"] for v in (weak, good)]
    row = re.search(r'Most-listed article<span class="help">[^<]*</span></th>\s*'
                    r"<td>([^<]*)</td><td>([^<]*)</td></tr>", page)  # fmt: skip
    assert row and list(row.groups()) == [str(escape(TITLES[h])) for h in hubs], page
    scores = re.search(r'Best score<span class="help">[^<]*</span></th>\s*'
                       r'<td class="num">([^<]*)</td><td class="num">([^<]*)</td>',
                       page)  # fmt: skip
    assert scores, page
    for value in scores.groups():
        assert re.fullmatch(r"\d\.\d{3} / \d\.\d{3} / \d\.\d{3}", value), value
    assert "this model (" + weak + ")" in page and "compared (" + good + ")" in page  # the key


def test_the_calibration_is_shown_and_missing_keys_are_skipped(pair: Path) -> None:
    model = artifact.load_model(pair / registry.current_version(pair))
    figures = model.manifest["evaluation"]
    page = render_report(figures, model)
    assert "Recency half-life" in page and "Held-out similarity" in page
    older = dataclasses.replace(
        model, manifest={**model.manifest, "calibration": {"tag_scale": 1.5}}
    )
    page = render_report(figures, older)
    assert "× 1.5" in page and "Recency half-life" not in page
    del older.manifest["calibration"]
    assert "Calibration" not in render_report(figures, older)


def _login(client: FlaskClient, token: str) -> None:
    page = client.get("/editor").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    assert client.post("/editor/login", data={"token": token, "csrf": csrf}).status_code == 302


def test_the_models_page_needs_a_login(pair: Path, sqlite_url: str) -> None:
    client = make_app(pair, sqlite_url).test_client()
    response = client.get("/editor/models")
    assert response.status_code == 302 and response.headers["Location"].endswith("/editor")
    assert "Log in" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_the_models_page_shows_the_report_to_a_viewer(pair: Path, sqlite_url: str) -> None:
    client = make_app(pair, sqlite_url).test_client()
    _login(client, make_token(sqlite_url, "viewer"))
    assert "/editor/models" in client.get("/editor").get_data(as_text=True)  # linked
    response = client.get("/editor/models")
    page = response.get_data(as_text=True)
    good, weak = registry.recent_versions(pair)[1], registry.current_version(pair)
    assert response.status_code == 200 and f"Model {weak}" in page
    assert _summary(page).startswith(f"This model is worse than {good} on the quality proxy")
    assert "<style>" not in page  # the page's policy allows no inline style: it links one
    css = client.get("/editor/models/report.css")
    assert css.status_code == 200 and css.mimetype == "text/css" and ".summary" in css.text
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_the_report_shows_what_readers_click_per_version_and_position(
    pair: Path, sqlite_url: str, tmp_path: Path
) -> None:
    good, weak = registry.recent_versions(pair)[1], registry.current_version(pair)
    make_app(pair, sqlite_url)  # migrates the database, as serving does
    database = Database(sqlite_url)
    counters = EventCounters(database)
    for version, clicks in ((good, 20), (weak, 60)):  # 1,000 lists of 3 cards each
        shown = Event("impression", version, "live", "s", None, 3)
        clicked = Event("click", version, "live", "s", "t", 2)
        counters.record([shown] * 1000 + [clicked] * clicks, datetime.now(UTC).date())
    counters.flush()
    database.engine.dispose()
    page = _evaluate(pair, tmp_path / "out", "--database-url", sqlite_url)
    section = page[page.index('id="readers-h"') :]
    assert "significant at 5 %" in section and "not significant" not in section
    assert re.search(rf">{weak}</th><td class=\"num\">1,000</td><td class=\"num\">60</td>"
                     r"<td class=\"num\">6.00 %", section.replace("\n        ", "")), section
    assert "Click-through rate by card position" in section and "data:image/png" in section
    readers = json.loads((tmp_path / "out/evaluation.json").read_text())["readers"]
    assert {(g["model_version"], g["position"], g["clicks"]) for g in readers["positions"]} >= {
        (good, 2, 20), (weak, 2, 60), (weak, 1, 0)}
    assert 'id="readers-h"' not in _evaluate(pair, tmp_path / "none")  # no database: none
