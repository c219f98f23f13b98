"""Property-based tests of the whole HTTP API against its OpenAPI description
(schemathesis, in-process through WSGI, with an admin token): every operation, every
check, and sequences of calls along the description's links."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings

from relata.service.auth import digest
from relata.service.openapi import document
from relata.service.operations import OPERATIONS
from relata.service.overrides import utcnow
from relata.service.schema import Token
from relata.service.settings import SETTINGS
from tests.conftest import make_app

pytestmark = pytest.mark.slow  # fuzzes the API of a trained model

# A few hundred examples per operation keep the run near a minute; a long run raises it.
EXAMPLES = int(os.environ.get("RELATA_FUZZ_EXAMPLES", "200"))
SEED = 20261129
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
TOKEN = "rlt_schemathesis-test-only-admin-token"  # stored in each test's fresh database
CONFIG = {
    "seed": SEED,
    # The security scheme's token, so that the auth checks can also leave it out or spoil it.
    "auth": {"openapi": {"bearer": {"bearer": TOKEN}}},
    "base-url": "http://localhost",  # requests never leave the process (WSGI)
    # Unknown query parameters are ignored, as HTTP APIs customarily do.
    "generation": {"allow-extra-parameters": False},
    "checks": {
        # A missing If-Match is 428 Precondition Required (RFC 6585), as documented.
        "missing_required_header": {"expected-statuses": [400, 401, 403, 406, 415, 422, 428]},
    },
    "operations": [
        {
            # Writes may refuse schema-valid bodies for what a schema cannot say: a
            # stale version (412), an override already there, an article related to
            # itself, an expiry in the past (400), a slug no model has (404), an event
            # whose rid no list was served with (400).
            "include-method": ["POST", "PUT", "PATCH", "DELETE"],
            "include-path-regex": "^/v1/(overrides|blocks|articles|events)",
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", 400, 401, 403, 404, 412]
                }
            },
        }
    ],
}
# The description the service serves with its default settings (those `fuzzed_app` runs).
DEFAULTS = {setting.name.upper(): setting.default for setting in SETTINGS}
schema = schemathesis.openapi.from_dict(
    document(OPERATIONS, DEFAULTS), config=schemathesis.Config.from_dict(CONFIG)
)


@pytest.fixture
def fuzzed_app(models: Path, sqlite_url: str) -> Flask:
    """The service on a fresh database that knows TOKEN as an admin's."""
    # Every fuzzed event request comes from one address: no rate limit stands in the way.
    app = make_app(models, sqlite_url, events_per_minute=1_000_000)
    with app.extensions["relata.database"].session() as session:
        session.add(Token(name="schemathesis", role="admin", digest=digest(TOKEN),
                          created_at=utcnow()))  # fmt: skip
    return app


@schema.parametrize()
@FUZZ
def test_every_operation_conforms(
    case: Any, fuzzed_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Bound here, not at load time (the app is a fixture); the checks' own follow-up
    # requests go through the operation's schema.
    monkeypatch.setattr(case.operation, "app", fuzzed_app)
    monkeypatch.setattr(case.operation.schema, "app", fuzzed_app)
    case.call_and_validate()


def test_call_sequences_along_links_conform(
    fuzzed_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schema, "app", fuzzed_app)
    # Sequences of up to 10 calls, each step a generated request along a link.
    sequences = settings(FUZZ, max_examples=max(EXAMPLES // 2, 1), stateful_step_count=10)
    schema.as_state_machine().run(settings=sequences)
