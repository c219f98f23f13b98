"""Text clean-up shared by validation and card building."""

from __future__ import annotations

import re

from w3lib.html import remove_tags, replace_entities

_SPACE = re.compile(r"\s+")
_LOOKS_LIKE_HTML = re.compile(r"<[a-zA-Z/!]|&[#a-zA-Z0-9]+;")


def clean_text(value: object) -> str:
    """Plain text from an archive field: HTML tags and entities removed, whitespace folded.

    Text without markup is left alone, so a headline such as "Rates < 2%" keeps its "<".
    """
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = str(value)
    if _LOOKS_LIKE_HTML.search(text):
        text = replace_entities(remove_tags(text))
    return _SPACE.sub(" ", text).strip()


def excerpt(text: str, limit: int) -> str:
    """`text` cut at the last word boundary before `limit` characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if not text[limit].isspace() and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-–—") + "…"
