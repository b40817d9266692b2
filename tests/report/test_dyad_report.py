"""The couples report end to end: two virtual straps on one clock -> capture -> `calmtrace dyad` -> HTML
in headless Chromium, with the same checks as the session report (tests/report/test_browser.py).

The two straps beat a simulated couple whose partner B follows partner A by 5 s. Each strap's
heart starts when the strap does, so the partners' hearts are offset on the capture clock by the
straps' start-up times; the expected lag is therefore derived from each strap's own books (the
time it sent each beat) against the beat times on disk.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from calmtrace.capture import capture_many
from calmtrace.cli import cli
from calmtrace.devices.virtual import VirtualRadio, VirtualStrap
from calmtrace.report.dyad import CAVEATS, render_dyad_report, write_dyad_trend_report
from calmtrace.signals.dyad import DyadConfig, dyad
from calmtrace.signals.dyad_sim import simulate_dyad, simulate_dyad_series
from calmtrace.store import load_folder

from tests.browser import check_offline_and_drawn
from tests.virtual_time import run_virtual

SPEED = 40.0
LAG_S = 5.0
PROTOCOL_S = (180.0, 300.0, 300.0)


@pytest.fixture(scope="module")
def couple_capture(tmp_path_factory):
    """A couples capture: two virtual straps, one clock, the protocol's events scripted."""
    out = tmp_path_factory.mktemp("couple") / "session"
    a, b = simulate_dyad(seed=3, coupling=0.8, lag_s=LAG_S, protocol_s=PROTOCOL_S)

    async def go():
        radio = VirtualRadio()
        sa = VirtualStrap(radio, a.rr_ms.tolist(), speed=SPEED, name="Polar H10 AAAA", address="C0:CA:17:00:00:0A")
        sb = VirtualStrap(radio, b.rr_ms.tolist(), speed=SPEED, name="Polar H10 BBBB", address="C0:CA:17:00:00:0B")
        await sa.start()
        await sb.start()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        try:
            folders = await capture_many([sa.address, sb.address], out, backend=radio,
                                         clock=lambda: (loop.time() - t0) * SPEED, duration_s=sum(PROTOCOL_S) - 5.0,
                                         scripted_events=list(a.events),
                                         meta={"simulated": True, "scenario": "couple"})
        finally:
            await sa.stop()
            await sb.stop()
            await radio.close()
        return folders, sa, sb

    folders, sa, sb = run_virtual(go())
    expected = LAG_S
    for sign, strap, sim, folder in ((-1, sa, a, folders[0]), (+1, sb, b, folders[1])):
        rec = load_folder(folder)
        unsent = {t for t, _ in strap.unsent}
        strap_t = np.array([t for t, _ in strap.beats if t not in unsent])[: len(rec.beats)]
        capture_minus_strap = float(np.median(rec.t_s[: len(strap_t)] - strap_t))
        sim_minus_strap = float(sim.t_s[0] - sim.rr_ms[0] / 1000.0)
        expected += sign * (capture_minus_strap - sim_minus_strap)
    return out, folders, expected


@pytest.fixture(scope="module")
def couple_result(couple_capture, tmp_path_factory):
    session, folders, expected = couple_capture
    res_dir = tmp_path_factory.mktemp("couple-results")
    run = CliRunner().invoke(cli, ["dyad", str(session), "--out", str(res_dir)])
    assert run.exit_code == 0, run.output
    return res_dir, expected


def test_couples_capture_runs_through_dyad(couple_capture, couple_result) -> None:
    session, folders, expected = couple_capture
    res_dir, _ = couple_result
    recs = [load_folder(f) for f in folders]
    assert recs[0].start == recs[1].start and all(len(r.events) == 3 for r in recs)
    for name in ("report.html", "synchrony_phases.csv", "synchrony_windows.csv", "series.csv", "recovery.csv",
                 "coregulation.csv", "dyad.json"):
        assert (res_dir / name).is_file(), name
    phases = pd.read_csv(res_dir / "synchrony_phases.csv")
    hr = phases[phases["series"] == "hr"]
    assert list(hr["phase"]) == ["baseline", "conflict discussion", "repair"]
    assert hr["exceeds_chance"].any(), hr
    windows = pd.read_csv(res_dir / "synchrony_windows.csv")
    lag = float(windows.loc[windows["series"] == "hr", "peak_lag_s"].median())
    assert abs(lag - expected) <= 1.0 + 0.5, (lag, expected)
    rc = pd.read_csv(res_dir / "recovery.csv")
    assert set(rc["partner"]) == {"A", "B"}


def test_cli_refuses_what_it_cannot_align(tmp_path, couple_capture) -> None:
    session, folders, _ = couple_capture
    run = CliRunner().invoke(cli, ["dyad", str(folders[0]), "--out", str(tmp_path / "x")])
    assert run.exit_code != 0 and "exactly two recordings" in str(run.exception)
    run = CliRunner().invoke(cli, ["dyad", str(folders[0]), str(folders[1]), "--offset-s", "100000",
                                   "--out", str(tmp_path / "y")])
    assert run.exit_code != 0 and "cannot align" in str(run.exception)
    assert not (tmp_path / "y" / "report.html").exists()


def test_report_numbers_are_the_results() -> None:
    a, b = simulate_dyad(seed=6, coupling=0.6)
    res = dyad(a, b, DyadConfig(n_surrogates=19))
    html = render_dyad_report(res)
    for caveat in CAVEATS:
        assert caveat.split(".")[0] in html
    for r in res.phases.itertuples(index=False):
        assert f">{r.synchrony_r:.2f}<" in html
    assert html.count('<tr class="above">') + html.count('<tr class="chance">') == len(res.phases)


def test_summary_names_each_partner_once_and_only_when_named() -> None:
    from calmtrace.report.dyad import dyad_summary

    a, b = simulate_dyad(seed=6, coupling=0.6)
    cfg = DyadConfig(n_surrogates=19)
    named = dyad_summary(dyad(a, b, cfg))[0][0]
    assert named.startswith(f"Partner A is {a.meta['subject']}, partner B is {b.meta['subject']}; aligned on ")
    # without a subject id the labels are the defaults "partner A" / "partner B": not repeated
    bare = [r.replace(meta={k: v for k, v in r.meta.items() if k not in ("subject", "source_file")}) for r in (a, b)]
    res = dyad(*bare, cfg)
    assert res.labels == {"A": "partner A", "B": "partner B"}
    first = dyad_summary(res)[0][0]
    assert first.startswith("Aligned on ") and "partner a" not in first.lower()
    assert "Partner A: partner A" not in render_dyad_report(res)


# -------------------------------------------------------------------------------------------
# in the browser
# -------------------------------------------------------------------------------------------


def _open(browser, path: Path, artifacts: Path, name: str):
    """The session report's browser checks (tests/browser.py), and a PDF print."""
    page = check_offline_and_drawn(browser, path, artifacts, name).page
    pdf = page.pdf(path=str(artifacts / f"{name}.pdf"), format="A4", print_background=True)
    assert pdf[:4] == b"%PDF"
    return page


def test_couples_report_in_chromium(browser, couple_result, artifacts_dir) -> None:
    res_dir, _ = couple_result
    page = _open(browser, res_dir / "report.html", artifacts_dir, "dyad-couple")
    assert page.locator(".plotly-graph-div").count() == 4
    overview = page.locator("#fig-dyad-overview")
    for label, kind in (("baseline", "baseline"), ("conflict discussion", "stressor"), ("repair", "recovery")):
        assert overview.locator("text.annotation-text", has_text=f"{label} ({kind})").first.is_visible()
        assert page.locator("#phase-table td.ev", has_text=label).first.is_visible()
    # both partners drawn on one clock axis
    assert overview.locator(".scatterlayer .trace path.js-line").count() >= 4
    assert overview.locator("text[class$='title']", has_text="clock time (UTC)").first.is_visible()
    assert page.locator("#phase-table tbody tr").count() == 6
    assert page.locator("#caveats li", has_text="Synchrony is not closeness").is_visible()
    assert page.locator("#caveats li", has_text="n = 1").is_visible()
    assert page.locator("#recovery-table tbody tr").count() == 3
    assert page.locator("#simulated-banner").first.is_visible()
    page.close()


def test_couples_trend_in_chromium(browser, artifacts_dir, tmp_path) -> None:
    series = simulate_dyad_series(n_sessions=4, seed=2)
    first = [dyad(a, b) for a, b in series]
    path = write_dyad_trend_report(first, tmp_path / "trend.html")
    page = _open(browser, path, artifacts_dir, "dyad-trend")
    assert page.locator("#dyad-trend-table tbody tr").count() == 4 * 2 * 3
    assert page.locator("#fig-dyad-trend text.ytitle", has_text="heart-rate synchrony").is_visible()
    # the trend follows the simulated couple: conflict synchrony falls, repair synchrony rises
    hr = [r.phases[r.phases["series"] == "hr"].set_index("phase")["synchrony_r"] for r in first]
    assert hr[0]["conflict discussion"] > hr[-1]["conflict discussion"]
    assert hr[0]["repair"] < hr[-1]["repair"]
    page.close()


def test_cli_over_several_sessions_writes_one_report_each_and_the_trend(tmp_path) -> None:
    import json

    from calmtrace.store import save

    sessions = []
    for k, (a, b) in enumerate(simulate_dyad_series(n_sessions=3, seed=9), start=1):
        s = tmp_path / f"week-{k}"
        save(a, s / "anna")
        save(b, s / "ben")
        (s / "session.json").write_text(json.dumps({"start": a.start.isoformat(), "recordings": [
            {"target": "anna", "folder": "anna"}, {"target": "ben", "folder": "ben"}]}), encoding="utf-8")
        sessions.append(s)
    out = tmp_path / "results"
    run = CliRunner().invoke(cli, ["dyad", *map(str, sessions), "--out", str(out)])
    assert run.exit_code == 0, run.output
    for s in sessions:
        assert (out / s.name / "report.html").is_file()
        phases = pd.read_csv(out / s.name / "synchrony_phases.csv")
        # 3 sessions give 6 pseudo-pairs, fewer than 99: the test falls back to shifts
        assert phases["surrogate"].eq("shift").all()
    html = (out / "trend.html").read_text(encoding="utf-8")
    assert html.count('<tr class="above">') + html.count('<tr class="chance">') == 3 * 2 * 3
    again = CliRunner().invoke(cli, ["dyad", *map(str, sessions), "--out", str(out)])
    assert again.exit_code != 0 and "--force" in str(again.exception)
