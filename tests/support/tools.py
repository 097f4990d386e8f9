"""External tools the tests drive: skip without them locally, fail without them in CI."""

from __future__ import annotations

import os

import pytest


def require(available: bool, what: str) -> None:
    """Skip the test when ``what`` is missing, unless CI is set: there it must be installed."""
    if available:
        return
    message = f"{what} is not installed; run scripts/install-tools.sh (make test does)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)
