"""Hostile and careless inputs (issue 11): each answers a clear 4xx in the one error shape,
and afterwards nothing was stored and every list still answers."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from service.schema import AuditEntry, IngestedArticle
from tests.conftest import invoke, make_app, make_token, train_cli
from tests.corpus import write_archive
from training.archive import load_archive
from training.records import EARLIEST, LATEST, validate_record
from training.text import clean_text

SOURCE = "mars-rover-lands"
TARGET = "mars-rover-first-photos"
ARTICLE = {"slug": "zz-new", "title": "Mars Rover Finds Water", "summary": "On Mars."}
FAR = "9999-12-31T23:59:59-01:00"  # past year 9999 once converted to UTC
DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture
def app(models: Path, database_url: str):
    return make_app(models, database_url)


@pytest.fixture
def admin(database_url: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(database_url, 'admin')}"}


def _error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]


def _stored(app) -> tuple[int, int]:
    """Rows in the ingested articles and the audit log: what a refused write must not add."""
    with app.extensions["relata.database"].session() as session:
        return (
            session.scalar(select(func.count()).select_from(IngestedArticle)),
            session.scalar(select(func.count()).select_from(AuditEntry)),
        )


def _still_serving(client: FlaskClient, headers: dict[str, str]) -> None:
    assert client.get(f"/v1/related/{SOURCE}").status_code == 200
    batch = client.post("/v1/related:batch", json={"slugs": [SOURCE, TARGET]})
    assert batch.status_code == 200 and all("items" in r for r in batch.get_json()["results"])
    assert client.get("/v1/blocks", headers=headers).get_json()["version"] == 0
    assert client.get("/readyz").status_code == 200


def test_archive_rows_and_ingest_files_with_unencodable_text_are_refused(
    tmp_path: Path, models: Path, sqlite_url: str
) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"slug": "ok-one", "title": "Fine"}\n'
                    '{"slug": "bad-one", "title": "a\\ud800b"}\n'
                    '{"slug": "bad-two", "title": "t", "tags": ["\\udc00"]}\n')  # fmt: skip
    archive = load_archive([path], max_bad_share=0.9)
    assert list(archive.articles["slug"]) == ["ok-one"]
    assert [(e.line, e.reason) for e in archive.errors] == [
        (2, "title is not valid Unicode text"), (3, "tags is not valid Unicode text")
    ]  # fmt: skip
    result = invoke("ingest", str(path), "--models", str(models), "--database-url", sqlite_url)
    assert result.exit_code == 1 and "not valid Unicode" in result.output
    assert "Traceback" not in result.output


# -- 5. markup and links -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("&lt;script&gt;alert(1)&lt;/script&gt;Mars", "alert(1)Mars"),
        ("&lt;img src=x onerror=alert(1)&gt;Rover", "Rover"),
        ("<<b>script>alert(1)<</b>/script>", "alert(1)"),
        ("&amp;lt;b&amp;gt; once", "&lt;b&gt; once"),  # decoded once, never twice
        ("Rates < 2% and a<b", "Rates < 2% and a<b"),
        ("AT&amp;T <b>wins</b>", "AT&T wins"),
    ],
)
def test_text_is_decoded_once_then_stripped_of_tags(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


# -- 12. CSV rows and dates that used to fail the whole archive ---------------------------


def test_csv_rows_of_the_wrong_width_are_reported_by_line_and_skipped(
    tmp_path: Path, archive: Path, models: Path
) -> None:
    frame = pd.read_json(archive, lines=True, dtype=False)
    frame = frame.assign(tags=frame["tags"].map(json.dumps))
    path = tmp_path / "a.csv"
    frame.to_csv(path, index=False)
    lines = path.read_text().splitlines(keepends=True)
    lines.insert(3, 'bad-row,"too",many,fields,in,this,row,for,the,header,at,all\n')
    path.write_text("".join(lines))
    loaded = load_archive([path], max_bad_share=0.5)
    reason = f"expected {len(frame.columns)} fields, saw 12"
    assert [(e.line, e.reason) for e in loaded.errors] == [(4, reason)]
    assert len(loaded.articles) == len(frame)


@pytest.mark.parametrize("published_at", [FAR, "0001-01-01", "9999-01-01", "1677-09-21"])
def test_dates_pandas_cannot_hold_reject_the_row_and_training_goes_on(
    published_at: str, tmp_path: Path
) -> None:
    path = write_archive(tmp_path / "a.jsonl")
    with path.open("a") as handle:
        handle.write(json.dumps({**ARTICLE, "published_at": published_at}) + "\n")
    output = train_cli([path], tmp_path / "models", "--set", "max_bad_share=0.1")
    assert "invalid 1" in output


def test_the_date_range_is_what_a_pandas_timestamp_holds() -> None:
    assert pd.Timestamp(EARLIEST) >= pd.Timestamp.min and pd.Timestamp(LATEST) <= pd.Timestamp.max
    tick = timedelta(microseconds=1)
    for outside in (EARLIEST - tick, LATEST + tick):
        with pytest.raises(pd.errors.OutOfBoundsDatetime):
            pd.Timestamp(outside).as_unit("ns")
        with pytest.raises(ValueError, match="outside"):
            validate_record({**ARTICLE, "published_at": outside.isoformat()})
