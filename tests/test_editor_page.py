"""The editor page's HTML through the real app (search, the article page), and the words
it uses for why a card is there and what changed."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from relata.service.editor_view import history_lines, readable, why_in_words
from tests.conftest import make_token
from tests.corpus import ARTICLES, HOSTILE_ARTICLE


def _log_in(client: FlaskClient, token: str) -> FlaskClient:
    page = client.get("/editor").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    assert client.post("/editor/login", data={"token": token, "csrf": csrf}).status_code == 302
    return client


@pytest.fixture
def editor(client: FlaskClient, sqlite_url: str) -> FlaskClient:
    """The client, logged in to the editor page as an editor."""
    return _log_in(client, make_token(sqlite_url, "editor"))


def _results(page: str) -> list[str]:
    return re.findall(r'<a href="/editor/articles/([a-z0-9-]+)"', page)


def test_search_counts_matches_and_filters_by_category_and_date(editor: FlaskClient) -> None:
    page = editor.get("/editor?q=recipe").get_data(as_text=True)
    assert "3 articles match, newest first." in page
    assert _results(page) == ["sourdough-bread-recipe", "banana-bread-recipe", "pasta-sauce-recipe"]

    food = [slug for slug, _, _, category, *_ in ARTICLES if category == "food"]
    page = editor.get("/editor?category=FOOD").get_data(as_text=True)  # any case
    assert f"{len(food)} articles match" in page and set(_results(page)) == set(food)
    assert '<option value="food" selected>' in page

    page = editor.get("/editor?q=recipe&from=2024-01-01&to=2024-12-31").get_data(as_text=True)
    assert "1 article matches." in page and _results(page) == ["sourdough-bread-recipe"]
    assert "No article matches." in editor.get("/editor?q=no-such-words").get_data(as_text=True)
    # Text matches at the start of a word: "ead" is inside "bread", never a word's start.
    assert "No article matches." in editor.get("/editor?q=ead").get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "message"),
    [("from=last+week", "From: not a date"), ("from=2024-05-01&to=2024-01-01", "is after To")],
)
def test_a_bad_date_filter_is_400_with_the_reason_beside_the_form(
    editor: FlaskClient, query: str, message: str
) -> None:
    response = editor.get(f"/editor?q=mars&{query}")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and message in page
    assert re.search(r'<p class="alert wide" role="alert" id="search-error">[^<]*' + message, page)
    assert not _results(page)


def test_the_article_page_marks_what_readers_see(editor: FlaskClient, app) -> None:
    page = editor.get("/editor/articles/mars-rover-lands").get_data(as_text=True)
    cards = re.findall(r'<li class="card( shown)?" draggable="true" data-slug="([a-z0-9-]+)"', page)
    shown = app.config["DEFAULT_LIMIT"]
    assert [bool(mark) for mark, _ in cards] == [True] * shown + [False] * (len(cards) - shown)
    public = editor.get(f"/v1/related/mars-rover-lands?limit={len(cards)}").get_json()["items"]
    assert [slug for _, slug in cards] == [item["slug"] for item in public]
    # The fold sits after the readers' cards; each card says why it is there.
    assert page.index('id="fold"') > page.index(f'data-slug="{cards[shown - 1][1]}"')
    assert page.index('id="fold"') < page.index(f'data-slug="{cards[shown][1]}"')
    assert "Shares the words “Rover”, “Mars”" in page and "model’s #1" in page


def test_an_unknown_article_is_a_404_page_in_the_editor_layout(editor: FlaskClient) -> None:
    response = editor.get("/editor/articles/no-such-article")
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert 'class="brand"' in page and "Log out" in page  # the editor's layout, logged in
    assert re.search(r'role="alert" id="missing">No article with the slug '
                     r'<span class="slug">no-such-article</span>', page)  # fmt: skip
    assert 'href="/editor?q=no-such-article"' in page


def test_a_viewer_sees_the_page_without_the_controls(client: FlaskClient, sqlite_url: str) -> None:
    _log_in(client, make_token(sqlite_url, "viewer"))
    page = client.get("/editor/articles/mars-rover-lands").get_data(as_text=True)
    assert "you can look, not change" in page and 'data-slug="mars-rover-first-photos"' in page
    for control in ("data-move", "data-change", 'id="change-form"', 'id="pin-form"'):
        assert control not in page


def test_a_card_image_is_a_thumbnail_and_titles_stay_text(
    editor: FlaskClient, sqlite_url: str
) -> None:
    admin = {"Authorization": f"Bearer {make_token(sqlite_url, 'admin')}"}
    assert editor.post("/v1/articles", json=HOSTILE_ARTICLE, headers=admin).status_code == 200
    page = editor.get("/editor/articles/mars-rover-lands").get_data(as_text=True)
    assert '<img class="thumb" src="https://img.example/ice.jpg?w=640&amp;h=360" alt=""' in page
    assert "&lt;img src=x onerror=alert(1)" in page and "<img src=x" not in page


def test_shared_stems_are_spelled_as_the_articles_spell_them() -> None:
    text = "Sen. Tim Scott downplays Senate GOP candidates"
    assert readable("senat gop", text) == "Senate GOP"
    assert readable("candid", text) == "candidates"
    assert readable("happi", text) == "happi"  # no word begins so: the stem as it is
    item = {"source": "model", "why": {"tags": ["mars", "nasa"], "terms": ["rover", "rovers"]}}
    assert why_in_words(item, "Rovers") == "Shares tags mars and nasa; the words “Rovers”."
    assert why_in_words({"source": "fallback", "why": None}).startswith("Filler")
    assert why_in_words({"source": "pin", "why": None}).startswith("Pinned by an editor")


def test_history_lines_say_what_changed_in_words() -> None:
    pin = {"target": "b", "position": 2, "reason": "lead", "expires_at": None}
    entries = [
        {"at": "2026-11-29T10:00:00Z", "actor": "bob", "action": "move", "scope": "a",
         "target": "b", "before": pin, "after": {**pin, "position": 4, "reason": "later"}},
        {"at": "2026-11-29T09:00:00Z", "actor": "eve", "action": "add_block", "scope": "*",
         "target": "c", "before": None,
         "after": {"target": "c", "reason": "legal", "expires_at": "2099-06-30T10:00:00Z"}},
        {"at": "2026-11-29T08:00:00Z", "actor": "al", "action": "reorder", "scope": "a",
         "target": None, "before": [], "after": [pin]},
    ]  # fmt: skip
    lines = history_lines(entries, lambda slug: slug.upper())
    assert [(line["actor"], line["change"], line["reason"]) for line in lines] == [
        ("bob", "moved “B” from 2 to position 4", "later"),
        ("eve", "blocked “C” everywhere, until 2099-06-30 10:00:00 UTC", "legal"),
        ("al", "set the order: 2. B", "lead"),
    ]
    assert lines[0]["at"] == "2026-11-29 10:00:00"
