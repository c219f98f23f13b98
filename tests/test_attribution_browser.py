"""Acceptance, in a real headless Chromium: a page on a static site includes the widget
from `relata serve`; the cards render in the API's order with a hostile title shown
literally; scrolling the block into view records one impression, following a card one
click; and `GET /v1/stats` then shows both against the model version that served it."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from tests.browser import chromium, static_site
from tests.conftest import make_token
from tests.corpus import HOSTILE_ARTICLE
from tests.serving import get_json, ingest, served, wait_until

pytestmark = pytest.mark.slow  # serves and drives a browser

SLUG = "mars-rover-lands"

# Records every beacon the widget sends (and still sends it) before the widget loads.
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A site</title>
<script>
  window.beacons = []; window.loaded = 0;
  const send = navigator.sendBeacon.bind(navigator);
  navigator.sendBeacon = (url, body) => { beacons.push(JSON.parse(body)); return send(url, body); };
  document.addEventListener("relata:load", () => { loaded += 1; });
</script></head><body><h1>An article</h1>
<div style="height: 3000px">The article's long body.</div>
<div id="related" data-relata-slug="%s" data-limit="4"></div>
<div style="height: 3000px"></div>
<script src="%s/embed.js" async></script></body></html>"""


def _request(url: str, token: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, json.load(response)


@pytest.mark.slow
def test_widget_attributes_one_impression_and_one_click_to_the_serving_model(
    models: Path, sqlite_url: str, tmp_path: Path
) -> None:
    with (
        chromium() as browser,
        static_site(tmp_path) as site,
        served(models, "--database-url", sqlite_url, workers=1, RELATA_CORS_ORIGINS=site,
               RELATA_EVENTS_FLUSH_INTERVAL="0.1") as api,  # fmt: skip
    ):
        # The hostile card links to a page of the site, so following it really navigates.
        hostile = {**HOSTILE_ARTICLE, "url": f"{site}/next.html"}
        ingest(api, hostile, make_token(sqlite_url, "admin"))
        (tmp_path / "next.html").write_text("<!doctype html><title>Next</title><p>Next")
        (tmp_path / "article.html").write_text(PAGE % (SLUG, api))
        status, listed = get_json(f"{api}/v1/related/{SLUG}?limit=4")
        assert status == 200

        browser.get(f"{site}/article.html")
        wait_until(lambda: browser.execute_script("return loaded") == 1)
        titles = [h3.get_attribute("textContent")
                  for h3 in browser.find_elements(By.CSS_SELECTOR, "#related h3")]  # fmt: skip
        assert titles == [item["title"] for item in listed["items"]]
        assert hostile["title"] in titles  # literally: its markup is text
        assert not browser.find_elements(By.CSS_SELECTOR, "#related h3 img")

        # Below the fold: nothing is reported until the block is scrolled into view.
        settle = "return new Promise(r => requestAnimationFrame(() => setTimeout(r, 300)))"
        browser.execute_script(settle)
        assert browser.execute_script("return beacons") == []
        browser.execute_script("document.getElementById('related').scrollIntoView()")
        wait_until(lambda: len(browser.execute_script("return beacons")) == 1)
        # Out of view and back again: still the one impression.
        browser.execute_script("window.scrollTo(0, 0)")
        browser.execute_script("document.getElementById('related').scrollIntoView()")
        browser.execute_script(settle)
        (impression,) = browser.execute_script("return beacons")
        assert impression == {"events": [
            {"type": "impression", "rid": listed["rid"], "slug": SLUG, "position": 4}
        ]}  # fmt: skip

        position = titles.index(hostile["title"]) + 1
        browser.find_element(By.CSS_SELECTOR, f"#related li:nth-child({position}) h3 a").click()
        wait_until(lambda: browser.title == "Next")

        viewer = make_token(sqlite_url, "viewer")

        def counted(group: str) -> list[dict[str, Any]]:
            return _request(f"{api}/v1/stats?group={group}", viewer)[1]["groups"]

        wait_until(lambda: [g["clicks"] for g in counted("model_version")] == [1])
        (whole,) = counted("model_version")
        assert whole["model_version"] == listed["model_version"]
        assert (whole["impressions"], whole["clicks"]) == (1, 1)
        slots = {g["position"]: (g["impressions"], g["clicks"]) for g in counted("position")}
        assert slots == {p: (1, int(p == position)) for p in range(1, 5)}
