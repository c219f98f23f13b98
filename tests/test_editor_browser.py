"""The editor page in a real headless Chromium (Debian's), against a real served app."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import chromium
from tests.conftest import make_token
from tests.serving import served, wait_until

REFRESH_INTERVAL = 0.2


@pytest.fixture
def server(models: Path, sqlite_url: str) -> Iterator[str]:
    """`relata serve` with two workers on the test model and database."""
    interval = str(REFRESH_INTERVAL)
    with served(
        models, "--database-url", sqlite_url, RELATA_OVERRIDES_REFRESH_INTERVAL=interval
    ) as base:
        yield base


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    with chromium() as driver:
        yield driver


def _public_list(base: str, slug: str) -> list[dict]:
    with urllib.request.urlopen(f"{base}/v1/related/{slug}", timeout=5) as response:
        return json.load(response)["items"]


def test_editor_logs_in_pins_and_readers_see_it(
    server: str, browser: webdriver.Chrome, sqlite_url: str, tmp_path: Path
) -> None:
    # Pages reload after each action: an element read mid-reload is simply read again.
    wait = WebDriverWait(browser, 20, ignored_exceptions=[StaleElementReferenceException])
    browser.get(f"{server}/editor")
    wait.until(expected_conditions.presence_of_element_located((By.ID, "token")))
    browser.find_element(By.ID, "token").send_keys("rlt_not-a-token")
    browser.find_element(By.ID, "login").click()
    error = (By.CSS_SELECTOR, ".error")
    assert wait.until(expected_conditions.text_to_be_present_in_element(error, "not valid"))

    browser.find_element(By.ID, "token").send_keys(make_token(sqlite_url, "editor", "carol"))
    browser.find_element(By.ID, "login").click()
    wait.until(expected_conditions.presence_of_element_located((By.ID, "q")))
    browser.find_element(By.ID, "q").send_keys("deficit")
    browser.find_element(By.ID, "search").click()
    # Titles are text, never markup: the literal "<" shows as it is.
    link = wait.until(
        expected_conditions.presence_of_element_located(
            (By.LINK_TEXT, "Budget Deficit Falls < 2% Of GDP")
        )
    )
    assert link

    browser.get(f"{server}/editor/articles/mars-rover-lands")
    cards = browser.find_elements(By.CSS_SELECTOR, "#cards .card")
    assert cards and "terms:" in cards[0].find_element(By.CSS_SELECTOR, ".why").text
    browser.find_element(By.ID, "reason").send_keys("Readers asked for sport")
    browser.find_element(By.ID, "pin-target").send_keys("tennis-open-final")
    position = browser.find_element(By.ID, "pin-position")
    position.clear()
    position.send_keys("2")
    browser.find_element(By.ID, "pin-add").click()
    wait.until(lambda b: "tennis-open-final" in b.find_element(By.ID, "overrides").text)
    browser.save_screenshot(str(tmp_path / "editor.png"))

    # Readers see the pin at position 2 from either worker, within a refresh interval.
    def every_reader_sees_the_pin() -> bool:  # fresh connections: both workers answer
        seen = [_public_list(server, "mars-rover-lands")[1] for _ in range(6)]
        return all((i["slug"], i["source"]) == ("tennis-open-final", "pin") for i in seen)

    wait_until(every_reader_sees_the_pin, seconds=REFRESH_INTERVAL + 2)
    card = browser.find_elements(By.CSS_SELECTOR, "#cards .card")[1]
    assert card.get_attribute("data-slug") == "tennis-open-final"
