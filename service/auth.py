"""API tokens and roles: tokens are stored as sha256 digests and compared in constant time.

A request proves who it is with `Authorization: Bearer <token>`, or, on the editor page,
with the signed session cookie plus an `X-CSRF-Token` header on every write.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from flask import current_app, request, session
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from relata.service.database import Database
from relata.service.errors import ApiError
from relata.service.overrides import utcnow
from relata.service.roles import ROLES
from relata.service.schema import Token

PUBLIC_PATHS = (
    "/v1/related", "/healthz", "/readyz", "/metrics", "/-/", "/openapi.json", "/embed.js",
    "/v1/events",
)  # fmt: skip
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    """Who is making a request."""

    name: str
    role: str

    def can(self, role: str) -> bool:
        """True when this principal's role includes `role`."""
        return ROLES.index(self.role) >= ROLES.index(role)



def same_secret(sent: str, kept: str) -> bool:
    """Constant-time comparison of two texts, whatever characters a client sent (the
    standard library compares non-ASCII `str` only as bytes)."""
    return hmac.compare_digest(
        sent.encode("utf-8", "surrogatepass"), kept.encode("utf-8", "surrogatepass")
    )

def digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(database: Database, name: str, role: str) -> str:
    """A new random token for `name`; only its digest is kept, so show it once."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    token = "rlt_" + secrets.token_urlsafe(32)
    try:
        with database.session() as db:
            db.add(Token(name=name, role=role, digest=digest(token), created_at=utcnow()))
    except IntegrityError:
        raise ValueError(f"a token named {name!r} exists already") from None
    return token


def revoke_token(database: Database, name: str) -> bool:
    """Revoke the token called `name`; False when there is no such active token."""
    with database.session() as db:
        result = db.execute(
            update(Token)
            .where(Token.name == name, Token.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        return result.rowcount == 1


def list_tokens(database: Database) -> list[dict[str, Any]]:
    """Every token's name, role and dates (never the token)."""
    with database.session() as db:
        return [
            {"name": t.name, "role": t.role, "created_at": t.created_at, "revoked_at": t.revoked_at}
            for t in db.scalars(select(Token).order_by(Token.id))
        ]


def principal_for(database: Database, token_digest: str) -> Principal | None:
    """The active token with this digest, compared in constant time."""
    with database.session() as db:
        row = db.scalar(select(Token).where(Token.digest == token_digest))
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.digest, token_digest):
        return None
    return Principal(row.name, row.role)


def _from_request(database: Database) -> Principal | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "use 'Authorization: Bearer <token>'")
        return principal_for(database, digest(token.strip()))
    if "token_digest" in session:
        if request.method not in SAFE_METHODS:
            sent = request.headers.get("X-CSRF-Token", "")
            if not same_secret(sent, session.get("csrf", "")):
                raise ApiError(403, "csrf", "missing or wrong X-CSRF-Token header")
        return principal_for(database, session["token_digest"])
    return None


def requires(role: str) -> Callable[[View], View]:
    """Decorate a view: 401 without a valid token, 403 without `role`."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            database = current_app.extensions["relata.database"]
            principal = _from_request(database)
            if principal is None:
                raise ApiError(401, "unauthorized", "a valid token is required")
            if not principal.can(role):
                raise ApiError(403, "forbidden", f"this needs the {role} role")
            return view(*args, principal=principal, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


class EditorSessions(SecureCookieSessionInterface):
    """Signed-cookie sessions where an editor may be, none on the public read path (which
    neither needs nor may depend on one, and should not pay for unsigning a cookie)."""

    def open_session(self, app: Any, request: Any) -> Any:
        if request.path.startswith(PUBLIC_PATHS):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Any) -> bool:
        # Secure whenever the browser came over HTTPS (behind a proxy, as `proxy_hops`
        # lets ProxyFix tell), so the cookie is never sent back over plain HTTP.
        return request.is_secure or super().get_cookie_secure(app)


def state_dir() -> Path:
    """This user's state folder for Relata (`$XDG_STATE_HOME/relata`)."""
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "relata"


def session_secret(configured: str) -> str:
    """The session-signing key: the configured one, else one kept in the user's state
    folder, never beside the models (whose database holds the token digests: reading
    both would forge any editor's session).

    The file is created once (exclusively, mode 0600), so every worker of this user
    signs with the same key; several machines must share one `RELATA_SECRET_KEY`.
    """
    if configured:
        return configured
    folder = state_dir()
    path = folder / "secret_key"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    except FileExistsError:
        pass
    except OSError:  # no writable state folder: sessions then last as long as the process
        return secrets.token_hex(32)
    return path.read_text().strip()
