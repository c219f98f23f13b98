"""Text clean-up shared by validation and card building."""

from __future__ import annotations

import html
import re

from w3lib.html import remove_tags

_LOOKS_LIKE_HTML = re.compile(r"<[a-zA-Z/!]|&[#a-zA-Z0-9]+;")


def _strip_tags(text: str) -> str:
    # Until nothing changes: one pass over "<<b>script>" leaves "<script>" behind.
    while True:
        stripped = remove_tags(text)
        if stripped == text:
            return text
        text = stripped


def clean_text(value: object) -> str:
    """Plain text from an archive field: entities decoded once, then tags removed,
    whitespace folded.

    Decoding comes first so that entity-encoded markup ("&lt;script&gt;") is removed like
    markup, and never again, so nothing decoded here can turn into a tag downstream. Text
    without markup is left alone, so a headline such as "Rates < 2%" keeps its "<".
    """
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = str(value)
    # The plain searches first: most text has neither "<" nor "&", and they cost a
    # hundredth of the pattern's search over a body of a few thousand characters.
    if ("<" in text or "&" in text) and _LOOKS_LIKE_HTML.search(text):
        text = _strip_tags(html.unescape(text))
    return " ".join(text.split())  # str.split's whitespace is the regex \s: same text, faster


def excerpt(text: str, limit: int) -> str:
    """`text` cut at the last word boundary before `limit` characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if not text[limit].isspace() and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-–—") + "…"
