"""A fitted vectoriser as plain data: JSON, a packed table of terms and `.npy` arrays.

Loading a pickle (or joblib) file runs whatever code it names, so a model folder holds
none: anyone able to write the folder or the shared store would run code in every replica.
Instead each fitted `TfidfVectorizer` part is stored as its constructor parameters (JSON),
its terms in column order and its `idf_` (read with `allow_pickle=False`), and rebuilt
through the public API: `TfidfVectorizer(vocabulary=terms, ...)`, then `idf_`. A callable
analyser is stored by name (Relata's per-language analyser by its one parameter), and only
the names in `_analyzers()` are rebuilt.

The format is generic over "named fitted parts + JSON-ready values": the vectoriser
supplies both with `state()` and is rebuilt with `from_state(parts, values)`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from relata.artifact.layout import VECTORIZER_FILE as STATE_FILE
from relata.artifact.layout import VECTORIZER_IDF_FILE as IDF_FILE
from relata.artifact.layout import VECTORIZER_TERMS as TERMS
from relata.artifact.layout import ArtifactError
from relata.artifact.loader import verify
from relata.artifact.packed import Packed, blob_file, offsets_file, write_packed

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from relata.training.features import ArticleVectorizer

# scikit-learn (and the features module, which needs it) are imported where they are
# used: serving processes import this module only to rebuild a vectoriser for ingest.

STATE_FORMAT = 1

_DTYPES = {"float32": np.float32, "float64": np.float64}
_BUILT_IN_ANALYZERS = ("word", "char", "char_wb")


class StateError(ValueError):
    """Stored vectoriser state that cannot be rebuilt safely."""


def _analyzers() -> dict[str, Callable[..., Any]]:
    """The only callables a stored state may name: a fixed whitelist, never a lookup."""
    from relata.training.features import tag_analyzer

    return {"tag_analyzer": tag_analyzer}


def _plain_params(part: TfidfVectorizer) -> dict[str, Any]:
    """A fitted part's constructor parameters as JSON-ready values (its terms apart)."""
    from relata.training.language import Analyzer

    params = part.get_params()
    params.pop("vocabulary")  # the fitted terms are stored instead
    for name in ("tokenizer", "preprocessor"):
        if params[name] is not None:
            raise StateError(f"cannot store a vectoriser with a custom {name}")
    analyzer = params["analyzer"]
    if isinstance(analyzer, Analyzer):
        params["analyzer"] = {"function": "language", "ngram_max": analyzer.ngram_max}
    elif callable(analyzer):
        names = [name for name, known in _analyzers().items() if known is analyzer]
        if not names:
            raise StateError(f"cannot store the analyzer {analyzer!r}: not in the whitelist")
        params["analyzer"] = {"function": names[0]}
    params["dtype"] = np.dtype(params["dtype"]).name
    params["ngram_range"] = list(params["ngram_range"])
    if isinstance(params["stop_words"], set | frozenset | tuple):
        params["stop_words"] = sorted(params["stop_words"])
    return params


def _rebuilt(params: dict[str, Any], terms: list[str], idf: np.ndarray) -> TfidfVectorizer:
    """A fitted `TfidfVectorizer` from stored parameters, terms and idf."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from relata.training.language import Analyzer

    params = dict(params)
    unknown = set(params) - (set(TfidfVectorizer().get_params()) - {"vocabulary"})
    if unknown:
        raise StateError(f"unknown vectoriser parameters {sorted(unknown)}")
    analyzer = params.get("analyzer", "word")
    if isinstance(analyzer, dict) and analyzer.get("function") == "language":
        ngram_max = analyzer.get("ngram_max")
        if not isinstance(ngram_max, int) or not 1 <= ngram_max <= 5:
            raise StateError(f"analyzer {analyzer!r}: ngram_max must be 1 to 5")
        params["analyzer"] = Analyzer(ngram_max)
    elif isinstance(analyzer, dict):
        try:
            params["analyzer"] = _analyzers()[analyzer["function"]]
        except (KeyError, TypeError):
            raise StateError(f"analyzer {analyzer!r} is not in the whitelist") from None
    elif analyzer not in _BUILT_IN_ANALYZERS:
        raise StateError(f"analyzer {analyzer!r} is not in the whitelist")
    if params.get("tokenizer") is not None or params.get("preprocessor") is not None:
        raise StateError("a stored vectoriser may not name a tokenizer or preprocessor")
    if params.get("input", "content") != "content":
        raise StateError("a stored vectoriser reads its documents as given (input='content')")
    if params.get("dtype") not in _DTYPES:
        raise StateError(f"unsupported dtype {params.get('dtype')!r}")
    params["dtype"] = _DTYPES[params["dtype"]]
    params["ngram_range"] = tuple(params.get("ngram_range", (1, 1)))
    vectorizer = TfidfVectorizer(**params, vocabulary=terms)
    vectorizer.idf_ = idf  # the public setter: also fixes the vocabulary
    return vectorizer


def write_parts(folder: Path, parts: dict[str, TfidfVectorizer], values: dict[str, Any]) -> None:
    """Save fitted `parts` and JSON-ready `values` as the vectoriser files in `folder`."""
    described, terms, idfs = [], [], []
    for name, part in parts.items():
        names = part.get_feature_names_out().tolist()  # in column order
        idf = np.asarray(part.idf_)
        described.append({"name": name, "params": _plain_params(part), "terms": len(names),
                          "idf_dtype": idf.dtype.name})  # fmt: skip
        terms += names
        idfs.append(idf)
    state = {"format": STATE_FORMAT, "parts": described, "values": values}
    text = json.dumps(state, ensure_ascii=False, allow_nan=False, indent=1)
    (folder / STATE_FILE).write_text(text, encoding="utf-8")
    write_packed(folder, TERMS, (term.encode() for term in terms))
    np.save(folder / IDF_FILE, np.concatenate(idfs) if idfs else np.zeros(0), allow_pickle=False)


def read_parts(folder: Path) -> tuple[dict[str, TfidfVectorizer], dict[str, Any]]:
    """The fitted parts and values `write_parts` saved in `folder` (raises `StateError`)."""
    try:
        state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
        packed = Packed(*(np.load(folder / name, allow_pickle=False)
                          for name in (blob_file(TERMS), offsets_file(TERMS))))  # fmt: skip
        idf = np.load(folder / IDF_FILE, allow_pickle=False)
        if state["format"] != STATE_FORMAT:
            raise StateError(f"vectoriser state format {state['format']!r} is not supported")
        counts = [int(part["terms"]) for part in state["parts"]]
        if sum(counts) != len(packed) or len(packed) != len(idf):
            raise StateError("vectoriser terms, idf and parts disagree in size")
        parts, start = {}, 0
        for part, count in zip(state["parts"], counts, strict=True):
            terms = [term.decode() for term in packed[start : start + count]]
            weights = idf[start : start + count].astype(_DTYPES[part["idf_dtype"]])
            parts[part["name"]] = _rebuilt(part["params"], terms, weights)
            start += count
        return parts, state["values"]
    except (KeyError, TypeError, UnicodeDecodeError) as exc:
        raise StateError(f"unreadable vectoriser state ({exc!r})") from None


def dump_state(vectorizer: ArticleVectorizer, folder: Path) -> None:
    """Save a fitted `ArticleVectorizer` as plain data in `folder` (the `VECTORIZER_*`
    files of `relata.artifact.layout`)."""
    write_parts(folder, *vectorizer.state())


def load_state(folder: Path) -> ArticleVectorizer:
    """The fitted `ArticleVectorizer` saved in `folder`, rebuilt without unpickling."""
    from relata.training.features import ArticleVectorizer

    parts, values = read_parts(folder)
    try:
        return ArticleVectorizer.from_state(parts, values)
    except (KeyError, TypeError) as exc:
        raise StateError(f"unreadable vectoriser values ({exc!r})") from None


def load_vectorizer(folder: Path, key: str = "") -> ArticleVectorizer:
    """The fitted vectoriser of a version folder, after verifying the folder (and its
    signature under `key`, if given), rebuilt from plain data (nothing unpickled)."""
    verify(folder, key)
    try:
        return load_state(folder)
    except (ValueError, OSError) as exc:
        raise ArtifactError(f"{folder.name}: unreadable vectoriser ({exc})") from None
