"""Features: per-field TF-IDF text vectors, per language, and calibrated tag vectors.

The two are stacked into one sparse matrix whose row dot products are the content score
`text_weight * cos(text) + tags(a, b)`, so the neighbour search needs a single sparse
product. `tags(a, b)` adds, for each tag two articles share, what that tag is worth (see
`relata.training.calibrate`), averaged over their tags so an article with many tags cannot
outscore text. Category and recency are pairwise, not vector, signals: they are applied
to the candidates (see `relata.training.neighbours`).

Small archives relax three cut-offs, because on a few dozen articles the settings would
drop most of the vocabulary (a term in 2 of 12 articles is not rare): `min_df` and
`min_tag_count` fall to a tenth of the article count (at least 1), and `max_df` rises to
1.0 below 20 articles. Each relaxed value is logged as a warning naming the setting, and
kept on the fitted vectoriser as `min_df_`, `max_df_` and `min_tag_count_`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from numbers import Integral
from typing import Any, TypeVar, overload

import numpy as np
import pandas as pd
import scipy.sparse as sp
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted

from relata.training import calibrate
from relata.training.language import Analyzer, article_languages
from relata.training.ngrams import Vocabulary, count_matrix, fit_vocabulary, smooth_idf
from relata.training.records import TEXT_FIELDS
from relata.training.settings import AUTO, TrainSettings
from relata.training.tokens import Tokens, analyse

log = logging.getLogger(__name__)

# Fewer articles than this and `max_df` does not apply (see the module docstring).
MAX_DF_MIN_ARTICLES = 20
# Articles whose text vectors are built together. Counting a chunk's n-grams holds
# several 64-bit arrays per token position (several hundred MB for 20,000 articles of
# ~450 words); the rows do not depend on the chunking.
MATRIX_ARTICLES = 5000


Cutoff = TypeVar("Cutoff", int, float)


def _effective_cutoff(setting: str, asked: Cutoff, used: Cutoff, n_docs: int) -> Cutoff:
    """`used`, with a warning naming `setting` when it differs from the `asked` value, so a
    small archive's relaxed cut-off is never silent."""
    if used != asked:
        log.warning(
            "%s=%s relaxed to %s: the archive has only %d articles", setting, asked, used, n_docs
        )
    return used


def tag_analyzer(tags: list[str]) -> list[str]:
    """Tags as their own tokens, case-folded."""
    return [tag.casefold() for tag in tags]


class _FittedText(TfidfVectorizer):
    """scikit-learn's text vectoriser fitted on a known vocabulary without building its
    term → column dict until something transforms text. Training never does: at a
    million articles that dict of ten million terms took about a GB and ten seconds
    (scikit-learn's own `idf_` setter builds it, and a copy). The stored model holds the
    terms, and loads as a plain `TfidfVectorizer` (see `vectorizer_state`)."""

    _columns: dict[str, int] | None = None

    def fix(self, terms: list[str], idf: np.ndarray) -> None:
        """Fitted: `terms` in column order, their `idf`."""
        if len(terms) != len(idf):
            raise ValueError(f"{len(terms)} terms but {len(idf)} idf values")
        self.terms_, self.fixed_vocabulary_, self._columns = terms, True, None
        # Where scikit-learn's `idf_` setter puts it, after building the dict.
        self._tfidf = TfidfTransformer(
            norm=self.norm, use_idf=True, smooth_idf=self.smooth_idf,
            sublinear_tf=self.sublinear_tf,
        )  # fmt: skip
        self._tfidf.idf_ = idf

    @property
    def vocabulary_(self) -> dict[str, int]:  # type: ignore[override]
        if self._columns is None:
            self._columns = {term: column for column, term in enumerate(self.terms_)}
        return self._columns

    @vocabulary_.setter
    def vocabulary_(self, columns: dict[str, int]) -> None:  # scikit-learn's own fit
        self._columns = columns
        self.terms_ = sorted(columns, key=columns.__getitem__)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.terms_, dtype=object)


class _TextColumn(Sequence[str]):
    """A text column as the analysis reads it, a chunk of articles at a time ("" for a
    missing text): the whole column as Python strings would be another copy of the
    archive's text (about 3 GB at a million articles of real length)."""

    def __init__(self, column: pd.Series) -> None:
        self.column = column

    def __len__(self) -> int:
        return len(self.column)

    @overload
    def __getitem__(self, where: int) -> str: ...
    @overload
    def __getitem__(self, where: slice) -> list[str]: ...
    def __getitem__(self, where: int | slice) -> str | list[str]:
        if isinstance(where, slice):
            return self.column.iloc[where].fillna("").tolist()
        value = self.column.iloc[where]
        return value if isinstance(value, str) else ""


class ArticleVectorizer(TransformerMixin, BaseEstimator):
    """Turn an article table into blended content vectors.

    One `TfidfVectorizer` learns the vocabulary of all text fields (sublinear tf, each
    article analysed in its own language: stop words, Snowball stems, n-grams;
    document-frequency cut-offs); each field's vector is normalised, weighted by
    `field_weights`, and the sum normalised, so a long body cannot drown a title and a
    word in a title still matches the same word in a body. The text block is scaled
    by the square root of `text_weight`. Each tag column holds the square root of what a
    shared tag adds (`tag_weight`: `"auto"` measures it per tag on the archive, a number
    is scaled by the tag's rarity), divided by the square root of the article's tag
    count, so a dot product is text plus the mean worth of the shared tags.

    Each article is analysed in its `language` (declared, else detected; `language` is
    the fallback). Fields or tags with no usable vocabulary simply contribute nothing.

    On small archives `min_df`, `max_df` and `min_tag_count` are relaxed (see the module
    docstring); `min_df_`, `max_df_` and `min_tag_count_` hold the values used.
    """

    def __init__(
        self,
        *,
        field_weights: dict[str, float] | None = None,
        text_weight: float = 1.0,
        tag_weight: float | str = AUTO,
        ngram_max: int = 2,
        min_df: int = 2,
        max_df: float = 0.3,
        min_tag_count: int = 2,
        language: str = "en",
        n_jobs: int = 1,
    ) -> None:
        self.field_weights = field_weights
        self.text_weight = text_weight
        self.tag_weight = tag_weight
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.max_df = max_df
        self.min_tag_count = min_tag_count
        self.language = language
        self.n_jobs = n_jobs

    def _text_vectorizer(self, n_docs: int, vocabulary: Vocabulary) -> TfidfVectorizer:
        """The fitted text part, as scikit-learn would have fitted it: what new articles
        go through (`transform`) and what the model stores."""
        vectorizer = _FittedText(
            analyzer=Analyzer(self.ngram_max),
            sublinear_tf=True,
            min_df=self.min_df_,
            max_df=self.max_df_,
            dtype=np.float32,
            vocabulary=vocabulary.terms,
        )
        vectorizer.fix(vocabulary.terms, smooth_idf(vocabulary.df, n_docs))
        return vectorizer

    def _weights(self) -> dict[str, float]:
        defaults = TrainSettings()  # one table of defaults: the training settings'
        weights = self.field_weights or {
            "title": defaults.title_weight,
            "summary": defaults.summary_weight,
            "body": defaults.body_weight,
        }
        unknown = set(weights) - set(TEXT_FIELDS)
        if unknown:
            raise ValueError(f"unknown text fields in field_weights: {sorted(unknown)}")
        return weights

    def analyse(self, articles: pd.DataFrame) -> Tokens:
        """The weighted text fields of `articles` as stem ids, each article analysed once
        in its language (what `fit_blocks` and calibration's held-out halves share)."""
        fields = {
            name: _TextColumn(articles[name])
            for name, weight in self._weights().items() if weight > 0
        }  # fmt: skip
        return analyse(fields, article_languages(articles, self.language), self.n_jobs)

    def _fit(
        self, articles: pd.DataFrame, tokens: Tokens | None = None
    ) -> tuple[sp.csr_matrix, sp.csr_matrix | None]:
        """Fit every part; return the text and tag blocks of `articles` on the way."""
        n_docs = len(articles)
        # One vocabulary is learnt from all fields, so a word in one article's title
        # matches the same word in another's summary. Each article is analysed once and
        # its n-grams counted as numbers (`training.ngrams`): a million articles' terms,
        # spelled out before pruning, do not fit in memory.
        tokens = self.analyse(articles) if tokens is None else tokens
        # A field counts where some article has a word in it (the text itself may be gone
        # by now: see `pipeline.fit_features`).
        self.field_weights_ = {
            name: self._weights()[name] for name in tokens.fields if len(tokens.field(name)[0])
        }
        self._relax_cutoffs(n_docs)
        max_count = self.max_df_ if isinstance(self.max_df_, Integral) else self.max_df_ * n_docs
        self.codes_ = (
            fit_vocabulary(tokens, self.ngram_max, self.min_df_, max_count)
            if max_count >= self.min_df_
            else None
        )  # none when the cut-offs leave nothing, as scikit-learn refuses to fit then
        self.stems_ = tokens.stems
        if self.codes_ is None:
            self.text_vectorizer_: TfidfVectorizer | None = None
            text = sp.csr_matrix((n_docs, 0), dtype=np.float32)
        else:
            self.text_vectorizer_ = self._text_vectorizer(n_docs, self.codes_)
            text = self._text_block(tokens)
        self.tag_vectorizer_: CountVectorizer | None = CountVectorizer(
            analyzer=tag_analyzer,
            min_df=self.min_tag_count_,
            binary=True,
            dtype=np.float32,
        )
        try:
            members = self.tag_vectorizer_.fit_transform(articles["tags"]).tocsr()
        except ValueError:  # no tag is used often enough
            self.tag_vectorizer_, self.tag_worth_, self.tag_scale_ = None, np.zeros(0), 0.0
            return text, None
        sizes = np.asarray(members.sum(axis=0)).ravel()
        if self.tag_weight == AUTO:
            self.tag_worth_ = calibrate.group_worth(
                text, members, calibrate.baseline(text), effective_n_jobs(self.n_jobs)
            )
        else:
            idf = np.log(n_docs / sizes)
            largest = np.log(n_docs / max(1, min(sizes.min(), self.min_tag_count)))
            self.tag_worth_ = float(self.tag_weight) * idf / max(largest, 1e-12)
        self.tag_scale_ = 1.0  # set by calibration when the weight is auto
        return text, members

    def _relax_cutoffs(self, n_docs: int) -> None:
        """The cut-offs used on `n_docs` articles (see the module docstring)."""
        floor = max(1, n_docs // 10)
        max_df = 1.0 if n_docs < MAX_DF_MIN_ARTICLES else self.max_df
        self.min_df_ = _effective_cutoff("min_df", self.min_df, min(self.min_df, floor), n_docs)
        self.max_df_ = _effective_cutoff("max_df", self.max_df, max_df, n_docs)
        self.min_tag_count_ = _effective_cutoff(
            "min_tag_count", self.min_tag_count, min(self.min_tag_count, floor), n_docs
        )

    def _text_block(self, tokens: Tokens) -> sp.csr_matrix:
        """Unit text vectors of analysed articles, a chunk of articles at a time (so only
        one chunk's per-field matrices are ever held)."""
        if self.text_vectorizer_ is None or self.codes_ is None:
            return sp.csr_matrix((tokens.n, 0), dtype=np.float32)
        tokens = tokens.renumbered(self.stems_)
        weigh = TfidfTransformer(sublinear_tf=True)
        weigh.idf_ = self.text_vectorizer_.idf_
        tables, blocks = self.codes_.count_tables(), []
        for start in range(0, tokens.n, MATRIX_ARTICLES):
            part = tokens.rows(np.arange(start, min(tokens.n, start + MATRIX_ARTICLES)))
            fields = {
                name: weigh.transform(count_matrix(part, name, self.codes_, tables))
                for name in self.field_weights_
            }  # fmt: skip
            blocks.append(self._weighted(part.n, fields))
        return sp.vstack(blocks, format="csr", dtype=np.float32) if blocks else (
            sp.csr_matrix((0, len(self.codes_.terms)), dtype=np.float32)
        )

    def held_out_halves(self, tokens: Tokens) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Unit text vectors of two halves of analysed articles, every other term each
        (calibration's yardstick), scored with the fitted vocabulary and idf."""
        check_is_fitted(self, "field_weights_")
        first, second = tokens.halves()
        return self._text_block(first), self._text_block(second)

    def text_vectors(self, articles: pd.DataFrame) -> sp.csr_matrix:
        """Unit text vectors: each field's TF-IDF normalised, weighted, summed, normalised."""
        if self.text_vectorizer_ is None:
            return sp.csr_matrix((len(articles), 0), dtype=np.float32)
        vectorizer = self.text_vectorizer_
        fields = {
            name: vectorizer.transform(self._documents(articles, name))
            for name in self.field_weights_
        }
        return self._weighted(len(articles), fields)

    def _documents(self, articles: pd.DataFrame, field: str) -> list[tuple[str, str]]:
        languages = article_languages(articles, self.language)
        return list(zip(languages, articles[field].fillna(""), strict=True))

    def _weighted(self, n: int, fields: dict[str, sp.spmatrix]) -> sp.csr_matrix:
        """Each field's TF-IDF normalised, weighted by its share, summed, normalised."""
        width = self._text_width()
        total = sp.csr_matrix((n, width), dtype=np.float32)
        for name, field in fields.items():
            total = total + self.field_weights_[name] * normalize(field)
        return normalize(total.tocsr()).astype(np.float32)

    def tag_vectors(self, members: sp.csr_matrix, scale: float | None = None) -> sp.csr_matrix:
        """The tag block of 0/1 tag `members`: each column the square root of what the tag
        adds (its worth times `scale`, the calibrated one by default), each row divided by
        the square root of the article's tag count."""
        scale = self.tag_scale_ if scale is None else scale
        counts = np.asarray(members.sum(axis=1)).ravel()
        rows = sp.diags(1 / np.sqrt(np.maximum(counts, 1)))
        columns = sp.diags(np.sqrt(scale * self.tag_worth_))
        return (rows @ members @ columns).astype(np.float32).tocsr()

    def tag_scores(self) -> dict[str, float]:
        """What sharing each tag adds to a pair's score."""
        check_is_fitted(self, "field_weights_")
        if self.tag_vectorizer_ is None:
            return {}
        names = self.tag_vectorizer_.get_feature_names_out()
        return dict(zip(names, (self.tag_scale_ * self.tag_worth_).tolist(), strict=True))

    def combine(self, text: sp.csr_matrix, members: sp.csr_matrix | None) -> sp.csr_matrix:
        """Blended vectors from a text block and 0/1 tag members (see `fit_blocks`)."""
        tags = (
            sp.csr_matrix((text.shape[0], 0), dtype=np.float32)
            if members is None
            else self.tag_vectors(members)
        )
        return sp.hstack([self._scaled(text), tags], format="csr", dtype=np.float32)

    def _scaled(self, text: sp.csr_matrix) -> sp.csr_matrix:
        """`text` times √`text_weight`, sharing its index arrays: each value is the float64
        product rounded to float32, computed in numpy's small buffers rather than as a
        float64 copy of the whole block (hundreds of MB on a big archive)."""
        data = np.empty_like(text.data, dtype=np.float32)
        np.multiply(text.data, np.sqrt(self.text_weight), out=data)
        return sp.csr_matrix((data, text.indices, text.indptr), shape=text.shape)

    def fit_blocks(
        self, articles: pd.DataFrame, tokens: Tokens | None = None
    ) -> tuple[sp.csr_matrix, sp.csr_matrix | None]:
        """Fit, and return the archive's unit text vectors and 0/1 tag members (None
        without tags), so a caller can calibrate before `combine`. `tokens`: the
        articles already analysed (`analyse`), to share with calibration."""
        return self._fit(articles, tokens)

    def fit(self, articles: pd.DataFrame, y: None = None) -> ArticleVectorizer:
        """Learn the vocabulary and idf, and what each tag is worth."""
        self._fit(articles)
        return self

    def fit_transform(self, articles: pd.DataFrame, y: None = None) -> sp.csr_matrix:
        """`fit` then `transform`, tokenising the archive once."""
        return self.combine(*self._fit(articles))

    def _text_width(self) -> int:
        return len(self.text_vectorizer_.idf_) if self.text_vectorizer_ else 0

    def transform(self, articles: pd.DataFrame) -> sp.csr_matrix:
        """Blended content vectors: dot products are weighted text cosine + shared tags."""
        check_is_fitted(self, "field_weights_")
        members = (
            None
            if self.tag_vectorizer_ is None
            else self.tag_vectorizer_.transform(articles["tags"]).tocsr()
        )
        return self.combine(self.text_vectors(articles), members)

    def feature_names(self) -> list[str]:
        """Names of the columns of `transform`'s output: `text:term` and `tag:name`."""
        check_is_fitted(self, "field_weights_")
        names = []
        if self.text_vectorizer_ is not None:
            names = [f"text:{term}" for term in self.text_vectorizer_.get_feature_names_out()]
        if self.tag_vectorizer_ is not None:
            names += [f"tag:{tag}" for tag in self.tag_vectorizer_.get_feature_names_out()]
        return names

    def vocabulary_size(self) -> int:
        """Number of text terms plus tags the model knows."""
        check_is_fitted(self, "field_weights_")
        return self._text_width() + (
            len(self.tag_vectorizer_.vocabulary_) if self.tag_vectorizer_ else 0
        )

    def state(self) -> tuple[dict[str, TfidfVectorizer], dict[str, Any]]:
        """The fitted parts and JSON-ready values `from_state` rebuilds this from (see
        `relata.training.vectorizer_state`: stored as plain data, never pickled)."""
        check_is_fitted(self, "field_weights_")
        parts = {} if self.text_vectorizer_ is None else {"text": self.text_vectorizer_}
        tags = self.tag_vectorizer_
        return parts, {
            "params": self.get_params(),
            "field_weights_": self.field_weights_,
            "tags": [] if tags is None else tags.get_feature_names_out().tolist(),
            "tag_worth_": self.tag_worth_.tolist(),
            "tag_scale_": self.tag_scale_,
        }

    @classmethod
    def from_state(
        cls, parts: dict[str, TfidfVectorizer], values: dict[str, Any]
    ) -> ArticleVectorizer:
        """A fitted vectoriser from what `state` returned."""
        if set(parts) - {"text"} or not set(values["field_weights_"]) <= set(TEXT_FIELDS):
            raise ValueError(f"vectoriser parts {sorted(parts)} do not match its fields")
        if len(values["tags"]) != len(values["tag_worth_"]):
            raise ValueError("vectoriser tags and their worth disagree in size")
        vectorizer = cls(**values["params"])
        vectorizer.text_vectorizer_ = parts.get("text")
        vectorizer.field_weights_ = {name: float(w) for name, w in values["field_weights_"].items()}
        vectorizer.tag_vectorizer_ = (
            CountVectorizer(analyzer=tag_analyzer, binary=True, dtype=np.float32,
                            vocabulary=values["tags"])
            if values["tags"] else None
        )  # fmt: skip
        vectorizer.tag_worth_ = np.asarray(values["tag_worth_"], dtype=np.float64)
        vectorizer.tag_scale_ = float(values["tag_scale_"])
        return vectorizer
