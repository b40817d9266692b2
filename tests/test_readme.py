"""The README's Python snippet runs as written, and runs again: a reader pastes it more than once.

The snippet is read from the README (the block under "## Python"), never restated here. It runs in
a fresh interpreter whose working folder is a temporary one with the checkout's ``recordings``
linked in, so what it writes stays out of the checkout.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from calmtrace.store import load_folder

ROOT = Path(__file__).resolve().parents[1]


def readme_python_snippet() -> str:
    """The first ```python block under the README's "## Python" heading."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Python\n", 1)
    assert len(section) == 2, "README.md has no '## Python' section"
    m = re.search(r"```python\n(.*?)```", section[1].split("\n## ", 1)[0], flags=re.S)
    assert m, "README.md's Python section has no ```python block"
    return m.group(1)


def test_the_readme_python_snippet_runs_twice(tmp_path: Path) -> None:
    code = readme_python_snippet()
    written = re.findall(r"calmtrace\.save\(rec,\s*\"([^\"]+)\"", code)
    loaded = re.findall(r"calmtrace\.load\(\"([^\"]+)\"", code)
    if not written or not loaded:
        pytest.fail(f"the README snippet no longer loads and saves a recording; update this test:\n{code}")
    (tmp_path / "recordings").symlink_to(ROOT / "recordings", target_is_directory=True)
    for attempt in (1, 2):
        p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, f"run {attempt} of the README snippet failed:\n{p.stderr}"
    # what it wrote is the recording it read, field for field
    source, copy = load_folder(ROOT / loaded[0]), load_folder(tmp_path / written[0])
    assert copy.start == source.start
    assert copy.beats.equals(source.beats) and copy.events.df.equals(source.events.df)
