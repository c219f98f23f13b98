"""Languages: each article's language, and the analyser that turns its text into terms.

An article's language is its `language` field (an ISO 639-1 code or an English name,
`fr`, `fr-CA` and `French` alike), else detected from its own stop words. Each language
gets its own stop words and Snowball stemmer, so inflected forms ("elections",
"election") become one term and a French "les" is not an English term.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import Stemmer
from stop_words import LANGUAGE_MAPPING, get_stop_words

if TYPE_CHECKING:
    import pandas as pd

# scikit-learn and pandas are imported where they are used: serving reads language codes
# (`language_code`) without them.

DEFAULT = "en"  # what an article without a detectable language is taken to be
# scikit-learn's token pattern, r"(?u)\b\w\w+\b", finds the same words without its word
# boundaries (a greedy run of word characters starts and ends at one): a quarter faster.
TOKEN = re.compile(r"\w\w+")
DETECT_CHARS = 600  # about 100 words, a few dozen stop words: enough to tell; more only costs time
MIN_STOP_HITS = 1.0  # less stop-word evidence than this says nothing about the language

# Languages with both a stop-word list and a Snowball stemmer, by ISO 639-1 code.
LANGUAGES = {
    code: name
    for code, name in LANGUAGE_MAPPING.items()
    if name in Stemmer.algorithms() and code != "nb"
} | {"no": "norwegian"}
_BY_NAME = {name: code for code, name in LANGUAGES.items()}


def language_code(value: object) -> str | None:
    """The ISO 639-1 code of a declared language (`fr`, `fr-CA`, `French`), None if
    it is empty or not one Relata has an analyser for."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().casefold().replace("_", "-")
    primary = text.split("-", 1)[0]
    if primary in LANGUAGES:
        return primary
    return _BY_NAME.get(text)


@cache
def stop_words(code: str) -> frozenset[str]:
    """The stop words of a language (scikit-learn's list for English)."""
    if code == "en":
        return _english_stop_words()
    return frozenset(get_stop_words(LANGUAGES[code]))


def _english_stop_words() -> frozenset[str]:
    """scikit-learn's English stop words, read from its module's file as data where it is
    laid out as expected: importing scikit-learn cost each loading and analysing worker
    2.4 s and 140 MB, for a list of 318 words."""
    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    if spec is not None and spec.origin is not None:
        path = Path(spec.origin).parent / "feature_extraction" / "_stop_words.py"
        try:
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if (
                    isinstance(node, ast.Assign)
                    and [getattr(t, "id", None) for t in node.targets] == ["ENGLISH_STOP_WORDS"]
                    and isinstance(node.value, ast.Call)
                    and len(node.value.args) == 1
                ):
                    return frozenset(ast.literal_eval(node.value.args[0]))
        except (OSError, SyntaxError, ValueError, TypeError):
            pass  # laid out otherwise: import it
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


@cache
def _detection_words() -> dict[str, tuple[str, ...]]:
    """Each stop word with the languages whose list holds it."""
    owners: dict[str, list[str]] = {}
    for code in LANGUAGES:
        for word in stop_words(code):
            owners.setdefault(word, []).append(code)
    return {word: tuple(codes) for word, codes in owners.items()}


def detect(text: str, default: str = DEFAULT) -> str:
    """The language whose stop words `text` uses most (a word shared by several lists
    counts a share to each); `default` when too few stop words say anything."""
    words = _detection_words()
    counts = Counter(TOKEN.findall(text[:DETECT_CHARS].casefold()))
    hits: dict[str, float] = {}
    # Only the distinct stop words are looked at (a set intersection, in C): most of a
    # long text's words are no stop word in any language.
    for token in counts.keys() & words.keys():
        codes = words[token]
        for code in codes:
            hits[code] = hits.get(code, 0.0) + counts[token] / len(codes)
    if not hits:
        return default
    best = max(sorted(hits), key=lambda code: (hits[code], code == default))
    # Another language than the archive's own must win clearly: a short English headline
    # can hold more Spanish-looking words than English ones by chance.
    margin = MIN_STOP_HITS + 2 * hits.get(default, 0.0)
    return best if best == default or hits[best] >= margin else default


def article_languages(articles: pd.DataFrame, default: str) -> list[str]:
    """Each article's analyser: its declared language, else the one its text shows."""
    declared = articles["language"]
    if declared.isin(LANGUAGES.keys()).all():  # already resolved (training does it once)
        return declared.tolist()
    # `detect` reads the first DETECT_CHARS characters: each field is cut to that many in
    # the table (Arrow's kernel) rather than each body copied whole into a Python string.
    heads = [articles[name].str.slice(0, DETECT_CHARS) for name in ("title", "summary", "body")]
    languages = []
    for row in zip(articles["language"], *heads, strict=True):
        declared = language_code(row[0])
        if declared is None:
            text = " ".join(part for part in row[1:] if isinstance(part, str))
            declared = detect(text, default)
        languages.append(declared)
    return languages


def with_languages(articles: pd.DataFrame, default: str) -> pd.DataFrame:
    """`articles` with each one's language resolved (`article_languages`), in place."""
    articles["language"] = article_languages(articles, default)
    return articles


class Analyzer:
    """Terms of one `(language, text)` document: lower-cased words without the
    language's stop words, stemmed, then word n-grams up to `ngram_max`.

    A plain class with one parameter so a fitted vectoriser can be rebuilt from its
    recorded settings (nothing pickled)."""

    def __init__(self, ngram_max: int = 2) -> None:
        self.ngram_max = ngram_max

    def __call__(self, document: tuple[str, str]) -> list[str]:
        code, text = document
        stops = stop_words(code)
        words = [w for w in TOKEN.findall(text.casefold()) if w not in stops]
        words = stemmer(code).stemWords(words)
        terms = list(words)
        for n in range(2, self.ngram_max + 1):
            # Shifted copies of the words, zipped to the shortest: every run of n words.
            terms += map(" ".join, zip(*(words[i:] for i in range(n)), strict=False))
        return terms


@cache
def stemmer(code: str) -> Stemmer.Stemmer:
    """The Snowball stemmer of a language (PyStemmer)."""
    return Stemmer.Stemmer(LANGUAGES[code])
