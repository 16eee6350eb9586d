from __future__ import annotations

import pytest


@pytest.fixture
def huey_immediate(settings, tmp_path):
    """Worker tasks run inline when the transaction that queued them commits; uploads go
    to a temporary var directory."""
    from huey.contrib.djhuey import HUEY

    settings.VAR_DIR = tmp_path
    HUEY.immediate = True
    yield
    HUEY.immediate = False
