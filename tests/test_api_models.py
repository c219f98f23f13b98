"""The checks that are not the models' own agree with the models that describe them:
`parse_query` (the read path's hand-tuned parser) with `ListParams` and `BatchRequest`,
`validate_record` (the archive's) with `Article`. Same table, same verdict."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from relata.service.api_models import Article, BatchRequest, ListParams, NewOverride
from relata.service.errors import ApiError
from relata.service.overrides import SCOPED_KINDS
from relata.service.params import parse_query
from relata.service.settings import SETTINGS
from relata.training.records import validate_record

CONFIG = {setting.name.upper(): setting.default for setting in SETTINGS}

# (parameters as a query string gives them, accepted?)
QUERY_CASES: list[tuple[dict[str, str], bool]] = [
    ({"limit": "1"}, True),
    ({"limit": "50"}, True),
    ({"limit": "0"}, False),
    ({"limit": "51"}, False),
    ({"limit": "-1"}, False),
    ({"limit": "x"}, False),
    ({"limit": "1.5"}, False),
    ({"limit": "1e999"}, False),
    ({"limit": ""}, False),
    ({"fields": "title"}, True),
    ({"fields": "title,url,why"}, True),
    ({"fields": " title , url "}, True),
    ({"fields": "title,,url"}, True),
    ({"fields": ""}, False),
    ({"fields": ","}, False),
    ({"fields": "nope"}, False),
    ({"fields": "title,nope"}, False),
    ({"fields": "titleurl"}, False),
    ({"category": "politics,world news"}, True),
    ({"category": ""}, True),
    ({"exclude_category": "sports"}, True),
    ({"exclude": "a-slug,another"}, True),
    ({"since": "2024-01-31"}, True),
    ({"since": "2024-13-01"}, False),
    ({"since": "yesterday"}, False),
    ({"since": ""}, False),
    ({"until": "2024-02-29"}, True),
    ({"until": "2023-02-29"}, False),
    ({"since": "2024-01-01", "until": "2024-01-01"}, True),
    ({"since": "2024-02-01", "until": "2024-01-01"}, False),
    ({"older_only": "true"}, True),
    ({"older_only": "false"}, True),
    ({"older_only": "1"}, True),
    ({"older_only": "0"}, True),
    ({"older_only": "yes"}, True),
    ({"older_only": "maybe"}, False),
    ({"older_only": "2"}, False),
    ({"fallbacks": "false"}, True),
    ({"fallbacks": "never"}, False),
    ({"language": "any"}, True),
    ({"language": "fr"}, True),
    ({"language": "xx"}, False),
    ({"language": "French"}, False),
]

# (list parameters as a JSON body gives them, accepted?)
BODY_CASES: list[tuple[dict[str, Any], bool]] = [
    ({"limit": 6}, True),
    ({"limit": "6"}, False),
    ({"limit": 6.0}, False),
    ({"limit": True}, False),
    ({"limit": 0}, False),
    ({"limit": 51}, False),
    ({"limit": None}, False),
    ({"fields": ["title", "url"]}, True),
    ({"fields": []}, False),
    ({"fields": "title"}, False),
    ({"fields": ["nope"]}, False),
    ({"category": ["politics"]}, True),
    ({"category": "politics"}, False),
    ({"category": [1]}, False),
    ({"exclude": ["a-slug"]}, True),
    ({"exclude": None}, False),
    ({"since": "2024-01-31"}, True),
    ({"since": 20240131}, False),
    ({"since": ""}, False),
    ({"since": "2024-02-01", "until": "2024-01-01"}, False),
    ({"older_only": True}, True),
    ({"older_only": 0}, False),
    ({"older_only": "true"}, False),
    ({"fallbacks": False}, True),
    ({"fallbacks": None}, False),
    ({"language": "any"}, True),
    ({"language": "xx"}, False),
    ({"language": 1}, False),
]

ARTICLE = {"slug": "new-article", "title": "A title"}
# (an article as `POST /v1/articles` receives it, accepted?)
ARTICLE_CASES: list[tuple[Any, bool]] = [
    (ARTICLE, True),
    ({**ARTICLE, "summary": "s", "body": "b", "category": "c", "tags": ["a", "b"],
      "published_at": "2024-01-31T10:00:00+01:00", "url": "https://example.com/a?b=c",
      "image": "http://example.com/i.jpg", "language": "fr", "status": "draft"}, True),
    ({"title": "No slug"}, False),
    ({"slug": "new-article"}, False),
    ({**ARTICLE, "slug": "Not A Slug"}, False),
    ({**ARTICLE, "slug": "-leading-dash"}, False),
    ({**ARTICLE, "title": 0}, False),
    ({**ARTICLE, "tags": "a"}, False),
    ({**ARTICLE, "tags": [1]}, False),
    ({**ARTICLE, "url": "javascript:alert(1)"}, False),
    ({**ARTICLE, "image": "/relative.jpg"}, False),
    ({**ARTICLE, "url": 'https://example.com/"onmouseover'}, False),
    (["not", "an", "object"], False),
]  # fmt: skip


def _accepts(check: Any, *args: Any, **kwargs: Any) -> bool:
    try:
        check(*args, **kwargs)
    except (ApiError, ValidationError, ValueError):
        return False
    return True


@pytest.mark.parametrize(("params", "accepted"), QUERY_CASES)
def test_parse_query_takes_what_the_query_model_describes(
    params: dict[str, str], accepted: bool
) -> None:
    assert _accepts(parse_query, params, CONFIG) is accepted
    assert _accepts(ListParams.model_validate, params, context=CONFIG) is accepted


@pytest.mark.parametrize(("params", "accepted"), BODY_CASES)
def test_parse_query_takes_what_the_batch_model_describes(
    params: dict[str, Any], accepted: bool
) -> None:
    assert _accepts(parse_query, params, CONFIG, from_json=True) is accepted
    body = {"slugs": ["a-slug"], **params}
    assert _accepts(BatchRequest.model_validate, body, context=CONFIG) is accepted


@pytest.mark.parametrize(("record", "accepted"), ARTICLE_CASES)
def test_validate_record_takes_what_the_article_model_describes(
    record: Any, accepted: bool
) -> None:
    assert _accepts(validate_record, record) is accepted
    assert _accepts(TypeAdapter(Article).validate_python, record, strict=True) is accepted


def test_setting_bounds_follow_the_app_config() -> None:
    narrow = {**CONFIG, "MAX_LIMIT": 5}
    assert _accepts(ListParams.model_validate, {"limit": "5"}, context=narrow)
    assert not _accepts(ListParams.model_validate, {"limit": "6"}, context=narrow)
    assert not _accepts(parse_query, {"limit": "6"}, narrow)


def test_every_scoped_kind_has_a_model() -> None:
    # A kind added to overrides.SCOPED_KINDS needs its member of the NewOverride union.
    schema = TypeAdapter(NewOverride).json_schema()
    assert set(schema["discriminator"]["mapping"]) == set(SCOPED_KINDS)
