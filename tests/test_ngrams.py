"""Counting n-grams as numbers gives what scikit-learn gives with the analyser, exactly."""

from __future__ import annotations

import re
import subprocess
import sys
from itertools import chain, pairwise

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from relata.training import ngrams
from relata.training import tokens as tokens_module
from relata.training.features import ArticleVectorizer
from relata.training.language import TOKEN, Analyzer, _english_stop_words
from relata.training.tokens import Tokens, analyse
from tests.corpus import ARTICLES

FRENCH = [
    ("Les élections municipales à Paris", "Les électeurs votent dimanche à Paris."),
    ("Élection présidentielle: le vote", "Le vote des électeurs décide de l'élection."),
]


def _articles() -> pd.DataFrame:
    rows = [
        {"title": title, "summary": summary, "body": f"{summary} {title}", "tags": tags,
         "language": "en"}
        for _, title, summary, _, tags, _ in ARTICLES
    ] + [
        {"title": title, "summary": summary, "body": summary, "tags": [], "language": "fr"}
        for title, summary in FRENCH
    ]  # fmt: skip
    return pd.DataFrame(rows)


def _scikit_learn(articles: pd.DataFrame, vectorizer: ArticleVectorizer) -> TfidfVectorizer:
    """The text part fitted the plain way: every article's fields analysed and chained."""
    analyzer = Analyzer(vectorizer.ngram_max)
    fields = [list(zip(articles["language"], articles[name], strict=True))
              for name in vectorizer.field_weights_]  # fmt: skip
    plain = TfidfVectorizer(analyzer=lambda terms: terms, sublinear_tf=True, dtype=np.float32,
                            min_df=vectorizer.min_df, max_df=vectorizer.max_df)  # fmt: skip
    whole = [list(chain.from_iterable(map(analyzer, parts))) for parts in zip(*fields, strict=True)]
    return plain.fit(whole)


def _spelled(analysed: Tokens) -> list[list[str]]:
    """Each segment's stems as text."""
    return [[analysed.stems[i] for i in analysed.ids[a:b]] for a, b in pairwise(analysed.starts)]


@pytest.mark.parametrize(
    ("ngram_max", "min_df", "max_df"), [(1, 1, 1.0), (2, 2, 0.3), (3, 2, 0.5), (5, 1, 0.3)]
)
def test_vocabulary_idf_and_vectors_match_scikit_learn(
    ngram_max: int, min_df: int, max_df: float
) -> None:
    articles = _articles()
    vectorizer = ArticleVectorizer(ngram_max=ngram_max, min_df=min_df, max_df=max_df)
    text, _ = vectorizer.fit_blocks(articles)
    plain = _scikit_learn(articles, vectorizer)
    fitted = vectorizer.text_vectorizer_
    assert fitted.get_feature_names_out().tolist() == plain.get_feature_names_out().tolist()
    assert np.array_equal(fitted.idf_, plain.idf_)
    # The vectors fitting builds from numbers equal those new articles get from text.
    assert (text != vectorizer.text_vectors(articles)).nnz == 0


def test_words_are_stemmed_per_language_and_stop_words_dropped() -> None:
    analysed = analyse({"title": ["The elections", "Les élections"]}, ["en", "fr"])
    assert _spelled(analysed) == [["elect"], ["élect"]]


@pytest.mark.slow  # starts worker processes
def test_parallel_chunks_number_stems_like_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = {"title": [title for _, title, *_ in ARTICLES], "body": ["a b c"] * len(ARTICLES)}
    languages = ["en"] * len(ARTICLES)
    whole = analyse(texts, languages)
    monkeypatch.setattr(tokens_module, "CHUNK", 3)
    chunked = analyse(texts, languages, n_jobs=2)
    assert np.array_equal(whole.starts, chunked.starts)
    assert [whole.stems[i] for i in whole.ids] == [chunked.stems[i] for i in chunked.ids]


def test_halves_take_every_other_term_of_each_field() -> None:
    analysed = analyse({"title": ["alpha beta gamma delta", "epsilon"]}, ["en", "en"])
    first, second = analysed.halves()
    assert _spelled(first) == [["alpha", "gamma"], ["epsilon"]]
    assert _spelled(second) == [["beta", "delta"], []]


@pytest.mark.parametrize("min_df", [1, 2])
def test_counting_in_small_chunks_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, min_df: int
) -> None:
    articles = _articles()
    whole = ArticleVectorizer(ngram_max=3, min_df=min_df)
    text, _ = whole.fit_blocks(articles)
    monkeypatch.setattr(ngrams, "ARTICLES", 3)  # many chunks, and tables summed often
    monkeypatch.setattr(ngrams, "MERGE", 10)
    monkeypatch.setattr(ngrams, "PART_ARTICLES", 4)  # several passes, one per remainder
    chunked = ArticleVectorizer(ngram_max=3, min_df=min_df)
    chunked_text, _ = chunked.fit_blocks(articles)
    assert chunked.codes_.terms == whole.codes_.terms
    assert (chunked_text != text).nnz == 0


def test_words_are_scikit_learns_tokens() -> None:
    text = "A b_c déjà-vu 42 x9 l'été __ a1_ Ünïcode ＦＵＬＬ  wide,words;and.dots… née's ß"
    assert TOKEN.findall(text) == re.findall(r"(?u)\b\w\w+\b", text)


def test_english_stop_words_are_scikit_learns_read_without_importing_it() -> None:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    assert _english_stop_words() == ENGLISH_STOP_WORDS
    # A worker analysing English text must not pay for importing scikit-learn.
    script = (
        "import sys; from relata.training.language import stop_words; "
        "assert len(stop_words('en')) == 318; assert 'sklearn' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


@pytest.mark.parametrize("spread", [1, 2**22])  # ranks as one number; too wide for one
def test_terms_sort_on_their_words_ranks_as_spelled(spread: int) -> None:
    stems = sorted(["a", "ab", "abc", "a0", "b", "ba", "_x", "x_", "9", "é", "z", "éa"])
    rng = np.random.default_rng(0)
    grams = {tuple(rng.choice(len(stems), rng.integers(1, 4)).tolist()) for _ in range(300)}
    words = np.array([[*gram, *[-1] * (3 - len(gram))] for gram in grams])
    words = np.where(words >= 0, words * spread, -1)
    spelled = [" ".join(stems[i] for i in gram) for gram in grams]
    order = ngrams._alphabetical(words)
    assert [spelled[i] for i in order] == sorted(spelled)
