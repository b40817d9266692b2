"""The lowest-versions constraints file is true to pyproject.toml, and CI runs with it.

CI runs the README's test command twice: as pip resolves it today, and with
``PIP_CONSTRAINT=constraints-lowest.txt`` (every dependency at the lowest version pyproject.toml
allows). That second run only proves the lower bounds if the file pins exactly those bounds.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
#: Packages that a requirement's extra brings in at the same version (dask[distributed]).
EXTRA_COMPANIONS = {"dask": {"distributed": "distributed"}}


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs.extend(extra)
    return [Requirement(r) for r in reqs]


def _lower_bound(req: Requirement) -> Version:
    bounds = [Version(s.version) for s in req.specifier if s.operator in (">=", "==")]
    assert len(bounds) == 1, f"{req}: needs exactly one lower bound (>= or ==) for the lowest-versions CI run"
    return bounds[0]


def _constraints() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "constraints-lowest.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s]+)", line)
        assert m, f"constraints-lowest.txt: {line!r} is not NAME==VERSION"
        pins[canonicalize_name(m.group(1))] = Version(m.group(2))
    return pins


def test_every_dependency_is_pinned_at_its_lower_bound():
    pins = _constraints()
    expected: dict[str, Version] = {}
    for req in _requirements():
        low = _lower_bound(req)
        expected[canonicalize_name(req.name)] = low
        for extra in req.extras:
            companion = EXTRA_COMPANIONS.get(canonicalize_name(req.name), {}).get(extra)
            if companion:
                expected[companion] = low
    assert pins == expected


def test_ci_runs_the_readme_command_with_both_dependency_sets():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "constraints-lowest.txt" in ci and "PIP_CONSTRAINT" in ci
    assert "<!-- test-command -->" in ci      # the command is read from the README, not restated
