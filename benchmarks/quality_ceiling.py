"""What issue 10's leak-free goal would take: each archive's figures when the relevance
label itself is let back in, by degrees.

    .venv/bin/python benchmarks/quality_ceiling.py [--archives huffpost,arxiv]

The goal is nDCG@10 ≥ naive + 0.05 and macro-P@10 ≥ naive + 0.04 on every leak-free row
of `benchmarks/quality.py`. Neither reference point below is something training may do;
they say how much label it takes to get there:

- HuffPost (relevant = same category): Relata's text score (sparse cosine blended with
  LSA, as re-scoring does) plus `b` × the chance that two articles share a category,
  from a logistic regression trained on the held-out categories themselves (5-fold, so
  each article's probabilities come from a model trained on the other 80 % of labels).
- arXiv (relevant = shares a tag): the same text score plus the tag block weighted `g`
  times the weight label-free calibration chose: the secondary tags training keeps are
  part of the relevance label, so the more they weigh, the better the figure.

Scores are dense (archive × archive): this is for the bundled archives only.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.quality import TOP, bundled, figures, leak_free, naive_top
from relata.training.pipeline import Features, Source, fit_features, load_articles
from relata.training.rescore import concepts
from relata.training.settings import TrainSettings

LSA_WEIGHT = 0.2  # of the text score; the best of re-scoring's grid on both archives
CLASSIFIER_WEIGHTS = (0.0, 0.1, 0.2, 0.4, 1.0)
TAG_MULTIPLES = (1.0, 4.0, 10.0, 25.0, 100.0)


def features_of(records: list[dict]) -> Features:
    """Relata's fitted features of `records`, with shipped defaults."""
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "archive.jsonl"
        archive.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        return fit_features(load_articles(Source((archive,)), TrainSettings()), TrainSettings())


def text_scores(features: Features) -> np.ndarray:
    """Sparse cosine blended with LSA, archive × archive."""
    text = features.text
    lsa = concepts(text)
    return (1 - LSA_WEIGHT) * (text @ text.T).toarray() + LSA_WEIGHT * (lsa @ lsa.T)


def top_of(score: np.ndarray) -> np.ndarray:
    """Each row's best `TOP` columns, best first, never itself."""
    score = score.copy()
    np.fill_diagonal(score, -np.inf)
    best = np.argpartition(-score, TOP, axis=1)[:, :TOP]
    return np.take_along_axis(best, np.argsort(-np.take_along_axis(score, best, 1), 1), 1)


def classifier_rows(records: list[dict], text: np.ndarray) -> dict[str, np.ndarray]:
    """HuffPost: text plus a category classifier trained on the held-out labels."""
    categories = np.array([r["category"] for r in records])
    words = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2).fit_transform(
        [f"{r['title']} {r['summary']} {r['body']}" for r in records]
    )
    model = LogisticRegression(C=10, max_iter=2000, class_weight="balanced")
    chance = cross_val_predict(model, words, categories, cv=5, method="predict_proba")
    same = chance @ chance.T
    return {f"text + {b:g} × P(same category)": top_of(text + b * same) for b in CLASSIFIER_WEIGHTS}


def tag_rows(features: Features, text: np.ndarray) -> dict[str, np.ndarray]:
    """arXiv: text plus the (label-carrying) tag block, weighted up."""
    tags = features.matrix[:, features.text.shape[1] :]
    shared = (tags @ tags.T).toarray()
    return {f"text + tags × {g:g}": top_of(text + g * shared) for g in TAG_MULTIPLES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archives", default="huffpost,arxiv", help="Which bundled archives.")
    options = parser.parse_args()
    for name in options.archives.split(","):
        records, tagged, labels, naive_text = bundled(name)
        features = features_of(leak_free(records, tagged))
        text = text_scores(features)
        naive = figures(naive_top(records), labels, naive_text)
        rows = tag_rows(features, text) if tagged else classifier_rows(records, text)
        print(f"\n{name}: goal nDCG@10 ≥ {naive['nDCG@10'] + 0.05:.4f}, "
              f"macro-P@10 ≥ {naive['P@10 per label'] + 0.04:.4f}")  # fmt: skip
        table = {"naive": naive} | {
            recipe: figures(top, labels, naive_text) for recipe, top in rows.items()
        }
        print(f"{'recipe':<36}{'nDCG@10':>10}{'macro-P@10':>12}{'hub share':>11}")
        for recipe, values in table.items():
            print(f"{recipe:<36}{values['nDCG@10']:>10.4f}{values['P@10 per label']:>12.4f}"
                  f"{values['hub share']:>11.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
