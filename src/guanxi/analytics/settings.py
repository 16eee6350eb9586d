"""The stored RFM and lifecycle settings as configs: each value converted and checked,
errors naming the setting (rfm.window_days, lifecycle.dormant_days, ...)."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from django.utils.translation import gettext as _

from guanxi.analytics.lifecycle import LifecycleConfig
from guanxi.analytics.rfm import ConfigError, RFMConfig
from guanxi.core.errors import FieldError, InvalidInput

C = TypeVar("C", RFMConfig, LifecycleConfig)


def _convert(default: Any, raw: Any) -> Any:
    if isinstance(default, bool):
        raise TypeError
    if isinstance(default, tuple):
        parts = raw if isinstance(raw, list | tuple) else str(raw).replace("，", ",").split(",")
        return tuple(float(p) for p in parts if str(p).strip() != "")
    if isinstance(default, int):
        number = float(raw)
        if not number.is_integer():
            raise ValueError
        return int(number)
    if isinstance(default, float):
        return float(raw)
    return str(raw).strip()


def _config(cls: type[C], data: dict[str, Any] | None, prefix: str) -> C:
    data = data or {}
    defaults = cls()
    values: dict[str, Any] = {}
    errors = []
    for f in dataclasses.fields(cls):
        if f.name == "extra" or f.name not in data or data[f.name] in (None, ""):
            continue
        try:
            values[f.name] = _convert(getattr(defaults, f.name), data[f.name])
        except (TypeError, ValueError):
            errors.append(FieldError(f"{prefix}.{f.name}", _("Not a valid number"),
                                     data[f.name]))
    if errors:
        raise InvalidInput(errors)
    try:
        return cls(**values)
    except ConfigError as exc:
        raise InvalidInput([FieldError(f"{prefix}.{exc.field}", str(exc.message),
                                       values.get(exc.field))]) from exc


def rfm_config(data: dict[str, Any] | None) -> RFMConfig:
    return _config(RFMConfig, data, "rfm")


def lifecycle_config(data: dict[str, Any] | None) -> LifecycleConfig:
    return _config(LifecycleConfig, data, "lifecycle")


def config_dict(config: RFMConfig | LifecycleConfig) -> dict[str, Any]:
    out = dataclasses.asdict(config)
    out.pop("extra", None)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}
