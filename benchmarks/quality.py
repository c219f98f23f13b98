"""Relata's shipped defaults against the naive recipe, leak-free, on the bundled archives.

    .venv/bin/python benchmarks/quality.py [--archives huffpost,arxiv] [--variant NAME=VALUE ...]

Relevance is a label that training never sees: on HuffPost a neighbour is relevant when
it has the query's category, so the category is blanked before training; on arXiv when
it shares a tag (nDCG graded by tag Jaccard), so the primary category is removed from
both the tags and the category field (the secondary tags stay: they are what a site's
own tags would be). "per label" (macro) averages each figure per label first, so
frequent labels don't dominate. The noisy-tags row gives the leak-free HuffPost archive
place-like tags unrelated to the text (one tag on ~60 % of articles, the rest
Zipf-distributed): tags that say nothing must cost (almost) nothing. The label row trains
with the label-carrying signal, for reference only: it is not a fair comparison. The
naive recipe is TfidfVectorizer on title+summary+body, cosine, argsort.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import MultiLabelBinarizer, normalize

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from relata import artifact
from relata.training.pipeline import Source, build_version
from relata.training.settings import TrainSettings

ROOT = Path(__file__).resolve().parent.parent
ARCHIVES = {"huffpost": ROOT / "data/articles.jsonl", "arxiv": ROOT / "data/tagged/articles.jsonl"}
TOP, SHOWN, DUPLICATE = 10, 6, 0.8
CALIBRATED = ("recency_weight", "recency_half_life_days", "lsa_weight", "feedback_weight")


def naive_top(records: list[dict]) -> np.ndarray:
    """The naive recipe's top-10 per article."""
    text = [f"{r['title']} {r['summary']} {r['body']}" for r in records]
    vectors = TfidfVectorizer().fit_transform(text)
    similarity = (vectors @ vectors.T).toarray()
    np.fill_diagonal(similarity, -np.inf)
    return np.argsort(-similarity, axis=1, kind="stable")[:, :TOP]


def relata_top(records: list[dict], settings: TrainSettings) -> np.ndarray:
    """Relata's top-10 per article, in the order of `records` (-1 where shorter)."""
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "archive.jsonl"
        archive.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        report = build_version(Source((archive,)), Path(folder) / "models", settings)
        model = artifact.load_model(report.folder)
        chosen = model.manifest["parameters"]
        print(
            "  calibration chose " + ", ".join(f"{name}={chosen[name]}" for name in CALIBRATED),
            file=sys.stderr,
        )
        order = np.array([model.rows[r["slug"]] for r in records])
        back = np.empty(len(order), dtype=int)
        back[order] = np.arange(len(order))  # model row -> position in records
        top = np.asarray(model.index)[order, :TOP]
        return np.where(top >= 0, back[np.maximum(top, 0)], -1)


def figures(top: np.ndarray, labels: sp.csr_matrix, text: sp.csr_matrix) -> dict[str, float]:
    """Quality and hygiene figures of a top-10 table against held-out labels."""
    n = top.shape[0]
    valid = top >= 0
    safe = np.maximum(top, 0)
    shared = np.zeros(top.shape)
    jaccard = np.zeros(top.shape)
    sizes = np.asarray(labels.sum(axis=1)).ravel()
    for k in range(TOP):
        inter = np.asarray(labels.multiply(labels[safe[:, k]]).sum(axis=1)).ravel()
        union = sizes + sizes[safe[:, k]] - inter
        shared[:, k] = (inter > 0) & valid[:, k]
        jaccard[:, k] = np.where(valid[:, k] & (union > 0), inter / np.maximum(union, 1), 0)
    precision = shared.sum(axis=1) / TOP
    discounts = 1 / np.log2(np.arange(2, TOP + 2))
    ideal = np.sort(_best_jaccards(labels), axis=1)[:, ::-1][:, :TOP] @ discounts
    ndcg = np.where(ideal > 0, (jaccard @ discounts) / np.maximum(ideal, 1e-12), 0)
    in_degree = np.bincount(top[valid], minlength=n)
    per_label_p, per_label_n = [], []
    for column in range(labels.shape[1]):
        members = labels[:, column].nonzero()[0]
        if len(members) >= 5:
            per_label_p.append(precision[members].mean())
            per_label_n.append(ndcg[members].mean())
    shown = top[:, :SHOWN]
    duplicates = 0
    for row in range(n):
        items = shown[row][shown[row] >= 0]
        if len(items) > 1:
            pair = (text[items] @ text[items].T).toarray()
            np.fill_diagonal(pair, 0)
            duplicates += bool((pair >= DUPLICATE).any())
    return {
        "P@10": precision.mean(),
        "nDCG@10": ndcg.mean(),
        "P@10 per label": float(np.mean(per_label_p)),
        "nDCG@10 per label": float(np.mean(per_label_n)),
        "hub share": in_degree.max() / n,
        "near-dup lists": duplicates / n,
        "coverage@6": float((top[:, SHOWN - 1] >= 0).mean()),
        "self-links": int((top == np.arange(n)[:, None]).sum()),
    }


def _best_jaccards(labels: sp.csr_matrix) -> np.ndarray:
    inter = (labels @ labels.T).toarray()
    sizes = np.asarray(labels.sum(axis=1)).ravel()
    union = sizes[:, None] + sizes[None, :] - inter
    best = np.where(union > 0, inter / np.maximum(union, 1), 0)
    np.fill_diagonal(best, 0)
    return best


def leak_free(records: list[dict], tagged: bool) -> list[dict]:
    """The archive as training may see it: the label-carrying signal removed."""
    if tagged:  # arXiv: the primary category is a tag and the category
        return [{**r, "tags": r["tags"][1:], "category": None} for r in records]
    return [{**r, "category": None} for r in records]  # HuffPost: the category is the label


def noisy_tags(records: list[dict], seed: int = 0, places: int = 300) -> list[dict]:
    """Place-like tags that have nothing to do with the text: one on ~60 % of articles
    (a country), the others Zipf-distributed over `places`."""
    rng = np.random.default_rng(seed)
    zipf = 1 / np.arange(1, places + 1) ** 1.1
    zipf /= zipf.sum()
    tagged = []
    for record in records:
        tags = ["place-0"] if rng.random() < 0.6 else []
        if rng.random() < 0.8 or not tags:
            tags.append(f"place-{1 + rng.choice(places, p=zipf)}")
        tagged.append({**record, "tags": tags})
    return tagged


def bundled(name: str) -> tuple[list[dict], bool, sp.csr_matrix, sp.csr_matrix]:
    """A bundled archive's records, whether it is tagged, its held-out labels (one column
    per label) and its unit TF-IDF vectors (what the near-duplicate figure compares)."""
    with ARCHIVES[name].open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    tagged = any(r["tags"] for r in records)
    held_out = [r["tags"] if tagged else [r["category"]] for r in records]
    labels = MultiLabelBinarizer(sparse_output=True).fit_transform(held_out).tocsr()
    text = normalize(TfidfVectorizer().fit_transform(
        [f"{r['title']} {r['summary']} {r['body']}" for r in records]))  # fmt: skip
    return records, tagged, labels.astype(np.float64), text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archives", default="huffpost,arxiv", help="Which bundled archives.")
    parser.add_argument(
        "--variant", action="append", default=[], metavar="NAME=VALUE",
        help="Also report Relata (leak-free) with a setting changed (repeatable).",
    )  # fmt: skip
    options = parser.parse_args()
    for name in options.archives.split(","):
        records, tagged, labels, text = bundled(name)
        training = leak_free(records, tagged)
        rows = {"naive": naive_top(records), "relata": relata_top(training, TrainSettings())}
        if not tagged:
            rows["relata, noisy tags"] = relata_top(noisy_tags(training), TrainSettings())
        for variant in options.variant:
            key, value = variant.split("=", 1)
            rows[f"relata {variant}"] = relata_top(
                training, TrainSettings().with_overrides({key: value})
            )
        rows["relata with the label (leaks)"] = relata_top(records, TrainSettings())
        label = "shares a tag" if tagged else "same category"
        print(f"\n{name}: {len(records)} articles, relevant = {label}, label held out")
        table = {recipe: figures(top, labels, text) for recipe, top in rows.items()}
        columns = list(next(iter(table.values())))
        print(f"{'recipe':<34}" + "".join(f"{c:>18}" for c in columns))
        for recipe, values in table.items():
            print(f"{recipe:<34}" + "".join(f"{values[c]:>18.4f}" for c in columns))


if __name__ == "__main__":
    main()
