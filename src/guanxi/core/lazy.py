"""Callables registered in AppConfig.ready() that import their module when first called,
so starting the `guanxi` command loads nothing heavy (numpy, pandas, Splink)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy(target: str) -> Callable[..., Any]:
    """`"package.module:function"` as a callable that imports the module on first use."""
    module, _sep, name = target.partition(":")
    if not module or not name:
        raise ValueError(f"give 'module:function', not {target!r}")
    loaded: list[Callable[..., Any]] = []

    def call(*args: Any, **kwargs: Any) -> Any:
        if not loaded:
            loaded.append(getattr(importlib.import_module(module), name))
        return loaded[0](*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"{target}, imported when first called"
    call.target = target  # type: ignore[attr-defined]  # for the test that all resolve
    return call


def resolves(target: str) -> bool:
    module, _sep, name = target.partition(":")
    return callable(getattr(importlib.import_module(module), name, None))
