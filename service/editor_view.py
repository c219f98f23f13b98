"""What the editor page says about a list, in words: why each card is there, where the
model alone would put it, and what changed, by whom. Plain functions of cards and audit
entries, so they are tested without a browser."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

Title = Callable[[str], str]  # slug -> the article's title (the slug when unknown)


def _listed(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def readable(term: str, text: str) -> str:
    """A shared term as the articles spell it: training stores stems ("senat gop"), which
    read as typos, so the first words in `text` that the stems begin are shown instead."""
    words = term.split()
    if not words:
        return term
    pattern = r"\W+".join(rf"{re.escape(word)}\w*" for word in words)
    found = re.search(rf"\b{pattern}", text, re.IGNORECASE)
    return found[0] if found else term


def why_in_words(item: dict[str, Any], text: str = "") -> str:
    """Why a card is in the list, for a person: shared tags and words, else its origin.
    `text`: the two articles' own words, to spell the shared terms as they do."""
    why = item.get("why") or {}
    parts = []
    if why.get("tags"):
        parts.append(f"tags {_listed(why['tags'])}")
    if why.get("terms"):
        terms = dict.fromkeys(readable(term, text) for term in why["terms"])  # stems may meet
        parts.append(f"the words {_listed([f'“{term}”' for term in terms])}")
    if parts:
        return f"Shares {'; '.join(parts)}."
    if (why.get("signals") or {}).get("category"):
        return "Same category, close in time."
    if item["source"] == "pin":
        return "Pinned by an editor; the model did not pick it."
    if item["source"] == "fallback":
        return "Filler: a recent article, as the model had too few picks."
    return "Similar overall wording."


def _text(card: dict[str, Any]) -> str:
    return f"{card.get('title') or ''} {card.get('excerpt') or ''}"


def annotate(
    source: dict[str, Any], items: list[dict[str, Any]], model_alone: list[str]
) -> list[dict[str, Any]]:
    """Each card with its position, why in words and its rank in the model's own list."""
    ranks = {slug: rank for rank, slug in enumerate(model_alone, start=1)}
    annotated = []
    for position, item in enumerate(items, start=1):
        words = why_in_words(item, f"{_text(source)} {_text(item)}")
        annotated.append(
            {**item, "position": position, "why_words": words,
             "model_rank": ranks.get(item["slug"])}
        )  # fmt: skip
    return annotated


def _until(after: dict[str, Any] | None) -> str:
    moment = (after or {}).get("expires_at")
    return f", until {moment.replace('T', ' ').removesuffix('Z')} UTC" if moment else ""


def _change(entry: dict[str, Any], title: Title) -> str:
    action, before, after = entry["action"], entry["before"], entry["after"]
    what = f"“{title(entry['target'])}”" if entry["target"] else ""
    where = "everywhere" if entry["scope"] == "*" else "in this list"
    if action == "add_pin":
        return f"pinned {what} at position {after['position']}{_until(after)}"
    if action == "add_block":
        return f"blocked {what} {where}{_until(after)}"
    if action == "add_unpublish":
        return f"unpublished {what}{_until(after)}"
    if action == "remove_pin":
        return f"removed the pin of {what}"
    if action == "remove_block":
        return f"lifted the block of {what} {where}"
    if action == "remove_unpublish":
        return f"published {what} again"
    if action == "move":
        start = f" from {before['position']}" if before else ""
        return f"moved {what}{start} to position {after['position']}{_until(after)}"
    if action == "reorder":
        order = ", ".join(f"{pin['position']}. {title(pin['target'])}" for pin in after or [])
        return f"set the order: {order or 'none'}"
    return f"{action.replace('_', ' ')} {what}".strip()


def history_lines(entries: list[dict[str, Any]], title: Title) -> list[dict[str, Any]]:
    """Audit entries as lines a person reads: when, who, what, and the reason given."""
    lines = []
    for entry in entries:
        changed = entry["after"] if isinstance(entry["after"], dict) else entry["before"]
        reason = changed.get("reason") if isinstance(changed, dict) else None
        if entry["action"] == "reorder" and entry["after"]:
            reason = entry["after"][-1]["reason"]
        lines.append({
            "at": entry["at"].replace("T", " ").removesuffix("Z"),
            "actor": entry["actor"],
            "change": _change(entry, title),
            "reason": reason,
        })  # fmt: skip
    return lines
