"""Whole-page screenshots for scripts/screenshots, with Debian's headless chromium under
Selenium (nothing downloaded).

    python scripts/editor_screenshots.py BASE_URL TOKEN OUT
    python scripts/editor_screenshots.py --report REPORT_HTML OUT

The first logs in to the served editor with TOKEN (an editor's), shapes one article's list
as an editor would (a pin with an expiry, a block, a move, so every badge and the history
show), and writes OUT/search-{desktop,375}.png and OUT/editor-{desktop,375}.png. The second
writes OUT/report-{desktop,375}.png of a written model report. Each shot is the whole
page: the window is made as tall as the page measures at that width.
"""

from __future__ import annotations

import json
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

SEARCH = "election"  # a topic with many articles in the bundled archive
WIDTHS = {"desktop": 1280, "375": 375}


def _api(base: str, token: str, method: str, path: str, body: dict | None = None) -> Any:
    """One editor API call, with If-Match from a fresh read of the scope."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if method != "GET":
        scope = "/v1/blocks" if path.startswith("/v1/blocks") else "/".join(path.split("/")[:4])
        headers["If-Match"] = f'"{_api(base, token, "GET", scope)["version"]}"'
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data, headers, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _shape(base: str, token: str, slug: str) -> None:
    """A pin with an expiry, a block here and a move: what an editor's day leaves."""
    items = _api(base, token, "GET", f"/v1/related/{slug}?limit=14")["items"]
    url = f"/v1/overrides/{slug}"
    soon = (datetime.now(UTC) + timedelta(days=7)).isoformat(timespec="minutes")
    _api(base, token, "POST", url, {"kind": "pin", "target": items[9]["slug"], "position": 2,
                                    "reason": "Follow-up readers asked for",
                                    "expires_at": soon})  # fmt: skip
    _api(base, token, "POST", url, {"kind": "block", "target": items[3]["slug"],
                                    "reason": "Outdated figures"})  # fmt: skip
    _api(base, token, "PATCH", f"{url}/{items[7]['slug']}",
         {"position": 4, "reason": "Stronger picture"})  # fmt: skip


def _whole_page(driver: webdriver.Chrome, width: int, path: Path) -> None:
    driver.set_window_size(width, 800)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, height + 100)  # a headless window's frame is ~100 px
    driver.save_screenshot(str(path))


@contextmanager
def _chromium() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    with tempfile.TemporaryDirectory() as profile:
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                     "--disable-dev-shm-usage", f"--user-data-dir={profile}"):  # fmt: skip
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
        try:
            yield driver
        finally:
            driver.quit()


def report(page: Path, out: Path) -> None:
    """OUT/report-{desktop,375}.png: the whole written report at each width."""
    with _chromium() as driver:
        driver.get(page.resolve().as_uri())
        WebDriverWait(driver, 30).until(
            expected_conditions.presence_of_element_located((By.ID, "summary"))
        )
        for name, width in WIDTHS.items():
            _whole_page(driver, width, out / f"report-{name}.png")


def main(base: str, token: str, out: Path) -> None:
    """The search and article pages of the served editor, at each width."""
    with _chromium() as driver:
        wait = WebDriverWait(driver, 30)
        driver.get(f"{base}/editor")
        wait.until(expected_conditions.presence_of_element_located((By.ID, "token")))
        driver.find_element(By.ID, "token").send_keys(token)
        driver.find_element(By.ID, "login").click()
        wait.until(expected_conditions.presence_of_element_located((By.ID, "q")))
        driver.get(f"{base}/editor?q={SEARCH}&from=2022-01-01")
        wait.until(expected_conditions.presence_of_element_located((By.ID, "count")))
        slug = driver.find_element(By.CSS_SELECTOR, "#results a").get_attribute("href")
        slug = slug.rsplit("/", 1)[1]
        for name, width in WIDTHS.items():
            _whole_page(driver, width, out / f"search-{name}.png")
        _shape(base, token, slug)
        driver.get(f"{base}/editor/articles/{slug}")
        wait.until(expected_conditions.presence_of_element_located((By.ID, "cards")))
        for name, width in WIDTHS.items():
            _whole_page(driver, width, out / f"editor-{name}.png")


if __name__ == "__main__":
    if sys.argv[1] == "--report":
        report(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main(sys.argv[1], sys.argv[2], Path(sys.argv[3]))
