"""The day view: figure, section in the session report, the `calmtrace day` command."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from calmtrace.analysis import analyze
from calmtrace.cli import cli
from calmtrace.loader import load
from calmtrace.report.day import MAX_POINTS, day_figure, day_section, reduce_series
from calmtrace.report.html import render_report
from calmtrace.signals.day import analyze_day
from calmtrace.signals.day_sim import simulate_day
from tests.conftest import shared_data


def test_reduce_series_block_medians():
    t = np.arange(10.0)
    y = np.array([1, 2, 3, 4, 5, 6, 7, 8, np.nan, np.nan])
    tb, yb = reduce_series(t, y, max_points=5)
    assert list(tb) == [0.5, 2.5, 4.5, 6.5, 8.5]
    assert list(yb[:4]) == [1.5, 3.5, 5.5, 7.5] and np.isnan(yb[4])
    same_t, same_y = reduce_series(t, y, max_points=10)
    assert same_t is not None and np.array_equal(same_y, y, equal_nan=True)
    # 11 values in blocks of 3: the short last block (9, 10) is drawn, not dropped
    tb, yb = reduce_series(np.arange(11.0), np.arange(11.0), max_points=4)
    assert list(tb) == [1.0, 4.0, 7.0, 9.5] and list(yb) == [1.0, 4.0, 7.0, 9.5]


def test_day_figure_states_match_the_epochs():
    sim = simulate_day(1, seed=1)
    res = analyze_day(sim.recording, sim.acc)
    fig = day_figure(res, sim.recording)
    bars = {tr.name: tr for tr in fig.data if tr.type == "bar"}
    # the bar widths of each state add up to its minutes
    for state, tr in bars.items():
        minutes = float(np.sum(tr.width)) / 60000.0
        assert minutes == pytest.approx(float((res.epochs["state"] == state).sum()), abs=1e-6)
    diary = [tr for tr in fig.data if tr.name == "diary (0-10)"][0]
    assert len(diary.x) == len(res.diary)
    assert len(fig.layout.shapes) >= 1  # the sleep span (and reference lines)


def test_week_day_view_is_small():
    sim = simulate_day(7, seed=1, acc_fs_hz=5.0)
    res = analyze_day(sim.recording, sim.acc)
    fig = day_figure(res, sim.recording)
    lines = [tr for tr in fig.data if tr.type == "scatter" and tr.name != "diary (0-10)"]
    assert all(len(tr.x) <= MAX_POINTS for tr in lines)
    html = day_section(res, sim.recording)
    assert len(html.encode()) < 2_000_000
    assert "lnRMSSD and movement" in html
    assert f"block medians of the {len(res.epochs):,} epochs" in html and "every epoch is in day_epochs.csv" in html
    assert html.count("<tr>") == 1 + 8  # header, 7 days, all


def test_24h_series_gets_a_day_view_and_summary():
    path = shared_data("physionet-rr-24h", "Chapter8__healthy_ms__000.txt")
    rec = load(path)
    result = analyze(rec, source=path)
    day = result.day
    assert day is not None and day.mode == "heart-rate only"
    # summary minutes add up to the epochs (one per minute of the 21 h)
    s = day.summary.iloc[0]
    total = sum(s[f"{k}_min"] for k in ("stress", "recovery", "activity", "neutral", "unmeasured"))
    assert total == len(day.epochs) == int(rec.duration_s // 60)
    # a night in the recording: the quietest span has lower HR than waking rest
    assert len(day.sleep) == 1 and day.sleep["source"].iloc[0] == "quietest span"
    assert day.sleep["hr_bpm"].iloc[0] < day.reference["hr_rest_bpm"]
    # the resting HR reference against an independent figure: median of 60-s mean HR outside the night
    t = rec.beats["t_s"].to_numpy()
    hr = 60000.0 / rec.beats["rr_ms"].to_numpy()
    k = (t // 60).astype(int)
    per_min = pd.Series(hr).groupby(k).mean()
    o, e = day.sleep["onset_s"].iloc[0], day.sleep["end_s"].iloc[0]
    mins = per_min.index.to_numpy() * 60 + 30
    awake = per_min[(mins < o) | (mins >= e)]
    assert day.reference["hr_rest_bpm"] == pytest.approx(float(awake.median()), abs=1.5)
    html = render_report(result)
    assert 'id="fig-day"' in html and 'id="day-summary"' in html and "not a diagnosis" in html
    # no accelerometer: the title does not promise movement; fewer epochs than the budget: no reduction note
    assert "The day: states, heart rate, lnRMSSD" in html and "lnRMSSD and movement" not in html
    assert "block medians" not in html
    # the caption describes what is drawn: no diary, no movement, one night, the references
    assert "Triangles: diary ratings" not in html and "heart rate above the resting reference" in html
    assert "Blue shading: sleep." in html and "Dotted lines: the personal resting references" in html


def test_short_session_report_has_no_day_view():
    from calmtrace.signals.simulate import simulate

    result = analyze(simulate("tsst", seed=1))
    assert result.day is None
    assert 'id="fig-day"' not in render_report(result)


def test_day_command_with_acc(tmp_path):
    sim = simulate_day(1, seed=6)
    from calmtrace.store import save

    folder = tmp_path / "rec"
    save(sim.recording, folder)
    sim.acc.to_csv(folder / "acc.csv", index=False)
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["day", str(folder), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "(accelerometer)" in r.output
    ep = pd.read_csv(out / "day_epochs.csv")
    truth = sim.truth(60.0)
    m = pd.merge(ep[["start_s", "state"]], truth, on="start_s")
    assert (m["state"] == m["truth"])[m["truth"] != "unmeasured"].mean() >= 0.9
    meta = json.loads((out / "day.json").read_text())
    assert meta["mode"] == "accelerometer" and meta["config"]["epoch_s"] == 60.0
    assert (out / "report.html").stat().st_size < 25_000_000
    # again without --force: refused, nothing changed
    before = (out / "day.json").read_bytes()
    r2 = CliRunner().invoke(cli, ["day", str(folder), "--out", str(out)])
    assert r2.exit_code != 0
    assert (out / "day.json").read_bytes() == before


@pytest.mark.parametrize("acc_text, config_text, extra, match", [
    ("t_s,x_mg,y_mg,z_mg\n0,1,2,1000\n0.04,1,x,1000\n", None, [], "acc.csv line 3: y_mg must be a number"),
    (None, "[day]\nepoch = 30\n", [], "unknown key 'epoch'"),
    (None, "[day]\nactivity_enmo_mg = 5\n", [], "still_enmo_mg must not exceed"),
    (None, None, ["--epoch", "5"], "5"),
])
def test_day_command_bad_input_one_line_nothing_written(tmp_path, acc_text, config_text, extra, match):
    import subprocess
    import sys

    from calmtrace.store import save
    from calmtrace.signals.simulate import simulate

    rec = tmp_path / "rec"
    save(simulate("rest", seed=1, duration_s=900), rec)
    args = [sys.executable, "-m", "calmtrace", "day", str(rec), "--out", str(tmp_path / "out"), *extra]
    if acc_text is not None:
        (tmp_path / "acc.csv").write_text(acc_text)
        args += ["--acc", str(tmp_path / "acc.csv")]
    if config_text is not None:
        (tmp_path / "day.toml").write_text(config_text)
        args += ["--config", str(tmp_path / "day.toml")]
    p = subprocess.run(args, capture_output=True, text=True)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and match in lines[0] and "Traceback" not in p.stderr
    assert not (tmp_path / "out").exists()


def test_day_command_on_a_short_recording(tmp_path):
    from calmtrace.signals.simulate import simulate
    from calmtrace.store import save

    rec = simulate("rest", seed=1, duration_s=900)
    save(rec, tmp_path / "rec")
    r = CliRunner().invoke(cli, ["day", str(tmp_path / "rec"), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    # whole 60-s epochs of the recording (its last beat falls just before 900 s)
    assert len(pd.read_csv(tmp_path / "out" / "day_epochs.csv")) == int(rec.duration_s // 60)


def test_day_command_on_a_file_without_a_date_prints_times_from_the_start(tmp_path):
    """An RR text file has no date or time: the sleep span is printed as h:mm from the start (the
    simulated night, 16:00-24:00 h after a 07:00 start), never as a clock time or a weekday."""
    sim = simulate_day(1, seed=1, with_acc=False)
    rr = sim.recording.beats["rr_ms"].to_numpy(float)
    path = tmp_path / "rr.txt"
    np.savetxt(path, rr, fmt="%.1f")
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["day", str(path), "--out", str(out)])
    assert r.exit_code == 0, r.output
    sleep = [line for line in r.output.splitlines() if line.strip().startswith("sleep")]
    assert len(sleep) == 1 and "clock unknown" in sleep[0], r.output
    assert not any(d in r.output for d in ("Mon", "Tue", "Thu", "1970"))
    spans = pd.read_csv(out / "sleep.csv")
    from calmtrace.report.figures import format_elapsed

    want = f"+{format_elapsed(float(spans['onset_s'].iloc[0]))} to +{format_elapsed(float(spans['end_s'].iloc[0]))}"
    assert want in sleep[0]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "1970-01-0" not in html[html.index("</head>"):]
