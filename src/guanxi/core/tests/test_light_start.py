"""The `guanxi` command starts light: help and light commands load no app's services, no
admin modules and none of the heavy numeric libraries (those load where they are used)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HEAVY = ("numpy", "pandas", "lightgbm", "sklearn", "pypinyin", "guanxi.customers.services",
         "guanxi.dataquality.services", "guanxi.customers.admin")


@pytest.mark.parametrize("command", [["--help"], ["token", "--help"], ["worker", "--help"]])
def test_help_loads_nothing_heavy(command, tmp_path):
    env = {**os.environ, "GUANXI_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "guanxi", *command],
                          env=env, capture_output=True, text=True, check=True)
    loaded = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
              if line.startswith("import time:")}
    assert not loaded & set(HEAVY)
