"""Signals earn their weight on the archive at hand; languages never mix."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from flask.testing import FlaskClient
from sklearn.preprocessing import normalize

from relata import artifact
from relata.artifact import registry
from relata.training import calibrate, rescore
from relata.training.features import ArticleVectorizer
from relata.training.language import article_languages
from relata.training.neighbours import Neighbours, category_names, pair_signals, publication_days
from relata.training.settings import TrainSettings
from tests.conftest import ROOT, make_app, make_token, train_cli
from tests.test_overrides import Editor

DEMO = ROOT / "data" / "articles.jsonl"


def _demo(count: int) -> list[dict]:
    with DEMO.open(encoding="utf-8") as lines:
        return [json.loads(line) for _, line in zip(range(count), lines, strict=False)]


def _random_tags(count: int, seed: int = 0) -> list[list[str]]:
    """Place-like tags unrelated to the text: one on ~60 % of articles, the rest Zipf."""
    rng = np.random.default_rng(seed)
    zipf = 1 / np.arange(1, 101) ** 1.1
    places = rng.choice(100, size=count, p=zipf / zipf.sum())
    return [
        (["usa"] if rng.random() < 0.6 else []) + [f"place-{p}"] for p in places.tolist()
    ]


def _calibrated(records: list[dict]) -> calibrate.Blend:
    articles = pd.DataFrame(records).assign(language="en")
    vectorizer = ArticleVectorizer()
    text, members = vectorizer.fit_blocks(articles)
    return calibrate.blend(
        vectorizer, articles, text, members, category_names(articles),
        publication_days(articles).to_numpy(dtype=float), TrainSettings(),
    )  # fmt: skip


@pytest.mark.slow  # calibrates three archives
def test_calibration_weighs_informative_tags_and_ignores_random_ones() -> None:
    records = [{**r, "category": None} for r in _demo(3000)]
    # The desk as a tag says a lot about the text; places drawn at random say nothing.
    informative = _calibrated([{**r, "tags": [d["category"]]} for r, d in zip(
        records, _demo(3000), strict=True)])  # fmt: skip
    noise = _calibrated(
        [{**r, "tags": tags} for r, tags in zip(records, _random_tags(3000), strict=True)]
    )
    assert informative.tag_scale > 0
    assert informative.evidence["held_out_similarity"] > (
        informative.evidence["held_out_similarity_text_only"]
    )
    assert noise.tag_scale == 0


def test_an_explicit_tag_weight_wins_and_counts_by_rarity() -> None:
    records = [{**r, "tags": t} for r, t in zip(_demo(3000), _random_tags(3000), strict=True)]
    articles = pd.DataFrame(records).assign(language="en")
    vectorizer = ArticleVectorizer(tag_weight=0.5).fit(articles)
    worth = vectorizer.tag_scores()
    assert max(worth.values()) <= 0.5
    assert worth["usa"] < 0.05 < worth["place-40"]  # common says little, rare a lot


def _rescoring(articles: pd.DataFrame, **settings: str) -> rescore.Rescoring:
    vectorizer = ArticleVectorizer()
    vectorizer.fit_blocks(articles)
    split = calibrate.split_text(vectorizer, articles, calibrate.sample_rows(len(articles)))
    return rescore.calibrate(*split, TrainSettings().with_overrides(settings))


def _words(count: int, seed: int = 0) -> pd.DataFrame:
    """Headlines of words drawn at random: no subject, so no neighbour says anything."""
    rng = np.random.default_rng(seed)
    vocabulary = [f"w{a}{b}{c}x" for a in "abcdefghij" for b in "abcdefghij" for c in "abcdefgh"]
    titles = [" ".join(rng.choice(vocabulary, 8)) for _ in range(count)]
    return pd.DataFrame({"title": titles, "summary": "", "body": "", "tags": [[]] * count,
                         "language": "en"})  # fmt: skip


@pytest.mark.slow  # fits LSA on 1,500 articles
def test_rescoring_stays_off_where_it_cannot_help() -> None:
    # Random words have no subjects for LSA to find or feedback to spread: whatever the
    # grid's noise, no re-scorer beats the plain cosine by more than chance.
    choice = _rescoring(_words(1500))
    assert not choice.active
    assert choice.evidence["held_out_similarity"] == choice.evidence["held_out_similarity_plain"]


@pytest.mark.slow  # fits LSA on 3,000 articles
def test_rescoring_turns_on_for_headlines() -> None:
    # A headline is a few words: its neighbours' words say what else its subject is
    # called, and the held-out halves agree more with them than without.
    choice = _rescoring(pd.DataFrame(_demo(3000)).assign(language="en", category=None))
    assert choice.active
    assert choice.evidence["held_out_similarity"] > choice.evidence["held_out_similarity_plain"]


def test_a_given_rescoring_weight_is_used_as_it_is() -> None:
    choice = _rescoring(_words(200), lsa_weight="0.2", feedback_weight="0")
    assert (choice.lsa_weight, choice.feedback_weight) == (0.2, 0.0)
    assert choice.evidence["method"] == "given"


@pytest.mark.slow  # fits LSA
def test_rescoring_reorders_a_list_and_never_widens_it() -> None:
    articles = pd.DataFrame(_demo(300)).assign(language="en")
    text, _ = ArticleVectorizer().fit_blocks(articles)
    similarity = (text @ text.T).toarray()
    np.fill_diagonal(similarity, -np.inf)
    index = np.argsort(-similarity, axis=1)[:, :20].astype(np.int32)
    index[0, 10:] = -1  # a short list stays short
    table = Neighbours(index=index, score=np.zeros(index.shape, dtype=np.float32))
    settings = TrainSettings(recency_weight=0.0)
    signals = pair_signals(articles)
    same = rescore.reorder(text, text, table, signals, settings, rescore.Rescoring(0, 0, {}))
    assert same is table
    moved = rescore.reorder(text, text, table, signals, settings, rescore.Rescoring(0.3, 1, {}))
    assert all(
        sorted(a.tolist()) == sorted(b.tolist()) for a, b in zip(index, moved.index, strict=True)
    )
    assert not np.array_equal(moved.index, index)  # some list did change order
    pairs = zip(moved.score, moved.index, strict=True)
    assert all((np.diff(score[row >= 0]) <= 0).all() for score, row in pairs)  # best first


def test_the_manifest_records_what_rescoring_chose(models: Path) -> None:
    manifest = artifact.read_manifest(models / registry.current_version(models))
    chosen = manifest["calibration"]["rescoring"]
    assert {"method", "lsa_weight", "feedback_weight"} <= set(chosen)
    assert manifest["parameters"]["lsa_weight"] == chosen["lsa_weight"]  # numbers, not auto
    assert manifest["parameters"]["feedback_weight"] == chosen["feedback_weight"]


@pytest.mark.slow
def test_noisy_tags_barely_change_the_lists(tmp_path: Path) -> None:
    records = [{**r, "category": None} for r in _demo(2000)]
    noisy = [{**r, "tags": t} for r, t in zip(records, _random_tags(2000, 1), strict=True)]
    tops = []
    for name, archive in (("plain", records), ("noisy", noisy)):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in archive), encoding="utf-8")
        train_cli([path], tmp_path / name)
        model = artifact.load_model(tmp_path / name / registry.current_version(tmp_path / name))
        tops.append(np.asarray(model.index)[:, :10])
    # The same archive in the same order, so rows line up: random tags lift no pair's text
    # similarity, so calibration prices them near zero and the lists stay the lists.
    overlap = [
        len(np.intersect1d(a[a >= 0], b[b >= 0])) / max(1, (a >= 0).sum())
        for a, b in zip(*tops, strict=True)
    ]
    assert np.mean(overlap) >= 0.9


MIXED = [
    # (slug, language declared or None, title, summary)
    ("en-election-1", "en", "Voters Head To The Polls In City Elections",
     "The elections for mayor drew more voters than expected, the officials said."),
    ("en-election-2", None, "Mayor Wins Election After Recount",
     "After the recount the election was decided by a few hundred votes in the city."),
    ("en-bread-1", None, "How To Bake Bread With A Sourdough Starter",
     "Baking bread at home takes flour, water and a starter that you feed every day."),
    ("en-bread-2", "en", "Baker Shares Her Sourdough Bread Recipe",
     "The baker says that her bread is baked slowly in a very hot oven."),
    ("fr-election-1", "fr", "Les électeurs votent pour les élections municipales",
     "Les élections du maire ont attiré plus d'électeurs que prévu dans la ville."),
    ("fr-election-2", None, "Le maire remporte l'élection après un recomptage",
     "Après le recomptage, l'élection a été décidée par quelques centaines de voix."),
    ("fr-bread-1", None, "Comment faire du pain au levain à la maison",
     "Pour faire du pain il faut de la farine, de l'eau et un levain que l'on nourrit."),
    ("fr-bread-2", "fr-FR", "Une boulangère partage sa recette de pain au levain",
     "La boulangère dit que son pain est cuit lentement dans un four très chaud."),
    ("de-election-1", "de", "Die Wähler gehen zur Kommunalwahl in der Stadt",
     "Die Wahlen für den Bürgermeister haben mehr Wähler angezogen als erwartet."),
    ("de-election-2", None, "Der Bürgermeister gewinnt die Wahl nach der Nachzählung",
     "Nach der Nachzählung wurde die Wahl durch wenige hundert Stimmen entschieden."),
    ("de-bread-1", None, "Wie man Brot mit Sauerteig zu Hause backt",
     "Für das Brot braucht man Mehl, Wasser und einen Sauerteig, den man jeden Tag füttert."),
    ("de-bread-2", "German", "Eine Bäckerin teilt ihr Rezept für Sauerteigbrot und Brote",
     "Die Bäckerin sagt, dass ihr Brot langsam in einem sehr heißen Ofen gebacken wird."),
    ("es-election-1", "es", "Los votantes acuden a las elecciones municipales",
     "Las elecciones para alcalde atrajeron a más votantes de lo esperado en la ciudad."),
    ("es-election-2", None, "El alcalde gana la elección tras el recuento",
     "Tras el recuento, la elección se decidió por unos cientos de votos en la ciudad."),
    ("es-bread-1", None, "Cómo hacer pan con masa madre en casa",
     "Para hacer el pan se necesita harina, agua y una masa madre que se alimenta cada día."),
    ("es-bread-2", "es", "Una panadera comparte su receta de pan de masa madre",
     "La panadera dice que su pan se hornea lentamente en un horno muy caliente."),
]  # fmt: skip


@pytest.fixture(scope="module")
def mixed_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mixed")
    path = folder / "mixed.jsonl"
    lines = [
        json.dumps({"slug": slug, "language": language, "title": title, "summary": summary,
                    "tags": [slug[3:-2]], "category": "news", "published_at": "2026-01-01"})
        + "\n"
        for slug, language, title, summary in MIXED
    ]  # fmt: skip
    path.write_text("".join(lines), encoding="utf-8")
    # A topic tag shared across languages, with a weight given: the only bridge between
    # languages, so `language=any` has something to show.
    train_cli([path], folder / "models", "--set", "tag_weight=0.3")
    return folder / "models"


@pytest.fixture(scope="module")
def mixed_model(mixed_models: Path) -> artifact.LoadedModel:
    return artifact.load_model(mixed_models / registry.current_version(mixed_models))


def test_undeclared_languages_are_detected() -> None:
    frame = pd.DataFrame(
        [{"language": lang, "title": title, "summary": summary, "body": ""}
         for _, lang, title, summary in MIXED]
    )  # fmt: skip
    assert article_languages(frame, "en") == [slug[:2] for slug, *_ in MIXED]


def _served(client: FlaskClient, slug: str, query: str = "") -> list[str]:
    response = client.get(f"/v1/related/{slug}?fallbacks=false&limit=10{query}")
    assert response.status_code == 200, response.get_json()
    return [item["slug"] for item in response.get_json()["items"]]


@pytest.mark.slow
def test_lists_keep_to_one_language_unless_asked(mixed_models: Path, sqlite_url: str) -> None:
    client = make_app(mixed_models, sqlite_url).test_client()
    crossing = 0
    for slug, *_ in MIXED:
        picks = _served(client, slug)
        assert picks and all(pick[:2] == slug[:2] for pick in picks), (slug, picks)
        crossing += any(pick[:2] != slug[:2] for pick in _served(client, slug, "&language=any"))
    assert crossing  # the shared topic tags bridge languages when a request asks for it
    french = _served(client, "en-election-1", "&language=fr")
    assert french and all(pick.startswith("fr-") for pick in french)
    bad = client.get("/v1/related/en-election-1?language=klingon")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_parameter"


@pytest.mark.parametrize(
    ("slug", "pick", "stem"),
    [
        ("fr-election-1", "fr-election-2", "élect"),  # élections, élection
        ("de-election-2", "de-election-1", "wahl"),  # Wahlen, Wahl
        ("es-election-2", "es-election-1", "eleccion"),  # elecciones, elección
        ("en-bread-2", "en-bread-1", "bake"),  # baked, bake
    ],
)
def test_stemming_merges_inflected_forms(
    mixed_model: artifact.LoadedModel, slug: str, pick: str, stem: str
) -> None:
    row = mixed_model.rows[slug]
    first = mixed_model.slugs[int(mixed_model.index[row, 0])]
    assert first == pick
    why = json.loads(mixed_model.why[row * mixed_model.why_width])
    assert stem in why["terms"]


@pytest.mark.slow
def test_an_editors_pin_in_another_language_stays(mixed_models: Path, sqlite_url: str) -> None:
    client = make_app(mixed_models, sqlite_url).test_client()
    editor = Editor(client, make_token(sqlite_url, "editor"))
    assert editor.pin("en-election-1", "fr-election-1", 1).status_code == 200
    assert _served(client, "en-election-1")[0] == "fr-election-1"  # the editor's choice
    assert "fr-election-1" not in _served(client, "en-election-1", "&language=en")


def test_the_blend_grid_scores_what_ranking_each_blend_in_numpy_scores() -> None:
    """`_held_out_sums` against the plain numpy loop it replaced: per blend, the held-out
    similarity of each query's top candidates, excluded candidates never counted."""
    rng = np.random.default_rng(8)
    n, k, top = 12, 40, 10
    text = rng.random((n, k))
    tag = rng.random((n, k)).astype(np.float32)
    category = (rng.random((n, k)) < 0.3).astype(np.float32) * np.float32(0.7)
    decays = rng.random((3, n, k))
    held_out = rng.random((n, k))
    excluded = rng.random((n, k)) < 0.15
    tags, categories = np.array([0.0, 0.04]), np.array([0.0, 0.02, 0.16])
    recency = np.array([0.0, 0.3])
    expected = []
    for t in tags.tolist():  # Python floats: float32 products, as the blend computes them
        for c in categories.tolist():
            for r in recency.tolist():
                for h in range(len(decays)):
                    score = (text + t * tag + c * category) * ((1 - r) + r * decays[h])
                    score = np.where(excluded, -np.inf, score)
                    best = np.argsort(-score, axis=1, kind="stable")[:, :top]
                    picked = np.take_along_axis(score, best, 1) > -np.inf
                    expected.append(np.take_along_axis(held_out, best, 1)[picked].sum())
    sums = calibrate._held_out_sums(
        text, tag, category, decays, held_out, excluded, tags, categories, recency, top
    )
    np.testing.assert_allclose(sums, expected, rtol=1e-12)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_groups_worth_is_its_mean_pairwise_cosine_against_random_pairs(threads: int) -> None:
    rng = np.random.default_rng(0)
    text = sp.random(60, 400, density=0.05, random_state=1, dtype=np.float32).tocsr()
    text = normalize(text).astype(np.float32)
    chosen = rng.random((60, 7)) < 0.3
    chosen[:, 6] = False  # an empty group
    chosen[:, 5] = np.arange(60) < 2  # a pair
    members = sp.csr_matrix(chosen.astype(np.float32))
    dense = text.toarray().astype(np.float64)
    cosines = dense @ dense.T
    n = len(dense)
    base = (cosines.sum() - np.trace(cosines)) / (n * (n - 1))
    assert calibrate.baseline(text) == pytest.approx(base, rel=1e-6)  # column sums in float32
    expected = []
    for group in members.T.toarray().astype(bool):
        within = cosines[np.ix_(group, group)]
        size = group.sum()
        mean = (within.sum() - np.trace(within)) / (size * (size - 1)) if size > 1 else 0.0
        expected.append(np.log(max(mean / base, 1.0)) * size / (size + calibrate.SHRINK))
    worth = calibrate.group_worth(text, members, base, threads)
    np.testing.assert_allclose(worth, expected, rtol=1e-9, atol=1e-12)
    assert worth[6] == 0
