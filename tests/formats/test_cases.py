"""The quirk files of ../shared/cases: every case gives the right values or a one-line refusal.

The right values come from ../shared/cases/README.md (computed there independently of calmtrace)
or from the ``truth_*.txt`` files beside the inputs; the tests compute their own figures from those
files with numpy, never from calmtrace's output. Each test skips with the reason where
../shared/cases is absent.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

import calmtrace
from calmtrace import formats
from calmtrace.errors import EventsError, FormatError
from calmtrace.formats import ImportOptions
from calmtrace.loader import load

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(os.environ.get("CALMTRACE_SHARED_CASES", ROOT.parent / "shared" / "cases"))


def case(folder: str, name: str) -> Path:
    """A file of ../shared/cases, or skip with the reason."""
    p = CASES / folder / name
    if not p.exists():
        pytest.skip(f"quirk file {p} is absent (../shared/cases is not beside this checkout)")
    return p


def rmssd(rr: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.diff(rr) ** 2)))


def notes(rec) -> str:
    return " | ".join(rec.meta.get("import_notes") or [])


# -- rr-comma-decimal ---------------------------------------------------------------------------
def test_rr_comma_decimal_reads_the_true_intervals_and_says_so():
    rec = formats.read(case("rr-comma-decimal", "rr_only_comma_in_comma_csv.csv"))
    truth = np.loadtxt(case("rr-comma-decimal", "truth_rr.txt"))
    assert len(truth) == 261
    np.testing.assert_allclose(rec.rr_ms, truth, atol=1e-9)
    # README: mean RR 1149.5 ms, SDNN 34.8 ms, RMSSD 47.7 ms
    assert rec.rr_ms.mean() == pytest.approx(1149.5, abs=0.05)
    assert rec.rr_ms.std(ddof=1) == pytest.approx(34.8, abs=0.05)
    assert rmssd(rec.rr_ms) == pytest.approx(47.7, abs=0.05)
    assert "decimal comma" in notes(rec)


def test_rr_comma_decimal_minimal_file():
    rec = formats.read(case("rr-comma-decimal", "m02e_rr_comma_decimal.csv"))
    assert rec.rr_ms.tolist() == pytest.approx([1139, 1196, 1144, 1136, 1200, 1136])
    assert "decimal comma" in notes(rec)


@pytest.mark.parametrize("text,line", [
    ("t_s,rr\n0,797,0,797\n0,852,0,852\n1,699\n", 4),     # some rows one way, some the other
    ("t_s,rr\n0,797,797\n", 2),                            # which comma is the decimal one?
])
def test_rr_comma_decimal_ambiguous_is_refused_naming_the_line(tmp_path, text, line):
    p = tmp_path / "rr-comma-decimal.csv"
    p.write_text(text)
    with pytest.raises(FormatError, match=rf"rr-comma-decimal\.csv line {line}: .*(decimal|fields)"):
        formats.read(p)


# -- arrival-epoch-seconds ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["strap_log_epoch_s_slowhr.csv", "m01_epoch_s_arrival.csv"])
def test_arrival_epoch_seconds_anchor_the_rr_sum(name):
    path = case("arrival-epoch-seconds", name)
    rr = np.loadtxt(path, delimiter=",", skiprows=1)[:, 1]
    rec = formats.read(path)
    assert rec.rr_ms.tolist() == rr.tolist()
    assert len(rec.gaps) == 0
    assert abs((rec.start - datetime(2024, 5, 1, 8, tzinfo=timezone.utc)).total_seconds()) < 1.0
    assert rec.duration_s == pytest.approx(rr.sum() / 1000.0)
    assert "arrival times" in notes(rec)


def test_arrival_epoch_seconds_hf_in_every_window():
    rec = formats.read(case("arrival-epoch-seconds", "strap_log_epoch_s_slowhr.csv"))
    win = calmtrace.windowed_hrv(rec)
    assert len(win) > 10
    assert np.isfinite(win["hf_ms2"]).all() and (win["hf_ms2"] > 0).all()


# -- dst-autumn ---------------------------------------------------------------------------------
def _psl_rows(path: Path) -> tuple[list[datetime], np.ndarray]:
    rows = [ln.split(";") for ln in path.read_text().splitlines()[1:] if ln.strip()]
    return [datetime.fromisoformat(r[0]) for r in rows], np.array([float(r[1]) for r in rows])


def test_dst_autumn_minimal_starts_at_the_first_clock_and_reports_the_change():
    path = case("dst-autumn", "Polar_H10_A1B2C3D4_20241027_025940_RR.txt")
    times, rr = _psl_rows(path)
    rec = formats.read(path)
    # README: start 02:59:40 (the first row's clock minus its interval)
    assert rec.start.replace(tzinfo=None) == datetime(2024, 10, 27, 2, 59, 40)
    assert len(rec.beats) == len(rr) and len(rec.gaps) == 0
    np.testing.assert_allclose(np.diff(rec.t_s), rr[1:] / 1000.0)
    (change,) = rec.meta["clock_changes"]
    back = [k for k in range(1, len(times)) if times[k] < times[k - 1]]
    assert change["step_s"] == pytest.approx((times[back[0]] - times[back[0] - 1]).total_seconds() - rr[back[0]] / 1000,
                                             abs=1.0)
    assert "clock change" in notes(rec)


def test_dst_autumn_two_hours():
    path = case("dst-autumn", "Polar_H10_A1B2C3D4_20241027_013000_RR.txt")
    times, rr = _psl_rows(path)
    rec = formats.read(path)
    assert abs((rec.start.replace(tzinfo=None) - datetime(2024, 10, 27, 1, 30)).total_seconds()) < 1.0
    assert len(rec.gaps) == 0 and len(rec.beats) == len(rr)
    assert rec.duration_s == pytest.approx(rr.sum() / 1000.0, abs=1.0)
    assert [round(c["step_s"] / 60) for c in rec.meta["clock_changes"]] == [-60]
    # with its zone, the start is the first 01:30 (summer time, +02:00)
    local = formats.read(path, options=ImportOptions(timezone="Europe/Berlin"))
    assert abs((local.start - datetime(2024, 10, 26, 23, 30, tzinfo=timezone.utc)).total_seconds()) < 1.0
    assert local.meta["utc_offset"] == "+02:00"


@pytest.mark.parametrize("name", ["Polar_H10_A1B2C3D4_20241027_013000_RR.txt",
                                  "Polar_H10_A1B2C3D4_20241027_025940_RR.txt"])
def test_dst_autumn_diary_time_in_the_repeated_hour_is_ambiguous(name):
    with pytest.raises(EventsError, match=r"diary_autumn\.csv line 2: .*02:15:00.* ambiguous"):
        load(case("dst-autumn", name), events=case("dst-autumn", "diary_autumn.csv"))


def test_dst_autumn_clock_time_outside_the_repeated_hour_lands_on_the_right_beat(tmp_path):
    path = case("dst-autumn", "Polar_H10_A1B2C3D4_20241027_013000_RR.txt")
    diary = tmp_path / "diary.csv"
    diary.write_text("onset,offset,label,kind\n01:45:00,01:50:00,before,stressor\n")
    rec = load(path, events=diary)
    first = datetime(2024, 10, 27, 1, 30)
    assert list(rec.events)[0].onset_s == pytest.approx((datetime(2024, 10, 27, 1, 45) - first).total_seconds()
                                                  - (rec.start.replace(tzinfo=None) - first).total_seconds())


# -- kubios-two-column --------------------------------------------------------------------------
def test_kubios_two_column_and_one_column_give_the_same_beats():
    one = case("kubios-two-column", "kubios_type1.txt")
    two = case("kubios-two-column", "kubios_type2_space.txt")
    table = np.loadtxt(two)
    r1, r2 = formats.read(one), formats.read(two)
    np.testing.assert_allclose(r2.rr_ms, table[:, 1] * 1000.0)
    np.testing.assert_allclose(r1.rr_ms, np.loadtxt(one) * 1000.0)
    np.testing.assert_allclose(r1.rr_ms, r2.rr_ms)
    # the time column was checked against the RR sum: beat times, kept as they are
    np.testing.assert_allclose(r2.t_s - r2.t_s[0], table[:, 0] - table[0, 0], atol=1e-9)
    assert "beat times" in notes(r2) and len(r2.gaps) == 0


def test_kubios_tab_separated_with_a_dropped_beat_gives_a_gap(tmp_path):
    table = np.loadtxt(case("kubios-two-column", "kubios_type2_space.txt"))
    rows = np.delete(table, 100, axis=0)  # one beat missing: the next step is two intervals long
    p = tmp_path / "kubios-two-column.txt"
    p.write_text("".join(f"{t:.3f}\t{r:.3f}\n" for t, r in rows))
    rec = formats.read(p)
    assert len(rec.beats) == len(rows) and len(rec.gaps) == 1
    assert rec.gaps["duration_s"].iloc[0] == pytest.approx(table[100, 1], abs=0.003)


# -- hrm-laps-as-durations ----------------------------------------------------------------------
def test_hrm_laps_as_durations_read_as_durations_with_a_note():
    good = formats.read(case("hrm-laps-as-durations", "laps_cumulative.hrm"))
    bad = formats.read(case("hrm-laps-as-durations", "laps_as_durations.hrm"))
    spans = [(e.onset_s, e.offset_s) for e in good.events]
    assert spans == [(0, 300), (300, 600), (600, 900)]  # the file's 00:05, 00:10, 00:15
    assert [(e.onset_s, e.offset_s) for e in bad.events] == spans
    assert "durations" in notes(bad)


def test_hrm_laps_as_durations_longer_than_the_recording_are_refused(tmp_path):
    text = case("hrm-laps-as-durations", "laps_as_durations.hrm").read_text().replace("00:05:00.0", "00:09:00.0")
    p = tmp_path / "laps.hrm"
    p.write_text(text)
    with pytest.raises(FormatError, match=r"laps\.hrm line 16: lap time 00:09:00\.0 .*neither"):
        formats.read(p)


# -- nan-rows -----------------------------------------------------------------------------------
def test_nan_rows_plain_list():
    path = case("nan-rows", "after_remove_outliers.txt")
    cells = path.read_text().split()
    values = [float(c) for c in cells if c.lower() != "nan"]
    rec = formats.read(path)
    assert rec.rr_ms.tolist() == values
    assert len(rec.gaps) == 2  # the leading run of two, and the one in the middle
    assert "3 rows" in notes(rec)


def test_nan_rows_first_line():
    rec = formats.read(case("nan-rows", "m27_nan_first_line.txt"))
    assert rec.rr_ms.tolist() == [812, 790, 805]
    assert len(rec.gaps) == 1 and rec.gaps["onset_s"].iloc[0] == 0.0


def test_nan_rows_blank_in_beat_table():
    path = case("nan-rows", "beats_with_blank_rr.csv")
    rows = [ln.split(",") for ln in path.read_text().splitlines()[1:]]
    good = [(float(t), float(r)) for t, r in rows if r.strip() and r.strip().lower() != "nan"]
    rec = formats.read(path)
    assert rec.rr_ms.tolist() == [r for _, r in good]
    np.testing.assert_allclose(rec.t_s + rec.meta["time_offset_s"], [t for t, _ in good])
    (gap,) = rec.gaps.itertuples()
    # from the last beat before the blanks to where the next usable interval begins
    assert gap.onset_s + rec.meta["time_offset_s"] == pytest.approx(39.894)
    assert gap.duration_s == pytest.approx(42.383 - 0.851 - 39.894)


# -- fit-hrv-dropout ----------------------------------------------------------------------------
def test_fit_hrv_dropout_is_a_gap_at_its_true_place():
    rec = formats.read(case("fit-hrv-dropout", "run_with_hrv_dropout.fit"))
    truth = np.loadtxt(case("fit-hrv-dropout", "truth_beat_t.txt"))
    kept = truth[truth[:, 2] == 0]
    assert rec.rr_ms.tolist() == pytest.approx(kept[:, 1].tolist())
    assert np.max(np.abs(rec.t_s - kept[:, 0])) < 1.0
    (gap,) = rec.gaps.itertuples()
    lost = truth[truth[:, 2] == 1]
    assert abs(gap.onset_s - (lost[0, 0] - lost[0, 1] / 1000)) < 1.0
    assert abs(gap.duration_s - lost[:, 1].sum() / 1000) < 1.0


def test_fit_hrv_dropout_diary_stressor_covers_the_right_beats():
    rec = load(case("fit-hrv-dropout", "run_with_hrv_dropout.fit"), events=case("fit-hrv-dropout", "diary.csv"))
    truth = np.loadtxt(case("fit-hrv-dropout", "truth_beat_t.txt"))
    (ev,) = rec.events
    assert ev.onset_s == pytest.approx(420.0) and ev.offset_s == pytest.approx(480.0)
    inside = (rec.t_s >= ev.onset_s) & (rec.t_s < ev.offset_s)
    true_inside = truth[(truth[:, 0] >= 420) & (truth[:, 0] < 480) & (truth[:, 2] == 0)]
    assert abs(int(inside.sum()) - len(true_inside)) <= 2
    assert np.median(rec.rr_ms[inside]) == pytest.approx(np.median(true_inside[:, 1]), abs=5)


# -- constant-rr and atrial-fibrillation: imported as written, then analysed ------------------
def test_constant_rr_imports_as_written():
    path = case("constant-rr", "paced_800ms.txt")
    rec = formats.read(path)
    assert rec.rr_ms.tolist() == [800.0] * 400 and len(rec.gaps) == 0


def test_constant_rr_gives_zero_power_and_undefined_ratios():
    rec = formats.read(case("constant-rr", "paced_800ms.txt"))
    win = calmtrace.windowed_hrv(rec, window_s=120, step_s=5)
    # README: LF = HF = 0, LF/HF and HF n.u. undefined (NaN, with the reason), a zero-variability warning
    assert (win["lf_ms2"] == 0).all() and (win["hf_ms2"] == 0).all()
    assert win["lf_hf"].isna().all() and win["hf_nu"].isna().all()
    hrv_meta = win.attrs["hrv"]
    assert "zero variability" in hrv_meta["notes"]["lf_hf"]
    assert any("zero variability" in w for w in hrv_meta["warnings"])


def test_atrial_fibrillation_is_flagged_irregular_not_autonomic():
    rec = formats.read(case("atrial-fibrillation", "af_cv50.txt"))
    res = calmtrace.analyze(rec)
    # README: flagged as irregular (not sinus), windows not presented as autonomic measures
    assert (res.windows["rhythm"] == "irregular").all()
    assert not res.windows["valid"].any()


def test_atrial_fibrillation_imports_as_written():
    path = case("atrial-fibrillation", "af_cv50.txt")
    rr = np.loadtxt(path)
    rec = formats.read(path)
    assert rec.rr_ms.tolist() == rr.tolist()
    assert rr.std() / rr.mean() == pytest.approx(0.14, abs=0.01)  # README: CV 0.14


# -- ecg-frame-timestamps -----------------------------------------------------------------------
def test_ecg_frame_timestamps_spread_at_the_nominal_rate():
    rec = formats.read(case("ecg-frame-timestamps", "ecglogger_frame_stamps.csv"))
    truth = np.loadtxt(case("ecg-frame-timestamps", "truth_rr.txt"))
    # the first true interval ends at the first beat, which opens the detected series
    assert len(rec.rr_ms) == len(truth) - 1
    assert np.max(np.abs(rec.rr_ms - truth[1:])) <= 1000 / 130 + 0.5  # one sample at 130 Hz
    assert "frame" in notes(rec)


# -- the two from a new user --------------------------------------------------------------------
def test_heart_rates_are_never_read_as_intervals(tmp_path):
    p = tmp_path / "hr.txt"
    p.write_text("\n".join(str(v) for v in [72, 71, 73, 74, 72, 70, 69, 71]) + "\n")
    with pytest.raises(FormatError, match="heart rates"):
        formats.read(p)


def test_first_value_offset_in_seconds_is_a_gap(tmp_path):
    rng = np.random.default_rng(3)
    rr_s = np.round(0.8 + 0.05 * rng.standard_normal(500), 3)
    p = tmp_path / "nsr001_rr_secs.txt"
    p.write_text("225.8\n" + "\n".join(f"{v:.3f}" for v in rr_s) + "\n")
    rec = formats.read(p)
    np.testing.assert_allclose(rec.rr_ms, rr_s * 1000.0)
    (gap,) = rec.gaps.itertuples()
    assert gap.onset_s == 0.0 and gap.duration_s == pytest.approx(225.8)
    np.testing.assert_allclose(rec.t_s, 225.8 + np.cumsum(rr_s))
    assert "longer than" in notes(rec)


def test_start_set_by_option_for_a_plain_list(tmp_path):
    p = tmp_path / "rr.txt"
    p.write_text("800\n810\n820\n")
    rec = formats.read(p, options=ImportOptions(start=datetime(2024, 5, 1, 9, 30)
                                                .replace(tzinfo=timezone(timedelta(hours=2)))))
    assert rec.start == datetime(2024, 5, 1, 7, 30, tzinfo=timezone.utc)
    assert "start_unknown" not in rec.meta and rec.meta["utc_offset"] == "+02:00"
