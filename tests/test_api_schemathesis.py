"""Schemathesis over every operation of the API, anonymous and with a staff token (issue 11.6).

It generates valid and invalid requests from the OpenAPI document and runs its default checks on
each answer: no 5xx, the status and content type declared for the operation, the body as its
schema says, invalid data refused, valid data accepted, 405 with Allow for other methods. Each
test has its own database, seeded with one of everything, so writes may change what they like.
"""

from __future__ import annotations

import pytest
import schemathesis
from helpers import make_body, make_demand, make_evidence, make_user
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from tracker import create_app
from tracker.extensions import db
from tracker.services import api_tokens
from tracker.services.statements import add_statement

EXAMPLES = 15  # per operation and kind of data (valid, invalid): all of it well under 2 minutes

CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"max-examples": EXAMPLES},
        "checks": {
            # A request the document allows can still name a slug or id that is not in the
            # database (data, not a fixed set) or break a rule across fields (a deadline
            # before the receipt): the server refuses it with a 400 (query) or 422 (body)
            # naming the field, as the document declares.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "404", "409", "422"]
            },
        },
    }
)


class Target:
    """The WSGI app schemathesis sends to: the app of the test running (its own database).

    First an app only for serving the document, which does not depend on the data.
    """

    def __init__(self):
        self.app = create_app(
            {"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
        )

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


target = Target()
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", target, config=CONFIG)
bounded = settings(deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture
def world(app, event):
    """One of everything an operation can name; each operation runs on its own database."""
    staff = make_user()
    body = make_body()
    make_body(slug="mi", name="Innenministerium")
    demand = make_demand(bodies=[body], user=staff, event_id=event.id)
    make_demand("Intern", is_public=False, bodies=[body])
    add_statement(body, demand.assignments[0], "Wir prüfen das.")
    make_evidence(body)
    _row, plain = api_tokens.create_token(staff, "Schemathesis")
    db.session.commit()
    target.app = app
    return {"Authorization": f"Bearer {plain}"}


@schema.parametrize()
@bounded
def test_every_operation_anonymously(case, world):
    # schemathesis asks for gzip as requests does, but its WSGI transport does not unpack what
    # the page cache then sends (tests/test_page_cache.py checks the gzip form)
    case.call_and_validate(headers={"Accept-Encoding": "identity"})


@schema.parametrize()
@bounded
def test_every_operation_with_a_staff_token(case, world):
    case.call_and_validate(headers=world)
