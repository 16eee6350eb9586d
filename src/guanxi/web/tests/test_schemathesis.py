"""schemathesis over the whole OpenAPI schema with a token of every role: no server
error, and every response (status, content type, body) as the schema documents it.
A bounded number of examples per operation keeps it in `make test`."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from guanxi.config.api import api
from guanxi.config.wsgi import application
from guanxi.testing import bearer, make_customer

schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
schema.app = application

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
ROLES = ["admin", "manager", "sales", "service", "marketing", "analyst", "norole"]


@pytest.fixture
def world(personas):
    """(Calls go through the WSGI app, as a real server's would; the test's transaction
    stays open because the request signals do not close its connection, as in Django's
    own test client.)"""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    """A little data for the random ids to hit now and then."""
    for i in range(3):
        make_customer(personas.admin, full_name=f"客户{i}", phones=[f"1380013800{i}"],
                      owner=personas.sales if i == 0 else None)
    yield personas
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _check(case, user) -> None:
    # one token per user and test, not per example
    headers = user.__dict__.setdefault("_test_bearer", bearer(user))
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS, headers=headers)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_for_the_admin(case, world):
    _check(case, world.admin)


@pytest.mark.django_db
@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
@schema.parametrize()
@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_for_every_other_role(case, role, world):
    _check(case, world.by_role(role))


def test_no_two_api_schemas_share_a_name():
    """django-ninja names an OpenAPI component after the schema class: a second class
    with the same name replaces the first in the document, and clients (and this run)
    validate one endpoint's answers against another's shape. Loyalty's EventOut hid the
    timeline's; engagement's and the service desk's MessageOut, and the lottery's and the
    service desk's TicketOut, had clashed unnoticed."""
    from ninja import Schema

    def walk(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)

    modules: dict[str, set[str]] = {}
    for cls in walk(Schema):
        if cls.__module__.startswith("guanxi."):
            modules.setdefault(cls.__name__, set()).add(cls.__module__)
    assert {name: found for name, found in modules.items() if len(found) > 1} == {}
