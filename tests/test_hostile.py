"""Hostile and careless inputs (issue 11): each answers a clear 4xx in the one error shape,
and afterwards nothing was stored and every list still answers."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from relata.service.schema import AuditEntry, IngestedArticle
from relata.training.archive import load_archive
from relata.training.records import EARLIEST, LATEST, validate_record
from relata.training.text import clean_text
from tests.conftest import export_cli, invoke, make_app, train_cli
from tests.corpus import write_archive

SOURCE = "mars-rover-lands"
TARGET = "mars-rover-first-photos"
ARTICLE = {"slug": "zz-new", "title": "Mars Rover Finds Water", "summary": "On Mars."}
FAR = "9999-12-31T23:59:59-01:00"  # past year 9999 once converted to UTC
DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture
def app(models: Path, database_url: str):
    return make_app(models, database_url)


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


# -- 1. text that cannot be encoded ------------------------------------------------------


def test_a_lone_surrogate_in_an_article_is_refused_and_nothing_is_stored(
    app, client: FlaskClient, admin: dict
) -> None:
    before = _stored(app)
    body = b'{"slug": "zz-sur", "title": "a\\ud800b"}'
    response = client.post("/v1/articles", data=body, content_type="application/json",
                           headers=admin)  # fmt: skip
    _error(response, 400, "invalid_article")
    assert _stored(app) == before
    _error(client.get("/v1/related/zz-sur"), 404, "unknown_slug")
    _still_serving(client, admin)


@pytest.mark.slow
def test_a_bad_row_already_stored_is_skipped_and_logged_not_raised(
    app, client: FlaskClient, admin: dict, database_url: str, archive: Path, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    from relata.service.overrides import bump_revision, utcnow

    with app.extensions["relata.database"].session() as session:
        bad = {**ARTICLE, "slug": "zz-sur", "title": "a\ud800b", "status": "published"}
        session.add(IngestedArticle(slug="zz-sur", record=bad, deleted=False, author="hand",
                                    updated_at=utcnow()))  # fmt: skip
        bump_revision(session)
    assert client.post("/v1/articles", json=ARTICLE, headers=admin).status_code == 200
    with caplog.at_level(logging.ERROR, logger="relata.service.ingest"):
        _still_serving(client, admin)
        assert client.get("/v1/related/zz-new").status_code == 200  # the good one serves
        _error(client.get("/v1/related/zz-sur"), 404, "unknown_slug")
    assert "'zz-sur' skipped" in caplog.text
    store = tmp_path / "models"
    output = train_cli([archive], store, "--database-url", database_url)
    assert "published" in output


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


# -- 4. 500s that must be 400s -----------------------------------------------------------

REFUSED = [
    ("POST", "/v1/related:batch", b'{"slugs": ' + DEEP + b"}", None, 400, "bad_json"),
    ("POST", "/v1/related:batch", b'{"slugs": ["\\ud800"]}', None, 400, "bad_json"),
    ("POST", "/v1/related:batch", b'{"slugs": ["%s"], "limit": 1e999}' % SOURCE.encode(), None,
     400, "bad_json"),
    ("GET", f"/v1/related/{SOURCE}?limit=1e999", None, None, 400, "bad_parameter"),
    ("POST", "/v1/blocks", {"target": TARGET, "reason": "legal"}, "²", 400, "bad_parameter"),
    ("POST", "/v1/blocks", {"target": TARGET, "reason": "legal"},
     '"999999999999999999999999999999"', 400, "bad_parameter"),
    ("POST", "/v1/blocks", {"target": TARGET, "reason": "legal"}, '"99999999999"', 400,
     "bad_parameter"),
    ("POST", "/v1/blocks", {"target": TARGET, "reason": "legal", "expires_at": FAR}, '"0"', 400,
     "bad_parameter"),
    ("POST", f"/v1/overrides/{SOURCE}", {"kind": "block", "target": TARGET, "reason": "x",
     "expires_at": "0001-01-01T00:00:00+01:00"}, '"0"', 400, "bad_parameter"),
    ("POST", "/v1/blocks", b'{"target": "%s", "reason": "a\\ud800"}' % TARGET.encode(), '"0"',
     400, "bad_json"),
    ("POST", "/v1/blocks", DEEP, '"0"', 400, "bad_json"),
    ("POST", "/v1/articles", {**ARTICLE, "published_at": FAR}, None, 400, "invalid_article"),
    ("POST", "/v1/articles", b'{"articles": ' + DEEP + b"}", None, 400, "bad_json"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "url", "body", "if_match", "status", "code"), REFUSED)
def test_hostile_requests_are_4xx_and_change_nothing(
    app, client: FlaskClient, admin: dict, method: str, url: str, body, if_match, status: int,
    code: str,
) -> None:  # fmt: skip
    _refused(app, client, admin, method, url, body, if_match, status, code)


def _refused(
    app, client: FlaskClient, admin: dict, method: str, url: str, body, if_match, status: int,
    code: str,
) -> None:  # fmt: skip
    """The request answers `status`/`code`, stores nothing, and reads still work."""
    before = _stored(app)
    headers = {**admin, **({"If-Match": if_match} if if_match else {})}
    data = body if isinstance(body, bytes) or body is None else json.dumps(body)
    response = client.open(url, method=method, data=data, headers=headers,
                           content_type="application/json")  # fmt: skip
    _error(response, status, code)
    assert _stored(app) == before
    _still_serving(client, admin)


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


def test_entity_encoded_markup_is_served_as_text(client: FlaskClient, admin: dict) -> None:
    article = {
        **ARTICLE,
        "title": "&lt;script&gt;alert(1)&lt;/script&gt;Mars Rover",
        "summary": "&lt;img src=x onerror=alert(1)&gt;Rover on Mars",
        "url": "https://news.example/zz-new",
        "image": "http://img.example/a.png",
    }
    assert client.post("/v1/articles", json=article, headers=admin).status_code == 200
    items = client.get(f"/v1/related/{SOURCE}?limit=50").get_json()["items"]
    card = next(item for item in items if item["slug"] == "zz-new")
    assert card["title"] == "alert(1)Mars Rover" and card["excerpt"] == "Rover on Mars"
    assert not any(text in json.dumps(card) for text in ("<", ">", "&lt;", "&gt;"))


@pytest.mark.parametrize(
    "link",
    [{"url": "javascript:alert(1)"}, {"url": "JavaScript:alert(1)"}, {"url": "/relative"},
     {"image": "data:image/svg+xml,<svg onload=alert(1)>"}, {"url": "https://"},
     {"url": 'https://news.example/a"onmouseover=alert(1)'}, {"url": "https://a.example/<b>"},
     {"url": 5}],
)  # fmt: skip
def test_links_other_than_http_are_refused(
    app, client: FlaskClient, admin: dict, link: dict, tmp_path: Path
) -> None:
    before = _stored(app)
    _error(client.post("/v1/articles", json={**ARTICLE, **link}, headers=admin), 400,
           "invalid_article")  # fmt: skip
    assert _stored(app) == before
    _still_serving(client, admin)
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({**ARTICLE, "slug": "ok"}) + "\n" + json.dumps({**ARTICLE, **link}))
    archive = load_archive([path], max_bad_share=0.9)  # an archive row: rejected, with why
    assert [e.line for e in archive.errors] == [2]
    assert archive.errors[0].reason.startswith(tuple(link))  # names the field


def test_links_and_tags_are_kept_as_sent_or_cleaned_like_text() -> None:
    article = validate_record(
        {
            **ARTICLE,
            "url": " https://a.example/x?a=1&amp;b=2 ",
            "tags": ["R&amp;D", "&lt;img src=x onerror=alert(1)&gt;", "<b>"],
        }
    )
    assert article["url"] == "https://a.example/x?a=1&b=2"
    assert article["tags"] == ["R&D"]  # served in a pick's `why`: no markup there either


# -- 9. every list through one query builder ---------------------------------------------


def test_the_ingest_response_lists_what_the_api_serves(client: FlaskClient, admin: dict) -> None:
    response = client.post("/v1/articles", json=ARTICLE, headers=admin)
    served = client.get("/v1/related/zz-new").get_json()["items"]
    assert response.get_json()["related"]["zz-new"] == served


@pytest.mark.slow
def test_export_is_exactly_what_the_api_serves_for_every_demo_list(
    demo_models: Path, sqlite_url: str, tmp_path: Path
) -> None:
    exported = export_cli(demo_models, tmp_path / "export.jsonl", 6, sqlite_url)
    client = make_app(demo_models, sqlite_url).test_client()
    assert len(exported) > 9000
    for entry in exported:
        response = client.get(f"/v1/related/{entry['slug']}")
        assert response.get_json()["items"] == entry["items"], entry["slug"]


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


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("a.jsonl", '{"slug": "ok-one", "title": "Fine"}\n{"slug": "x", "title": %s}\n',
         "invalid JSON (nested too deep)"),
        ("a.csv", 'slug,title,tags\nok-one,Fine,a|b\nbad,T,"%s"\n',
         "tags must be a list of strings"),
    ],
)  # fmt: skip
def test_a_row_nested_too_deep_is_one_bad_row(
    name: str, content: str, reason: str, tmp_path: Path
) -> None:
    path = tmp_path / name
    path.write_text(content % DEEP.decode())
    archive = load_archive([path], max_bad_share=0.9)
    assert list(archive.articles["slug"]) == ["ok-one"]
    assert [(e.line, e.reason) for e in archive.errors] == [(2 if name == "a.jsonl" else 3, reason)]


@pytest.mark.slow
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


# -- 15. what the API accepts and shows ---------------------------------------------------


def test_version_shows_archive_file_names_not_paths(client: FlaskClient, models: Path) -> None:
    manifest = client.get("/-/version").get_json()["model"]
    assert manifest["archive"]["files"] == ["articles.jsonl"]
    assert str(models.parent) not in json.dumps(manifest)


@pytest.mark.parametrize("title", [{"a": 1}, ["a"], True])
def test_a_title_that_is_not_text_is_refused(app, client: FlaskClient, admin: dict, title) -> None:
    before = _stored(app)
    response = client.post("/v1/articles", json={**ARTICLE, "title": title}, headers=admin)
    _error(response, 400, "invalid_article")
    assert "title must be text" in response.get_json()["error"]["message"]
    assert _stored(app) == before


def test_a_draft_is_withdrawn_and_the_response_says_so(client: FlaskClient, admin: dict) -> None:
    draft = {**ARTICLE, "status": "draft"}
    response = client.post("/v1/articles", json=draft, headers=admin)
    assert response.status_code == 200
    assert response.get_json()["withdrawn"] == [{"slug": "zz-new", "status": "draft"}]
    assert response.get_json()["related"] == {}
    _error(client.get("/v1/related/zz-new"), 410, "deleted")
    # A CMS unpublishing a live article: out of every list at once.
    response = client.post("/v1/articles", json={"slug": TARGET, "title": "T", "status": "draft"},
                           headers=admin)  # fmt: skip
    assert response.get_json()["withdrawn"] == [{"slug": TARGET, "status": "draft"}]
    items = client.get(f"/v1/related/{SOURCE}?limit=50").get_json()["items"]
    assert TARGET not in [item["slug"] for item in items]
    # Published again: back at once.
    assert client.post("/v1/articles", json=ARTICLE, headers=admin).status_code == 200
    assert client.get("/v1/related/zz-new").status_code == 200


def test_a_global_unpublish_cannot_be_lifted_through_the_per_article_endpoint(
    client: FlaskClient, admin: dict
) -> None:
    body = {"kind": "unpublish", "target": TARGET, "reason": "legal"}
    response = client.post("/v1/blocks", json=body, headers={**admin, "If-Match": '"0"'})
    assert response.status_code == 200
    for scope in ("%2A", "*", "%23"):
        response = client.delete(f"/v1/overrides/{scope}/{TARGET}",
                                 headers={**admin, "If-Match": '"1"'})  # fmt: skip
        _error(response, 404, "unknown_slug")
    _error(client.get(f"/v1/related/{TARGET}"), 410, "unpublished")
    assert client.get("/v1/blocks", headers=admin).get_json()["version"] == 1


# -- 16. conditional requests ------------------------------------------------------------


def test_a_weak_if_none_match_gives_304(client: FlaskClient) -> None:
    etag = client.get(f"/v1/related/{SOURCE}").headers["ETag"]
    for sent in (etag, f"W/{etag}", f'"other", W/{etag}'):
        response = client.get(f"/v1/related/{SOURCE}", headers={"If-None-Match": sent})
        assert response.status_code == 304 and response.headers["ETag"] == etag
    other = client.get(f"/v1/related/{SOURCE}", headers={"If-None-Match": 'W/"x"'})
    assert other.status_code == 200


# -- 15. where the OpenAPI description and the server disagreed (found by schemathesis) --

DISAGREED = [
    ("GET", "/v1/audit?limit=1001", None, None, 400, "bad_parameter"),
    ("GET", "/v1/audit?limit=0", None, None, 400, "bad_parameter"),
    ("POST", "/v1/related:batch", {"slugs": [SOURCE], "limit": 0}, None, 400, "bad_parameter"),
    ("POST", "/v1/related:batch", {"slugs": []}, None, 400, "bad_parameter"),
    ("POST", "/v1/related:batch", {"slugs": [SOURCE], "exclude": "a"}, None, 400, "bad_parameter"),
    ("POST", "/v1/related:batch", {"slugs": [SOURCE], "fallbacks": 0}, None, 400, "bad_parameter"),
    ("POST", "/v1/related:batch", {"slugs": [SOURCE], "until": ""}, None, 400, "bad_parameter"),
    ("POST", "/v1/related:batch", {"slugs": [SOURCE], "limit": "6"}, None, 400, "bad_parameter"),
    ("POST", "/v1/blocks", {"target": TARGET, "reason": ""}, '"0"', 400, "bad_parameter"),
    ("POST", "/v1/blocks", {"target": TARGET, "reason": "   "}, '"0"', 400, "bad_parameter"),
    ("POST", "/v1/blocks", {"target": "nope", "reason": "x"}, None, 428, "precondition_required"),
    ("POST", "/v1/articles", {**ARTICLE, "title": 0}, None, 400, "invalid_article"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "url", "body", "if_match", "status", "code"), DISAGREED)
def test_what_the_description_refuses_the_server_refuses(
    app, client: FlaskClient, admin: dict, method: str, url: str, body, if_match, status: int,
    code: str,
) -> None:  # fmt: skip
    _refused(app, client, admin, method, url, body, if_match, status, code)


def test_deleting_an_article_twice_or_a_withdrawn_one_is_fine(
    client: FlaskClient, admin: dict
) -> None:
    client.post("/v1/articles", json={**ARTICLE, "status": "draft"}, headers=admin)
    for _ in range(2):
        assert client.delete("/v1/articles/zz-new", headers=admin).status_code == 200
    _error(client.delete("/v1/articles/never-seen", headers=admin), 404, "unknown_slug")


def test_delete_on_the_order_path_removes_the_override_of_an_article_called_order(
    client: FlaskClient, admin: dict
) -> None:
    response = client.options(f"/v1/overrides/{SOURCE}/order")
    assert set(response.headers["Allow"].split(", ")) == {"DELETE", "OPTIONS", "PATCH", "PUT"}
    response = client.delete(f"/v1/overrides/{SOURCE}/order", headers={**admin, "If-Match": '"0"'})
    _error(response, 404, "unknown_override")


@pytest.mark.parametrize("path", ["/editor/login", "/editor/logout"])
def test_a_non_ascii_csrf_token_is_refused_not_a_500(client: FlaskClient, path: str) -> None:
    # hmac.compare_digest raises on non-ASCII text; found by the schemathesis run.
    client.get("/editor/login")  # the session gets its CSRF token
    response = client.post(path, data={"token": "x", "csrf": "ýé"})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "csrf"
