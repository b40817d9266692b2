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


def shared_case(*parts: str) -> Path:
    """Path to a quirk file in ../shared/cases (beside ../shared/data), or skip with the reason.

    Parameters
    ----------
    *parts : str
        Folder and file name, e.g. ``shared_case("atrial-fibrillation", "af_cv50.txt")``.
    """
    p = (SHARED_DATA.parent / "cases").joinpath(*parts)
    if not p.exists():
        pytest.skip(f"quirk case {p} is absent (../shared/cases is not beside this checkout)")
    return p


@pytest.fixture
def data_dir() -> Path:
    """The ../shared/data folder (skips when absent)."""
    return shared_data()


def _remove_deep(root: Path) -> None:
    """Remove a chain of ``d`` folders below ``root`` one level at a time (``shutil.rmtree``
    recurses, and 1,100 levels are past what it handles on every Python this project supports)."""
    import shutil

    chain = [root]
    while (chain[-1] / "d").is_dir():
        chain.append(chain[-1] / "d")
    shutil.rmtree(chain[-1])
    for q in reversed(chain[:-1]):
        q.rmdir()


@pytest.fixture(scope="module")
def deep_folder():
    """``make(root, depth)``: the folder ``depth`` levels below the new folder ``root`` (``root/d/d/...``).

    Made one level at a time (``os.makedirs`` recurses) for the cohort tests of very deep nesting;
    every chain made is removed one level at a time when the module's tests are done.
    """
    made: list[Path] = []

    def make(root: Path, depth: int) -> Path:
        root.mkdir()
        made.append(root)
        p = root
        for _ in range(depth):
            p = p / "d"
            p.mkdir()
        return p

    yield make
    for root in made:
        if root.exists():
            _remove_deep(root)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for a module's report tests (tests/browser.py); skips, saying why, without it."""
    from tests.browser import chromium

    with chromium() as b:
        yield b
