"""The API's request shapes, declared once (responses: `api_replies`).

Request models validate what clients send (editor writes, `If-Match`) and every model is
described in `/openapi.json` (`relata.service.openapi`), so the two cannot drift. Two
kinds of input are described here but checked elsewhere, where a test holds them to
these models: related-list parameters (`params.parse_query`, the hand-tuned read path)
and article records (`training.records.validate_record`, shared with the archive).

Conventions: request models are strict (a JSON body's values keep their JSON types). A
field written `name: T = None` (no `| None`) may be left out but not sent as null.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, NotRequired

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)
from typing_extensions import TypedDict  # pydantic reads `typing.TypedDict` only from 3.12

from relata.service.bounds import AtMost, DefaultFrom
from relata.service.overrides import GLOBAL_KINDS, utcnow
from relata.service.related import ANY_LANGUAGE, ITEM_FIELDS
from relata.training.language import LANGUAGES
from relata.training.records import SLUG

MAX_REASON = 1000
MAX_VERSION = 2**31 - 1  # the scopes.version column is a 32-bit INTEGER
MAX_AUDIT = 1000

# -- shared field types -------------------------------------------------------------------

LanguageCode = Literal[(ANY_LANGUAGE, *sorted(LANGUAGES))]  # type: ignore[valid-type]
ItemField = Literal[ITEM_FIELDS]  # type: ignore[valid-type]
_FIELD_NAME = "|".join(ITEM_FIELDS)
# Comma-separated card fields, blanks around commas allowed: what `parse_query` takes.
FIELD_LIST = rf"^[\s,]*(?:{_FIELD_NAME})(?:\s*,[\s,]*(?:{_FIELD_NAME}))*[\s,]*$"


def _day(value: str) -> str:
    return date.fromisoformat(value).isoformat()  # ValueError: refused, with its message


def _not_blank(value: str) -> str:
    # The pattern `\S` describes this to clients; Python's idea of blank is the one kept.
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


def _future(value: str) -> datetime:
    """A naive UTC datetime (as the database stores it) that has not passed yet."""
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 is past year 9999 in UTC
        raise ValueError(f"not an ISO datetime: {value!r}") from None
    if moment <= utcnow():
        raise ValueError("must be in the future")
    return moment


Limit = Annotated[
    int,
    Field(ge=1, description="Number of cards."),
    AtMost("MAX_LIMIT"),
    DefaultFrom("DEFAULT_LIMIT"),
]
Day = Annotated[str, AfterValidator(_day), Field(json_schema_extra={"format": "date"})]
Reason = Annotated[
    str,
    Field(min_length=1, max_length=MAX_REASON, pattern=r"\S",
          description="Why (kept in the audit log); not blank."),
    AfterValidator(_not_blank),
]  # fmt: skip
Expiry = Annotated[
    str,
    Field(json_schema_extra={"format": "date-time"},
          description="When the override stops applying: an ISO 8601 date-time in the "
          "future (UTC when it has no offset)."),
    AfterValidator(_future),
]  # fmt: skip

LANGUAGE_HELP = (
    "Keep the list to one language: by default the source article's own; `any` for every "
    "language, or a language code (ISO 639-1)."
)
FALLBACKS_HELP = "Fill a short list with labelled recent articles (same category first)."


class Strict(BaseModel):
    """A request body: JSON types as sent (no "6" for 6), unknown fields ignored."""

    model_config = ConfigDict(strict=True)


# -- related lists -------------------------------------------------------------------------


class _ListFilters(BaseModel):
    """What a related list can be asked for, whether in a query string or a JSON body."""

    limit: Limit = None  # type: ignore[assignment]
    since: Day = Field(None, description="Only articles published on or after this date.")
    until: Day = Field(None, description="Only articles published on or before this date.")
    older_only: bool = Field(None, description="Only articles published before the source.")
    fallbacks: bool = Field(True, description=FALLBACKS_HELP)
    language: LanguageCode = Field(None, description=LANGUAGE_HELP)

    @model_validator(mode="after")
    def _in_order(self) -> _ListFilters:
        if self.since and self.until and self.since > self.until:
            raise ValueError("since must not be after until")
        return self


class ListParams(_ListFilters):
    """Query parameters of `GET /v1/related/{slug}` (parsed by `params.parse_query`)."""

    fields: str = Field(
        None, pattern=FIELD_LIST,
        description="Comma-separated card fields to return (slug is always returned).",
    )  # fmt: skip
    category: str = Field(None, description="Comma-separated categories to keep (any case).")
    exclude_category: str = Field(None, description="Comma-separated categories to leave out.")
    exclude: str = Field(None, description="Comma-separated slugs to leave out.")
    visitor: str = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="The site's visitor id: in an A/B test (`ab_versions`), the variant is "
        "chosen by a hash of it instead of the source slug.",
    )  # fmt: skip


class BatchRequest(_ListFilters, Strict):
    """`POST /v1/related:batch`: the slugs, and list parameters with their JSON types."""

    slugs: Annotated[list[str], Field(min_length=1), AtMost("MAX_BATCH")]
    fields: list[ItemField] = Field(None, min_length=1)
    category: list[str] = None  # type: ignore[assignment]
    exclude_category: list[str] = None  # type: ignore[assignment]
    exclude: list[str] = None  # type: ignore[assignment]


# -- editors --------------------------------------------------------------------------------


# ASCII digits only (`\d` and `str.isdigit` also take "²"), quotes and W/ optional.
VERSION_TAG = re.compile(r'(?:W/)?"?([0-9]{1,10})"?', re.ASCII)


def _version(tag: Any) -> int:
    match = VERSION_TAG.fullmatch(tag.strip()) if isinstance(tag, str) else None
    # No larger than the version column holds: PostgreSQL refuses a bigger number outright.
    if match is None or int(match[1]) > MAX_VERSION:
        raise ValueError(f"not a version: {tag!r}")
    return int(match[1])


class IfMatch(Strict):
    """The version a write expects (the `ETag` of the last read): 412 when it moved on."""

    version: Annotated[
        int,
        BeforeValidator(_version),
        WithJsonSchema({"type": "string", "pattern": f"^{VERSION_TAG.pattern}$"}),
    ] = Field(
        alias="If-Match",
        description=f'The version last read, e.g. "3" (a whole number, at most {MAX_VERSION}).',
    )


class _NewOverride(Strict):
    target: str
    reason: Reason
    expires_at: Expiry | None = None


class NewPin(_NewOverride):
    """Pin `target` at `position` in this article's list."""

    kind: Literal["pin"]
    position: Annotated[int, Field(ge=1), AtMost("MAX_LIMIT")]


class NewBlock(_NewOverride):
    """Block `target` from this article's list (scope: one article)."""

    kind: Literal["block"]


NewOverride = Annotated[NewPin | NewBlock, Field(discriminator="kind")]


class NewGlobalBlock(_NewOverride):
    """Block `target` from every list (`block`), or unpublish it (`unpublish`)."""

    kind: Literal[GLOBAL_KINDS] = "block"  # type: ignore[valid-type]


class Move(Strict):
    """Move `target` to `position` in this article's list (a pin there); no other
    override changes."""

    position: Annotated[int, Field(ge=1), AtMost("MAX_LIMIT")]
    reason: Reason
    expires_at: Expiry | None = None


class Order(Strict):
    """A manual order for the top of a list: these slugs take positions 1, 2, …"""

    slugs: Annotated[list[str], AtMost("MAX_LIMIT")]
    reason: Reason
    expires_at: Expiry | None = None


class AuditParams(BaseModel):
    """Query parameters of `GET /v1/audit`."""

    scope: str = Field(None, description="A source slug, or * for global blocks.")
    limit: int = Field(100, ge=1, le=MAX_AUDIT)


# -- articles ---------------------------------------------------------------------------------

LINK = r'^https?://[^\s/?#<>"]+[^\s<>"]*$'


class Article(TypedDict):
    """An article as the archive holds it (validated by `validate_record`, like archive rows)."""

    slug: Annotated[str, Field(pattern=f"^{SLUG.pattern}$")]
    title: str
    summary: NotRequired[str]
    body: NotRequired[str]
    category: NotRequired[str]
    tags: NotRequired[list[str]]
    published_at: NotRequired[
        Annotated[str, Field(description="ISO date or date-time, from 1677-09-22 to "
                             "2262-04-11 (what training's pandas Timestamps hold).")]
    ]  # fmt: skip
    url: NotRequired[Annotated[str, Field(pattern=LINK, description="An http(s) URL.")]]
    image: NotRequired[Annotated[str, Field(pattern=LINK, description="An http(s) URL.")]]
    language: NotRequired[str]
    status: NotRequired[
        Annotated[str, Field(description="`published` (the default) serves the article; "
                             "any other status (e.g. `draft`) withdraws it: out of every "
                             "list at once, and listed under `withdrawn` in the response.")]
    ]  # fmt: skip


class ArticleBatch(TypedDict):
    """Several articles in one call, all or none."""

    articles: Annotated[list[Article], Field(min_length=1), AtMost("MAX_BATCH")]


# -- ops and the editor page -------------------------------------------------------------------


class Login(BaseModel):
    """The editor page's log-in form."""

    token: str = None  # type: ignore[assignment]
    csrf: str = Field(None, description="The CSRF token of the login form")


class Logout(BaseModel):
    """The editor page's log-out form."""

    csrf: str = Field(None, description="The CSRF token of the page")


# -- readers' events and click-through rates ---------------------------------------------------


class Event(Strict):
    """One impression (a list seen: `position` = cards shown, no `target`) or click (the
    card at `position`, `target` its slug) of the list `rid`. Checked by `events.parse_event`
    on the hot path; this model describes it."""

    type: Literal["impression", "click"]
    rid: str = Field(description="The list's `rid`, as served.")
    slug: str = Field(description="The source article (the list's page).")
    target: str | None = Field(None, description="Clicks: the slug of the card followed.")
    position: Annotated[int, Field(ge=1), AtMost("MAX_LIMIT")]


class EventBatch(Strict):
    """`POST /v1/events`: up to 50 events, all counted or none."""

    events: Annotated[list[Event], Field(min_length=1, max_length=50)]


class StatsParams(BaseModel):
    """Query parameters of `GET /v1/stats`."""

    from_: Day = Field(None, alias="from", description="First day (UTC) [default: 30 days back].")
    to: Day = Field(None, description="Last day (UTC) [default: today].")
    group: Literal["model_version", "variant", "position"] = "model_version"
