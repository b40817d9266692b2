"""One quality verdict per session: info, the session report, the trend and the cohort table agree.

Sessions are fed through all four faces with the thresholds set exactly at each session's own
artefact share and invalid-window share (the edge, which passes: the limits are inclusive) and
just below them (which fails). The expected verdict is worked out here from the session's beats
and windows, not read from :func:`assess_quality`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from calmtrace.analysis import AnalysisConfig, analyze
from calmtrace.batch import analyze_one
from calmtrace.loader import load
from calmtrace.report.html import render_report
from calmtrace.report.trend import render_trend_report
from calmtrace.sessions import build_trend
from calmtrace.signals.config import QualityConfig
from calmtrace.signals.simulate import simulate
from calmtrace.store import save


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    """Two saved sessions: a few artefacts, and artefacts with gaps (invalid windows)."""
    root = tmp_path_factory.mktemp("quality")
    out = []
    for name, kw in (("few", dict(seed=11, artifact_pct=3.0)), ("gappy", dict(seed=12, artifact_pct=2.0, n_gaps=3))):
        folder = root / name
        save(simulate("tsst", **kw), folder)
        out.append(folder)
    return out


def _measured(folder: Path) -> tuple[float, float]:
    """Artefact share and invalid-window share (%), counted here from the analysed tables."""
    res = analyze(load(folder))
    flags = np.asarray(res.recording.beats["flag"])
    valid = np.asarray(res.windows["valid"], dtype=bool)
    return 100.0 * float(np.mean(flags != "ok")), 100.0 * float(np.mean(~valid))


def _faces(folder: Path, cfg: AnalysisConfig, tmp: Path) -> dict[str, bool]:
    """The verdict (True = passes) in info, the session report, the trend report and the cohort table."""
    toml = tmp / "cfg.toml"
    q = cfg.quality
    toml.write_text(f"[quality]\nmax_artifact_pct = {q.max_artifact_pct!r}\n"
                    f"max_invalid_windows_pct = {q.max_invalid_windows_pct!r}\n", encoding="utf-8")
    p = subprocess.run([sys.executable, "-m", "calmtrace", "info", str(folder), "--config", str(toml)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    (line,) = [ln for ln in p.stdout.splitlines() if ln.startswith("  quality ")]
    info_ok = line.split(None, 1)[1].strip() == "ok"

    res = analyze(load(folder), cfg, source=folder)
    page = render_report(res)
    verdict = re.search(r'<td id="quality-verdict">([^<]*)</td>', page).group(1)
    report_ok = verdict == "ok"

    trend_page = render_trend_report(build_trend([res]))
    table = trend_page.split('id="sessions-table"')[1].split("</table>")[0]
    (cls,) = re.findall(r'<tr class="(ok|failed)"><td class="num">\d+</td>', table)
    trend_ok = cls == "ok"

    rows, reason = analyze_one(folder, cfg.to_dict())
    assert reason is None
    cohort_ok = set(rows["quality_ok"].astype(bool))
    assert len(cohort_ok) == 1
    return {"info": info_ok, "report": report_ok, "trend": trend_ok, "cohort": cohort_ok.pop()}


@pytest.mark.parametrize("which", ["artifact", "invalid"])
def test_one_verdict_at_the_thresholds_edges(sessions, which, tmp_path):
    for folder in sessions:
        art, inv = _measured(folder)
        assert 0 < art < 100 and 0 <= inv < 100
        nudge = 1e-6
        if which == "artifact":
            edge = QualityConfig(max_artifact_pct=art, max_invalid_windows_pct=100.0)
            past = QualityConfig(max_artifact_pct=art - nudge, max_invalid_windows_pct=100.0)
        else:
            if inv == 0:
                continue   # no invalid window: nothing to put an edge on
            edge = QualityConfig(max_artifact_pct=100.0, max_invalid_windows_pct=inv)
            past = QualityConfig(max_artifact_pct=100.0, max_invalid_windows_pct=inv - nudge)
        at_edge = _faces(folder, AnalysisConfig(quality=edge), tmp_path)
        beyond = _faces(folder, AnalysisConfig(quality=past), tmp_path)
        assert at_edge == dict.fromkeys(at_edge, True), (folder.name, which, at_edge)
        assert beyond == dict.fromkeys(beyond, False), (folder.name, which, beyond)


def test_the_gappy_session_has_invalid_windows(sessions):
    # the invalid-window edge above is exercised on at least one session
    assert any(_measured(f)[1] > 0 for f in sessions)
