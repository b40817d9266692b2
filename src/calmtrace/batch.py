r"""Many recordings at once, on Dask: one cohort table, and a list of failures that never stop the run.

:func:`find_inputs` walks the given paths for recording folders and importable files;
:func:`analyze_one` analyses one of them into cohort rows (or a one-line failure);
:func:`run_batch` maps it over all inputs on a ``dask.distributed`` cluster: local worker processes
by default, or an existing cluster given by its scheduler address (``tcp://`` or ``tls://``, with
Dask's own security settings from its configuration). The results are the same as running
:func:`analyze_one` on each input serially, in the same order.

The cohort table has one row per recording, stressor and metric, with the subject id, the session
date and quality columns. It never carries device addresses: these are health data.

Every file under the inputs is accounted for: analysed (in the cohort table), failed (in
``failures.csv`` with a one-line reason: unreadable, damaged, or lost with a worker or the
scheduler) or skipped (in ``skipped.csv`` with its reason: not a recording, not a regular file).
Only hidden files, the files inside recording folders and calmtrace's own output files are passed
over in silence. Folders are walked without recursion (any depth), named pipes are never opened,
and names that are not UTF-8 are shown with ``\xNN`` escapes. When a worker dies on an input
(``KilledWorker``) or the scheduler is lost, the results finished so far are kept and the rest are
listed as failures.
"""

from __future__ import annotations

import logging
import math
import os
import stat
from concurrent.futures import CancelledError
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import pandas as pd

from .analysis import AnalysisConfig, analyze
from .errors import CalmtraceError, FormatError, InputError
from .loader import load
from . import formats, store
from .signals import metrics as _metrics

__all__ = ["BatchResult", "Survey", "survey", "find_inputs", "analyze_one", "run_batch", "COHORT_COLUMNS"]

log = logging.getLogger(__name__)

#: Columns that lead the cohort table; the recovery figures follow.
COHORT_COLUMNS = [
    "input", "subject", "session_date", "simulated", "duration_s", "n_beats", "artifact_pct",
    "gap_s", "valid_windows_pct", "quality_ok",
]

# quality_ok is the session's one verdict (calmtrace.signals.quality.assess_quality, thresholds in
# the [quality] section of the config), the same as in info, the session and the trend report.

# Never in the cohort table (DESIGN.md: subject ids, never device addresses).
_PRIVATE_COLUMNS = ("address", "device_address", "device_name", "serial")

#: Files calmtrace itself writes (analysis, batch and capture outputs): not inputs, not reported.
OWN_OUTPUTS = frozenset({"cohort.parquet", "cohort.csv", "failures.csv", "skipped.csv", "windows.csv",
                         "recovery.csv", "analysis.json", "report.html", "session.json"})
#: Documents and code beside recordings: skipped (and listed) without being sniffed.
_NOT_RECORDINGS = (".md", ".json", ".toml", ".py", ".parquet", ".html", ".pdf", ".png", ".docx")
#: Files whose name says which recording format they are in: when no importer recognises one, it is
#: a damaged recording (failed), not an unrelated file (skipped).
_RECORDING_SUFFIXES = (".hrm", ".fit", ".edf", ".bdf", ".hea")
#: Longest reason kept in failures.csv and skipped.csv, in characters.
MAX_REASON_CHARS = 300


def shown(path: str | os.PathLike) -> str:
    """A path as text that any file and terminal can hold: bytes that are not UTF-8 become ``\\xNN``."""
    return os.fsencode(os.fspath(path)).decode("utf-8", "backslashreplace")


def _one_line(text: str, limit: int = MAX_REASON_CHARS) -> str:
    """One printable line of at most ``limit`` characters (the middle cut, marked)."""
    text = " ".join(str(text).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace").split())
    if len(text) > limit:
        text = text[: limit - 41] + " [...] " + text[-34:]
    return text


@dataclass
class BatchResult:
    """The outcome of a batch run.

    Attributes
    ----------
    cohort : pandas.DataFrame
        One row per recording, stressor and metric (recordings without stressors get one row with
        the quality columns and empty recovery figures).
    failures : pandas.DataFrame
        ``input`` and ``reason`` (one line) for every input that could not be analysed.
    skipped : pandas.DataFrame
        ``input`` and ``reason`` for every file under the inputs that is not a recording.
    lost : str or None
        Why the cluster stopped before the end (the scheduler was lost), or None.
    """

    cohort: pd.DataFrame
    failures: pd.DataFrame
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["input", "reason"]))
    lost: str | None = None

    @property
    def n_analysed(self) -> int:
        """Inputs analysed (recordings in the cohort table)."""
        return int(self.cohort["input"].nunique()) if len(self.cohort) else 0

    def write(self, out: str | os.PathLike) -> list[Path]:
        """Write ``cohort.parquet`` (exact text), ``cohort.csv``, ``failures.csv`` and ``skipped.csv``
        (spreadsheet-safe text: see :func:`calmtrace.store.spreadsheet_safe`) into ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, fn in (
            ("cohort.parquet", lambda p: self.cohort.to_parquet(p, index=False)),
            ("cohort.csv", lambda p: store.write_spreadsheet_csv(self.cohort, p)),
            ("failures.csv", lambda p: store.write_spreadsheet_csv(self.failures, p)),
            ("skipped.csv", lambda p: store.write_spreadsheet_csv(self.skipped, p)),
        ):
            tmp = out / f".{name}.tmp"
            try:
                fn(tmp)
                os.replace(tmp, out / name)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            written.append(out / name)
        return written


@dataclass
class Survey:
    """What lies under a batch's paths.

    Attributes
    ----------
    inputs : list of pathlib.Path
        Recording folders and importable files, sorted, each once.
    failed : list of (str, str)
        (shown path, reason): files and folders that could not be read, recordings no importer
        recognises.
    skipped : list of (str, str)
        (shown path, reason): files that are not recordings, and things that are not regular files.
    """

    inputs: list[Path]
    failed: list[tuple[str, str]]
    skipped: list[tuple[str, str]]


def _kind_of(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def _classify(fp: Path, sv: Survey) -> None:
    """Sort one regular file into inputs, failed or skipped."""
    name = fp.name
    if fp.suffix.lower() in _NOT_RECORDINGS:
        sv.skipped.append((shown(fp), f"{shown(fp)}: not a recording ({fp.suffix.lower()} file)"))
        return
    try:
        with open(fp, "rb"):
            pass
    except OSError as exc:
        sv.failed.append((shown(fp), _one_line(f"{shown(fp)}: cannot read ({exc.strerror or exc})")))
        return
    try:
        fmt = formats.detect(fp)
    except FormatError as exc:
        if fp.suffix.lower() in _RECORDING_SUFFIXES:
            sv.failed.append((shown(fp), _one_line(f"{exc} (a {fp.suffix.lower()} file, so a damaged recording)")))
        else:
            sv.skipped.append((shown(fp), _one_line(str(exc))))
        return
    except CalmtraceError as exc:
        sv.failed.append((shown(fp), _one_line(str(exc))))
        return
    except Exception as exc:  # a sniffer bug must not stop the cohort
        log.debug("sniffing %s failed", name, exc_info=True)
        sv.failed.append((shown(fp), _one_line(f"{shown(fp)}: internal error while sniffing: {type(exc).__name__}: {exc}")))
        return
    if fmt.name == "wfdb" and fp.suffix.lower() != ".hea" and fp.with_suffix(".hea").is_file():
        # a WFDB record's signal or annotation file: the record is one input, through its header
        header = fp.with_suffix(".hea").name
        sv.skipped.append((shown(fp), _one_line(f"{shown(fp)}: part of the WFDB record {header}, read through it")))
        return
    sv.inputs.append(fp)


def survey(paths: Iterable[str | os.PathLike]) -> Survey:
    """Every file and folder under ``paths``: inputs, failed, skipped.

    A folder with ``recording.json`` is one input (its files are not looked into); other folders
    are searched at any depth without recursion (symbolic links to folders are not followed);
    a file counts when a format recognises it. Named pipes, sockets and devices are never opened.
    Hidden files and folders and calmtrace's own outputs (:data:`OWN_OUTPUTS`) are passed over.

    Raises
    ------
    InputError
        When a path given does not exist.
    """
    sv = Survey([], [], [])
    stack: list[Path] = []
    for p in map(Path, paths):
        try:
            st = p.stat()
        except FileNotFoundError:
            raise InputError(f"{shown(p)}: no such file or folder") from None
        except OSError as exc:
            sv.failed.append((shown(p), _one_line(f"{shown(p)}: cannot read ({exc.strerror or exc})")))
            continue
        if stat.S_ISDIR(st.st_mode):
            stack.append(p)
        elif stat.S_ISREG(st.st_mode):
            sv.inputs.append(p)  # named on purpose: analysed, or failed with the importer's reason
        else:
            sv.skipped.append((shown(p), f"{shown(p)}: {_kind_of(st.st_mode)}, not a recording (never opened)"))
    while stack:
        d = stack.pop()
        try:
            if store.is_recording_folder(d):
                sv.inputs.append(d)
                continue
            with os.scandir(d) as it:
                entries = sorted(it, key=lambda e: e.name, reverse=True)
        except OSError as exc:
            sv.failed.append((shown(d), _one_line(f"{shown(d)}: cannot read this folder ({exc.strerror or exc})")))
            continue
        for e in entries:
            if e.name.startswith("."):
                continue
            fp = Path(e.path)
            try:
                link = e.is_symlink()
                st = os.stat(e.path)  # follows a link to a file
            except OSError as exc:
                sv.failed.append((shown(fp), _one_line(f"{shown(fp)}: cannot read ({exc.strerror or exc})")))
                continue
            if stat.S_ISDIR(st.st_mode):
                if link:
                    sv.skipped.append((shown(fp), f"{shown(fp)}: a link to a folder (not followed)"))
                else:
                    stack.append(fp)
            elif stat.S_ISREG(st.st_mode):
                if e.name in OWN_OUTPUTS:
                    continue
                _classify(fp, sv)
            else:
                sv.skipped.append((shown(fp), f"{shown(fp)}: {_kind_of(st.st_mode)}, not a recording (never opened)"))
    sv.inputs = sorted(dict.fromkeys(sv.inputs))
    sv.failed.sort()
    sv.skipped.sort()
    return sv


def find_inputs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Recording folders and importable files under ``paths``, sorted, each once (see :func:`survey`).

    Raises
    ------
    InputError
        When a path does not exist.
    """
    return survey(paths).inputs


def analyze_one(path: str | os.PathLike, config: dict[str, Any] | None = None) -> tuple[pd.DataFrame | None, str | None]:
    """Analyse one input into cohort rows.

    Parameters
    ----------
    path : path-like
        A recording folder or importable file.
    config : dict, optional
        :meth:`AnalysisConfig.to_dict` output (plain data travels to workers safely).

    Returns
    -------
    (rows, None) or (None, reason)
        ``reason`` is the one-line error for an input that could not be analysed.
    """
    path = Path(path)
    try:
        cfg = AnalysisConfig.from_dict(config) if config else AnalysisConfig()
        rec = load(path)
        res = analyze(rec, cfg, source=path)
    except CalmtraceError as exc:
        return None, _one_line(str(exc))
    except RecursionError:
        return None, f"{shown(path)}: nested too deeply to read"
    except Exception as exc:  # a bug must not stop a cohort run either; it is reported as such
        log.exception("internal error on %s", shown(path))
        return None, _one_line(f"{shown(path)}: internal error: {type(exc).__name__}: {exc}")
    q = res.quality
    base = {
        "input": shown(path),
        "subject": _one_line(str(rec.meta.get("subject", rec.meta.get("subject_id", ""))), 200),
        "session_date": rec.start.date().isoformat(),
        "simulated": bool(rec.meta.get("simulated", False)),
        "duration_s": float(rec.duration_s),
        "n_beats": int(len(rec.beats)),
        "artifact_pct": q.artifact_pct,
        "gap_s": q.gap_s,
        "valid_windows_pct": 100.0 - q.invalid_windows_pct if q.n_windows else math.nan,
        "quality_ok": q.ok,
    }
    rc = res.recovery.drop(columns=[c for c in _PRIVATE_COLUMNS if c in res.recovery.columns])
    if len(rc) == 0:
        return pd.DataFrame([base]), None
    rows = pd.concat([pd.DataFrame([base] * len(rc)), rc.reset_index(drop=True)], axis=1)
    # each metric's label and unit, from the metrics registry
    rows["metric_label"] = [_metrics.label(m) for m in rows["metric"]]
    rows["metric_unit"] = [_metrics.unit(m) for m in rows["metric"]]
    return rows, None


def _assemble(sv: Survey, outcomes: Sequence[tuple[pd.DataFrame | None, str | None]],
              lost: str | None = None) -> BatchResult:
    frames = [rows for rows, _ in outcomes if rows is not None]
    cohort = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COHORT_COLUMNS)
    failed = [(shown(p), reason) for p, (_, reason) in zip(sv.inputs, outcomes) if reason is not None]
    failures = pd.DataFrame(sorted(failed + sv.failed), columns=["input", "reason"])
    skipped = pd.DataFrame(sv.skipped, columns=["input", "reason"])
    return BatchResult(cohort, failures, skipped, lost)


@contextmanager
def _quiet_dask() -> Iterator[None]:
    """Dask's own logging follows calmtrace's while a batch runs: silent unless ``-v`` (INFO)
    asks for it. The levels are restored afterwards."""
    level = _silence_level()
    names = ["distributed", "dask", "tornado", "asyncio"] + [
        n for n in list(logging.root.manager.loggerDict) if n.startswith(("distributed.", "dask."))]
    saved = {n: logging.getLogger(n).level for n in names}
    try:
        for n in names:
            logging.getLogger(n).setLevel(max(level, saved[n]) if level == logging.CRITICAL else level)
        yield
    finally:
        for n, lv in saved.items():
            logging.getLogger(n).setLevel(lv)


def _dask_config() -> dict[str, Any]:
    """Settings for the local cluster: Dask's logging as quiet as calmtrace's, and a worker that
    dies on an input gives that input up at once instead of killing three more workers."""
    quiet = not log.isEnabledFor(logging.INFO)
    return {"logging.distributed": "critical" if quiet else "info",
            "distributed.scheduler.allowed-failures": 0}


def run_batch(
    paths: Iterable[str | os.PathLike],
    config: AnalysisConfig | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    serial: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Analyse every input under ``paths`` with one config.

    Parameters
    ----------
    paths : iterable of path-like
        Files and folders to search (see :func:`survey`).
    config : AnalysisConfig, optional
        One config for all inputs.
    workers : int, optional
        Local worker processes (default: the number of cores). Ignored with ``scheduler``.
    scheduler : str, optional
        Address of an existing ``dask.distributed`` scheduler, ``tcp://HOST:PORT`` or
        ``tls://HOST:PORT`` (security settings from Dask's configuration).
    serial : bool
        Run in this process, without Dask (for debugging and as the reference).
    progress : callable, optional
        ``progress(done, total)`` after each input.

    Returns
    -------
    BatchResult
        Every input analysed or failed, every other file skipped. When a worker dies on an input
        that input fails ("a worker process died while analysing it"); when the scheduler is lost,
        the results finished before are kept, the inputs not finished are failures, and
        :attr:`BatchResult.lost` says why.
    """
    sv = survey(paths)
    inputs = sv.inputs
    cfg_dict = (config or AnalysisConfig()).to_dict()
    tick = progress or (lambda done, total: None)
    total = len(inputs)
    if serial or total == 0:
        outcomes = []
        for i, p in enumerate(inputs, start=1):
            outcomes.append(analyze_one(p, cfg_dict))
            tick(i, total)
        return _assemble(sv, outcomes)

    import dask

    from dask.distributed import Client, LocalCluster, as_completed

    with dask.config.set(_dask_config()), _quiet_dask():
        cluster = None
        if scheduler:
            if not scheduler.startswith(("tcp://", "tls://", "inproc://")):
                raise InputError(f"--scheduler must look like tcp://HOST:PORT or tls://HOST:PORT, got {_one_line(scheduler, 80)!r}")
            try:
                client = Client(scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise InputError(f"{_one_line(scheduler, 80)}: cannot reach the Dask scheduler ({_one_line(exc, 120)})") from None
        else:
            n = workers or os.cpu_count() or 1
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   dashboard_address="127.0.0.1:0", host="127.0.0.1", silence_logs=_silence_level())
            client = Client(cluster)
        outcomes: list[Any] = [None] * total
        lost: str | None = None
        try:
            futures = client.map(analyze_one, [str(p) for p in inputs], config=cfg_dict, pure=False)
            index = {f.key: i for i, f in enumerate(futures)}
            done = 0
            for fut in as_completed(futures):
                i = index[fut.key]
                try:
                    outcomes[i] = fut.result()
                except CancelledError:  # cancelled by the client: the scheduler connection is gone
                    lost = "the Dask scheduler was lost (connection closed)"
                    break
                except Exception as exc:
                    if type(exc).__name__ == "KilledWorker":
                        outcomes[i] = (None, f"{shown(inputs[i])}: a worker process died while analysing it "
                                             "(KilledWorker; too large, or it crashed the reader?)")
                    else:
                        outcomes[i] = (None, _one_line(f"{shown(inputs[i])}: {type(exc).__name__}: {exc}"))
                done += 1
                tick(done, total)
        except (OSError, TimeoutError, CancelledError) as exc:  # the scheduler went away
            lost = _one_line(f"the Dask scheduler was lost ({type(exc).__name__}: {exc})", 160)
        finally:
            try:
                client.close(timeout=10)
            except Exception:
                log.debug("closing the Dask client failed", exc_info=True)
            if cluster is not None:
                try:
                    cluster.close(timeout=10)
                except Exception:
                    log.debug("closing the local cluster failed", exc_info=True)
    if lost is not None:
        for i, o in enumerate(outcomes):
            if o is None:
                outcomes[i] = (None, f"{shown(inputs[i])}: not analysed: {lost}")
        log.info("%s; %d of %d inputs finished and kept", lost,
                    sum(1 for o in outcomes if o[0] is not None), total)
    return _assemble(sv, outcomes, lost)


def _silence_level() -> int:
    return logging.INFO if log.isEnabledFor(logging.INFO) else logging.CRITICAL
