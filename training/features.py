"""Features: per-field TF-IDF text vectors and rarity-weighted tag vectors.

The two are stacked into one sparse matrix whose row dot products are the blended content
score `text_weight * cos(text) + tag_weight * cos(tags)`, so the neighbour search needs a
single sparse product. Category and recency are pairwise, not vector, signals: they are
applied to the candidates (see `training.neighbours`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted

from training.records import TEXT_FIELDS


def tag_analyzer(tags: list[str]) -> list[str]:
    """Tags as their own tokens, case-folded (a module function so the model pickles)."""
    return [tag.casefold() for tag in tags]


class ArticleVectorizer(TransformerMixin, BaseEstimator):
    """Turn an article table into blended, L2-aware content vectors.

    Each text field gets its own `TfidfVectorizer` (sublinear tf, English stop words,
    document-frequency cut-offs); the field blocks are normalised, weighted by
    `field_weights` and normalised together, so a long body cannot drown a title. Tags go
    through a `TfidfVectorizer` over the tag lists, which weights a tag by its rarity.
    The text and tag blocks are scaled by the square roots of `text_weight` and
    `tag_weight`, so a dot product of two rows is the weighted sum of the two cosines.

    Fields or tags with no usable vocabulary (an archive without bodies, or without tags)
    simply contribute nothing.
    """

    def __init__(
        self,
        *,
        field_weights: dict[str, float] | None = None,
        text_weight: float = 0.75,
        tag_weight: float = 0.25,
        ngram_max: int = 2,
        min_df: int = 2,
        max_df: float = 0.3,
        min_tag_count: int = 2,
    ) -> None:
        self.field_weights = field_weights
        self.text_weight = text_weight
        self.tag_weight = tag_weight
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.max_df = max_df
        self.min_tag_count = min_tag_count

    def _text_vectorizer(self, n_docs: int) -> TfidfVectorizer:
        # A df cut-off above 1 document only makes sense once there are enough documents.
        return TfidfVectorizer(
            sublinear_tf=True,
            stop_words="english",
            ngram_range=(1, self.ngram_max),
            min_df=min(self.min_df, max(1, n_docs // 10)),
            max_df=self.max_df if n_docs >= 20 else 1.0,
            dtype=np.float32,
        )

    def _fit(self, articles: pd.DataFrame) -> tuple[dict[str, sp.spmatrix], sp.spmatrix | None]:
        """Fit every part; return the raw field and tag matrices of `articles` on the way."""
        weights = self.field_weights or {"title": 0.3, "summary": 0.2, "body": 0.5}
        unknown = set(weights) - set(TEXT_FIELDS)
        if unknown:
            raise ValueError(f"unknown text fields in field_weights: {sorted(unknown)}")
        n_docs = len(articles)
        self.text_vectorizers_: dict[str, TfidfVectorizer] = {}
        fields: dict[str, sp.spmatrix] = {}
        for name, weight in weights.items():
            if weight <= 0:
                continue
            vectorizer = self._text_vectorizer(n_docs)
            try:
                fields[name] = vectorizer.fit_transform(articles[name])
            except ValueError:  # empty vocabulary: the field is blank across the archive
                continue
            self.text_vectorizers_[name] = vectorizer
        self.field_weights_ = {name: weights[name] for name in self.text_vectorizers_}
        self.tag_vectorizer_: TfidfVectorizer | None = TfidfVectorizer(
            analyzer=tag_analyzer,
            min_df=min(self.min_tag_count, max(1, n_docs // 10)),
            dtype=np.float32,
        )
        try:
            tags = self.tag_vectorizer_.fit_transform(articles["tags"])
        except ValueError:  # no tag is used often enough
            self.tag_vectorizer_, tags = None, None
        return fields, tags

    def _combine(
        self, n: int, fields: dict[str, sp.spmatrix], tags: sp.spmatrix | None
    ) -> sp.csr_matrix:
        blocks = [np.sqrt(self.field_weights_[name]) * normalize(m) for name, m in fields.items()]
        text = (
            normalize(sp.hstack(blocks, format="csr", dtype=np.float32))
            if blocks
            else sp.csr_matrix((n, 0), dtype=np.float32)
        )
        if tags is None:
            tags = sp.csr_matrix((n, 0), dtype=np.float32)
        parts = [np.sqrt(self.text_weight) * text, np.sqrt(self.tag_weight) * tags]
        return sp.hstack(parts, format="csr", dtype=np.float32)

    def fit(self, articles: pd.DataFrame, y: None = None) -> ArticleVectorizer:
        """Learn each field's vocabulary and idf, and the tag vocabulary."""
        self._fit(articles)
        return self

    def fit_transform(self, articles: pd.DataFrame, y: None = None) -> sp.csr_matrix:
        """`fit` then `transform`, tokenising the archive once."""
        return self._combine(len(articles), *self._fit(articles))

    def text_part(self, vectors: sp.csr_matrix) -> sp.csr_matrix:
        """The unit-length text vectors inside blended `vectors` (tags left out)."""
        check_is_fitted(self, "text_vectorizers_")
        width = sum(len(v.vocabulary_) for v in self.text_vectorizers_.values())
        return (
            vectors[:, :width] / np.sqrt(self.text_weight) if self.text_weight else vectors[:, :0]
        )

    def transform(self, articles: pd.DataFrame) -> sp.csr_matrix:
        """Blended content vectors: dot products are weighted text + tag cosines."""
        check_is_fitted(self, "text_vectorizers_")
        fields = {name: v.transform(articles[name]) for name, v in self.text_vectorizers_.items()}
        tags = self.tag_vectorizer_.transform(articles["tags"]) if self.tag_vectorizer_ else None
        return self._combine(len(articles), fields, tags)

    def feature_names(self) -> list[str]:
        """Names of the columns of `transform`'s output: `field:term` and `tag:name`."""
        check_is_fitted(self, "text_vectorizers_")
        names = [
            f"{field}:{term}"
            for field, vectorizer in self.text_vectorizers_.items()
            for term in vectorizer.get_feature_names_out()
        ]
        if self.tag_vectorizer_ is not None:
            names += [f"tag:{tag}" for tag in self.tag_vectorizer_.get_feature_names_out()]
        return names

    def vocabulary_size(self) -> int:
        """Number of text terms plus tags the model knows."""
        check_is_fitted(self, "text_vectorizers_")
        size = sum(len(v.vocabulary_) for v in self.text_vectorizers_.values())
        return size + (len(self.tag_vectorizer_.vocabulary_) if self.tag_vectorizer_ else 0)

    def state(self) -> tuple[dict[str, TfidfVectorizer], dict[str, Any]]:
        """The fitted parts and JSON-ready values `from_state` rebuilds this from (see
        `training.vectorizer_state`: stored as plain data, never pickled)."""
        check_is_fitted(self, "text_vectorizers_")
        parts = {f"text:{name}": v for name, v in self.text_vectorizers_.items()}
        if self.tag_vectorizer_ is not None:
            parts["tags"] = self.tag_vectorizer_
        return parts, {"params": self.get_params(), "field_weights_": self.field_weights_}

    @classmethod
    def from_state(
        cls, parts: dict[str, TfidfVectorizer], values: dict[str, Any]
    ) -> ArticleVectorizer:
        """A fitted vectoriser from what `state` returned."""
        fields = {name.removeprefix("text:"): v for name, v in parts.items() if name != "tags"}
        if not set(fields) <= set(TEXT_FIELDS) or set(fields) != set(values["field_weights_"]):
            raise ValueError(f"vectoriser parts {sorted(parts)} do not match its weights")
        vectorizer = cls(**values["params"])
        vectorizer.text_vectorizers_ = fields
        vectorizer.field_weights_ = {name: float(w) for name, w in values["field_weights_"].items()}
        vectorizer.tag_vectorizer_ = parts.get("tags")
        return vectorizer
