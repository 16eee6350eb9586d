"""Guanxi is Apache-2.0: no dependency it installs to run may be GPL or AGPL (LGPL
libraries are fine), and every vendored front-end folder keeps its licence beside it."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

import guanxi

# Packages whose metadata names no licence, checked by hand (their LICENSE file).
REVIEWED = {"huey": "MIT"}
COPYLEFT = re.compile(r"(?<![L])GPL|GNU General Public|Affero", re.IGNORECASE)


def _licence(dist: metadata.Distribution) -> str:
    meta = dist.metadata
    expression = meta.get("License-Expression") or ""
    classifiers = [c for c in (meta.get_all("Classifier") or []) if c.startswith("License ::")]
    return "; ".join([expression, *classifiers, (meta.get("License") or "")[:200]]).strip("; ")


def _runtime_dependencies() -> dict[str, str]:
    found: dict[str, str] = {}

    def walk(requirement: Requirement) -> None:
        key = re.sub(r"[-_.]+", "-", requirement.name).lower()
        if key in found:
            return
        dist = metadata.distribution(requirement.name)
        found[key] = _licence(dist)
        wanted = {"", *requirement.extras}
        for text in dist.requires or []:
            sub = Requirement(text)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in wanted):
                walk(sub)

    walk(Requirement("guanxi"))
    return found


def test_no_runtime_dependency_is_gpl_or_agpl():
    licences = _runtime_dependencies()
    assert "django" in licences and "lunar-python" in licences
    assert "lunardate" not in licences  # GPL-3.0-or-later, replaced by lunar-python
    unknown = sorted(k for k, v in licences.items() if not v and k not in REVIEWED)
    copyleft = sorted(f"{k}: {v}" for k, v in licences.items() if COPYLEFT.search(v))
    assert not unknown, f"no licence in the metadata; check by hand and list in REVIEWED: {unknown}"
    assert not copyleft, copyleft


def test_guanxi_declares_apache_2():
    assert metadata.metadata("guanxi").get("License-Expression") == "Apache-2.0"
    root = Path(guanxi.__file__).resolve().parents[2]
    assert "Apache License" in (root / "LICENSE").read_text()[:200]


def test_every_vendored_folder_keeps_its_licence():
    vendor = Path(guanxi.__file__).parent / "web" / "static" / "vendor"
    folders = [p for p in vendor.iterdir() if p.is_dir()]
    assert folders
    missing = [p.name for p in folders
               if not any(f.name.upper().startswith(("LICENSE", "LICENCE", "COPYING"))
                          for f in p.iterdir())]
    assert not missing, f"vendored without a licence file: {missing}"
