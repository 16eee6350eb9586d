"""Test helpers: factories and personas shared by every app's tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import factory

from guanxi.accounts.models import Team, User
from guanxi.accounts.services import token_create
from guanxi.core.permissions import Actor, Role
from guanxi.customers import services

TEST_PASSWORD = "pw-for-tests-1"  # noqa: S105 - every test user's password


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.SALES
    password = factory.django.Password(TEST_PASSWORD)


def make_customer(actor: Actor, **kwargs: Any):
    """A customer created the way staff create them: through the service."""
    defaults: dict[str, Any] = {"full_name": "测试客户"}
    defaults.update(kwargs)
    return services.customer_create(actor=actor, **defaults)


@dataclass
class Personas:
    """An owner, a teammate, an outsider, and one user per role."""

    admin: User
    manager: User
    sales: User          # the owner of `own`
    teammate: User       # same team as sales
    outsider: User       # sales in another team
    service: User
    marketing: User
    analyst: User
    norole: User

    def by_role(self, role: str) -> User:
        return {"admin": self.admin, "manager": self.manager, "sales": self.sales,
                "service": self.service, "marketing": self.marketing,
                "analyst": self.analyst, "norole": self.norole}[role]


def _user(**fields: Any) -> User:
    return cast(User, UserFactory(**fields))  # factory_boy creates the model instance


def make_personas() -> Personas:
    east = TeamFactory(name="East")
    west = TeamFactory(name="West")
    return Personas(
        admin=_user(username="admin", role=Role.ADMIN, is_superuser=True, is_staff=True),
        manager=_user(username="manager", role=Role.MANAGER),
        sales=_user(username="sales", role=Role.SALES, team=east),
        teammate=_user(username="teammate", role=Role.SALES, team=east),
        outsider=_user(username="outsider", role=Role.SALES, team=west),
        service=_user(username="service", role=Role.SERVICE),
        marketing=_user(username="marketing", role=Role.MARKETING),
        analyst=_user(username="analyst", role=Role.ANALYST),
        norole=_user(username="norole", role=""),
    )


def bearer(user: User) -> dict[str, str]:
    _token, secret = token_create(actor=None, user=user, name="test")
    return {"Authorization": f"Bearer {secret}"}


def grant_marketing(actor: Actor, *customers: Any, channel: str = "sms") -> None:
    """The customers agree to marketing on `channel` (as a shop's sign-up form records)."""
    for customer in customers:
        services.consent_set(actor=actor, customer=customer, channel=channel, purpose="marketing",
                    granted=True, source="test", proof="signed up in the test")


def browser_sign_in(page: Any, base_url: str, username: str, language: str = "",
                    password: str = TEST_PASSWORD) -> None:
    """Sign in through the login form in a Playwright page, then switch the interface
    language if `language` is given and not already shown."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    if language and page.locator("html").get_attribute("lang") != language:
        page.select_option("[data-testid=language]", language)
        page.wait_for_load_state("load")
