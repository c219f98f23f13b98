"""The HTML fragment: the JSON route's cards as escaped HTML, cached the same way."""

from __future__ import annotations

import io
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import make_app, make_token
from tests.corpus import HOSTILE_ARTICLE

pytestmark = pytest.mark.slow  # every test uses a trained model (see SLOW_FIXTURES)


class Cards(HTMLParser):
    """The cards of a fragment as the browser would read them: text and attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[dict[str, Any]] = []
        self.tags: list[str] = []
        self._field: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        attributes = dict(attrs)
        if tag == "li":
            self.cards.append({})
        elif tag == "a":
            self.cards[-1]["url"] = attributes["href"]
        elif tag == "img":
            self.cards[-1]["image"] = attributes["src"]
            self.cards[-1]["alt"] = attributes["alt"]
        elif tag in ("h3", "p"):
            self._field = (attributes.get("class") or "").removeprefix("relata-")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h3", "p"):
            self._field = None

    def handle_data(self, data: str) -> None:
        if self._field:
            card = self.cards[-1]
            card[self._field] = card.get(self._field, "") + data


def _cards(html: str) -> Cards:
    parser = Cards()
    parser.feed(html)
    parser.close()
    return parser


def _json_cards(client: FlaskClient, url: str) -> list[dict[str, Any]]:
    response = client.get(url)
    assert response.status_code == 200, response.get_json()
    keys = ("title", "url", "category", "excerpt", "image")
    return [{k: item[k] for k in keys if item.get(k)} for item in response.get_json()["items"]]


def test_fragment_shows_the_json_cards_in_the_same_order(client: FlaskClient) -> None:
    for slug, query in [
        ("mars-rover-lands", "limit=4"),
        ("election-results-senate", ""),
        ("cup-final-report", "limit=8&exclude_category=food"),
    ]:
        response = client.get(f"/v1/related/{slug}.html?{query}")
        assert response.status_code == 200
        assert response.content_type == "text/html; charset=utf-8"
        cards = _cards(response.get_data(as_text=True)).cards
        for card in cards:
            card.pop("alt", None)
        assert cards == _json_cards(client, f"/v1/related/{slug}?{query}")
        assert cards
    empty = client.get("/v1/related/cup-final-report.html?category=space&fallbacks=false")
    assert empty.status_code == 200 and empty.data == b""


def test_fragment_escapes_card_text(client: FlaskClient, sqlite_url: str) -> None:
    admin = {"Authorization": f"Bearer {make_token(sqlite_url, 'admin')}"}
    response = client.post("/v1/articles", json=HOSTILE_ARTICLE, headers=admin)
    assert response.status_code == 200, response.get_json()
    response = client.get("/v1/related/mars-rover-lands.html?limit=50")
    html = response.get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)" in html
    assert "Budget Deficit Falls &lt; 2% Of GDP" in html
    parsed = _cards(html)
    assert set(parsed.tags) == {"ul", "li", "h3", "a", "p", "img"}  # no markup from the text
    (hostile,) = [card for card in parsed.cards if card["url"] == HOSTILE_ARTICLE["url"]]
    assert hostile["title"] == hostile["alt"] == HOSTILE_ARTICLE["title"]
    assert hostile["image"] == HOSTILE_ARTICLE["image"]
    assert parsed.cards == [
        {**card, "alt": card["title"]} if "image" in card else card
        for card in _json_cards(client, "/v1/related/mars-rover-lands?limit=50")
    ]


def test_fragment_is_cached_like_the_json(client: FlaskClient) -> None:
    fragment = client.get("/v1/related/mars-rover-lands.html")
    listed = client.get("/v1/related/mars-rover-lands")
    etag = fragment.headers["ETag"]
    # The list's tag, plus the template's: either changing changes the fragment.
    assert etag.startswith(listed.headers["ETag"][:-1] + ".h") and etag.endswith('"')
    assert fragment.headers["Cache-Control"] == listed.headers["Cache-Control"]
    assert "public, max-age=" in fragment.headers["Cache-Control"]
    for sent in (etag, f"W/{etag}", f'"other", {etag}'):
        again = client.get("/v1/related/mars-rover-lands.html", headers={"If-None-Match": sent})
        assert again.status_code == 304 and again.data == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == fragment.headers["Cache-Control"]
    stale = client.get("/v1/related/mars-rover-lands.html", headers={"If-None-Match": '"old"'})
    assert stale.status_code == 200 and stale.data == fragment.data


def test_fragment_errors_are_the_json_error_shape(client: FlaskClient) -> None:
    for url, status, code, named in [
        ("/v1/related/nope.html", 404, "unknown_slug", "'nope'"),
        ("/v1/related/nope.html.html", 404, "unknown_slug", "'nope.html'"),
        ("/v1/related/mars-rover-lands.html?limit=0", 400, "bad_parameter", "limit"),
        ("/v1/related/mars-rover-lands.html?fields=nope", 400, "bad_parameter", "fields"),
    ]:
        response = client.get(url)
        assert response.status_code == status and response.mimetype == "application/json"
        error = response.get_json()["error"]
        assert error["code"] == code and named in error["message"], (url, error)
    assert client.post("/v1/related/mars-rover-lands.html").status_code == 405


def test_a_new_template_changes_the_fragment_etag(
    models: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = make_app(models, sqlite_url).test_client().get("/v1/related/mars-rover-lands.html")
    opened = Flask.open_resource

    def edited(self: Flask, resource: str, *args: object, **kwargs: object) -> object:
        handle = opened(self, resource, *args, **kwargs)  # type: ignore[arg-type]
        if resource != "templates/fragment.html":
            return handle
        with handle:
            return io.BytesIO(handle.read() + b"<!-- a new release -->")

    monkeypatch.setattr(Flask, "open_resource", edited)
    after = make_app(models, sqlite_url).test_client().get("/v1/related/mars-rover-lands.html")
    assert before.headers["ETag"] != after.headers["ETag"]
    again = make_app(models, sqlite_url).test_client()
    assert again.get("/v1/related/mars-rover-lands.html").headers["ETag"] == after.headers["ETag"]
