from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from relata.cli.main import main
from relata.training.archive import ArchiveError, load_archive
from tests.corpus import ARTICLES, write_archive

GOOD = {"slug": "ok", "title": "A title", "published_at": "2024-01-01", "tags": ["a"]}


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_each_bad_row_is_reported_with_its_line_and_reason(tmp_path: Path) -> None:
    rows = [
        json.dumps(GOOD),
        json.dumps({**GOOD, "slug": None}),
        json.dumps({**GOOD, "slug": "x1", "title": "  "}),
        json.dumps({**GOOD, "slug": "ok"}),
        json.dumps({**GOOD, "slug": "Bad_Slug"}),
        json.dumps({**GOOD, "slug": "x2", "published_at": "last tuesday"}),
        json.dumps({**GOOD, "slug": "x3", "tags": "a,b"}),
        "{not json",
        json.dumps({**GOOD, "slug": "fine", "body": "", "summary": None, "tags": []}),
    ]
    archive = load_archive([_write_lines(tmp_path / "a.jsonl", rows)], max_bad_share=0.9)
    reasons = {error.line: error.reason for error in archive.errors}
    assert reasons[2] == "missing slug"
    assert reasons[3] == "missing title"
    assert reasons[4].startswith("duplicate slug 'ok' (first at a.jsonl:1)")
    assert "[a-z0-9][a-z0-9-]*" in reasons[5]
    assert "not an ISO date" in reasons[6]
    assert reasons[7] == "tags must be a list of strings"
    assert reasons[8].startswith("invalid JSON")
    assert list(archive.articles["slug"]) == ["ok", "fine"]
    assert archive.rows_read == 9


@pytest.mark.slow
def test_too_many_bad_rows_fail_the_run_with_one_clear_line(tmp_path: Path) -> None:
    rows = [json.dumps({**GOOD, "slug": f"s{i}"}) for i in range(50)] + ['{"title": "x"}']
    path = _write_lines(tmp_path / "a.jsonl", rows)
    result = CliRunner().invoke(
        main, ["train", "--archive", str(path), "--models", str(tmp_path / "m")]
    )
    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: 1 of 51 rows are invalid (2.0% > 1.0%); first: a.jsonl:51"
    )
    assert "Traceback" not in result.output
    assert not (tmp_path / "m" / "CURRENT").exists()


def test_an_archive_with_nothing_usable_fails(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "a.jsonl", [json.dumps({**GOOD, "status": "draft"})])
    with pytest.raises(ArchiveError, match="no usable articles"):
        load_archive([path], max_bad_share=0.01)


def test_html_is_stripped_but_a_literal_less_than_is_kept(archive: Path) -> None:
    articles = load_archive([archive], 0.01).articles.set_index("slug")
    assert articles.loc["election-results-senate", "summary"] == (
        "Democrats kept control of the Senate after the election."
    )
    assert "record & rising" in articles.loc["election-turnout-record", "summary"]
    assert (
        articles.loc["budget-deficit-under-2-percent", "title"]
        == "Budget Deficit Falls < 2% Of GDP"
    )


def test_csv_and_parquet_read_like_json_lines(tmp_path: Path, archive: Path) -> None:
    expected = load_archive([archive], 0.01).articles
    frame = pd.read_json(archive, lines=True, dtype=False)
    frame.to_parquet(tmp_path / "a.parquet")
    as_csv = frame.assign(tags=frame["tags"].map(json.dumps))
    as_csv.to_csv(tmp_path / "a.csv", index=False)
    for name in ("a.parquet", "a.csv"):
        loaded = load_archive([tmp_path / name], 0.01).articles
        assert list(loaded["slug"]) == list(expected["slug"]), name
        assert list(loaded["tags"]) == list(expected["tags"]), name
        assert list(loaded["published_at"].fillna("")) == list(expected["published_at"].fillna(""))


def test_unknown_archive_format_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "a.xml"
    path.write_text("<xml/>")
    with pytest.raises(ArchiveError, match="unsupported archive format"):
        load_archive([path], 0.01)


def test_unpublished_rows_are_left_out_without_counting_as_errors(tmp_path: Path) -> None:
    path = write_archive(tmp_path / "a.jsonl", ARTICLES[:3])
    lines = path.read_text().splitlines()
    record = json.loads(lines[0]) | {"status": "draft"}
    path.write_text("\n".join([json.dumps(record), *lines[1:]]) + "\n")
    archive = load_archive([path], 0.01)
    assert archive.not_published == 1 and not archive.errors
    assert "mars-rover-lands" not in set(archive.articles["slug"])


def test_a_big_file_read_in_pieces_on_two_processes_loads_as_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pieces end anywhere in the file, so a duplicate slug, a bad row or a draft may be
    in another piece than the row it is measured against: errors, their line numbers,
    the counts and the table must all be what one reading of the file gives."""
    rows = [json.dumps({**GOOD, "slug": f"s{i}", "title": f"Story {i}"}) for i in range(40)]
    rows[7] = json.dumps({**GOOD, "slug": "s3", "title": "Again"})  # s3 again, later
    rows[25] = json.dumps({**GOOD, "slug": "s1", "status": "draft"})  # a draft duplicate
    rows[31] = json.dumps({**GOOD, "slug": "a-draft", "status": "draft"})
    rows[12], rows[33] = "{broken", ""  # a bad row and a blank line
    rows[38] = json.dumps({**GOOD, "slug": "s2", "title": "Third time"})
    # A raw line separator inside a string ends no JSON Lines line.
    rows[20] = json.dumps({**GOOD, "slug": "s20", "title": "Story\u2028 20"}, ensure_ascii=False)
    path = tmp_path / "a.jsonl"
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode())  # CRLF: one line per record
    whole = load_archive([path], 0.5, ingested=[{**GOOD, "slug": "s5"}], n_jobs=2)
    monkeypatch.setattr("relata.training.archive.PIECE_BYTES", 300)
    pieces = load_archive([path], 0.5, ingested=[{**GOOD, "slug": "s5"}], n_jobs=2)
    assert [str(e) for e in pieces.errors] == [str(e) for e in whole.errors] == [
        "a.jsonl:8: duplicate slug 's3' (first at a.jsonl:4)",
        "a.jsonl:13: invalid JSON (Expecting property name enclosed in double quotes)",
        "a.jsonl:26: duplicate slug 's1' (first at a.jsonl:2)",
        "a.jsonl:39: duplicate slug 's2' (first at a.jsonl:3)",
    ]
    assert pieces.rows_read == whole.rows_read == 39
    assert pieces.not_published == whole.not_published == 1
    pd.testing.assert_frame_equal(pieces.articles, whole.articles)
    titles = dict(zip(pieces.articles["slug"], pieces.articles["title"], strict=True))
    assert [titles[s] for s in ("s1", "s2", "s3", "s20")] == [
        "Story 1", "Story 2", "Story 3", "Story 20"
    ]
    slugs = list(pieces.articles["slug"])
    assert slugs.count("s5") == 1 and slugs[-1] == "s5"  # the ingested one replaces it
    assert "a-draft" not in slugs and len(slugs) == 40 - 6  # 6 lines lost a story each


def test_pieces_of_several_files_keep_to_one_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two files of one name: a repeated slug is still a duplicate. A field only a
    dropped duplicate has makes no column. Bytes that are no UTF-8 in a later piece fail
    the load with the file's name, as in one reading."""
    monkeypatch.setattr("relata.training.archive.PIECE_BYTES", 100)
    rows = [json.dumps({**GOOD, "slug": f"s{i}"}) for i in range(9)]
    again = json.dumps({**GOOD, "slug": "s0", "title": "Again", "views": 3})
    for folder, lines in (("one", rows[:8]), ("two", [again, rows[8]])):
        (tmp_path / folder).mkdir()
        _write_lines(tmp_path / folder / "a.jsonl", lines)
    archive = load_archive([tmp_path / "one" / "a.jsonl", tmp_path / "two" / "a.jsonl"], 0.9,
                           n_jobs=2)  # fmt: skip
    assert list(archive.articles["slug"]) == [f"s{i}" for i in range(9)]
    assert [str(e) for e in archive.errors] == [
        "a.jsonl:1: duplicate slug 's0' (first at a.jsonl:1)"
    ]
    assert "views" not in archive.articles.columns and "Again" not in set(archive.articles["title"])
    # Within a piece a repeated slug's row never reaches the table: its fields change
    # nothing (here: the first row's whole number stays an integer column).
    _write_lines(tmp_path / "one.jsonl", [json.dumps({**GOOD, "n": 1}),
                                          json.dumps({**GOOD, "n": 1.5})])  # fmt: skip
    numbers = load_archive([tmp_path / "one.jsonl"], 0.9).articles["n"]
    assert numbers.tolist() == [1] and numbers.dtype == "int64"
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes("\n".join(rows).encode() + b'\n{"slug": "x\xff"}\n')
    with pytest.raises(ArchiveError, match=r"broken\.jsonl: cannot read archive"):
        load_archive([broken], 0.9, n_jobs=2)
