"""Shared test fixtures.

Real recordings live in ``../shared/data/`` beside the project (one folder each, with licence and
provenance); they are read in place and never copied into this tree. A test that needs one asks
for it through :func:`shared_data` and is skipped, with the reason, where that folder is absent.
``CALMTRACE_SHARED_DATA`` points somewhere else.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CALMTRACE_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared_data(*parts: str) -> Path:
    """Path to a real recording in ../shared/data, or skip the calling test with the reason.

    Parameters
    ----------
    *parts : str
        Folder and file name, e.g. ``shared_data("polar-hrm", "exercise_rri.hrm")``.
    """
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real recording {p} is absent (../shared/data is not beside this checkout)")
    return p


@pytest.fixture
def data_dir() -> Path:
    """The ../shared/data folder (skips when absent)."""
    return shared_data()
