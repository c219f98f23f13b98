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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from relata.training.records import validate_record

MAX_CSV_FIELD = 1 << 30  # characters


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
    if suffix in (".jsonl", ".ndjson", ".json"):
        with path.open(encoding="utf-8") as lines:
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
    elif suffix == ".csv":
        yield from _csv_rows(path)
    elif suffix == ".parquet":
        frame = pd.read_parquet(path)
        for offset, record in enumerate(frame.to_dict("records")):
            yield offset + 1, record
    else:
        raise ArchiveError(f"{path}: unsupported archive format {suffix!r} (jsonl, csv, parquet)")


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


def load_archive(
    paths: Sequence[Path | str],
    max_bad_share: float,
    ingested: Sequence[dict[str, Any]] = (),
    deleted: frozenset[str] = frozenset(),
    keep_unpublished: bool = False,
) -> Archive:
    """Read and validate archive files into one table of publishable articles.

    `ingested` articles (already validated) replace archive rows of the same slug or add
    to them, and `deleted` slugs are left out: what was ingested between retrains is
    folded into the next one. `keep_unpublished` keeps rows of any status (counted in
    `not_published` all the same): an ingest file withdraws those.
    """
    paths = [Path(p) for p in paths]
    for path in paths:
        if not path.is_file():
            raise ArchiveError(f"{path}: no such archive file")
    replaced = deleted | {record["slug"] for record in ingested}
    tables: list[pd.DataFrame] = []
    articles: list[dict[str, Any]] = []
    errors: list[RowError] = []
    first_line: dict[str, str] = {}
    rows_read = not_published = 0
    for path in paths:
        from_csv = path.suffix.lower() == ".csv"
        try:
            for line, raw in _rows(path):
                rows_read += 1
                try:
                    article = validate_record(raw, from_csv)
                    slug = article["slug"]
                    if slug in first_line:
                        raise ValueError(f"duplicate slug {slug!r} (first at {first_line[slug]})")
                except ValueError as exc:
                    errors.append(RowError(path.name, line, str(exc)))
                    continue
                first_line[slug] = f"{path.name}:{line}"
                if article["status"] != "published":
                    not_published += 1
                    if not keep_unpublished:
                        continue
                if slug not in replaced:
                    articles.append(article)
                if len(articles) == TABLE_ROWS:
                    tables.append(pd.DataFrame(articles))
                    articles = []
                    release_text_memory()  # the records' and the conversion's buffers
        except (OSError, UnicodeDecodeError, ValueError, ImportError) as exc:
            raise ArchiveError(f"{path}: cannot read archive ({exc})") from None
    if rows_read and len(errors) / rows_read > max_bad_share:
        raise ArchiveError(
            f"{len(errors)} of {rows_read} rows are invalid "
            f"({len(errors) / rows_read:.1%} > {max_bad_share:.1%}); first: {errors[0]}"
        )
    articles += [dict(r) for r in ingested]
    tables += [pd.DataFrame(articles)] if articles else []
    del articles  # the parsed records: their text is in the tables now
    if not tables:
        raise ArchiveError("no usable articles in the archive")
    frame = pd.concat(tables, ignore_index=True) if len(tables) > 1 else tables[0]
    del tables
    release_text_memory()
    return Archive(frame, rows_read, errors, not_published, file_sha256(paths))
