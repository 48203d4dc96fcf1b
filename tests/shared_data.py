"""Real data kept beside the repository in ../shared/data (e.g. the prompts-zh.json role collection)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_file(name: str) -> Path:
    """The file's path; a missing file skips the test locally but fails it in CI, where it must be there."""
    path = SHARED_DATA / name
    if not path.exists():
        message = f"{path} is not here (../shared/data beside the repository)"
        if os.environ.get("CI") or os.environ.get("CHATLAB_REQUIRE_SHARED_DATA"):
            pytest.fail(message)
        pytest.skip(message)
    return path
