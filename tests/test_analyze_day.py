"""`calmtrace analyze` on a whole day: the folder's own acc.csv and the [day] table of --config are
used, as `calmtrace day` uses them (one config, one rule for finding the accelerometer)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from calmtrace.cli import main
from calmtrace.loader import load, load_acc
from calmtrace.signals.day_sim import simulate_day
from calmtrace.store import save


@pytest.fixture(scope="module")
def day_folder(tmp_path_factory) -> Path:
    sim = simulate_day(1, seed=3)
    folder = tmp_path_factory.mktemp("day") / "rec"
    save(sim.recording, folder)
    sim.acc.to_csv(folder / "acc.csv", index=False, float_format="%.3f")
    return folder


def _run(*args: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    assert exc.value.code == 0


def test_load_acc_finds_the_folders_own_accelerometer_only(day_folder: Path, tmp_path: Path) -> None:
    start = load(day_folder).start
    acc = load_acc(day_folder, start)
    n_lines = len((day_folder / "acc.csv").read_text(encoding="utf-8").splitlines())
    assert acc is not None and len(acc) == n_lines - 1
    assert load_acc(tmp_path, start) is None                       # a folder without one
    assert load_acc(day_folder / "beats.csv", start) is None       # a file has none beside it


def test_analyze_uses_acc_csv_and_the_day_table(day_folder: Path, tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "cfg.toml"
    cfg.write_text("[day]\nepoch_s = 120.0\nactivity_enmo_mg = 45.0\n", encoding="utf-8")
    out = tmp_path / "out"
    _run("analyze", str(day_folder), "--config", str(cfg), "--out", str(out), "--no-progress")
    said = capsys.readouterr().out
    n_epochs = int(load(day_folder).duration_s // 120.0)        # whole 120-s epochs
    assert f"a day view (accelerometer, {n_epochs} epochs" in said
    written = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    day_section = written["config"]["day"] if "config" in written else written["day"]
    assert day_section["epoch_s"] == 120.0 and day_section["activity_enmo_mg"] == 45.0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Each 120-s epoch" in html
    assert "states from heart rate, HRV and the chest accelerometer" in html
    # a recording over two calendar dates: the header's end and the tables' times carry their date
    rec = load(day_folder)
    end = rec.start + timedelta(seconds=rec.duration_s)
    assert end.date() != rec.start.date()
    assert f"{rec.start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}" in html
    first = rec.start + timedelta(seconds=float(rec.events.df["onset_s"].iloc[0]))
    assert f"{first:%a %d %b %H:%M:%S}" in html


def test_analyze_without_acc_csv_says_heart_rate_only(day_folder: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    rec = load(day_folder)
    save(rec, bare)
    out = tmp_path / "out"
    _run("analyze", str(bare), "--out", str(out), "--no-progress")
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Each 60-s epoch" in html and "states from heart rate, HRV and the chest accelerometer" not in html


def test_an_unknown_day_key_is_one_clear_error(day_folder: Path, tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "cfg.toml"
    cfg.write_text("[day]\nepoch_minutes = 2\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["analyze", str(day_folder), "--config", str(cfg), "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "[day]" in err[0] and "epoch_minutes" in err[0] and "cfg.toml" in err[0]
