"""Issue 11, runtime: reads survive a hanging or refused database and a bad CURRENT,
every worker follows promotes and ingests within their bounds, CLI mistakes are one line,
and editor sessions cannot be forged or ridden."""

from __future__ import annotations

import http.cookiejar
import json
import logging
import re
import shutil
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from relata.artifact import registry
from relata.service import overlay
from tests.conftest import cli, invoke, make_app, make_token, train_cli
from tests.serving import free_port, get_json, served, wait_until

SOURCE = "mars-rover-lands"
CONNECT_TIMEOUT, STATEMENT_TIMEOUT = 2.0, 1.0  # psycopg waits at least 2 s to connect
DATABASE_TIMEOUTS = {
    "RELATA_DATABASE_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
    "RELATA_DATABASE_STATEMENT_TIMEOUT": str(STATEMENT_TIMEOUT),
}


@contextmanager
def hanging_database() -> Iterator[str]:
    """A PostgreSQL URL whose server accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    stopped = threading.Event()

    def accept() -> None:
        while not stopped.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"postgresql+psycopg://relata@127.0.0.1:{listener.getsockname()[1]}/relata"
    finally:
        stopped.set()
        thread.join()
        for connection in [*held, listener]:
            connection.close()


@contextmanager
def refused_database() -> Iterator[str]:
    """A PostgreSQL URL where nothing listens."""
    yield f"postgresql+psycopg://relata@127.0.0.1:{free_port()}/relata"


def _post(url: str, body: dict, headers: dict[str, str], seconds: float) -> tuple[int, dict]:
    """Status and JSON body of a POST, errors included."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={**headers, "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=seconds) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def _write(base: str, seconds: float) -> tuple[int, dict]:
    """An editor's write (any token: checking it needs the database)."""
    body = {"kind": "block", "target": "cup-final-report", "reason": "r"}
    headers = {"Authorization": "Bearer rlt_x", "If-Match": '"0"'}
    return _post(f"{base}/v1/overrides/{SOURCE}", body, headers, seconds)


@pytest.mark.slow
@pytest.mark.parametrize("database", [hanging_database, refused_database])
def test_reads_survive_a_bad_database_and_writes_fail_fast(
    models: Path, database: Callable[[], AbstractContextManager[str]]
) -> None:
    with database() as url, served(models, "--database-url", url, **DATABASE_TIMEOUTS) as base:
        for _ in range(10):  # fresh connections: both workers answer
            with urllib.request.urlopen(f"{base}/v1/related/{SOURCE}", timeout=1) as response:
                assert response.status == 200
        wait_until(lambda: get_json(f"{base}/readyz")[1]["status"] == "degraded", seconds=5)
        ready = get_json(f"{base}/readyz")[1]
        assert ready["database"].startswith("unavailable") and ready["model_version"]
        status, body = _write(base, CONNECT_TIMEOUT + STATEMENT_TIMEOUT + 1)
        assert status == 503 and body["error"]["code"] == "database_unavailable"


def test_an_app_starts_and_serves_while_its_database_hangs(models: Path) -> None:
    with hanging_database() as url:
        app = make_app(models, url, database_connect_timeout=CONNECT_TIMEOUT,
                       database_statement_timeout=STATEMENT_TIMEOUT)  # fmt: skip
        client = app.test_client()
        assert client.get(f"/v1/related/{SOURCE}").status_code == 200
        assert client.get("/readyz").get_json()["status"] == "degraded"


def test_a_connection_that_stalls_mid_session_reads_as_degraded(
    models: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(models, sqlite_url, database_connect_timeout=0.1,
                   database_statement_timeout=0.1)  # fmt: skip
    database = app.extensions["relata.database"]
    released = threading.Event()
    session = database.session

    @contextmanager
    def stalled() -> Iterator[object]:  # what a pooled connection to a frozen proxy does
        released.wait()
        with session() as opened:
            yield opened

    monkeypatch.setattr(database, "session", stalled)
    client = app.test_client()
    wait_until(lambda: client.get("/readyz").get_json()["status"] == "degraded", seconds=5)
    assert client.get("/readyz").get_json()["database"] == "unavailable (not answering)"
    assert client.get(f"/v1/related/{SOURCE}").status_code == 200
    released.set()
    wait_until(lambda: client.get("/readyz").get_json()["status"] == "ready", seconds=5)


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["checksum", "missing folder"])
def test_a_cold_start_on_a_bad_current_serves_the_newest_good_version_loudly(
    models: Path, archive: Path, tmp_path: Path, sqlite_url: str,
    caplog: pytest.LogCaptureFixture, damage: str,
) -> None:  # fmt: skip
    store = tmp_path / "models"
    shutil.copytree(models, store)
    good = registry.current_version(store)
    train_cli([archive], store, "--set", "recency_weight=0.9")
    bad = registry.current_version(store)
    if damage == "checksum":
        (store / bad / "neighbours_index.npy").write_bytes(b"garbage")
    else:
        shutil.rmtree(store / bad)
    with caplog.at_level(logging.ERROR, logger="relata.service.model_store"):
        client = make_app(store, sqlite_url).test_client()
    assert any(f"serving {good} from HISTORY" in r.getMessage() for r in caplog.records)
    assert client.get(f"/v1/related/{SOURCE}").get_json()["model_version"] == good
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "degraded" and ready["model_version"] == good
    assert (ready["fallback"]["current"], ready["fallback"]["serving"]) == (bad, good)
    assert "relata_model_fallback 1.0" in client.get("/metrics").get_data(as_text=True)

    cli("rollback", "--models", str(store))  # CURRENT names the good one again
    wait_until(lambda: client.get("/readyz").get_json()["status"] == "ready")
    assert client.get("/readyz").get_json()["fallback"] is None
    assert "relata_model_fallback 0.0" in client.get("/metrics").get_data(as_text=True)


REFRESH_INTERVAL = 0.2
# A worker's first overlay loads pandas, scikit-learn and the vectoriser (about 2 s, see
# the README); later ones take milliseconds on the test corpus.
OVERLAY_ALLOWANCE = 5.0
ROVER = {"slug": "mars-rover-finds-water", "title": "Mars Rover Finds Signs Of Water",
         "summary": "The rover found minerals that formed in water on Mars.",
         "category": "space", "tags": ["mars", "nasa"], "published_at": "2024-06-01"}  # fmt: skip


@pytest.mark.slow
def test_every_worker_serves_an_ingested_article_within_the_documented_bound(
    models: Path, sqlite_url: str
) -> None:
    admin = {"Authorization": f"Bearer {make_token(sqlite_url, 'admin')}"}
    with served(models, "--database-url", sqlite_url,
                RELATA_OVERRIDES_REFRESH_INTERVAL=str(REFRESH_INTERVAL)) as base:  # fmt: skip
        # A generous bound: the first ingest loads the vectoriser, slow on a busy machine.
        status, body = _post(f"{base}/v1/articles", ROVER, admin, 120)
        assert status == 200 and body["related"][ROVER["slug"]]

        def everyone_serves_it() -> bool:  # fresh connections: both workers answer
            return all(
                get_json(f"{base}/v1/related/{ROVER['slug']}")[0] == 200
                and ROVER["slug"] in str(get_json(f"{base}/v1/related/{SOURCE}?limit=50")[1])
                for _ in range(8)
            )

        wait_until(everyone_serves_it, seconds=REFRESH_INTERVAL + OVERLAY_ALLOWANCE)


def test_an_ingest_elsewhere_is_folded_in_off_the_request_path(
    models: Path, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built_in: list[str] = []  # the threads that built an overlay
    build = overlay.build_overlay

    def recording(*args: object) -> object:
        built_in.append(threading.current_thread().name)
        return build(*args)

    monkeypatch.setattr(overlay, "build_overlay", recording)
    client = make_app(models, sqlite_url).test_client()
    assert client.get(f"/v1/related/{ROVER['slug']}").status_code == 404
    articles = tmp_path / "new.jsonl"
    articles.write_text(json.dumps(ROVER) + "\n")
    cli("ingest", str(articles), "--models", str(models), "--database-url", sqlite_url)
    wait_until(
        lambda: client.get(f"/v1/related/{ROVER['slug']}").status_code == 200,
        seconds=REFRESH_INTERVAL + OVERLAY_ALLOWANCE,
    )
    assert built_in and set(built_in) == {"overrides"}  # the background timer, never a request


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--models", "{tmp}/modles"], "--models: no such folder"),
        (["tokens", "list", "--models", "{tmp}/modles"], "no overrides database in"),
        (["tokens", "create", "--name", "x", "--models", "{tmp}"], "no overrides database in"),
        (["tokens", "list", "--database-url", "nonsense"], "--database-url: ArgumentError"),
        (["serve", "--models", "{tmp}", "--database-url", "nope://x"], "--database-url: NoSuch"),
        (["tokens", "list", "--database-url", "sqlite:///{tmp}/x.db"], "no such table: tokens"),
    ],
)
def test_cli_mistakes_are_one_line_and_leave_nothing_behind(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = invoke(*(arg.format(tmp=tmp_path) for arg in args))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1
    assert message in result.output
    assert sorted(path.name for path in tmp_path.iterdir()) in ([], ["x.db"])


def _csrf(client: FlaskClient) -> str:
    """The CSRF token in the editor page's login or logout form."""
    page = client.get("/editor").get_data(as_text=True)
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)


def test_the_session_key_is_kept_out_of_the_models_folder(
    models: Path, tmp_path: Path, sqlite_url: str, _state_home: Path
) -> None:
    store = tmp_path / "models"
    shutil.copytree(models, store)
    signer = make_app(store, sqlite_url, secret_key="")
    key = _state_home / "relata" / "secret_key"
    assert signer.config["SECRET_KEY"] == key.read_text().strip()
    assert key.stat().st_mode & 0o777 == 0o600
    assert not [path for path in store.rglob("*") if "secret" in path.name]
    # Workers of this user sign alike: a session from one is good in another.
    token = make_token(sqlite_url, "editor")
    client = signer.test_client()
    client.post("/editor/login", data={"token": token, "csrf": _csrf(client)})
    other = make_app(store, sqlite_url, secret_key="").test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    assert "Find an article" in other.get("/editor").get_data(as_text=True)


def test_login_and_logout_need_the_session_csrf_token(client: FlaskClient, sqlite_url: str) -> None:
    token = make_token(sqlite_url, "editor")
    for sent in ({}, {"csrf": "0" * 32}):
        refused = client.post("/editor/login", data={"token": token, **sent})
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "csrf"
        assert "Log in" in client.get("/editor").get_data(as_text=True)  # still logged out
    login = {"token": token, "csrf": _csrf(client)}
    assert client.post("/editor/login", data=login).status_code == 302
    assert client.post("/editor/logout").status_code == 403  # a cross-site logout
    assert "Find an article" in client.get("/editor").get_data(as_text=True)
    assert _csrf(client) != login["csrf"]  # a new token comes with the login
    assert client.post("/editor/logout", data={"csrf": _csrf(client)}).status_code == 302
    assert "Log in" in client.get("/editor").get_data(as_text=True)


@pytest.mark.parametrize(
    ("proxy_hops", "base_url", "headers", "secure"),
    [
        (0, "http://localhost", {}, False),
        (0, "https://localhost", {}, True),
        (0, "http://localhost", {"X-Forwarded-Proto": "https"}, False),  # nobody to trust
        (1, "http://localhost", {"X-Forwarded-Proto": "https"}, True),
    ],
)
def test_the_session_cookie_is_secure_over_https_only(
    models: Path, sqlite_url: str, proxy_hops: int, base_url: str, headers: dict, secure: bool
) -> None:
    client = make_app(models, sqlite_url, proxy_hops=proxy_hops).test_client()
    cookie = client.get("/editor", base_url=base_url, headers=headers).headers["Set-Cookie"]
    assert ("; Secure" in cookie) is secure and "HttpOnly" in cookie


def test_editor_pages_forbid_framing_and_foreign_scripts(client: FlaskClient) -> None:
    for response in (client.get("/editor"), client.post("/editor/login")):
        assert response.headers["X-Frame-Options"] == "DENY"
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy


@pytest.mark.slow
def test_workers_share_one_session_key_without_a_writable_state_folder(
    models: Path, sqlite_url: str, tmp_path: Path
) -> None:
    unwritable = tmp_path / "a-file"
    unwritable.write_text("")  # no folder can be made under it
    token = make_token(sqlite_url, "editor")
    with served(models, "--database-url", sqlite_url, XDG_STATE_HOME=str(unwritable)) as base:
        browser = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

        def page(data: dict[str, str] | None = None, path: str = "/editor") -> str:
            body = urllib.parse.urlencode(data).encode() if data else None
            with browser.open(f"{base}{path}", data=body, timeout=5) as response:
                return response.read().decode()

        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page()).group(1)
        assert "Find an article" in page({"token": token, "csrf": csrf}, "/editor/login")
        for _ in range(8):  # fresh connections: both workers know the session
            assert "Find an article" in page()
