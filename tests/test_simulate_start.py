"""`calmtrace simulate --start`: simulated sessions on days of the user's choosing, so that a trend
can be built from them (every scenario starts at one fixed time otherwise, and the trend refuses
overlapping recordings)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import calmtrace
from calmtrace.cli import main


def _run(*args: str) -> int:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return exc.value.code


def test_start_sets_the_recordings_start(tmp_path) -> None:
    assert _run("simulate", "tsst", "--start", "2026-03-06T09:00:00+01:00", "--out", str(tmp_path / "t")) == 0
    assert calmtrace.load(tmp_path / "t").start == datetime(2026, 3, 6, 8, 0, tzinfo=timezone.utc)


def test_a_start_without_offset_or_not_a_date_is_one_line(tmp_path, capsys) -> None:
    for bad in ("2026-03-06T09:00:00", "next tuesday"):
        assert _run("simulate", "tsst", "--start", bad, "--out", str(tmp_path / "t")) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--start" in err[0]
        assert not (tmp_path / "t").exists()


def test_two_simulated_days_on_different_dates_make_a_trend(tmp_path) -> None:
    d1 = datetime(2026, 3, 2, 7, 0, tzinfo=timezone.utc)
    folders = []
    for k, start in enumerate((d1, d1 + timedelta(days=2))):
        folder = tmp_path / f"day{k}"
        assert _run("simulate", "day", "--seed", str(k + 1), "--start", start.isoformat(), "--out", str(folder)) == 0
        assert calmtrace.load(folder).start == start and (folder / "acc.csv").exists()
        folders.append(str(folder))
    out = tmp_path / "trend.html"
    assert _run("report", *folders, "--out", str(out)) == 0
    html = out.read_text(encoding="utf-8")
    assert 'id="fig-balance"' in html and "2026-03-02" in html and "2026-03-04" in html
