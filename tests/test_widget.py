"""The drop-in widget (`/embed.js`) in a real headless Chromium, on a page of another
origin that includes it from `relata serve`, as a site would."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.browser import chromium, static_site
from tests.conftest import ROOT, make_token
from tests.corpus import HOSTILE_ARTICLE
from tests.serving import free_port, get_json, ingest, served, wait_until

pytestmark = pytest.mark.slow  # serves and drives a browser

# Collects the page's own errors and the widget's events, before the widget loads.
WATCH = """<script>
  window.pageErrors = []; window.relataEvents = [];
  addEventListener("error", (e) => pageErrors.push(String(e.message)));
  addEventListener("unhandledrejection", (e) => pageErrors.push(String(e.reason)));
  for (const type of ["relata:load", "relata:error"]) {
    document.addEventListener(type, (e) => relataEvents.push([e.target.id, type, e.detail]));
  }
</script>"""


def _page(blocks: str, script: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A site</title>'
        f"{WATCH}</head><body><h1>An article</h1>{blocks}"
        f'<script src="{script}" async></script></body></html>'
    )


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    with chromium() as driver:
        yield driver


def _events(browser: webdriver.Chrome, count: int) -> dict[str, tuple[str, Any]]:
    """The widget's event for each block, once `count` blocks have one."""
    wait_until(lambda: len(browser.execute_script("return relataEvents")) >= count)
    events = browser.execute_script("return relataEvents")
    assert len(events) == count, events
    return {block: (kind, detail) for block, kind, detail in events}


def _cards(browser: webdriver.Chrome, block: str) -> list[dict[str, Any]]:
    """Each card in `block`: its text (as text, before CSS restyles it), link and image."""
    cards = []
    for card in browser.find_elements(By.CSS_SELECTOR, f"#{block} ul.relata > li"):
        links = card.find_elements(By.CSS_SELECTOR, "h3 > a")
        images = card.find_elements(By.TAG_NAME, "img")
        texts = {
            p.get_attribute("class"): p.get_attribute("textContent")
            for p in card.find_elements(By.TAG_NAME, "p")
        }
        cards.append({
            "title": card.find_element(By.TAG_NAME, "h3").get_attribute("textContent"),
            "url": links[0].get_attribute("href") if links else None,
            "image": images[0].get_attribute("src") if images else None,
            "alt": images[0].get_attribute("alt") if images else None,
            "category": texts.get("relata-category"),
            "excerpt": texts.get("relata-excerpt"),
        })  # fmt: skip
    return cards


def _children(browser: webdriver.Chrome, block: str) -> int:
    return browser.execute_script(f"return document.getElementById('{block}').childNodes.length")


@pytest.mark.slow
def test_widget_renders_the_api_cards_and_nothing_for_an_unknown_slug(
    browser: webdriver.Chrome, models: Path, sqlite_url: str, tmp_path: Path
) -> None:
    with (
        static_site(tmp_path) as site,
        # One worker: the article ingested below is in every list it serves at once.
        served(models, "--database-url", sqlite_url, workers=1, RELATA_CORS_ORIGINS=site) as api,
    ):
        hostile = {**HOSTILE_ARTICLE, "image": f"{site}/ice.png"}
        ingest(api, hostile, make_token(sqlite_url, "admin"))
        # The unknown slug comes first: its failure must not stop the blocks after it.
        shown = {"mars": ("mars-rover-lands", 4), "politics": ("election-results-senate", 6)}
        blocks = '<div id="unknown" data-relata-slug="no-such-article" data-limit="4"></div>'
        for block, (slug, limit) in shown.items():
            blocks += f'<div id="{block}" data-relata-slug="{slug}" data-limit="{limit}"></div>'
        (tmp_path / "article.html").write_text(_page(blocks, f"{api}/embed.js"))
        browser.get(f"{site}/article.html")
        events = _events(browser, 3)

        for block, (slug, limit) in shown.items():
            status, body = get_json(f"{api}/v1/related/{slug}?limit={limit}")
            assert status == 200
            expected = [
                {
                    "title": item["title"],
                    "url": item["url"],
                    "image": item["image"],
                    "alt": item["title"] if item["image"] else None,
                    "category": item["category"],
                    "excerpt": item["excerpt"],
                }
                for item in body["items"]
            ]
            assert events[block] == ("relata:load", {"count": len(expected)})
            assert _cards(browser, block) == expected
        # Hostile titles are text: shown literally, and no markup came out of them.
        mars_titles = [h3.text for h3 in browser.find_elements(By.CSS_SELECTOR, "#mars h3")]
        assert hostile["title"] in mars_titles
        politics_titles = [h3.text for h3 in browser.find_elements(By.CSS_SELECTOR, "#politics h3")]
        assert "Budget Deficit Falls < 2% Of GDP" in politics_titles
        assert len(browser.find_elements(By.CSS_SELECTOR, "ul.relata img")) == 1
        assert not browser.find_elements(By.CSS_SELECTOR, "ul.relata script")

        assert events["unknown"] == ("relata:error", {"reason": "HTTP 404"})
        assert _children(browser, "unknown") == 0
        assert browser.execute_script("return pageErrors") == []
        # Styles: injected once, scoped under .relata, the list laid out as a grid.
        assert len(browser.find_elements(By.ID, "relata-embed-style")) == 1
        grid = browser.find_element(By.CSS_SELECTOR, "#mars ul.relata")
        assert grid.value_of_css_property("display") == "grid"
        assert grid.get_attribute("aria-label") == "Related articles"


def test_widget_renders_nothing_when_the_call_fails_and_links_only_to_http(
    browser: webdriver.Chrome, tmp_path: Path
) -> None:
    with static_site(tmp_path) as site:
        # The site itself stands in for the service: embed.js finds the lists beside it.
        shutil.copy(ROOT / "service/static/embed.js", tmp_path / "embed.js")
        lists = tmp_path / "v1" / "related"
        lists.mkdir(parents=True)
        crafted = [
            {"slug": "a", "title": 'Click <b>me</b> & "you"', "url": "javascript:alert(1)",
             "image": "data:image/png;base64,AAAA", "category": "<i>c</i>", "excerpt": "e & f"},
            {"slug": "b", "title": "Plain", "url": "https://news.example/plain",
             "image": f"{site}/plain.png", "category": "", "excerpt": None},
            {"slug": "c", "title": "Relative", "url": "/elsewhere", "image": "//evil.example/x"},
        ]  # fmt: skip
        (lists / "crafted").write_text(json.dumps({"items": crafted}))
        (lists / "broken").write_text('{"items": [')
        (lists / "wrong").write_text(json.dumps({"items": [{"title": 5}]}))
        down = f"http://127.0.0.1:{free_port()}/"
        blocks = (
            '<div id="broken" data-relata-slug="broken"></div>'
            '<div id="missing" data-relata-slug="missing"></div>'
            '<div id="wrong" data-relata-slug="wrong"></div>'
            f'<div id="down" data-relata-slug="crafted" data-relata-base="{down}"></div>'
            '<div id="crafted" data-relata-slug="crafted"></div>'
        )
        (tmp_path / "article.html").write_text(_page(blocks, "/embed.js"))
        browser.get(f"{site}/article.html")
        events = _events(browser, 5)

        assert events["crafted"] == ("relata:load", {"count": 3})
        assert _cards(browser, "crafted") == [
            {"title": 'Click <b>me</b> & "you"', "url": None, "image": None, "alt": None,
             "category": "<i>c</i>", "excerpt": "e & f"},
            {"title": "Plain", "url": "https://news.example/plain", "image": f"{site}/plain.png",
             "alt": "Plain", "category": None, "excerpt": None},
            {"title": "Relative", "url": None, "image": None, "alt": None, "category": None,
             "excerpt": None},
        ]  # fmt: skip
        for block in ("broken", "missing", "wrong", "down"):
            assert events[block][0] == "relata:error", events[block]
            assert _children(browser, block) == 0
        assert events["missing"][1] == {"reason": "HTTP 404"}
        assert browser.execute_script("return pageErrors") == []


def test_embed_js_is_served_cacheable(client: FlaskClient) -> None:
    response = client.get("/embed.js")
    assert response.status_code == 200
    assert response.content_type == "text/javascript; charset=utf-8"
    assert response.data == (ROOT / "service/static/embed.js").read_bytes()
    etag = response.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    listed = client.get("/v1/related/mars-rover-lands")
    assert response.headers["Cache-Control"] == listed.headers["Cache-Control"]
    for sent in (etag, f"W/{etag}"):
        again = client.get("/embed.js", headers={"If-None-Match": sent})
        assert again.status_code == 304 and again.data == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == response.headers["Cache-Control"]
    assert client.get("/embed.js", headers={"If-None-Match": '"old"'}).status_code == 200


def test_embed_js_never_opens_an_editor_session(app: Flask) -> None:
    # Public like the lists: no cookie is unsigned for it, and none is ever set.
    with app.test_request_context("/embed.js"):
        assert app.session_interface.open_session(app, request).__class__.__name__ == (
            "NullSession"
        )
    response = app.test_client().get("/embed.js", headers={"Cookie": "session=forged"})
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
