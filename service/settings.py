"""The service settings table: one declarative list of (name, default, help, parser).

`create_app` reads each setting from, in rising priority, the default here, the
environment variable `RELATA_<NAME>` and the `test_config` passed to the factory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


def _origins(text: str) -> list[str]:
    return [origin.strip() for origin in text.split(",") if origin.strip()]


def _flag(text: str) -> bool:
    if text.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if text.strip().lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"needs true or false, got {text!r}")


def _within(kind: type, low: float, high: float = float("inf")) -> Callable[[str], Any]:
    """A parser of `kind` that refuses values outside [low, high]."""

    def parse(text: str) -> Any:
        value = kind(text)
        if not low <= value <= high:
            raise ValueError(f"{value} is outside its allowed range [{low:g}, {high:g}]")
        return value

    return parse


def _version_pair(text: str) -> list[str]:
    versions = _origins(text)
    if versions and (len(versions) != 2 or versions[0] == versions[1]):
        raise ValueError(f"needs two different model versions, V1,V2 (or nothing), got {text!r}")
    return versions


@dataclass(frozen=True)
class Setting:
    """One service setting."""

    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str

    @property
    def env(self) -> str:
        return f"RELATA_{self.name.upper()}"


SETTINGS: tuple[Setting, ...] = (
    Setting("models_dir", "models", "Folder of model versions; `CURRENT` names the live one."),
    Setting(
        "models_url",
        "",
        "fsspec URL of a shared model store (e.g. `s3://bucket/relata/models` with s3fs "
        "installed) that `relata publish` writes; each version is copied once into "
        "`models_dir` and served from there. Empty: serve `models_dir` itself.",
    ),
    Setting("default_limit", 6, "Cards returned when the request gives no `limit`.", int),
    Setting("max_limit", 50, "Largest `limit` a request may ask for.", int),
    Setting(
        "min_score",
        0.05,
        "Model picks scoring below this are dropped (the list fills with fallbacks).",
        float,
    ),
    Setting("max_batch", 100, "Most slugs one `POST /v1/related:batch` may ask for.", int),
    Setting("cache_max_age", 300, "`Cache-Control: max-age` of related lists, seconds.", int),
    Setting(
        "stale_while_revalidate",
        86400,
        "`stale-while-revalidate` (and `stale-if-error`) of related lists, seconds.",
        int,
    ),
    Setting(
        "cors_origins",
        [],
        "Comma-separated origins allowed to call the read API from a browser (`*` for any).",
        _origins,
    ),
    Setting(
        "reload_interval",
        5.0,
        "Seconds between checks of `CURRENT` for a newly promoted model.",
        float,
    ),
    Setting(
        "database_url",
        "",
        "SQLAlchemy URL of the overrides database; empty = SQLite file `relata.db` in "
        "`models_dir`. PostgreSQL: `postgresql+psycopg://user@host/db`.",
    ),
    Setting(
        "database_connect_timeout",
        3.0,
        "Seconds to wait for the overrides database to accept a connection (PostgreSQL "
        "`connect_timeout`, at least 2) or for a free pooled connection.",
        float,
    ),
    Setting(
        "database_statement_timeout",
        5.0,
        "Longest one database statement may run (PostgreSQL `statement_timeout`) or wait "
        "for a lock (SQLite busy timeout), seconds.",
        float,
    ),
    Setting(
        "overrides_refresh_interval",
        1.0,
        "Seconds between background checks for overrides and ingested articles changed by "
        "other processes.",
        float,
    ),
    Setting(
        "secret_key",
        "",
        "Key that signs the editor page's session cookie; empty = a random key kept in "
        "`$XDG_STATE_HOME/relata/secret_key` (`~/.local/state/relata/`), never in "
        "`models_dir`. Several machines behind one address must share one key.",
    ),
    Setting(
        "proxy_hops",
        0,
        "Reverse proxies in front of the service whose `X-Forwarded-For/-Proto/-Host` "
        "are trusted (werkzeug `ProxyFix`), so the editor's cookie is `Secure` behind an "
        "HTTPS proxy; 0 = trust none.",
        int,
    ),
    Setting(
        "signing_key",
        "",
        "Key that checks each model version's manifest signature (HMAC-SHA256 in "
        "`manifest.sig`, written by training and `relata publish` when they run with the same "
        "`RELATA_SIGNING_KEY`): set, a version without a valid signature is refused. Empty: "
        "signatures are not checked.",
    ),
    Setting("max_body_bytes", 1 << 20, "Largest request body accepted, in bytes.", int),
    Setting("log_level", "INFO", "Log level of the service's own messages."),
    Setting(
        "events",
        True,
        "Accept readers' impressions and clicks at `POST /v1/events` (false: 404, nothing "
        "counted).",
        _flag,
    ),
    Setting(
        "events_flush_interval",
        10.0,
        "Seconds between each worker's writes of its event counters to the database (one "
        "upsert; also on a clean shutdown), from 0.01 to 3600.",
        _within(float, 0.01, 3600),
    ),
    Setting(
        "events_per_minute",
        120,
        "Event requests one client address may send per minute to one worker (429 past it), "
        "from 1 to 1000000.",
        _within(int, 1, 1_000_000),
    ),
    Setting(
        "events_max_bytes",
        16384,
        "Largest `POST /v1/events` body, in bytes (413 past it), from 256 to 1048576.",
        _within(int, 256, 1 << 20),
    ),
    Setting(
        "events_log",
        "",
        "Append-only file that also receives every accepted event as a JSON line (empty: "
        "counters only).",
    ),
    Setting(
        "ab_versions",
        [],
        "Two model versions `V1,V2` served side by side as variants `a` and `b` (empty: the "
        "live model for everyone, variant `live`).",
        _version_pair,
    ),
    Setting(
        "ab_share",
        0.5,
        "Share of source articles (or visitors) assigned to variant `b` when `ab_versions` "
        "is set, from 0 to 1.",
        _within(float, 0, 1),
    ),
)


def default(name: str) -> Any:
    """The default value of the setting called `name`."""
    return next(setting.default for setting in SETTINGS if setting.name == name)


def resolve(environ: Mapping[str, str], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every setting's value: defaults, then `RELATA_*` variables, then `overrides`."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        value = setting.default
        if setting.env in environ:
            try:
                value = setting.parse(environ[setting.env])
            except ValueError as exc:
                raise ValueError(f"{setting.env}: {exc}") from None
        values[setting.name] = value
    unknown = set(overrides or {}) - {s.name for s in SETTINGS}
    if unknown:
        raise ValueError(f"unknown service settings: {sorted(unknown)}")
    values.update(overrides or {})
    return values


def from_environment(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`resolve` against the process environment."""
    return resolve(os.environ, overrides)
