"""What the staff workspace's shell shows, registered by the apps that provide it:
navigation entries, home-page KPI tiles and cards, and global-search providers. Each app
registers its own in AppConfig.ready(); the web shell iterates the registries and never
lists apps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise

from guanxi.core.permissions import can, effective_role

Label = str | Promise


@dataclass(frozen=True)
class NavEntry:
    """A link in the sidebar navigation, shown to users granted `action` (any signed-in
    staff member with a role when None). `url` is a URL name or a path."""

    name: str
    label: Label
    url: str
    action: str | None = None
    order: int = 100
    icon: str = "list-details"  # a Tabler outline icon vendored in tabler-icons-*/ICONS

    def href(self) -> str:
        if self.url.startswith("/"):
            return self.url
        try:
            return reverse(self.url)
        except NoReverseMatch:
            return "#"


@dataclass(frozen=True)
class HomeCard:
    """A card on the home page: `context(actor)` gives the template's context, or None to
    leave the card out (nothing to show)."""

    name: str
    template: str
    context: Callable[[Any], dict[str, Any] | None]
    action: str | None = None
    order: int = 100
    wide: bool = False


@dataclass(frozen=True)
class Tile:
    """What a KPI tile shows: the figure, a series for its sparkline (oldest first), a
    line under it, and where a click goes."""

    value: str
    series: tuple[float, ...] = ()
    hint: str = ""
    url: str = ""


@dataclass(frozen=True)
class HomeTile:
    """A KPI tile at the top of the home page: `compute(actor)` gives its Tile, or None
    to leave it out."""

    name: str
    label: Label
    compute: Callable[[Any], Tile | None]
    action: str | None = None
    order: int = 100


@dataclass(frozen=True)
class SearchHit:
    title: str
    detail: str
    url: str


@dataclass(frozen=True)
class SearchProvider:
    """One kind of thing the global search finds: `search(actor, query, limit)`."""

    name: str
    label: Label
    search: Callable[[Any, str, int], list[SearchHit]]
    action: str | None = None
    order: int = 100


_NAV: dict[str, NavEntry] = {}
_CARDS: dict[str, HomeCard] = {}
_SEARCH: dict[str, SearchProvider] = {}
_TILES: dict[str, HomeTile] = {}
_SETTINGS: dict[str, NavEntry] = {}


def register_settings_link(entry: NavEntry) -> None:
    """A section of the Settings page (staff and teams, products, companies, tag rules…),
    shown to users granted its action."""
    _SETTINGS[entry.name] = entry


def settings_for(user: Any) -> list[NavEntry]:
    return [e for e in sorted(_SETTINGS.values(), key=lambda e: (e.order, e.name))
            if _allowed(user, e.action)]


def register_home_tile(tile: HomeTile) -> None:
    _TILES[tile.name] = tile


def home_tiles_for(user: Any) -> list[tuple[HomeTile, Tile]]:
    out = []
    for tile in sorted(_TILES.values(), key=lambda t: (t.order, t.name)):
        if _allowed(user, tile.action) and (shown := tile.compute(user)) is not None:
            out.append((tile, shown))
    return out


def register_nav(entry: NavEntry) -> None:
    _NAV[entry.name] = entry


def register_home_card(card: HomeCard) -> None:
    _CARDS[card.name] = card


def register_search_provider(provider: SearchProvider) -> None:
    _SEARCH[provider.name] = provider


def _allowed(user: Any, action: str | None) -> bool:
    if action is None:
        return effective_role(user) is not None
    return can(user, action)


def nav_for(user: Any) -> list[NavEntry]:
    return [e for e in sorted(_NAV.values(), key=lambda e: (e.order, e.name))
            if _allowed(user, e.action)]


def home_cards_for(user: Any) -> list[tuple[HomeCard, dict[str, Any]]]:
    out = []
    for card in sorted(_CARDS.values(), key=lambda c: (c.order, c.name)):
        if _allowed(user, card.action) and (context := card.context(user)) is not None:
            out.append((card, context))
    return out


def search_everything(user: Any, query: str, *, limit: int = 5
                      ) -> list[tuple[SearchProvider, list[SearchHit]]]:
    """Each provider the user may use, with its first `limit` hits (empty ones left out)."""
    query = query.strip()
    if not query:
        return []
    out = []
    for provider in sorted(_SEARCH.values(), key=lambda p: (p.order, p.name)):
        if _allowed(user, provider.action):
            hits = provider.search(user, query, limit)
            if hits:
                out.append((provider, hits))
    return out


def search_providers() -> list[SearchProvider]:
    return sorted(_SEARCH.values(), key=lambda p: (p.order, p.name))
