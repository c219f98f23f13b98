"""A small archive's relaxed cut-offs are reported, never silent."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from relata.training.features import ArticleVectorizer

WORDS = ["mars", "rover", "cup", "final", "rates", "bank", "storm", "coast", "vote", "poll"]


def _articles(count: int) -> pd.DataFrame:
    """`count` short articles whose words and tags repeat every few articles."""
    rows = [
        {"title": f"{WORDS[i % 10]} {WORDS[(i + 3) % 10]}", "summary": WORDS[(i + 5) % 10],
         "body": "", "tags": [WORDS[i % 4]], "language": "en"}
        for i in range(count)
    ]  # fmt: skip
    return pd.DataFrame(rows)


LOGGER = "relata.training.features"


def _fit(articles: pd.DataFrame, caplog: pytest.LogCaptureFixture) -> ArticleVectorizer:
    vectorizer = ArticleVectorizer(min_df=2, max_df=0.9, min_tag_count=3, tag_weight=0.5)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        return vectorizer.fit(articles)


def _said(caplog: pytest.LogCaptureFixture) -> list[str]:
    # Only the vectoriser's own lines: an earlier test's background thread may log too.
    return [record.getMessage() for record in caplog.records if record.name == LOGGER]


def test_a_small_archive_relaxes_the_cutoffs_and_says_which_values_it_used(
    caplog: pytest.LogCaptureFixture,
) -> None:
    vectorizer = _fit(_articles(12), caplog)
    assert (vectorizer.min_df_, vectorizer.max_df_, vectorizer.min_tag_count_) == (1, 1.0, 1)
    assert _said(caplog) == [
        "min_df=2 relaxed to 1: the archive has only 12 articles",
        "max_df=0.9 relaxed to 1.0: the archive has only 12 articles",
        "min_tag_count=3 relaxed to 1: the archive has only 12 articles",
    ]


def test_an_archive_large_enough_uses_the_settings_as_given(
    caplog: pytest.LogCaptureFixture,
) -> None:
    vectorizer = _fit(_articles(40), caplog)
    assert (vectorizer.min_df_, vectorizer.max_df_, vectorizer.min_tag_count_) == (2, 0.9, 3)
    assert _said(caplog) == []
