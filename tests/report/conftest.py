"""Analysed sessions shared by the report tests: real ``analyze()`` on simulated recordings.

Each fixture is session-scoped, so a session is simulated and analysed once for all report test
modules. The sessions cover the cases the report must handle: an intervention after one of two
stressors (``breathing``), no events at all, a stressor the recording ends with (no recovery
span), heavy artefacts with gaps, and the eight weekly sample sessions of one subject.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from calmtrace.analysis import analyze
from calmtrace.events import Event, Events
from calmtrace.loader import load
from calmtrace.signals.simulate import DEFAULT_START, simulate

ROOT = Path(__file__).resolve().parents[2]
WEEKLY = ROOT / "recordings" / "sample" / "weekly"
ARTIFACTS = ROOT / "test-artifacts"

#: The messy session: 15 % artefact beats and 4 disconnect gaps (simulator percentages).
MESSY_ARTIFACT_PCT = 15.0
MESSY_GAPS = 4


@pytest.fixture(scope="session")
def breathing_result():
    """Two stressors; paced breathing right after the first, none after the second."""
    return analyze(simulate("breathing", seed=2))


@pytest.fixture(scope="session")
def no_events_result():
    """15 min of rest with every event removed."""
    return analyze(simulate("rest", seed=4, duration_s=900.0).with_events(Events()))


@pytest.fixture(scope="session")
def stressor_only_result():
    """A TSST cut at the end of its 'speech' stressor, which is its only event."""
    rec = simulate("tsst", seed=5)
    beats = rec.beats[rec.beats["t_s"] <= 600.0]
    return analyze(rec.replace(beats=beats, events=Events([Event(300.0, 300.0, "speech", "stressor")])))


@pytest.fixture(scope="session")
def messy_result():
    """A TSST with heavy artefacts and several gaps, of the weekly subject, between weeks 4 and 5."""
    rec = simulate("tsst", seed=6, artifact_pct=MESSY_ARTIFACT_PCT, n_gaps=MESSY_GAPS,
                   start=DEFAULT_START + timedelta(weeks=3, days=3), subject="sim-client-01")
    return analyze(rec)


@pytest.fixture(scope="session")
def gappy_result():
    """A TSST with a few artefacts and three gaps: most windows valid, some not."""
    return analyze(simulate("tsst", seed=8, artifact_pct=2.0, n_gaps=3))


@pytest.fixture(scope="session")
def weekly_dirs() -> list[Path]:
    """The eight weekly sample recording folders (part of the repository)."""
    dirs = sorted(p for p in WEEKLY.glob("week-*") if (p / "recording.json").exists())
    if len(dirs) != 8:
        pytest.fail(f"{WEEKLY}: expected the 8 weekly sample sessions week-01..08, found {len(dirs)}")
    return dirs


@pytest.fixture(scope="session")
def weekly_results(weekly_dirs):
    """The weekly sample sessions, loaded and analysed."""
    return [analyze(load(d), source=d) for d in weekly_dirs]


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """test-artifacts/ at the repository root (gitignored): screenshots and PDFs of the reports."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
