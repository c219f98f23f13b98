"""Load an article archive (JSON Lines, CSV or Parquet) and validate it row by row.

A bad row is reported with its line number and reason and skipped; the run fails only when
bad rows exceed the configured share, or when nothing usable is left.
"""

from __future__ import annotations

import csv
import ctypes
import ctypes.util
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import pyarrow as pa

from relata.training.distributed import IDLE_WORKER_SECONDS
from relata.training.records import KNOWN_FIELDS, validate_record

MAX_CSV_FIELD = 1 << 30  # characters
JSON_LINES = (".jsonl", ".ndjson", ".json")
# JSON Lines files are read in pieces of about this many bytes, in parallel when there
# are several: parsing and validating is the load's work. About 5,000 articles of real
# length: small enough that two processes finish together (100k articles: 19.7 s in one
# process, 12.4 s in two; 64 MB pieces took 15.2 s).
PIECE_BYTES = 16 << 20

# What `load_archive` applies to each part of its table (training: each article's language).
Prepare = Callable[[pd.DataFrame], pd.DataFrame]


class ArchiveError(Exception):
    """The archive cannot be used: unreadable, or too many bad rows."""


@dataclass(frozen=True)
class RowError:
    """One rejected row: where it is and why."""

    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


@dataclass
class Archive:
    """The valid articles of one or more archive files, and what was rejected."""

    articles: pd.DataFrame
    rows_read: int
    errors: list[RowError] = field(default_factory=list)
    not_published: int = 0
    sha256: str = ""

    def records(self) -> list[dict[str, Any]]:
        """The valid articles as plain dicts (missing values as None)."""
        frame = self.articles.astype(object).where(self.articles.notna(), None)
        return frame.to_dict("records")


def _rows(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, raw record) for every record of one file, by its extension."""
    suffix = path.suffix.lower()
    if suffix in JSON_LINES:
        with path.open(encoding="utf-8") as lines:
            yield from _json_records(lines)
    elif suffix == ".csv":
        yield from _csv_rows(path)
    elif suffix == ".parquet":
        frame = pd.read_parquet(path)
        for offset, record in enumerate(frame.to_dict("records")):
            yield offset + 1, record
    else:
        raise ArchiveError(f"{path}: unsupported archive format {suffix!r} (jsonl, csv, parquet)")


def _json_records(lines: Iterable[str]) -> Iterator[tuple[int, Any]]:
    """(line number from 1, parsed record or the ValueError saying why not) per line."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            record = ValueError(f"invalid JSON ({exc.msg})")
        except RecursionError:
            record = ValueError("invalid JSON (nested too deep)")
        yield number, record


def _csv_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """(first line, record) per CSV record; a row of the wrong width is one bad row.

    The csv module rather than pandas: pandas fails the whole file on such a row and
    cannot say on which line it started.
    """
    # A body can be longer than the module's default field limit (128 KiB).
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_FIELD))
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        while True:
            line = reader.line_num + 1
            try:
                cells = next(reader, None)
            except csv.Error as exc:
                if reader.line_num < line:  # the reader is stuck: no later row is readable
                    raise ValueError(f"line {line}: {exc}") from None
                yield line, ValueError(f"unreadable CSV row ({exc})")
                continue
            if cells is None:
                return
            if not cells:  # a blank line
                continue
            if len(cells) > len(header):
                yield line, ValueError(f"expected {len(header)} fields, saw {len(cells)}")
                continue
            # Missing trailing cells and empty ones are both "no value".
            values = [cell or None for cell in cells] + [None] * (len(header) - len(cells))
            yield line, dict(zip(header, values, strict=True))


def file_sha256(paths: Sequence[Path]) -> str:
    """One sha256 over the bytes of all archive files, in the order given."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None where the C library has none (musl, macOS)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


# Parsed records are turned into a table this many at a time, and the memory of their
# text handed back each time: a million records of real length held as Python dicts,
# then copied into one table, peaked at 9.4 GB.
TABLE_ROWS = 20000


def release_text_memory() -> None:
    """Give the pages of freed text back to the system. pandas keeps text columns in
    Arrow buffers, and Arrow's allocator (mimalloc) keeps freed pages for its own later
    use, which training hardly makes: 230 MB after building the table of a realistic 50k
    archive (the conversion's buffers), 320 MB after dropping the bodies of a 100k one.
    The parsed records' strings are C-heap blocks that glibc keeps once freed: handed
    back, 305 MB at 100k articles and 3 GB at 1M leave the process between steps (the
    next step's own allocations would reuse them, so this lowers what a run holds, not
    its peak)."""
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@dataclass
class _Piece:
    """What one piece of an archive file holds: its valid records' slugs, line numbers
    (from 1 within the piece) and whether each is published and in `tables`, the
    publishable articles themselves (a slug's first row only), and the rows rejected on
    their own (line, reason). Slugs repeated across pieces are found when pieces are put
    together, and those rows dropped from the tables then."""

    slugs: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    published: list[bool] = field(default_factory=list)
    in_table: list[bool] = field(default_factory=list)
    tables: list[pd.DataFrame] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    rows_read: int = 0
    line_count: int = 0  # lines of the piece, blank ones included (set by `_read_piece`)


def _collect(
    records: Iterable[tuple[int, Any]], from_csv: bool, replaced: frozenset[str],
    keep_unpublished: bool, prepare: Prepare | None,
) -> _Piece:  # fmt: skip
    """Validate numbered raw records into a `_Piece`."""
    piece = _Piece()
    articles: list[dict[str, Any]] = []
    seen: set[str] = set()  # a repeated slug's row never enters a table

    def table() -> None:
        frame = pd.DataFrame(articles)
        piece.tables.append(frame if prepare is None else prepare(frame))
        articles.clear()
        release_text_memory()  # the records' and the conversion's buffers

    for line, raw in records:
        piece.rows_read += 1
        try:
            article = validate_record(raw, from_csv)
        except ValueError as exc:
            piece.errors.append((line, str(exc)))
            continue
        published, first = article["status"] == "published", article["slug"] not in seen
        seen.add(article["slug"])
        kept = first and (published or keep_unpublished) and article["slug"] not in replaced
        piece.slugs.append(article["slug"])
        piece.lines.append(line)
        piece.published.append(published)
        piece.in_table.append(kept)
        if kept:
            articles.append(article)
            if len(articles) == TABLE_ROWS:
                table()
    if articles:
        table()
    return piece


def _universal_lines(text: str) -> list[str]:
    """The lines of `text` as a text-mode file reads them (universal newlines: "\\r\\n",
    "\\r" and "\\n" end a line), numbered the same, without their ends. Not
    `io.StringIO(text, newline=None).readlines()`: that copies the text into four bytes
    a character and was a fifth of a realistic archive's parse; nor `str.splitlines`,
    which also splits at characters JSON strings may hold raw (U+2028, form feed)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines[-1] == "":  # the text ends with a line's end, or is empty
        lines.pop()
    return lines


def _read_piece(
    path: Path, start: int, stop: int, replaced: frozenset[str], keep_unpublished: bool,
    prepare: Prepare | None,
) -> _Piece:  # fmt: skip
    """The records of bytes `start` to `stop` of a JSON Lines file (whole lines)."""
    with path.open("rb") as handle:
        handle.seek(start)
        text = handle.read(stop - start).decode("utf-8")
    lines = _universal_lines(text)
    del text
    piece = _collect(_json_records(lines), False, replaced, keep_unpublished, prepare)
    piece.line_count = len(lines)
    return piece


def _piece_bounds(path: Path, size: int) -> list[tuple[int, int]]:
    """Byte ranges of about `size` bytes covering a file, each ending after a newline."""
    total, bounds, start = path.stat().st_size, [], 0
    with path.open("rb") as handle:
        while start < total:
            handle.seek(min(total, start + size))
            handle.readline()  # on to the end of the line the cut fell in
            stop = min(total, handle.tell()) if start + size < total else total
            bounds.append((start, stop))
            start = stop
    return bounds


def _pieces(
    path: Path, replaced: frozenset[str], keep_unpublished: bool, prepare: Prepare | None,
    n_jobs: int,
) -> Iterator[_Piece]:  # fmt: skip
    """The pieces of one archive file, in file order: a JSON Lines file of several
    `PIECE_BYTES` is read in pieces on `n_jobs` local processes, any other file whole."""
    splits = n_jobs != 1 and path.suffix.lower() in JSON_LINES
    bounds = _piece_bounds(path, PIECE_BYTES) if splits else []
    if len(bounds) < 2:
        from_csv = path.suffix.lower() == ".csv"
        yield _collect(_rows(path), from_csv, replaced, keep_unpublished, prepare)
        return
    # Local processes even under a Dask cluster: the file is on this machine.
    parallel = joblib.Parallel(n_jobs=n_jobs, backend="loky", return_as="generator",
                               idle_worker_timeout=IDLE_WORKER_SECONDS)  # fmt: skip
    yield from parallel(
        joblib.delayed(_read_piece)(path, start, stop, replaced, keep_unpublished, prepare)
        for start, stop in bounds
    )


def load_archive(
    paths: Sequence[Path | str],
    max_bad_share: float,
    ingested: Sequence[dict[str, Any]] = (),
    deleted: frozenset[str] = frozenset(),
    keep_unpublished: bool = False,
    prepare: Prepare | None = None,
    n_jobs: int = 1,
) -> Archive:
    """Read and validate archive files into one table of publishable articles.

    `ingested` articles (already validated) replace archive rows of the same slug or add
    to them, and `deleted` slugs are left out: what was ingested between retrains is
    folded into the next one. `keep_unpublished` keeps rows of any status (counted in
    `not_published` all the same): an ingest file withdraws those. `prepare` is applied
    to each part of the table as it is made (a module-level function: it may run in
    another process), and big JSON Lines files are read on `n_jobs` processes.
    """
    paths = [Path(p) for p in paths]
    for path in paths:
        if not path.is_file():
            raise ArchiveError(f"{path}: no such archive file")
    replaced = deleted | {record["slug"] for record in ingested}
    tables: list[pd.DataFrame] = []
    errors: list[RowError] = []
    first_line: dict[str, str] = {}
    rows_read = not_published = 0
    dropped = False
    for path in paths:
        name, offset = path.name, 0
        try:
            for piece in _pieces(path, replaced, keep_unpublished, prepare, n_jobs):
                rows_read += piece.rows_read
                found = [RowError(name, offset + line, reason) for line, reason in piece.errors]
                kept = []
                for slug, line, published, in_table in zip(
                    piece.slugs, piece.lines, piece.published, piece.in_table, strict=True
                ):
                    first = slug not in first_line
                    if first:
                        first_line[slug] = f"{name}:{offset + line}"
                        not_published += not published
                    else:
                        reason = f"duplicate slug {slug!r} (first at {first_line[slug]})"
                        found.append(RowError(name, offset + line, reason))
                    if in_table:
                        kept.append(first)
                errors += sorted(found, key=lambda error: error.line)
                frames = piece.tables
                if not all(kept):  # a slug an earlier piece had: this row goes
                    frames = [pd.concat(frames, ignore_index=True)[kept].reset_index(drop=True)]
                    dropped = True
                tables += frames
                offset += piece.line_count
        except (OSError, UnicodeDecodeError, ValueError, ImportError) as exc:
            raise ArchiveError(f"{path}: cannot read archive ({exc})") from None
    if rows_read and len(errors) / rows_read > max_bad_share:
        raise ArchiveError(
            f"{len(errors)} of {rows_read} rows are invalid "
            f"({len(errors) / rows_read:.1%} > {max_bad_share:.1%}); first: {errors[0]}"
        )
    if ingested:
        frame = pd.DataFrame([dict(r) for r in ingested])
        tables.append(frame if prepare is None else prepare(frame))
    if not tables:
        raise ArchiveError("no usable articles in the archive")
    frame = pd.concat(tables, ignore_index=True) if len(tables) > 1 else tables[0]
    del tables
    if dropped:  # a field only dropped rows had (extra fields are never empty) is no column
        extra = [c for c in frame.columns if c not in KNOWN_FIELDS and frame[c].isna().all()]
        frame = frame.drop(columns=extra)
    release_text_memory()
    return Archive(frame, rows_read, errors, not_published, file_sha256(paths))
