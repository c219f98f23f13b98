"""The editor page in a real headless Chromium (Debian's), against a real served app:
what an editor does with the mouse and the keyboard, and what readers then get."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from tests.browser import chromium
from tests.conftest import make_token
from tests.serving import served, wait_until

pytestmark = pytest.mark.slow  # each test starts `relata serve` and a browser
REFRESH_INTERVAL = 0.2
SOURCE = "mars-rover-lands"


@pytest.fixture
def served_twice(models: Path, sqlite_url: str) -> Iterator[str]:
    """`relata serve` with two workers on the test model and database."""
    interval = str(REFRESH_INTERVAL)
    with served(
        models, "--database-url", sqlite_url, RELATA_OVERRIDES_REFRESH_INTERVAL=interval
    ) as base:
        yield base


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    """The app over real HTTP in this process (werkzeug's threaded server): seconds
    faster to start than gunicorn, for the tests that need only one worker."""
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    with chromium() as driver:
        driver.set_window_size(1280, 1000)
        yield driver


def _call(base: str, path: str, token: str | None = None, method: str = "GET",
          body: dict | None = None, version: int | None = None) -> Any:  # fmt: skip
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if version is not None:
        headers["If-Match"] = f'"{version}"'
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data, headers, method=method)
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def _public_list(base: str, slug: str = SOURCE, limit: int = 6) -> list[str]:
    return [item["slug"] for item in _call(base, f"/v1/related/{slug}?limit={limit}")["items"]]


class EditorPage:
    """The editor page as a person drives it; every wait is for something to appear."""

    def __init__(self, driver: webdriver.Chrome, base: str) -> None:
        self.driver, self.base = driver, base
        # Pages reload after each action: an element read mid-reload is simply read again.
        self.wait = WebDriverWait(driver, 20, ignored_exceptions=[StaleElementReferenceException])

    def find(self, selector: str, within: WebElement | None = None) -> WebElement:
        return (within or self.driver).find_element(By.CSS_SELECTOR, selector)

    def log_in(self, token: str) -> None:
        self.driver.get(f"{self.base}/editor")
        self.wait.until(expected_conditions.presence_of_element_located((By.ID, "token")))
        self.find("#token").send_keys(token)
        self.find("#login").click()
        self.wait.until(expected_conditions.presence_of_element_located((By.ID, "q")))

    def open(self, slug: str = SOURCE) -> None:
        self.driver.get(f"{self.base}/editor/articles/{slug}")
        self.wait.until(expected_conditions.presence_of_element_located((By.ID, "cards")))

    def cards(self) -> list[str]:
        cards = self.driver.find_elements(By.CSS_SELECTOR, "#cards .card")
        return [card.get_attribute("data-slug") for card in cards]

    def card(self, slug: str) -> WebElement:
        return self.find(f'#cards .card[data-slug="{slug}"]')

    def text(self, selector: str) -> str:
        """The rendered text of `selector` ("" while it is not there), read in one script
        call: an element handle can go stale between finding and reading it when the page
        reloads, and Chromium then reports a generic error ("Node with given id does not
        belong to the document"), not a stale element."""
        return self.driver.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : ''",
            selector,
        )

    def saved(self) -> None:
        """Wait for the reload that follows a change the API accepted."""
        self.wait.until(lambda driver: "Saved" in self.text("#status"))

    def alert(self, selector: str) -> str:
        """The text of the alert `selector` once it has one."""
        self.wait.until(lambda driver: self.text(selector).strip())
        return self.text(selector)

    def change(self, slug: str, action: str, reason: str, expiry: str | None = None) -> None:
        """Open a card's change form, fill it in and apply it."""
        self.find("[data-change]", self.card(slug)).click()
        Select(self.find("#change-action")).select_by_value(action)
        self.find("#change-reason").send_keys(reason)
        if expiry is not None:  # a datetime-local field's typing depends on the locale
            self.driver.execute_script(
                "arguments[0].value = arguments[1]", self.find("#change-expiry"), expiry
            )
        self.find("#change-apply").click()


@pytest.fixture
def page(browser: webdriver.Chrome, server: str) -> EditorPage:
    return EditorPage(browser, server)


def _pins(base: str, token: str) -> dict[str, dict]:
    overrides = _call(base, f"/v1/overrides/{SOURCE}", token)["overrides"]
    return {o["target"]: o for o in overrides if o["kind"] == "pin"}


def test_editor_logs_in_pins_and_readers_see_it(
    browser: webdriver.Chrome, served_twice: str, sqlite_url: str
) -> None:
    page, server = EditorPage(browser, served_twice), served_twice
    page.driver.get(f"{server}/editor")
    page.find("#token").send_keys("rlt_not-a-token")
    page.find("#login").click()
    assert "not valid" in page.alert("#login-error")

    page.log_in(make_token(sqlite_url, "editor", "carol"))
    page.find("#q").send_keys("deficit")
    page.find("#search").click()
    # Titles are text, never markup: the literal "<" shows as it is.
    link = (By.LINK_TEXT, "Budget Deficit Falls < 2% Of GDP")
    assert page.wait.until(expected_conditions.presence_of_element_located(link))

    page.open()
    assert page.find(".why", page.card(page.cards()[0])).text.startswith("Shares")
    page.find("#pin-target").send_keys("tennis-open-final")
    position = page.find("#pin-position")
    position.clear()
    position.send_keys("2")
    page.find("#pin-reason").send_keys("Readers asked for sport")
    page.find("#pin-add").click()
    page.saved()
    assert page.cards()[1] == "tennis-open-final"
    assert page.find(".badge", page.card("tennis-open-final")).text == "pin"

    # Readers see the pin at position 2 from either worker, within a refresh interval.
    def every_reader_sees_the_pin() -> bool:  # fresh connections: both workers answer
        return all(_public_list(server)[1] == "tennis-open-final" for _ in range(6))

    wait_until(every_reader_sees_the_pin, seconds=REFRESH_INTERVAL + 2)


def test_a_keyboard_move_changes_only_the_moved_card(
    page: EditorPage, server: str, sqlite_url: str
) -> None:
    alice = make_token(sqlite_url, "editor", "alice")
    body = {"kind": "pin", "target": "tennis-open-final", "position": 1, "reason": "lead"}
    _call(server, f"/v1/overrides/{SOURCE}", alice, "POST", body, version=0)
    pinned = _pins(server, alice)["tennis-open-final"]
    page.log_in(make_token(sqlite_url, "editor", "bob"))
    page.open()
    before = page.cards()
    moved = before[4]

    # A move started and left: the next card moved puts it back (one move at a time).
    page.find("[data-move='1']", page.card(before[1])).send_keys(Keys.ENTER)
    assert page.cards()[2] == before[1]
    # Two presses of its ↑ button, from the keyboard, take the fifth card to third.
    up = page.find("[data-move='-1']", page.card(moved))
    up.send_keys(Keys.ENTER)
    page.driver.switch_to.active_element.send_keys(Keys.ENTER)
    assert page.cards() == [*before[:2], moved, *before[2:4], *before[5:]]  # not saved yet
    assert Select(page.find("#change-action")).first_selected_option.text == "Move to position 3"
    page.find("#change-reason").send_keys("Better lead image", Keys.ENTER)
    page.saved()

    expected = [before[0], before[1], moved, before[2], before[3], *before[5:]]
    assert page.cards() == expected
    assert _public_list(server, limit=len(expected)) == expected
    pins = _pins(server, alice)
    assert pins["tennis-open-final"] == pinned  # its reason, author and time untouched
    assert set(pins) == {"tennis-open-final", moved}
    assert (pins[moved]["position"], pins[moved]["author"]) == (3, "bob")
    # The page's history says what changed, who did it and why.
    newest = page.find("#history li").text
    assert "bob moved" in newest and "to position 3" in newest and "Better lead image" in newest


def test_a_drag_moves_the_card_it_dropped(page: EditorPage, server: str, sqlite_url: str) -> None:
    page.log_in(make_token(sqlite_url, "editor"))
    page.open()
    before = page.cards()
    # Selenium cannot drive native HTML5 drag and drop: the page gets the same events a
    # person's drag makes, dropped on the upper half of the second card.
    page.driver.execute_script(
        """const [card, onto] = arguments, data = new DataTransfer();
        const box = onto.getBoundingClientRect();
        const at = {bubbles: true, cancelable: true, dataTransfer: data,
                    clientX: box.left + 5, clientY: box.top + 2};
        card.dispatchEvent(new DragEvent("dragstart", at));
        onto.dispatchEvent(new DragEvent("dragover", at));
        onto.dispatchEvent(new DragEvent("drop", at));
        card.dispatchEvent(new DragEvent("dragend", at));""",
        page.card(before[3]),
        page.card(before[1]),
    )
    assert page.cards()[1] == before[3]
    page.find("#change-reason").send_keys("Exclusive", Keys.ENTER)
    page.saved()
    assert page.cards() == [before[0], before[3], before[1], before[2], *before[4:]]


def test_an_error_appears_next_to_the_action_that_caused_it(
    page: EditorPage, server: str, sqlite_url: str
) -> None:
    token = make_token(sqlite_url, "editor")
    page.log_in(token)
    page.open()
    page.find("#pin-target").send_keys("tennis-open-final")
    page.find("#pin-reason").send_keys("sport")
    page.find("#pin-add").click()
    page.saved()
    # A later pin is refused: the earlier "Saved." must not stand beside its error.
    page.find("#pin-target").send_keys("no-such-article")
    page.find("#pin-reason").send_keys("try")
    page.find("#pin-add").click()
    message = page.alert("#pin-error")
    assert "no article 'no-such-article'" in message
    error = page.find("#pin-error")
    assert error.get_attribute("role") == "alert" and error.is_displayed()
    assert page.find("#change-error").text == "" and page.find("#status").text == ""

    # A card's own change goes wrong: the message is under that card, not elsewhere.
    cards = page.cards()
    page.change(cards[2], "pin", "lead", expiry="2001-01-01T00:00")
    assert "must be in the future" in page.alert("#change-error")
    row = page.find("#change-row")
    assert page.driver.execute_script(
        "return arguments[0].previousElementSibling.dataset.slug", row
    ) == cards[2]  # fmt: skip
    assert page.find("#pin-error").text == ""
    overrides = _call(server, f"/v1/overrides/{SOURCE}", token)["overrides"]
    assert [o["target"] for o in overrides] == ["tennis-open-final"]  # the accepted pin only


def test_expiry_and_block_everywhere_work_from_the_page(
    page: EditorPage, server: str, sqlite_url: str
) -> None:
    token = make_token(sqlite_url, "editor", "erin")
    page.log_in(token)
    page.open()
    target = page.cards()[1]
    page.change(target, "block-everywhere", "Legal hold", expiry="2099-06-30T12:00")
    page.saved()

    assert target not in page.cards()
    assert target not in _public_list(server, limit=50)
    assert target not in _public_list(server, "mars-helicopter-flight", 50)
    blocks = _call(server, "/v1/blocks", token)["overrides"]
    assert [(b["kind"], b["target"], b["author"]) for b in blocks] == [("block", target, "erin")]
    # The browser's local 12:00 on that day, sent as UTC: the year and day survive.
    assert blocks[0]["expires_at"].startswith("2099-06-30")
    listed = page.find("#global").text
    assert "Legal hold" in listed and "until 2099-06-30" in listed
    assert "erin blocked" in page.find("#history li").text
    assert "everywhere, until 2099-06-30" in page.find("#history li").text


@pytest.mark.parametrize("where", ["search", "article"])
def test_pages_fit_375_px_without_sideways_scrolling(
    page: EditorPage, server: str, sqlite_url: str, where: str
) -> None:
    page.log_in(make_token(sqlite_url, "editor"))
    page.driver.set_window_size(375, 800)
    if where == "search":
        page.driver.get(f"{server}/editor?q=recipe")
        page.wait.until(expected_conditions.presence_of_element_located((By.ID, "results")))
    else:
        page.open()
        page.find("[data-change]", page.card(page.cards()[0])).click()
        assert page.find("#change-row").is_displayed()
    assert page.driver.execute_script("return innerWidth") <= 375  # a phone's width, really
    sizes = page.driver.execute_script(
        "const s = document.scrollingElement; return [s.scrollWidth, s.clientWidth]"
    )
    assert sizes[0] <= sizes[1], sizes


def test_search_is_keyboard_navigable(page: EditorPage, server: str, sqlite_url: str) -> None:
    page.log_in(make_token(sqlite_url, "editor"))
    page.find("#q").send_keys("mars", Keys.ENTER)
    page.wait.until(expected_conditions.presence_of_element_located((By.ID, "results")))
    assert page.find("#count").text.startswith("4 articles match")
    page.find("#q").send_keys(Keys.ARROW_DOWN)
    page.driver.switch_to.active_element.send_keys(Keys.ARROW_DOWN)
    second = page.driver.switch_to.active_element
    assert second == page.driver.find_elements(By.CSS_SELECTOR, "#results a")[1]
    href = second.get_attribute("href")
    second.send_keys(Keys.ENTER)
    page.wait.until(expected_conditions.url_to_be(href))


# Every visible control's accessible name, and the WCAG contrast of every visible text
# against the first opaque background behind it.
AUDIT = """
const luminance = (rgb) => {
  const [r, g, b] = rgb.match(/[\\d.]+/g).slice(0, 3).map((v) => {
    const c = Number(v) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const background = (element) => {
  for (let e = element; e; e = e.parentElement) {
    const colour = getComputedStyle(e).backgroundColor;
    if (!colour.startsWith("rgba") || !colour.endsWith(", 0)")) return colour;
  }
  return "rgb(255, 255, 255)";
};
const unlabelled = [...document.querySelectorAll("input:not([type=hidden]), select, button")]
  .filter((e) => e.offsetParent && !(e.labels && e.labels.length) && !e.getAttribute("aria-label")
                 && !e.textContent.trim())
  .map((e) => e.outerHTML);
const faint = [];
for (const e of document.querySelectorAll("main *, header *")) {
  const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  if (!own || !e.offsetParent || e.closest("button:disabled")) continue;
  const [a, b] = [luminance(getComputedStyle(e).color), luminance(background(e))];
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  if (ratio < 4.5) faint.push(`${e.tagName}.${e.className} ${ratio.toFixed(2)}`);
}
return [unlabelled, faint];
"""


def test_controls_are_labelled_and_text_has_contrast(
    page: EditorPage, server: str, sqlite_url: str
) -> None:
    token = make_token(sqlite_url, "editor")
    body = {"kind": "pin", "target": "tennis-open-final", "position": 2, "reason": "sport"}
    _call(server, f"/v1/overrides/{SOURCE}", token, "POST", body, version=0)
    page.log_in(token)
    assert page.driver.execute_script(AUDIT) == [[], []]  # the search page
    page.open()
    page.find("[data-change]", page.card(page.cards()[0])).click()
    page.find("#change-apply").click()  # no reason: the form's alert shows
    assert page.alert("#change-error")
    assert page.driver.execute_script(AUDIT) == [[], []]
