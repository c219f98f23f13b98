"""The API's response shapes, declared once: TypedDicts, since the views build plain
dicts; these type them and describe them in `/openapi.json` (`relata.service.openapi`)."""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict  # pydantic reads `typing.TypedDict` only from 3.12

# -- related lists -------------------------------------------------------------------------


class Signals(TypedDict, total=False):
    """Each signal's part of a pick's score."""

    text: float
    tags: float
    category: float
    recency: float


class Why(TypedDict, total=False):
    """Why a model pick was made (its first ten positions): shared tags and terms."""

    tags: list[str]
    terms: list[str]
    signals: Signals


class Card(TypedDict):
    """One related article as served; `fields` may leave out all but `slug`."""

    slug: str
    position: int
    title: NotRequired[str]
    category: NotRequired[str | None]
    excerpt: NotRequired[str | None]
    url: NotRequired[str | None]
    image: NotRequired[str | None]
    published_at: NotRequired[str | None]
    language: NotRequired[str]
    score: NotRequired[float | None]
    source: NotRequired[Literal["model", "pin", "fallback"]]
    why: NotRequired[Why | None]


class RelatedList(TypedDict):
    """`GET /v1/related/{slug}`: `rid` (`<model_version>.<variant>.<slug>`) is what events
    report; `variant` is `live` outside an A/B test (see `ab_versions`)."""

    slug: str
    model_version: str
    variant: Literal["live", "a", "b"]
    rid: str
    items: list[Card]
    fallbacks: NotRequired[int]


class ErrorDetail(TypedDict):
    """What went wrong: a stable code and a message naming the bad value."""

    code: str
    message: str


class Error(TypedDict):
    """Every error response."""

    error: ErrorDetail


class BatchResult(TypedDict):
    """One slug's cards, or why there are none."""

    slug: str
    rid: NotRequired[str]
    items: NotRequired[list[Card]]
    fallbacks: NotRequired[int]
    error: NotRequired[ErrorDetail]


class BatchResponse(TypedDict):
    """`POST /v1/related:batch`: one result per slug, in order."""

    model_version: str
    results: list[BatchResult]


# -- editors -------------------------------------------------------------------------------


class Override(TypedDict):
    """One pin, block or unpublishing."""

    id: int
    kind: Literal["pin", "block", "unpublish"]
    target: str
    position: int | None
    author: str
    reason: str
    created_at: str
    expires_at: str | None
    expired: NotRequired[bool]
    stale: NotRequired[str | None]


class OverrideState(TypedDict):
    """A scope's overrides and version (the version is also the `ETag`)."""

    scope: str
    version: int
    overrides: list[Override]


class AuditEntry(TypedDict):
    """One change, with what it replaced."""

    id: int
    at: str
    actor: str
    action: str
    scope: str
    target: str | None
    before: Any
    after: Any


class AuditLog(TypedDict):
    """`GET /v1/audit`, newest first."""

    entries: list[AuditEntry]


class StaleOverride(Override):
    """An override that cannot apply as meant, with its scope."""

    scope: str


class StaleOverrides(TypedDict):
    """`GET /v1/overrides:stale`."""

    model_version: str
    stale: list[StaleOverride]


# -- articles ------------------------------------------------------------------------------


class Withdrawn(TypedDict):
    """An article sent with a status other than `published`."""

    slug: str
    status: str


class Ingested(TypedDict):
    """`POST /v1/articles`: each published article's cards, served at once."""

    model_version: str
    related: dict[str, list[Card]]
    withdrawn: list[Withdrawn]


class Deleted(TypedDict):
    """`DELETE /v1/articles/{slug}`."""

    slug: str
    deleted: bool


# -- ops -----------------------------------------------------------------------------------


class Health(TypedDict):
    """`GET /healthz`."""

    status: Literal["ok"]


class Readiness(TypedDict):
    """`GET /readyz`: degraded (still 200) while the database is away or a fallback serves."""

    status: Literal["ready", "degraded"]
    model_version: str
    refused_versions: dict[str, str]
    fallback: dict[str, str] | None
    database: str


class Versions(TypedDict):
    """`GET /-/version`: the live manifest (archive files by name only) and libraries."""

    service: dict[str, str | None]
    model: dict[str, Any] | None


class Accepted(TypedDict):
    """`POST /v1/events`: how many events were counted."""

    accepted: int


class StatsGroup(TypedDict):
    """One group's impressions, clicks and click-through rate with its Wilson 95 % interval."""

    model_version: str
    variant: str | None
    position: int | None
    impressions: int
    clicks: int
    ctr: float
    ctr_low: float
    ctr_high: float


class Comparison(TypedDict):
    """Two-proportion z-test of the two most shown groups (b against a)."""

    a: str
    b: str
    difference: float
    z: float
    p_value: float
    significant: bool


# `from` is a Python keyword and a key of the JSON: the functional form.
Stats = TypedDict("Stats", {
    "from": str, "to": str, "group": Literal["model_version", "variant", "position"],
    "groups": list[StatsGroup], "comparison": Comparison | None,
})  # fmt: skip
Stats.__doc__ = "`GET /v1/stats`."
