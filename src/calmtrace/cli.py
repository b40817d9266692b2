"""The ``calmtrace`` command line: the only place that prints to the terminal or exits.

Every command explains itself with ``--help`` and an example. Bad input of any kind ends with one
line on stderr naming the file, the place and the problem, and exit status 2; never a traceback.
"""

from __future__ import annotations

import logging
import math
import sys
from pathlib import Path
from typing import Any

import click

from ._version import __version__
from .errors import CalmtraceError, InputError

log = logging.getLogger("calmtrace")

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1


class _LazyHelpOption(click.Option):
    """An option whose help text is built when help is shown (e.g. from a registry that is slow to
    import), so that listing valid names does not slow every command down."""

    def __init__(self, *args: Any, help_fn: Any = None, **kwargs: Any) -> None:
        self._help_fn = help_fn
        super().__init__(*args, **kwargs)

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        if self._help_fn is not None:
            self.help = self._help_fn()
        return super().get_help_record(ctx)


def _config_help(tail: str) -> str:
    """--config's help: the tables an analysis config file may hold (calmtrace.analysis.CONFIG_SECTIONS)."""
    from .analysis import CONFIG_SECTIONS
    tables = ", ".join(f"[{name}]" for name in CONFIG_SECTIONS)
    return f"A TOML file with any of {tables}; {tail}"


def _format_names_help() -> str:
    from .formats import REGISTRY

    return f"Format of REC when it is a file: one of {', '.join(REGISTRY)} (default: sniffed)."


def _scenario_help(what: str) -> str:
    from .signals.protocol import SCENARIOS

    return f"{what} a simulated session: one of {', '.join(SCENARIOS)}."


def _fail(message: str, status: int = EXIT_BAD_INPUT) -> None:
    from .errors import shorten

    click.echo(f"calmtrace: error: {shorten(str(message))}", err=True)
    sys.exit(status)


def _check_out_free(out: Path, force: bool) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise InputError(f"{out}: already exists; choose another --out or add --force to replace it")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="calmtrace")
@click.option("-v", "--verbose", count=True, help="Log more (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """calmtrace: stress-recovery physiology from Bluetooth heart-rate straps.

    \b
    Capture beats from a strap, import other tools' recordings, and measure
    autonomic balance and how fast a person returns to baseline after a stressor.

    \b
    Try it without a strap:
      calmtrace simulate tsst --out my-tsst             # a simulated stress test
      calmtrace analyze my-tsst --out my-tsst-results   # open my-tsst-results/report.html
      calmtrace capture --simulate tsst --speed 10      # live capture from a virtual strap

    \b
    With a strap: calmtrace scan, then calmtrace capture --device NAME.
    Every command explains itself: calmtrace COMMAND --help.
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="calmtrace: %(levelname)s: %(message)s", stream=sys.stderr)


# -------------------------------------------------------------------------------------------
# import
# -------------------------------------------------------------------------------------------
def _format_help() -> str:
    from .formats import REGISTRY

    return "; ".join(f"{f.name}: {f.description}" for f in REGISTRY.values())


@cli.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path),
              help="Recording folder to write (must not exist unless --force).")
@click.option("--format", "-f", "fmt", default=None, metavar="NAME",
              help="Force a format instead of sniffing it (see the list above).")
@click.option("--events", "events_file", default=None, type=click.Path(path_type=Path),
              help="An events file (CSV or JSON) to add to the recording.")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@click.option("--unit", type=click.Choice(["ms", "s", "us"]), default=None,
              help="Unit of the RR values (text formats); overrides the median rule.")
@click.option("--columns", default=None, metavar="ROLES",
              help="Meaning of each column, comma-separated: rr, time (beat time), arrival, hr or - "
                   "(text formats), e.g. time,rr.")
@click.option("--time-unit", type=click.Choice(["s", "ms", "us", "ns"]), default=None,
              help="Unit of a relative time column (text formats).")
@click.option("--fs", "fs_hz", type=click.FloatRange(min=1.0), default=None,
              help="ECG sampling rate in Hz, for ECG tables that state none.")
@click.option("--start", "start", default=None, metavar="ISO",
              help="Start of the recording, e.g. 2024-05-01T09:30:00+02:00 (or without offset, with --timezone).")
@click.option("--timezone", default=None, metavar="ZONE",
              help="Zone of the file's local clock times, e.g. Europe/Berlin or +02:00.")
def import_cmd(file: Path, out: Path, fmt: str | None, events_file: Path | None, force: bool,
               unit: str | None = None, columns: str | None = None, time_unit: str | None = None,
               fs_hz: float | None = None, start: str | None = None, timezone: str | None = None) -> None:
    """Import FILE from another tool into a calmtrace recording folder.

    \b
    The format is sniffed from the file's name and content unless --format
    names it. Supported formats:
      polar-sensor-logger  Polar Sensor Logger HR/RR/PPI/ECG/MARKER (.txt, ';')
      hrm                  Polar .hrm ([Params], [IntTimes] laps, [HRData] RR)
      rr-text              one RR interval per line (Elite HRV, Kubios, apps)
      hrv-logger           HRV Logger CSV
      beat-table           beat-time tables (VU-AMS export and similar)
      fit                  Garmin FIT (hrv messages, hr beat timestamps)
      polar-ecg            Polar H10 ECG CSV (ECGLogger, Polar Sensor Logger)
      wfdb                 PhysioNet WFDB records (.hea + .dat, or .hea + .atr beats)
      edf                  EDF/EDF+/BDF ECG
      ecg-csv              generic ECG CSV with a sampling rate

    \b
    What each column means, its unit and the clock are decided from evidence
    and written as import notes (calmtrace info shows them); --unit, --columns,
    --time-unit, --fs, --start and --timezone override them. See docs/formats.md.

    \b
    Example:
      calmtrace import Polar_H10_RR.txt --out sessions/2024-05-01
      calmtrace import walk.fit --out walk --events diary.csv
      calmtrace import rr.txt --out s1 --unit s --start 2024-05-01T09:30:00+02:00
    """
    from .formats import ImportOptions
    from .formats._clock import parse_start
    from .formats._evidence import parse_columns
    from .loader import load
    from .store import save

    _check_out_free(out, force)
    opts = None
    if any(v is not None for v in (unit, columns, time_unit, fs_hz, start, timezone)):
        opts = ImportOptions(unit=unit, columns=parse_columns(columns) if columns else None, time_unit=time_unit,
                             fs_hz=fs_hz, start=parse_start(start) if start else None, timezone=timezone)
    rec = load(file, format=fmt, events=events_file, options=opts)
    save(rec, out, force=force)
    click.echo(f"imported {file} as {rec.meta.get('source_format')}: {len(rec.beats)} beats, "
               f"{len(rec.gaps)} gaps, {rec.duration_s / 60:.1f} min, {len(rec.events)} events -> {out}")
    for note in rec.meta.get("import_notes") or []:
        click.echo(f"  note: {note}")


def _start_options(start: str | None, timezone: str | None) -> Any:
    """``--start``/``--timezone`` of analyze and day as import reads them (None when neither is given)."""
    if start is None and timezone is None:
        return None
    from .formats import ImportOptions
    from .formats._clock import parse_start

    return ImportOptions(start=parse_start(start) if start else None, timezone=timezone)


# -------------------------------------------------------------------------------------------
# simulate
# -------------------------------------------------------------------------------------------
@cli.command("simulate")
@click.argument("scenario")
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path),
              help="Recording folder to write (must not exist unless --force).")
@click.option("--seed", default=1, show_default=True, type=int, help="Random seed; the same seed gives the same beats.")
@click.option("--tau", "tau_s", default=None, type=float,
              help="Recovery time constant in s (default: the scenario's own).")
@click.option("--artifacts", "artifact_pct", default=0.0, show_default=True, type=float,
              help="Percent of beats made ectopic, missed or extra.")
@click.option("--gaps", "n_gaps", default=0, show_default=True, type=int,
              help="Number of disconnect gaps to cut into the recording.")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@click.option("--days", "n_days", default=1, show_default=True, type=click.IntRange(1, 14),
              help="With the day scenario: number of 24-h days.")
@click.option("--no-acc", "no_acc", is_flag=True, help="With the day scenario: leave out the accelerometer (acc.csv).")
@click.option("--start", "start", default=None, metavar="ISO",
              help="Start date and time with its offset, e.g. 2026-03-02T07:00:00+01:00 (default: the "
                   "scenario's fixed start), so that simulated sessions fall on different days of a trend.")
def simulate_cmd(scenario: str, out: Path, seed: int, tau_s: float | None, artifact_pct: float,
                 n_gaps: int, force: bool, n_days: int = 1, no_acc: bool = False, start: str | None = None) -> None:
    """Write a simulated session (marked simulated) to a recording folder.

    \b
    Scenarios:
      tsst       5 min baseline, speech and arithmetic stressors, 15 min recovery
      breathing  a stressor then paced breathing at 6/min, then a stressor without
      exercise   rest, effort, heart-rate recovery
      rest       one baseline segment (1 h; for long-run tests)
      day        whole days (--days N) of desk work, stressors, meals, exercise and
                 sleep, with the chest accelerometer in acc.csv (--no-acc: without)
    The true parameters (tau, amplitudes) are in recording.json's meta.

    \b
    Example:
      calmtrace simulate tsst --out tsst-1 --seed 1 --tau 60
      calmtrace simulate day --days 2 --out day-1
      calmtrace simulate day --start 2026-03-04T07:00:00+00:00 --seed 2 --out day-2
    """
    _check_out_free(out, force)
    t0 = None
    if start is not None:
        from .formats._clock import parse_start

        t0 = parse_start(start)
        if t0.utcoffset() is None:
            raise InputError(f"--start {start}: give the offset too, e.g. {start}+00:00")
    if scenario == "day":
        _simulate_day(out, seed, tau_s, artifact_pct, n_gaps, force, n_days, no_acc, t0)
        return
    if n_days != 1 or no_acc:
        raise InputError("--days and --no-acc apply only to the day scenario")
    from .signals.simulate import simulate
    from .store import save

    rec = simulate(scenario, seed=seed, tau_s=tau_s, artifact_pct=artifact_pct, n_gaps=n_gaps, start=t0)
    save(rec, out, force=force)
    click.echo(f"simulated {scenario} (seed {seed}): {len(rec.beats)} beats, {rec.duration_s / 60:.1f} min -> {out}")


def _simulate_day(out: Path, seed: int, tau_s: float | None, artifact_pct: float, n_gaps: int, force: bool,
                  n_days: int, no_acc: bool, start: Any = None) -> None:
    """``simulate day``: the day simulator's recording folder and, unless --no-acc, its acc.csv."""
    if tau_s is not None or n_gaps:
        raise InputError("--tau and --gaps do not apply to the day scenario")
    from .signals.day_sim import simulate_day
    from .store import ACC_FILE, save

    sim = simulate_day(n_days=n_days, seed=seed, artifact_pct=artifact_pct, with_acc=not no_acc, start=start)
    rec = sim.recording
    rec = rec.replace(meta={**rec.meta, "simulated": True})
    save(rec, out, force=force)
    name, cols = ACC_FILE
    if not no_acc:
        tmp = out / (name + ".part")
        acc = sim.acc[cols].copy()
        acc.to_csv(tmp, index=False, float_format="%.3f")
        tmp.replace(out / name)
    acc_text = "no accelerometer" if no_acc else f"{len(sim.acc)} acceleration samples in {name}"
    click.echo(f"simulated day (seed {seed}, {n_days} day{'s' if n_days != 1 else ''}): {len(rec.beats)} beats, "
               f"{rec.duration_s / 3600:.1f} h, {acc_text} -> {out}")


# -------------------------------------------------------------------------------------------
# events
# -------------------------------------------------------------------------------------------
@cli.group("events")
def events_group() -> None:
    """Add events to a recording folder."""


@events_group.command("add")
@click.argument("rec", type=click.Path(path_type=Path))
@click.option("--label", "-l", required=True, help="Text shown in reports, e.g. 'speech'.")
@click.option("--kind", "-k", required=True,
              type=click.Choice(["baseline", "stressor", "recovery", "intervention", "note"]),
              help="What the event is; recovery is measured after stressors.")
@click.option("--onset", "-t", required=True,
              help="Seconds since start (300), a clock time (14:05, in the recording's UTC offset) "
                   "or an ISO datetime with offset.")
@click.option("--duration", "-d", "duration_s", default=0.0, show_default=True, type=float,
              help="Duration in seconds; 0 for a moment.")
@click.option("--rating", default=None, type=float, help="Optional 0-10 stress or mood rating.")
def events_add(rec: Path, label: str, kind: str, onset: str, duration_s: float, rating: float | None) -> None:
    """Add one event to the recording folder REC.

    \b
    Example:
      calmtrace events add sessions/s1 --label speech --kind stressor --onset 300 --duration 300
      calmtrace events add sessions/s1 --label argument --kind stressor --onset 14:05
    """
    from .events import Event, parse_time
    from .store import load_folder, save

    r = load_folder(rec)
    onset_s = parse_time(onset, r.start, r.meta.get("utc_offset"), context="--onset")
    ev = Event(onset_s, float(duration_s), label, kind, math.nan if rating is None else rating)
    new = r.with_events(r.events.add(ev))
    save(new, rec, force=True)
    click.echo(f"added {kind} {label!r} at {onset_s:.1f} s ({duration_s:g} s) to {rec}")


# -------------------------------------------------------------------------------------------
# info
# -------------------------------------------------------------------------------------------
@cli.command("info")
@click.argument("rec", type=click.Path(path_type=Path))
@click.option("--format", "-f", "fmt", default=None, metavar="NAME", cls=_LazyHelpOption, help_fn=_format_names_help)
@click.option("--config", "config_file", default=None, type=click.Path(path_type=Path),
              help="A TOML analysis config; its [quality] section sets the verdict's thresholds.")
def info_cmd(rec: Path, fmt: str | None, config_file: Path | None) -> None:
    """Describe a recording: duration, beats, gaps, events, artefact share, quality verdict.

    REC is a recording folder or any importable file.

    \b
    Example:
      calmtrace info recordings/sample/tsst
    """
    from .analysis import load_config
    from .loader import load

    cfg = load_config(config_file) if config_file else None
    r = load(rec, format=fmt)
    click.echo(_describe(r, str(rec), cfg))


def _describe(r: Any, name: str, config: Any = None) -> str:
    import logging
    from datetime import timedelta

    from .analysis import analyze

    def line(key: str, text: str) -> str:
        return f"  {key:<12} {text}"

    lines = [f"{name}"]
    src = r.meta.get("source_format") or ("simulated" if r.meta.get("simulated") else "capture")
    lines.append(line("source", f"{src}{' (SIMULATED)' if r.meta.get('simulated') else ''}"))
    if r.meta.get("replay"):
        lines.append(line("replay of", f"{r.meta.get('replay_of')} at {r.meta.get('virtual_strap_speed')}x"))
    if r.meta.get("start_unknown"):
        lines.append(line("start", "unknown (the file has no date or time; set it with import --start)"))
    else:
        lines.append(line("start", f"{r.start.isoformat()}"
                          + (f" (local {r.meta['utc_offset']})" if r.meta.get("utc_offset") else "")
                          + (f"; clock: {r.meta['clock']}" if r.meta.get("clock") else "")))
    lines.append(line("duration", f"{timedelta(seconds=round(r.duration_s))} ({r.duration_s:.1f} s)"))
    n = len(r.beats)
    beats_at = len(lines)
    if not n:
        lines.append(line("beats", "0 (heart-rate samples only)" if len(r.hr) else "0"))
    # the analysis logs its warnings; here they are listed once, in the body
    lib_log = logging.getLogger("calmtrace")
    level = lib_log.level
    lib_log.setLevel(logging.ERROR)
    try:
        res = analyze(r, config)
        c, q = res.recording, res.quality
        if n:
            # mean RR and mean HR as `calmtrace hrv` gives them: the same function, on the same
            # cleaned, usable beats (signals/segment.py; the metrics registry names the definition)
            from .signals import metrics
            from .signals.segment import whole_recording_rate

            n_use, mean_rr, mean_hr = whole_recording_rate(c, res.config.hrv)
            lines.insert(beats_at, line("beats", f"{n} recorded, {len(c.beats)} after cleaning (mean RR "
                                                 f"{metrics.format_value('mean_rr_ms', mean_rr)}, "
                                                 f"mean HR {metrics.format_value('mean_hr_bpm', mean_hr)} "
                                                 f"over the {n_use} usable beats after cleaning)"))
        flagged = int((c.flags != "ok").sum())
        lines.append(line("artefacts", f"{flagged} beats ({q.artifact_pct:.1f}%) flagged by cleaning"))
        lines.append(line("quality", q.verdict))
        from .signals.rhythm import rhythm_lines

        rhythm = rhythm_lines(r, c)
        lines.append(line("rhythm", rhythm[0]))
        warnings = list((c.meta.get("cleaning") or {}).get("warnings") or []) + rhythm[1:]
        for warning in dict.fromkeys(warnings):
            lines.append(line("warning", warning))
    except CalmtraceError as exc:
        if n:
            lines.insert(beats_at, line("beats", f"{n} (mean RR and mean HR not computed: {exc})"))
        lines.append(line("artefacts", f"not assessed: {exc}"))
        lines.append(line("quality", f"not assessed: {exc}"))
    finally:
        lib_log.setLevel(level)
    gap_total = float(r.gaps["duration_s"].sum()) if len(r.gaps) else 0.0
    lines.append(line("gaps", f"{len(r.gaps)} ({gap_total:.1f} s)"))
    if len(r.hr):
        lines.append(line("hr samples", f"{len(r.hr)}"))
    if r.ecg is not None:
        lines.append(line("ecg", f"{len(r.ecg)} samples"))
    acc_stats = _acc_line(Path(name), r.meta)
    if acc_stats:
        lines.append(line("acc", acc_stats))
    lines.append(line("events", f"{len(r.events)}"))
    for ev in r.events:
        lines.append(f"    {ev.onset_s:9.1f} s  {ev.duration_s:7.1f} s  {ev.kind:<12} {ev.label}")
    for key in ("device_name", "model", "subject", "source_file"):
        if r.meta.get(key):
            lines.append(line(key, f"{r.meta[key]}"))
    for change in r.meta.get("clock_changes") or []:
        lines.append(line("clock", f"changed {float(change['step_s']):+.0f} s at {float(change['t_s']):.1f} s "
                                   f"({change.get('clock_before')} -> {change.get('clock_after')})"))
    for note in r.meta.get("import_notes") or []:
        lines.append(line("import", note))
    return "\n".join(lines)


def _acc_line(folder: Path, meta: dict) -> str | None:
    """The ``acc`` line of ``info`` for a folder with an acc.csv (None without one)."""
    from .store import acc_file_stats

    stats = acc_file_stats(folder) if folder.is_dir() else None
    if stats is None:
        return None
    n = int(stats["n_samples"])
    text = f"acc.csv: {n} samples"
    if meta.get("acc_fs_hz"):
        text += f" at {meta['acc_fs_hz']} Hz" + (f", range {meta['acc_range_g']} g" if meta.get("acc_range_g") else "")
    elif n > 1 and stats["last_t_s"] > stats["first_t_s"]:
        text += f" at about {(n - 1) / (stats['last_t_s'] - stats['first_t_s']):.3g} Hz"
    if n:
        text += f", {stats['first_t_s']:.1f}-{stats['last_t_s']:.1f} s"
    return text


# -------------------------------------------------------------------------------------------
# scan and capture
# -------------------------------------------------------------------------------------------
_MARK_KEYS = {"b": "baseline", "s": "stressor", "r": "recovery", "i": "intervention", "n": "note"}


def _scenario_movement(rec: Any, fs_hz: int, seed: int) -> list[tuple[int, int, int]]:
    """Chest acceleration (x, y, z mg at ``fs_hz``, sample k at strap time k / fs_hz) for a simulated
    session: seated throughout, fidgeting at a desk during stressors, running during the exercise
    scenario's effort (the movement model of :func:`calmtrace.signals.day_sim.simulate_acc`)."""
    import pandas as pd

    from .signals.day_sim import simulate_acc

    shift = float(rec.t_s[0] - rec.rr_ms[0] / 1000.0)       # strap time 0 on the recording's clock
    total = float(rec.duration_s) + 10.0
    rows, t = [], 0.0
    for ev in sorted(rec.events, key=lambda e: e.onset_s):
        onset, end = max(ev.onset_s - shift, t), min(ev.offset_s - shift, total)
        if end <= onset:
            continue
        if onset > t:
            rows.append((t, onset - t, "sit"))
        move = "desk" if ev.kind == "stressor" else "sit"
        if ev.kind == "stressor" and rec.meta.get("scenario") == "exercise":
            move = "run"
        rows.append((onset, end - onset, move))
        t = end
    if t < total:
        rows.append((t, total - t, "sit"))
    blocks = pd.DataFrame(rows, columns=["onset_s", "duration_s", "movement"])
    acc = simulate_acc(blocks, total, float(fs_hz), seed)
    return list(zip(acc["x_mg"].tolist(), acc["y_mg"].tolist(), acc["z_mg"].tolist()))


async def _virtual_straps(scenario: str, names: list[str], speed: float, seed: int, acc_fs_hz: int | None = None):
    """Start one virtual strap per name, beating the simulator's RR (and, with ``acc_fs_hz``, moving
    as the scenario has it); returns (radio, straps, rec)."""
    from .devices.virtual import VirtualRadio, VirtualStrap
    from .signals.simulate import ecg_from_beats, simulate

    radio = VirtualRadio()
    straps = []
    rec = None
    for k, name in enumerate(names):
        rec_k = simulate(scenario, seed=seed + k)
        rec = rec or rec_k
        # the strap's heart starts with the recording's first RR interval, at t = 0
        ecg = ecg_from_beats(rec_k.t_s - rec_k.t_s[0] + rec_k.rr_ms[0] / 1000.0)
        movement = _scenario_movement(rec_k, acc_fs_hz, seed + k) if acc_fs_hz else None
        strap = VirtualStrap(radio, rec_k.rr_ms.tolist(), ecg_uv=ecg.tolist(), acc_mg=movement, speed=speed,
                             name=name[:22], address=f"C0:CA:17:0A:1B:{0x2C + k:02X}")
        await strap.start()
        straps.append(strap)
    return radio, straps, rec


@cli.command("scan")
@click.option("--timeout", "timeout_s", default=5.0, show_default=True, type=click.FloatRange(min=0.5),
              help="How long to listen, in seconds.")
@click.option("--simulate", "scenario", default=None, metavar="SCENARIO", cls=_LazyHelpOption,
              help_fn=lambda: _scenario_help("Scan a virtual strap (no hardware needed) beating"))
def scan_cmd(timeout_s: float, scenario: str | None) -> None:
    """List nearby straps advertising the Heart Rate Service, strongest first.

    \b
    Example:
      calmtrace scan
      calmtrace scan --simulate tsst
    """
    import asyncio

    from .devices.ble import scan

    async def go():
        if scenario:
            radio, _straps, _rec = await _virtual_straps(scenario, ["Polar H10 0A1B2C3D"], 1.0, 1)
            try:
                return await scan(timeout_s, backend=radio)
            finally:
                await radio.close()
        return await scan(timeout_s)

    found = asyncio.run(go())
    if not found:
        click.echo("no heart-rate strap found (is it worn? straps advertise only with skin contact)")
        return
    click.echo(f"{'name':<26} {'address':<20} rssi")
    for f in found:
        click.echo(f"{(f.name or '?'):<26} {f.address:<20} {f.rssi} dBm")


@cli.command("capture")
@click.option("--device", "-d", "devices", multiple=True, metavar="NAME_OR_ADDRESS",
              help="Strap to capture (repeat for several straps on one clock).")
@click.option("--out", "-o", default=None, type=click.Path(path_type=Path),
              help="Recording folder (default: capture-<date>-<time>).")
@click.option("--subject", default=None, help="Subject id written into the recording (never the strap's address).")
@click.option("--duration", "duration_s", default=None, type=click.FloatRange(min=1), help="Stop after this many seconds.")
@click.option("--no-live", is_flag=True, help="No live view (headless runs); stop with Ctrl-C or --duration.")
@click.option("--ecg", is_flag=True, help="Also stream ECG (Polar H10) into ecg.csv.")
@click.option("--simulate", "scenario", default=None, metavar="SCENARIO", cls=_LazyHelpOption,
              help_fn=lambda: _scenario_help("Capture from a virtual strap beating"))
@click.option("--speed", default=1.0, show_default=True, type=click.FloatRange(min=0.1, max=100),
              help="With --simulate or --replay: run the virtual strap this many times faster than real time.")
@click.option("--replay", "replay_file", default=None, type=click.Path(path_type=Path),
              help="Stream a recording (folder or any importable file) through a virtual strap, with its events.")
@click.option("--replay-events", "replay_events", default=None, type=click.Path(path_type=Path),
              help="With --replay: an events file (CSV or JSON) for the replayed recording.")
@click.option("--replay-format", "replay_format", default=None, metavar="NAME",
              help="With --replay: the format of FILE (default: sniffed).")
@click.option("--pacer", "pacer_spec", default=None, metavar="RATE[,IN:EX]",
              help="Show a breathing pacer (breaths/min, optional inhale:exhale ratio, e.g. 6 or 5.5,1:1.5) "
                   "and log it as an intervention event.")
@click.option("--serve", "serve_port", default=None, is_flag=False, flag_value=8765, type=click.IntRange(0, 65535),
              metavar="[PORT]", help="Serve the live page on http://127.0.0.1:PORT/ (default port 8765).")
@click.option("--serve-host", default="127.0.0.1", show_default=True, metavar="ADDRESS",
              help="With --serve: listen on another address (needs --token).")
@click.option("--token", default=None, metavar="TOKEN", help="With --serve-host: access token the page's address must carry.")
@click.option("--history", "history", multiple=True, type=click.Path(path_type=Path), metavar="FOLDER",
              help="An earlier capture of the same person (repeat): the forecast says whether recovery is on course.")
@click.option("--no-script", "no_script", is_flag=True,
              help="With --simulate: write only your marks, not the scenario's scripted events (by default both "
                   "are written; the analysis then reports overlapping or duplicate stressors).")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@click.option("--acc", is_flag=True, help="Also stream the accelerometer (Polar H10) into acc.csv, for `calmtrace day`.")
@click.option("--acc-hz", "acc_hz", default=None, type=click.Choice(["25", "50", "100", "200"]),
              help="With --acc: sample rate in Hz (default 25).")
@click.option("--acc-range", "acc_range", default=None, type=click.Choice(["2", "4", "8"]),
              help="With --acc: range in g (default 8).")
def capture_cmd(devices: tuple[str, ...], out: Path | None, subject: str | None, duration_s: float | None,
                no_live: bool, ecg: bool, scenario: str | None, speed: float, force: bool,
                replay_file: Path | None = None, replay_events: Path | None = None,
                replay_format: str | None = None, pacer_spec: str | None = None, serve_port: int | None = None,
                serve_host: str = "127.0.0.1", token: str | None = None, history: tuple[Path, ...] = (),
                no_script: bool = False, acc: bool = False, acc_hz: str | None = None,
                acc_range: str | None = None) -> None:
    """Capture beats from a strap into a recording folder, live.

    Every notification is written to disk as it arrives; a capture killed at any
    moment leaves a folder that reads back. The strap is reconnected by itself
    after a drop or a stall, and the gap is recorded.

    \b
    Keys in the live view (press once to start an interval, again to end it):
      b baseline   s stressor   r recovery   i intervention   n note (a moment)
      q finish (Ctrl-C finishes cleanly too)

    \b
    Example:
      calmtrace capture --device "Polar H10 0A1B2C3D" --subject p01 --out s1
      calmtrace capture --simulate tsst --speed 10 --duration 600 --out demo
      calmtrace capture -d "Polar H10 A" -d "Polar H10 B" --out couple-1
      calmtrace capture --replay session.txt --replay-events events.csv --speed 20 --out replay-1
      calmtrace capture --simulate tsst --pacer 6,1:1.5 --serve
      calmtrace capture --simulate exercise --speed 10 --acc --out moving

    With --acc a Polar strap also streams its accelerometer into acc.csv (on the
    beats' clock), which `calmtrace day` uses to tell movement from stress; a strap
    without one is warned of once and its beats are captured all the same.

    After a stressor ends, the recovery forecast (t50 and time to baseline, with an
    80 % band) is shown from 60 s of recovery on and written to forecast.csv in the
    recording folder.
    """
    import asyncio
    import signal

    from .capture import Capture, capture_many

    replay = _replay_plan(replay_file, replay_events, replay_format, speed, scenario, devices)
    if not devices and not scenario and replay is None:
        raise InputError("name a strap with --device (see `calmtrace scan`) or try one with --simulate tsst")
    if speed != 1.0 and not scenario and replay is None:
        raise InputError("--speed applies only to --simulate and --replay")
    if (acc_hz or acc_range) and not acc:
        raise InputError("--acc-hz and --acc-range apply only to --acc")
    if acc and replay is not None:
        raise InputError("--acc works with a strap or --simulate; a replay has no movement to stream")
    acc_fs_hz, acc_range_g = int(acc_hz or 25), int(acc_range or 8)
    if out is None:
        from datetime import datetime

        out = Path(datetime.now().strftime("capture-%Y%m%d-%H%M%S"))
    _check_out_free(out, force)
    live = not no_live and sys.stdout.isatty()
    pacer = _live_options(pacer_spec, serve_port, serve_host, token, devices)
    if history and len(devices) > 1:
        raise InputError("--history works with one strap at a time")
    from .live.history import earlier_t50_s

    history_t50 = earlier_t50_s(history)

    async def go() -> list[Path]:
        duration = duration_s
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        radio = None
        names = list(devices) or ["Polar H10 0A1B2C3D"]
        kwargs: dict[str, Any] = {"subject": subject, "ecg": ecg, "force": force}
        if acc:
            kwargs.update(acc=True, acc_fs_hz=acc_fs_hz, acc_range_g=acc_range_g)
        if scenario:
            radio, straps, rec = await _virtual_straps(scenario, names, speed, 1, acc_fs_hz if acc else None)
            t0 = loop.time()
            kwargs.update(backend=radio, clock=lambda: (loop.time() - t0) * speed,
                          scripted_events=[] if no_script else list(rec.events),
                          meta={"simulated": True, "scenario": scenario, "virtual_strap_speed": speed})
            # the scenario's heart stops at its end: so does the capture (a few strap seconds
            # later, for the last notification), unless --duration ends it sooner
            run_s = rec.duration_s + 3.0
            duration = run_s if duration is None else min(duration, run_s)
        if replay is not None:
            radio, run_s = await _start_replay(replay, speed, names[0], kwargs)
            duration = run_s if duration is None else min(duration, run_s)
        try:
            if len(names) == 1:
                cap = Capture(names[0], out, **kwargs)
                stop_task = asyncio.ensure_future(stop.wait())
                stop_task.add_done_callback(lambda _t: cap.stop())
                session, server = await _start_live(cap, pacer, kwargs, serve_port, serve_host, token, speed,
                                                    history_t50)
                try:
                    with _LiveView(enabled=live, on_key=lambda k, label=None: _on_key(cap, k, stop, session, label),
                                   session=session, simulated=bool(scenario)) as view:
                        await cap.run(duration, on_update=lambda f: (session.start(), view.update(names[0], f)))
                finally:
                    session.close()
                    if server is not None:
                        await server.close()
                stop_task.cancel()
                return [out]
            with _LiveView(enabled=live, on_key=lambda k: (stop.set(), "q: finishing")[1] if k == "q"
                           else f"{k!r}: with several straps only q (finish) is a key", simulated=bool(scenario)) as view:
                return await capture_many(names, out, duration_s=duration, stop=stop,
                                          on_update=view.update, **kwargs)
        finally:
            if radio is not None:
                await radio.close()

    folders = asyncio.run(go())
    from .store import load_folder

    for f in folders:
        r = load_folder(f)
        click.echo(f"captured {len(r.beats)} beats, {len(r.gaps)} gaps, {len(r.events)} events, "
                   f"{r.duration_s:.0f} s -> {f}")


def _replay_plan(replay_file: Path | None, replay_events: Path | None, replay_format: str | None, speed: float,
                 scenario: str | None, devices: tuple[str, ...]) -> Any:
    """The replay of ``capture --replay`` (None without it); checks the options that go with it."""
    if replay_file is None:
        if replay_events is not None or replay_format is not None:
            raise InputError("--replay-events and --replay-format apply only to --replay")
        return None
    if scenario:
        raise InputError("--replay and --simulate cannot be combined; choose one virtual strap")
    if len(devices) > 1:
        raise InputError("--replay streams one recording through one virtual strap; name at most one --device")
    from .live.replay import plan_replay
    from .loader import load

    return plan_replay(load(replay_file, format=replay_format, events=replay_events), replay_file, speed)


async def _start_replay(plan: Any, speed: float, name: str, kwargs: dict[str, Any]) -> tuple[Any, float]:
    """Start the replay's virtual strap; sets the capture's arguments; returns (radio, run length in s)."""
    from .devices.virtual import VirtualRadio
    from .live.replay import start_replay_strap

    radio = VirtualRadio()
    strap = await start_replay_strap(radio, plan, speed, name=name)
    # the capture runs on the strap's clock, so the replay's times are the recording's
    kwargs.update(backend=radio, clock=strap.now_s, scripted_events=plan.events,
                  meta=plan.meta, start=plan.source.start)
    return radio, plan.duration_s


def _live_options(pacer_spec: str | None, serve_port: int | None, serve_host: str, token: str | None,
                  devices: tuple[str, ...]) -> Any:
    """Check --pacer / --serve / --serve-host / --token; returns the pacer (or None)."""
    from .live.server import _is_loopback

    if (pacer_spec or serve_port is not None) and len(devices) > 1:
        raise InputError("--pacer and --serve work with one strap at a time")
    if serve_port is None and (serve_host != "127.0.0.1" or token):
        raise InputError("--serve-host and --token apply only to --serve")
    if serve_port is not None and not _is_loopback(serve_host) and not token:
        raise InputError(f"--serve-host {serve_host}: serving beyond this computer needs an access token (--token)")
    if pacer_spec is None:
        return None
    from .live.pacer import parse_pacer

    return parse_pacer(pacer_spec)


async def _start_live(cap: Any, pacer: Any, kwargs: dict[str, Any], serve_port: int | None, serve_host: str,
                      token: str | None, speed: float, history_t50: list[float] = ()) -> tuple[Any, Any]:
    """The live session of a capture (pacer, forecast) and, with --serve, its page server."""
    from .live.session import LiveSession

    session = LiveSession(cap, pacer=pacer, known_events=kwargs.get("scripted_events") or (),
                          speed=speed if kwargs.get("backend") is not None else 1.0, history_t50_s=history_t50)
    server = None
    if serve_port is not None:
        from .live.server import LiveServer

        server = LiveServer(session, serve_host, serve_port, token)
        try:
            await server.start()
        except OSError as exc:
            raise InputError(f"--serve {serve_port}: cannot listen on {serve_host}:{serve_port} ({exc.strerror})") from exc
        click.echo(f"live page: {server.url}", err=True)
    return session, server


def _clock_s(t_s: float) -> str:
    from datetime import timedelta

    return str(timedelta(seconds=int(max(t_s, 0.0))))


def _on_key(cap: Any, key: str, stop: Any, session: Any = None, label: str | None = None) -> str:
    """Act on one key of the live view; returns the confirmation the view shows."""
    if key == "q":
        stop.set()
        return "q: finishing - the open marks are closed and the recording is written"
    if key == "p" and session is not None:
        session.toggle_pacer()
        on = bool((session.snapshot() or {}).get("pacer"))
        return f"p: pacer {'started' if on else 'stopped'}"
    if key in _MARK_KEYS:
        kind = _MARK_KEYS[key]
        ev = cap.mark(kind, label=label)
        if ev is None and kind in getattr(cap, "_open", {}):
            return f"{key}: {kind} opened at {_clock_s(cap.now_s())} (press {key} again to close it)"
        if ev is None:
            return f"{key}: {kind} not written (see the log)"
        span = f"{_clock_s(ev.onset_s)}-{_clock_s(ev.offset_s)}" if ev.duration_s > 0 else _clock_s(ev.onset_s)
        return f"{key}: {kind} '{ev.label}' written, {span}"
    keys = "b s r i n " + ("p " if session is not None else "") + "q"
    return f"{key!r}: not a key here (keys: {keys})"


def _live_caption(s: dict) -> str:
    """The pacer and forecast lines under the terminal view."""
    parts = []
    p = s.get("pacer")
    if p:
        arrow = "breathe in  ^" if p["phase"] == "inhale" else "breathe out v"
        parts.append(f"pacer {p['rate_bpm']:g}/min: {arrow} {p['remaining_s']:.1f} s   (p: stop/start)")
    f = s.get("forecast")
    if f and f.get("t50_s") is not None:
        ttb = f.get("time_to_baseline_s")
        parts.append(f"recovery after {f['stressor']}: t50 {f['t50_s']:.0f} s ({f['t50_low_s']:.0f}-{f['t50_high_s']:.0f}), "
                     f"baseline at {ttb:.0f} s" if ttb is not None else f"recovery after {f['stressor']}: t50 {f['t50_s']:.0f} s")
        if f.get("course"):
            parts[-1] += f"; {f['course']} (earlier median t50 {f['usual_t50_s']:.0f} s)"
    return "\n".join(parts)


class _LiveView:
    """The live terminal view (rich) and single-key marks; a no-op when disabled.

    It fits 80 columns (each strap's figures as label/value pairs, two pairs a line), says
    SIMULATED for a simulated strap, confirms every key on its last line, and takes a label for a
    note: ``n``, then the label, then Enter (Esc: a note without a label).
    """

    def __init__(self, enabled: bool, on_key: Any, session: Any = None, simulated: bool = False) -> None:
        self.enabled = enabled
        self.on_key = on_key
        self.session = session
        self.simulated = simulated
        self._figures: dict[str, Any] = {}
        self._live = None
        self._term = None
        self._label: str | None = None       # the note label being typed, or None
        self.message = "ready: press a key to mark an event"

    def __enter__(self) -> "_LiveView":
        if not self.enabled:
            return self
        import asyncio
        import termios
        import tty

        from rich.live import Live

        fd = sys.stdin.fileno()
        self._term = (fd, termios.tcgetattr(fd))
        tty.setcbreak(fd)
        asyncio.get_running_loop().add_reader(fd, lambda: self._read(fd))
        self._live = Live(self._render(), refresh_per_second=4, transient=False)
        self._live.__enter__()
        return self

    def _read(self, fd: int) -> None:
        """Every key waiting on the terminal (read unbuffered: a buffered read would hold back the
        keys after the first until the next press)."""
        import os

        for ch in os.read(fd, 256).decode("utf-8", errors="replace"):
            self.key(ch)

    def key(self, ch: str) -> None:
        """One key from the terminal: a note label being typed, or a command."""
        if self._label is not None:
            if ch in ("\r", "\n"):
                label, self._label = self._label.strip(), None
                self.message = str(self.on_key("n", label or None))
            elif ch == "\x1b":
                self._label = None
                self.message = str(self.on_key("n", None))
            elif ch in ("\x7f", "\b"):
                self._label = self._label[:-1]
            elif ch.isprintable():
                self._label += ch
        elif ch == "n" and self._accepts_labels():
            self._label = ""
        else:
            message = self.on_key(ch)
            if message:
                self.message = str(message)
        if self._live is not None:
            self._live.update(self._render())

    def _accepts_labels(self) -> bool:
        import inspect

        try:
            return len(inspect.signature(self.on_key).parameters) >= 2
        except (TypeError, ValueError):
            return False

    def update(self, name: str, figures: Any) -> None:
        if not self.enabled:
            return
        self._figures[name] = figures
        self._live.update(self._render())

    def _render(self) -> Any:
        from datetime import timedelta

        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        def f(x: float, fmt: str) -> str:
            return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)

        parts: list[Any] = []
        title = "calmtrace capture" + ("   SIMULATED strap, not a person" if self.simulated else "")
        parts.append(Text(title, style="bold reverse" if self.simulated else "bold"))
        for name, v in self._figures.items():
            t = Table(show_header=False, box=None, padding=(0, 1), expand=False)
            for _ in range(2):
                t.add_column(style="dim", no_wrap=True)
                t.add_column(min_width=22, max_width=24, overflow="ellipsis", no_wrap=True)
            pairs = [("strap", name), ("state", v.state),
                     ("elapsed", str(timedelta(seconds=int(v.elapsed_s)))), ("HR", f"{f(v.hr_bpm, '.0f')} bpm"),
                     ("last RR", f"{f(v.last_rr_ms, '.0f')} ms"), ("RMSSD", f"{f(v.rmssd_ms, '.1f')} ms"),
                     ("PNS / SNS", f"{f(v.pns_index, '+.2f')} / {f(v.sns_index, '+.2f')}"),
                     ("battery", "-" if v.battery_pct is None else f"{v.battery_pct}%"),
                     ("beats", str(v.n_beats)), ("gaps", f"{v.n_gaps} ({v.gap_s:.0f} s)"),
                     ("open marks", ", ".join(v.open_marks) or "none"), ("", "")]
            for k in range(0, len(pairs), 2):
                (a, av), (b, bv) = pairs[k], pairs[k + 1]
                t.add_row(a, av, b, bv)
            parts.append(t)
        if self.session is not None:
            caption = _live_caption(self.session.snapshot())
            if caption:
                parts.append(Text(caption))
        parts.append(Text("b baseline  s stressor  r recovery  i intervention  n note  "
                          + ("p pacer  " if self.session is not None else "") + "q finish"))
        if self._label is not None:
            parts.append(Text(f"note label: {self._label}_   (Enter: write it, Esc: no label)", style="bold"))
        else:
            parts.append(Text(f"> {self.message}", style="bold"))
        return Group(*parts)

    def __exit__(self, *exc: Any) -> None:
        if not self.enabled:
            return
        import asyncio
        import termios

        fd, attrs = self._term
        try:
            asyncio.get_running_loop().remove_reader(fd)
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, attrs)
            self._live.__exit__(*exc)


# -------------------------------------------------------------------------------------------
# breathe
# -------------------------------------------------------------------------------------------
@cli.command("breathe")
@click.option("--assess", is_flag=True, help="Run the resonance-frequency assessment (required).")
@click.option("--device", "-d", "device", default=None, metavar="NAME_OR_ADDRESS", help="Strap to capture.")
@click.option("--simulate", "simulate_person", is_flag=True,
              help="A simulated person with a known resonance rate on a virtual strap.")
@click.option("--resonance-rate", "resonance_bpm", default=None, type=float,
              help="With --simulate: the person's true resonance rate, breaths/min (default: drawn from --seed).")
@click.option("--seed", default=1, show_default=True, type=int, help="With --simulate: random seed.")
@click.option("--speed", default=1.0, show_default=True, type=click.FloatRange(min=0.1, max=100),
              help="With --simulate: run the virtual strap this many times faster than real time.")
@click.option("--from", "from_rec", default=None, type=click.Path(path_type=Path),
              help="Assess a recording made earlier with breathe --assess instead of capturing.")
@click.option("--out", "-o", default=None, type=click.Path(path_type=Path),
              help="Recording folder (default: breathe-<date>-<time>); resonance.csv is written into it.")
@click.option("--no-live", is_flag=True, help="No live view.")
@click.option("--serve", "serve_port", default=None, is_flag=False, flag_value=8765, type=click.IntRange(0, 65535),
              metavar="[PORT]", help="Serve the live page (with the pacer) on http://127.0.0.1:PORT/.")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
def breathe_cmd(assess: bool, device: str | None, simulate_person: bool, resonance_bpm: float | None, seed: int,
                speed: float, from_rec: Path | None, out: Path | None, no_live: bool, serve_port: int | None,
                force: bool) -> None:
    """Find the breathing rate at which heart rate oscillates most (resonance frequency).

    Paces breathing for 2 min at each of 6.5, 6.0, 5.5, 5.0 and 4.5 breaths/min after
    a minute of ordinary breathing (Lehrer, Vaschillo & Vaschillo 2000; Shaffer &
    Meehan 2020), logs each block as an intervention event, then reports per rate the
    heart-rate oscillation (max - min per breath), the LF peak power and frequency, and
    the chosen rate with the reason. The table is written to resonance.csv.

    \b
    Example:
      calmtrace breathe --assess --device "Polar H10 0A1B2C3D" --out rf-1
      calmtrace breathe --assess --simulate --resonance-rate 5.5 --speed 20 --out rf-sim
      calmtrace breathe --assess --from rf-1
    """
    import asyncio
    import signal

    from .live.assess import LEAD_IN_S, assess_recording, assessment_blocks, block_events
    from .loader import load

    if not assess:
        raise InputError("breathe needs --assess (for a pacer during a capture use: calmtrace capture --pacer RATE)")
    if sum(x is not None and x is not False for x in (device, simulate_person or None, from_rec)) != 1:
        raise InputError("name one of --device, --simulate or --from")
    if (resonance_bpm is not None or speed != 1.0) and not simulate_person:
        raise InputError("--resonance-rate and --speed apply only to --simulate")
    if from_rec is not None:
        folder = from_rec
    else:
        if out is None:
            from datetime import datetime

            out = Path(datetime.now().strftime("breathe-%Y%m%d-%H%M%S"))
        _check_out_free(out, force)
        blocks = assessment_blocks()
        events = block_events(blocks)
        run_s = LEAD_IN_S + sum(b.duration_s for b in blocks) + 2.0
        live = not no_live and sys.stdout.isatty()

        async def go() -> None:
            from .capture import Capture
            from .live.session import LiveSession

            loop = asyncio.get_running_loop()
            stop = asyncio.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            kwargs: dict[str, Any] = {"force": force, "scripted_events": events}
            radio, name, clock_speed = None, device or "Polar H10 0A1B2C3D", 1.0
            if simulate_person:
                from .devices.virtual import VirtualRadio
                from .live.assess import simulate_assessment
                from .live.replay import plan_replay, start_replay_strap

                rec = simulate_assessment(seed, resonance_bpm)
                plan = plan_replay(rec, "simulated resonance assessment", speed)
                radio = VirtualRadio()
                strap = await start_replay_strap(radio, plan, speed, name=name)
                truth = rec.meta["truth"]["resonance_rate_bpm"]
                kwargs.update(backend=radio, clock=strap.now_s, start=rec.start, meta={
                    "simulated": True, "scenario": "resonance assessment", "seed": seed,
                    "virtual_strap_speed": speed, "truth": {"resonance_rate_bpm": truth}})
                clock_speed = speed
            try:
                cap = Capture(name, out, **kwargs)
                stop_task = asyncio.ensure_future(stop.wait())
                stop_task.add_done_callback(lambda _t: cap.stop())
                session = LiveSession(cap, schedule=blocks, known_events=events, forecast=False, speed=clock_speed)
                server = None
                if serve_port is not None:
                    from .live.server import LiveServer

                    server = LiveServer(session, "127.0.0.1", serve_port)
                    await server.start()
                    click.echo(f"live page: {server.url}", err=True)
                try:
                    with _LiveView(enabled=live, on_key=lambda k: _on_key(cap, k, stop), session=session) as view:
                        await cap.run(run_s, on_update=lambda f: view.update(name, f))
                finally:
                    session.close()
                    if server is not None:
                        await server.close()
                stop_task.cancel()
            finally:
                if radio is not None:
                    await radio.close()

        asyncio.run(go())
        folder = out
    rec = load(folder)
    res = assess_recording(rec)
    res.table.to_csv(Path(folder) / "resonance.csv", index=False)
    click.echo(f"{'rate/min':>8} {'HR osc bpm':>10} {'LF peak ms2/Hz':>15} {'LF peak /min':>12} {'LF ms2':>9}  note")
    for r in res.table.itertuples():
        click.echo(f"{r.rate_bpm:>8g} {r.hr_osc_bpm:>10.1f} {r.lf_peak_ms2_hz:>15.0f} {r.lf_peak_hz * 60:>12.2f} "
                   f"{r.lf_power_ms2:>9.0f}  {r.note}")
    if rec.meta.get("truth", {}).get("resonance_rate_bpm") is not None:
        click.echo(f"(simulated person: true resonance rate {rec.meta['truth']['resonance_rate_bpm']:g}/min)")
    click.echo(f"resonance rate: {res.reason}" if math.isfinite(res.rate_bpm) else f"no resonance rate: {res.reason}")
    click.echo(f"table -> {Path(folder) / 'resonance.csv'}")


# -------------------------------------------------------------------------------------------
# analyze
# -------------------------------------------------------------------------------------------
@cli.command("analyze")
@click.argument("rec", type=click.Path(path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path),
              help="Folder for windows.csv, recovery.csv, analysis.json and report.html.")
@click.option("--events", "events_file", default=None, type=click.Path(path_type=Path),
              help="An events file (CSV or JSON) to add to the recording's own events.")
@click.option("--config", "config_file", default=None, type=click.Path(path_type=Path),
              cls=_LazyHelpOption,
              help_fn=lambda: _config_help("defaults cite their sources (docs/metrics.md)."))
@click.option("--format", "-f", "fmt", default=None, metavar="NAME", cls=_LazyHelpOption, help_fn=_format_names_help)
@click.option("--force", is_flag=True, help="Replace the files in --out if they exist.")
@click.option("--no-progress", is_flag=True, help="No progress bar (it is also off when stderr is not a terminal).")
@click.option("--start", "start", default=None, metavar="ISO",
              help="Start of an imported file's recording, as for calmtrace import (e.g. 2024-05-01T09:30:00+02:00).")
@click.option("--timezone", default=None, metavar="ZONE", help="Zone of the file's local clock times, as for import.")
def analyze_cmd(rec: Path, out: Path, events_file: Path | None, config_file: Path | None, fmt: str | None,
                force: bool, no_progress: bool, start: str | None = None, timezone: str | None = None) -> None:
    """Analyse a recording: artefacts, windowed HRV, autonomic balance, recovery.

    REC is a recording folder or any importable file. Writes into --out:
    windows.csv (one row per window), recovery.csv (one row per stressor and
    metric), analysis.json (config, software version, input checksum, summary)
    and report.html (the clinician's report: one self-contained file).

    \b
    Example:
      calmtrace analyze recordings/sample/tsst --out results/tsst
      calmtrace analyze session.hrm --events diary.csv --config my.toml --out results/s1
    """
    from .analysis import DAY_MIN_S, AnalysisConfig, analyze, load_config
    from .loader import load, load_acc

    existing = [n for n in ("windows.csv", "recovery.csv", "analysis.json", "report.html") if (out / n).exists()]
    if existing and not force:
        raise InputError(f"{out}: already holds {', '.join(existing)}; choose another --out or add --force")
    cfg = load_config(config_file) if config_file else AnalysisConfig()
    r = load(rec, format=fmt, events=events_file, options=_start_options(start, timezone))
    # a long recording's day view uses the folder's own accelerometer, as `calmtrace day` does
    acc = load_acc(rec, r.start) if r.duration_s >= DAY_MIN_S else None
    with _Bar(enabled=not no_progress) as bar:
        result = analyze(r, cfg, progress=lambda stage, frac: bar(stage, frac, 1.0), source=rec, acc=acc)
    result.write(out)
    from .report import write_report

    write_report(result, out / "report.html")
    valid = int(result.windows["valid"].sum()) if len(result.windows) else 0
    day = (f", a day view ({result.day.mode}, {len(result.day.epochs)} epochs; calmtrace day writes its tables)"
           if result.day is not None else "")
    click.echo(f"analysed {rec}: {len(result.windows)} windows ({valid} valid), "
               f"{len(result.recovery)} recovery rows{day} -> {out}/report.html")


class _Bar:
    """A rich progress bar on stderr, shown only on a terminal: ``bar(description, done, total)``."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> "_Bar":
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description:<12}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                                 TimeElapsedColumn(), transient=True, console=Console(stderr=True))
            self._bar.__enter__()
            self._task = self._bar.add_task("", total=None)
        return self

    def __call__(self, description: str, done: float, total: float | None) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=description, completed=done, total=total)

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


# -------------------------------------------------------------------------------------------
# report
# -------------------------------------------------------------------------------------------
@cli.command("report")
@click.argument("recs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path), help="Trend report HTML file to write.")
@click.option("--config", "config_file", default=None, type=click.Path(path_type=Path),
              cls=_LazyHelpOption,
              help_fn=lambda: _config_help("used for every session."))
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
def report_cmd(recs: tuple[Path, ...], out: Path, config_file: Path | None, force: bool) -> None:
    """Trend report across one subject's sessions, by date.

    RECS are recording folders, importable files, or a folder of recording
    folders. The report shows baseline lnRMSSD with its smallest-worthwhile-change
    band (Plews et al. 2014), time to baseline, half-recovery and reactivity per
    stressor; sessions failing the quality checks are shown and marked, not dropped.
    Whole-day recordings add days-and-nights panels: daily stress/recovery balance
    and overnight HRV (docs/day.md).

    \b
    Example:
      calmtrace report recordings/sample/weekly --out trend.html
    """
    from .analysis import AnalysisConfig, load_config
    from .report import write_trend_report
    from .sessions import collect_trend

    if out.exists() and not force:
        raise InputError(f"{out}: already exists; choose another --out or add --force")
    cfg = load_config(config_file) if config_file else AnalysisConfig()
    trend = collect_trend(recs, cfg)
    write_trend_report(trend, out)
    click.echo(f"trend report of {len(trend.results)} sessions -> {out}")


# -------------------------------------------------------------------------------------------
# batch
# -------------------------------------------------------------------------------------------
@cli.command("batch")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path),
              help="Folder for cohort.parquet, cohort.csv, failures.csv and skipped.csv.")
@click.option("--config", "config_file", default=None, type=click.Path(path_type=Path),
              cls=_LazyHelpOption,
              help_fn=lambda: _config_help("used for every input."))
@click.option("--workers", "-j", default=None, type=click.IntRange(min=1),
              help="Local worker processes (default: one per core).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Use an existing Dask cluster: tcp://HOST:PORT or tls://HOST:PORT.")
@click.option("--serial", is_flag=True, help="No Dask: one input after another in this process.")
@click.option("--force", is_flag=True, help="Replace the files in --out if they exist.")
def batch_cmd(paths: tuple[Path, ...], out: Path, config_file: Path | None, workers: int | None,
              scheduler: str | None, serial: bool, force: bool) -> None:
    """Analyse every recording under PATHS into one cohort table.

    PATHS are recording folders, importable files, or folders searched for both.
    A bad file never stops the run: it is listed in failures.csv with its reason;
    files that are not recordings are listed in skipped.csv with theirs. Dask's own
    logging is shown with -v (calmtrace -v batch ...).
    The cohort table has one row per recording, stressor and metric, with subject,
    session date and quality columns; never device addresses.

    \b
    Example:
      calmtrace batch recordings/sample --out cohort
      calmtrace batch /data/study --out cohort --scheduler tcp://10.0.0.5:8786
    """
    from .analysis import AnalysisConfig, load_config
    from .batch import run_batch

    existing = [n for n in ("cohort.parquet", "cohort.csv", "failures.csv", "skipped.csv") if (out / n).exists()]
    if existing and not force:
        raise InputError(f"{out}: already holds {', '.join(existing)}; choose another --out or add --force")
    cfg = load_config(config_file) if config_file else AnalysisConfig()
    with _Bar() as bar:
        result = run_batch(paths, cfg, workers=workers, scheduler=scheduler, serial=serial,
                           progress=lambda done, total: bar("recordings", done, total))
    result.write(out)
    click.echo(f"analysed {result.n_analysed} recordings ({len(result.cohort)} rows), {len(result.failures)} failed, "
               f"{len(result.skipped)} skipped -> {out}")
    for row in result.failures.itertuples(index=False):
        click.echo(f"  failed: {row.reason}", err=True)
    if result.lost:
        _fail(f"{result.lost}; the {result.n_analysed} recordings finished are in {out}, the rest are in "
              f"{out}/failures.csv", EXIT_FAILURE)


# -------------------------------------------------------------------------------------------
# hrv (a whole recording, a span, or each phase)
# -------------------------------------------------------------------------------------------
@cli.command("hrv")
@click.argument("rec", type=click.Path(path_type=Path))
@click.option("--by-event", is_flag=True, help="One row per event and per span between events, with changes from baseline.")
@click.option("--start", "start", default=None, metavar="T",
              help="Start of the span: seconds since the recording's start, a clock time HH:MM[:SS] or an ISO datetime.")
@click.option("--end", "end", default=None, metavar="T", help="End of the span (same spellings as --start).")
@click.option("--out", "-o", default=None, type=click.Path(path_type=Path),
              help="Write the table to FILE.csv or FILE.parquet instead of printing it.")
@click.option("--events", "events_file", default=None, type=click.Path(path_type=Path),
              help="An events file (CSV or JSON) to add to the recording's own events.")
@click.option("--psd", "psd_method", default=None, type=click.Choice(["welch", "lomb"]),
              help="Spectrum: Welch on evenly resampled RR, or Lomb-Scargle on the beats (for spans with gaps). "
                   "Default: [segment] psd_method of --config, else welch.")
@click.option("--config", "config_file", default=None, type=click.Path(path_type=Path),
              help="A TOML file whose [clean], [hrv], [rhythm] and [segment] settings apply (as for analyze).")
@click.option("--raw", is_flag=True, help="Skip artefact cleaning (use the beats exactly as recorded).")
@click.option("--format", "-f", "fmt", default=None, metavar="NAME", cls=_LazyHelpOption, help_fn=_format_names_help)
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
def hrv_cmd(rec: Path, by_event: bool, start: str | None, end: str | None, out: Path | None,
            events_file: Path | None, psd_method: str | None, config_file: Path | None, raw: bool, fmt: str | None,
            force: bool) -> None:
    """HRV of a whole recording, of one span, or of every phase of a session.

    Time domain, spectrum (VLF, LF, HF, peaks), Poincare, stress index, sample
    entropy, DFA alpha1/alpha2 and PNS/SNS indices, each NaN below the span it
    needs, with the reason in the notes column (definitions: docs/metrics.md).
    Beats are cleaned first (as analyze does) unless --raw. The rhythm column
    says which rhythm each span was in; where it is not sinus, only mean RR
    and mean HR are given (the rest NaN, with the reason).

    \b
    Example:
      calmtrace hrv recordings/sample/tsst                       # the whole recording
      calmtrace hrv session.hrm --start 600 --end 900            # one 5-minute span
      calmtrace hrv session/ --by-event --out phases.csv         # the three-Rs table
    """
    from .analysis import AnalysisConfig, load_config
    from .events import parse_time
    from .loader import load
    from .signals.clean import clean
    from .signals.segment import hrv, hrv_by_event

    if out is not None:
        if out.suffix.lower() not in (".csv", ".parquet"):
            raise InputError(f"{out}: --out must end in .csv or .parquet")
        if out.exists() and not force:
            raise InputError(f"{out}: already exists; choose another --out or add --force to replace it")
    if by_event and (start is not None or end is not None):
        raise InputError("--by-event takes the spans from the events; leave out --start and --end")
    cfg = load_config(config_file) if config_file else AnalysisConfig()
    recorded = load(rec, format=fmt, events=events_file)
    cleaned = clean(recorded, cfg.clean, cfg.rhythm)
    from .signals.rhythm import judge

    # the rhythm is judged as analyze and info judge it (on the analysis grid), whatever the span: a
    # rhythm that is not sinus is logged as a warning ("not sinus rhythm: HRV is not a measure of
    # ..."), shown on stderr, and each row's rhythm column comes from this judgement (with --raw too)
    judgement = judge(recorded, cleaned, cfg.windows.window_s, cfg.windows.step_s, cfg.rhythm)
    r = (recorded if raw else cleaned).replace(meta={**(recorded if raw else cleaned).meta, "rhythm": judgement})
    import dataclasses

    seg = cfg.segment if psd_method is None else dataclasses.replace(cfg.segment, psd_method=psd_method)
    if by_event:
        table = hrv_by_event(r, seg)
    else:
        s0 = parse_time(start, r.start, r.meta.get("utc_offset"), context="--start") if start is not None else None
        s1 = parse_time(end, r.start, r.meta.get("utc_offset"), context="--end") if end is not None else None
        if (s0 is None) != (s1 is None):
            s0 = 0.0 if s0 is None else s0
            s1 = r.duration_s if s1 is None else s1
        table = hrv(r, s0, s1, seg)
    if out is None:
        import pandas as pd

        with pd.option_context("display.max_rows", 500, "display.width", 200, "display.max_colwidth", 200):
            if by_event:
                cols = ["label", "kind", "start_s", "duration_s", "n_beats", "rhythm", "mean_hr_bpm", "mean_hr_bpm_delta",
                        "rmssd_ms", "rmssd_ms_delta_pct", "hf_ms2", "lf_hf", "dfa_alpha1"]
                click.echo(table[cols].round(2).to_string(index=False))
                click.echo(f"({len(table.columns)} columns in all, with every metric, its change from baseline "
                           "and the reasons for NaN: use --out FILE.csv)")
            else:
                click.echo(table.drop(columns="notes").T.rename(columns={0: "value"}).to_string())
                for note in filter(None, str(table["notes"].iloc[0]).split("; ")):
                    click.echo(f"NaN: {note}")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    if out.suffix.lower() == ".csv":
        table.to_csv(tmp, index=False)
    else:
        table.to_parquet(tmp, index=False)
    tmp.replace(out)
    click.echo(f"hrv of {rec}: {len(table)} row{'s' if len(table) != 1 else ''} -> {out}")


# -------------------------------------------------------------------------------------------
# dyad (couples sessions)
# -------------------------------------------------------------------------------------------
def _dyad_inputs(paths: tuple[Path, ...]) -> list[tuple[str, Path, Path]]:
    """(name, partner A, partner B) of each couples session named on the command line."""
    import json

    sessions = [p for p in paths if (p / "session.json").is_file()]
    if not sessions:
        if len(paths) != 2:
            raise InputError(f"give one or more couples session folders (with session.json) or exactly two "
                             f"recordings, got {len(paths)} path{'s' if len(paths) != 1 else ''} without session.json")
        return [(f"{paths[0].name}+{paths[1].name}", paths[0], paths[1])]
    if len(sessions) != len(paths):
        other = next(p for p in paths if p not in sessions)
        raise InputError(f"{other}: not a couples session folder (no session.json); give either session folders "
                         "or exactly two recordings")
    out = []
    for s in paths:
        where = s / "session.json"
        try:
            info = json.loads(where.read_text(encoding="utf-8"))
            folders = [s / r["folder"] for r in info["recordings"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{where}: not a valid session file ({exc})") from None
        if len(folders) != 2:
            raise InputError(f"{where}: lists {len(folders)} recordings; a couples analysis needs exactly two")
        out.append((s.name, folders[0], folders[1]))
    return out


@cli.command("dyad")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path), help="Folder for the report and tables.")
@click.option("--offset-s", "offset_s", default=None, type=float,
              help="B started this many seconds after A; use when the clocks cannot be trusted (two recordings only).")
@click.option("--surrogate", default="auto", show_default=True, type=click.Choice(["auto", "pseudo", "shift", "phase"]),
              help="Null model of the synchrony test (auto: pseudo-pairs from the other sessions given, else shifts).")
@click.option("--window", "window_s", default=None, type=click.FloatRange(min=5), help="Cross-correlation window, s (default 60).")
@click.option("--step", "step_s", default=None, type=click.FloatRange(min=1), help="Window step, s (default 30).")
@click.option("--max-lag", "max_lag_s", default=None, type=click.FloatRange(min=0), help="Largest lag, s (default 10).")
@click.option("--force", is_flag=True, help="Replace the files in --out if they exist.")
def dyad_cmd(paths: tuple[Path, ...], out: Path, offset_s: float | None, surrogate: str, window_s: float | None,
             step_s: float | None, max_lag_s: float | None, force: bool) -> None:
    """Synchrony and co-regulation of two partners recorded on one clock.

    PATHS is a couples session folder (from `calmtrace capture -d A -d B`,
    with session.json), several of them, or two recordings (folders or
    importable files). Writes into --out: report.html (both partners on one
    clock, synchrony over time, who leads, per-phase surrogate test, recovery
    side by side), synchrony_phases.csv, synchrony_windows.csv, series.csv,
    recovery.csv, coregulation.csv and dyad.json. With several sessions, one
    subfolder each and trend.html (per-phase synchrony across weeks); their
    partners also serve as pseudo-pairs for each other's surrogate test.

    \b
    Example:
      calmtrace dyad couple-1 --out results/couple-1
      calmtrace dyad anna.csv ben.csv --offset-s 12.5 --out results/ab
      calmtrace dyad week-1 week-2 week-3 --out results/couple-trend
    """
    import dataclasses

    from .loader import load
    from .report.dyad import write_dyad_report, write_dyad_trend_report
    from .signals.dyad import DyadConfig, dyad

    sessions = _dyad_inputs(paths)
    if offset_s is not None and len(sessions) != 1:
        raise InputError("--offset-s applies to one session (two recordings), not to several")
    names = ["report.html", "trend.html"] + [n for n, _, _ in sessions]
    existing = [n for n in names if (out / n).exists()]
    if existing and not force:
        raise InputError(f"{out}: already holds {', '.join(existing)}; choose another --out or add --force")
    cfg = DyadConfig(surrogate=surrogate)
    changes = {k: v for k, v in (("window_s", window_s), ("step_s", step_s), ("max_lag_s", max_lag_s)) if v is not None}
    if changes:
        cfg = dataclasses.replace(cfg, **changes)
    pairs = [(name, load(a), load(b), (a, b)) for name, a, b in sessions]
    results = []
    for k, (name, ra, rb, src) in enumerate(pairs):
        others = [(oa, ob) for j, (_, oa, ob, _) in enumerate(pairs) if j != k]
        res = dyad(ra, rb, cfg, offset_s=offset_s, others=others, source=[str(s) for s in src])
        where = out if len(pairs) == 1 else out / name
        res.write(where)
        write_dyad_report(res, where / "report.html")
        results.append(res)
        above = res.phases[res.phases["exceeds_chance"]]
        click.echo(f"{name}: {len(res.phases)} phase tests, {len(above)} above chance -> {where}/report.html")
    if len(results) > 1:
        write_dyad_trend_report(results, out / "trend.html")
        click.echo(f"trend over {len(results)} couples sessions -> {out}/trend.html")


# -------------------------------------------------------------------------------------------
# day
# -------------------------------------------------------------------------------------------
@cli.command("day")
@click.argument("rec", type=click.Path(path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path),
              help="Folder for day_epochs.csv, day_summary.csv, sleep.csv, stress_episodes.csv, diary_links.csv, "
                   "day.json and report.html.")
@click.option("--acc", "acc_file", default=None, type=click.Path(path_type=Path),
              help="Chest acceleration: acc.csv, a Polar Sensor Logger ACC file or a generic CSV "
                   "(default: REC/acc.csv when REC is a folder that has one).")
@click.option("--events", "events_file", default=None, type=click.Path(path_type=Path),
              help="An events file or diary (ratings 0-10; a 'sleep' entry with a duration gives the sleep span).")
@click.option("--epoch", "epoch_s", default=None, type=click.FloatRange(min=10), help="Epoch length in s (default 60).")
@click.option("--config", "config_file", default=None, type=click.Path(path_type=Path),
              help="A TOML file with a [day] table (thresholds) and the analyze sections.")
@click.option("--format", "-f", "fmt", default=None, metavar="NAME", cls=_LazyHelpOption, help_fn=_format_names_help)
@click.option("--force", is_flag=True, help="Replace the files in --out if they exist.")
@click.option("--start", "start", default=None, metavar="ISO",
              help="Start of an imported file's recording, as for calmtrace import (e.g. 2024-05-01T09:30:00+02:00).")
@click.option("--timezone", default=None, metavar="ZONE", help="Zone of the file's local clock times, as for import.")
def day_cmd(rec: Path, out: Path, acc_file: Path | None, events_file: Path | None, epoch_s: float | None,
            config_file: Path | None, fmt: str | None, force: bool, start: str | None = None,
            timezone: str | None = None) -> None:
    """The whole day: stress, recovery, activity minute by minute, sleep and diary links.

    REC is a recording folder or any importable file. With an accelerometer
    (--acc, or acc.csv in the folder) movement tells physical activity apart;
    without it a documented heart-rate rule is used (see docs/day.md).

    \b
    Example:
      calmtrace simulate day --out results/day && calmtrace day results/day --out results/day-view
      calmtrace day hr.txt --acc Polar_H10_ACC.txt --events diary.txt --out results/day1
    """
    import dataclasses

    from .analysis import AnalysisConfig, analyze, load_config
    from .formats.acc_csv import read_acc
    from .loader import load, load_acc
    from .signals.day import describe_mode

    names = ("day_epochs.csv", "day_summary.csv", "sleep.csv", "stress_episodes.csv", "diary_links.csv", "day.json",
             "report.html")
    existing = [n for n in names if (out / n).exists()]
    if existing and not force:
        raise InputError(f"{out}: already holds {', '.join(existing)}; choose another --out or add --force")
    cfg = load_config(config_file) if config_file else AnalysisConfig()
    if epoch_s is not None:
        cfg = dataclasses.replace(cfg, day=dataclasses.replace(cfg.day, epoch_s=float(epoch_s)))
    r = load(rec, format=fmt, events=events_file, options=_start_options(start, timezone))
    acc = read_acc(acc_file, r.start) if acc_file is not None else load_acc(rec, r.start)
    result = analyze(r, cfg, source=rec, acc=acc)
    if result.day is None:  # shorter than analyze()'s day threshold: asked for, so computed (or said why not)
        from .signals.day import analyze_day

        result.day = analyze_day(r, acc, cfg.day)
    out.mkdir(parents=True, exist_ok=True)
    result.day.write(out)
    from .report import write_report

    write_report(result, out / "report.html")
    click.echo(f"day of {rec} ({describe_mode(result.day)}): {_day_states_text(result.day, r.duration_s)}; "
               f"{len(result.day.sleep)} sleep span(s) -> {out}/report.html")
    import pandas as pd

    from .report.figures import clock_known, clock_label, clock_times, format_elapsed

    def when(t_s: float) -> str:
        # a file without a date or time has a placeholder start: times from the start, never a clock
        if not clock_known(r):
            return f"+{format_elapsed(t_s)}"
        return str(pd.Timestamp(clock_times(r, [t_s])[0]).strftime("%a %H:%M"))

    clock = clock_label(r).removeprefix("clock time ") if clock_known(r) else "(h:mm from the start; clock unknown)"
    for sp in result.day.sleep.itertuples(index=False):
        click.echo(f"  sleep {when(sp.onset_s)} to {when(sp.end_s)} {clock}, {sp.duration_h:.1f} h ({sp.source})")


def _day_states_text(day: Any, duration_s: float) -> str:
    """Minutes in every state (one decimal, from whole epochs: they add up to the epochs' total),
    the epoch count, and the unlabelled tail shorter than one epoch."""
    ep = day.epochs
    epoch_s = float(day.config.epoch_s)
    counts = ep["state"].value_counts()
    parts = ", ".join(f"{st} {int(counts.get(st, 0)) * epoch_s / 60.0:.1f}"
                      for st in ("stress", "recovery", "activity", "neutral", "unmeasured"))
    text = (f"minutes per state (one decimal) {parts}; total {len(ep) * epoch_s / 60.0:.1f} min in "
            f"{len(ep)} epochs of {epoch_s:g} s")
    tail_s = float(duration_s) - (float(ep["end_s"].iloc[-1]) if len(ep) else 0.0)
    if tail_s >= 1.0:  # whole seconds, rounded down: never "the last 60 s" of a 60 s epoch
        text += f"; the last {int(tail_s)} s, shorter than one epoch, is not labelled"
    return text


# -------------------------------------------------------------------------------------------
# entry point
# -------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    """Run the command line; bad input ends with one line on stderr and exit status 2."""
    try:
        cli.main(args=argv, prog_name="calmtrace", standalone_mode=False)
    except click.exceptions.Abort:
        _fail("aborted", 130)
    except getattr(click.exceptions, "NoArgsIsHelpError", ()) as exc:  # click >= 8.2 only
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        sys.exit(0)
    except click.ClickException as exc:
        # "calmtrace: error: analyze: ...": the program name is said once, by _fail
        path = exc.ctx.command_path.split(" ", 1) if getattr(exc, "ctx", None) else []
        where = f"{path[1]}: " if len(path) > 1 else ""
        _fail(f"{where}{exc.format_message()}", EXIT_BAD_INPUT)
    except CalmtraceError as exc:
        _fail(str(exc), EXIT_BAD_INPUT if isinstance(exc, ValueError) else EXIT_FAILURE)
    except FileNotFoundError as exc:
        _fail(f"{exc.filename}: no such file or folder")
    except PermissionError as exc:
        _fail(f"{exc.filename}: permission denied")
    except OSError as exc:
        _fail(f"{getattr(exc, 'filename', '') or ''}: {exc.strerror or exc}", EXIT_FAILURE)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as exc:  # a bug, not bad input: one line, the traceback only on request
        log.debug("internal error", exc_info=True)
        _fail(f"internal error: {type(exc).__name__}: {exc} (please report it; -vv shows the traceback)",
              EXIT_FAILURE)
    sys.exit(0)
