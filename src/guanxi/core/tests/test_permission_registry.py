"""Actions are registered by the apps that own them, with their grants; nothing else
is allowed."""

from __future__ import annotations

import pytest

from guanxi.accounts.permissions import AccountAction
from guanxi.analytics.permissions import AnalyticsAction
from guanxi.audit.permissions import AuditAction
from guanxi.automation.permissions import AutomationAction
from guanxi.core.permissions import (
    Role,
    can,
    register_action,
    registered_actions,
    role_actions,
)
from guanxi.customers.permissions import CustomerAction
from guanxi.dataquality.permissions import DataAction


def test_every_apps_actions_are_registered_by_that_app():
    owners = {a.code: a.app for a in registered_actions()}
    for enum, app in ((CustomerAction, "customers"), (DataAction, "dataquality"),
                      (AnalyticsAction, "analytics"), (AccountAction, "accounts"),
                      (AuditAction, "audit"), (AutomationAction, "automation")):
        for action in enum:
            assert owners.get(action.value) == app, action
    assert all(str(a.label) for a in registered_actions())


def test_grants_come_from_the_registry():
    assert role_actions(Role.ADMIN) == {a.code for a in registered_actions()}
    assert "user.manage" not in role_actions(Role.MANAGER)
    assert role_actions(Role.ANALYST) == {"customer.view", "customer.export",
                                          "segment.manage", "automation.view",
                                          "engagement.view", "servicedesk.view",
                                          "loyalty.view"}
    assert role_actions(None) == frozenset()


@pytest.mark.django_db
def test_an_unregistered_action_is_refused_even_to_administrators(personas):
    assert not can(personas.admin, "nobody.registered.this")
    assert can(personas.admin, CustomerAction.CUSTOMER_DELETE)


def test_an_action_belongs_to_one_app():
    with pytest.raises(ValueError, match="already registered"):
        register_action("customer.view", "x", roles=(), app="loyalty")
