"""The command line given broken files, wrong options and impossible events.

Each row of :data:`CASES` runs ``python -m calmtrace`` in a fresh copy of a small workspace (a
recording folder, a 2-beat recording, broken files of many kinds) and checks the promise of
``cli.py``: exactly one line on stderr, naming the thing and the problem; exit status 2 for bad
input (1 for a failure that is not the input's fault: an analysis that cannot be carried out);
no traceback; and nothing half-written: every file of the workspace, hidden ones included, is
byte for byte what it was, and nothing was added (no --out folder, no ``*.tmp``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import calmtrace

#: Exit status for bad input, and for failures that are not bad input (see cli.py).
BAD_INPUT, FAILURE = 2, 1


def _workspace(root: Path) -> None:
    """The files the cases point at."""
    calmtrace.save(calmtrace.simulate("tsst", seed=2), root / "rec")
    shutil.copytree(root / "rec", root / "truncated")
    text = (root / "rec" / "recording.json").read_text()
    (root / "truncated" / "recording.json").write_text(text[: len(text) // 2])
    (root / "two-beats.csv").write_text("t_s,rr_ms,flag\n0.8,800.0,ok\n1.6,800.0,ok\n")
    subprocess.run([sys.executable, "-m", "calmtrace", "import", "two-beats.csv", "--out", "two-beats",
                    "--force"], cwd=root, check=True, capture_output=True)
    (root / "empty.txt").write_bytes(b"")
    (root / "garbage.bin").write_bytes(bytes((k * 131 + 7) % 256 for k in range(600)))
    (root / "rr.txt").write_text("800\n810\n790\n805\n")
    (root / "negative.txt").write_text("800\n-3\n810\n")
    (root / "letters.txt").write_text("800\nabc\n810\n")
    (root / "naive.csv").write_text("onset,duration,label,kind\n2024-05-01T09:30:00,60,speech,stressor\n")
    (root / "party.csv").write_text("onset_s,duration_s,label,kind\n10,60,speech,party\n")
    (root / "bad.toml").write_text("[windows\nwindow_s = 60\n")
    (root / "unknown-key.toml").write_text("[windows]\nwindw_s = 60\n")
    (root / "out-taken").mkdir()
    (root / "out-taken" / "notes.txt").write_text("someone's work\n")


# (id, arguments, exit status, words the one line must contain)
CASES = [
    ("missing-file", ["import", "nope.csv", "--out", "o"], BAD_INPUT, "nope.csv: no such file"),
    ("missing-recording", ["analyze", "nope", "--out", "o"], BAD_INPUT, "nope: no such file"),
    ("empty-file", ["import", "empty.txt", "--out", "o"], BAD_INPUT, "empty.txt: empty file"),
    ("binary-garbage", ["import", "garbage.bin", "--out", "o"], BAD_INPUT, "garbage.bin: not a recognised format"),
    ("unknown-format", ["import", "rr.txt", "--format", "nosuch", "--out", "o"], BAD_INPUT, "unknown format 'nosuch'"),
    ("wrong-format", ["import", "rr.txt", "--format", "fit", "--out", "o"], BAD_INPUT, "rr.txt: not a readable FIT"),
    ("negative-rr", ["import", "negative.txt", "--out", "o"], BAD_INPUT, "negative.txt line 2"),
    ("non-numeric-rr", ["import", "letters.txt", "--format", "rr-text", "--out", "o"], BAD_INPUT,
     "letters.txt line 2"),
    ("truncated-recording-json", ["info", "truncated"], BAD_INPUT, "recording.json: not valid JSON"),
    ("naive-datetime-event", ["events", "add", "rec", "--label", "x", "--kind", "stressor",
                              "--onset", "2024-05-01T09:30:00"], BAD_INPUT, "no UTC offset"),
    ("naive-datetime-events-file", ["analyze", "rec", "--events", "naive.csv", "--out", "o"], BAD_INPUT,
     "naive.csv line 2"),
    ("event-outside-recording", ["events", "add", "rec", "--label", "x", "--kind", "stressor",
                                 "--onset", "999999"], BAD_INPUT, "outside the recording"),
    ("negative-duration", ["events", "add", "rec", "--label", "x", "--kind", "stressor", "--onset", "10",
                           "--duration", "-5"], BAD_INPUT, "duration_s must be >= 0"),
    ("unknown-event-kind", ["events", "add", "rec", "--label", "x", "--kind", "party", "--onset", "10"],
     BAD_INPUT, "'party' is not one of"),
    ("unknown-kind-events-file", ["analyze", "rec", "--events", "party.csv", "--out", "o"], BAD_INPUT,
     "party.csv line 2: kind must be one of"),
    ("bad-toml", ["analyze", "rec", "--config", "bad.toml", "--out", "o"], BAD_INPUT, "bad.toml: not valid TOML"),
    ("unknown-config-key", ["analyze", "rec", "--config", "unknown-key.toml", "--out", "o"], BAD_INPUT,
     "unknown key 'windw_s'"),
    ("out-exists-without-force", ["simulate", "tsst", "--out", "out-taken"], BAD_INPUT, "out-taken: already exists"),
    ("import-over-a-recording", ["import", "rr.txt", "--out", "rec"], BAD_INPUT, "rec: already exists"),
    ("missing-option", ["analyze", "rec"], BAD_INPUT, "Missing option '--out'"),
    ("option-not-a-number", ["simulate", "tsst", "--out", "o", "--seed", "abc"], BAD_INPUT,
     "'abc' is not a valid integer"),
    ("unknown-scenario", ["simulate", "nosuch", "--out", "o"], BAD_INPUT, "nosuch"),
    ("bad-scheduler-address", ["batch", "rec", "--scheduler", "nonsense", "--out", "o"], BAD_INPUT, "--scheduler"),
    ("capture-without-device", ["capture", "--no-live", "--out", "o"], BAD_INPUT, "--device"),
    ("speed-without-simulate", ["capture", "--device", "X", "--speed", "5", "--no-live", "--out", "o"], BAD_INPUT,
     "--speed"),
    # not bad input: the file is fine, the analysis cannot be carried out on 2 beats
    ("analyze-two-beats", ["analyze", "two-beats", "--out", "o"], FAILURE, "2 beats"),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-workspace")
    _workspace(root)
    return root


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` (hidden ones too): file contents, None for folders."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in root.rglob("*")}


@pytest.mark.parametrize("args, status, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gives_one_line_and_leaves_nothing_half_written(
        template: Path, tmp_path: Path, args: list[str], status: int, words: str) -> None:
    work = tmp_path / "work"
    shutil.copytree(template, work)
    before = _snapshot(work)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", COLUMNS="200")
    p = subprocess.run([sys.executable, "-m", "calmtrace", *args], cwd=work, capture_output=True, text=True,
                       env=env, timeout=120, stdin=subprocess.DEVNULL)
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("calmtrace: error: ") and words in lines[0], lines[0]
    assert "Traceback" not in p.stderr + p.stdout
    assert p.returncode == status, (p.returncode, lines[0])
    assert p.stdout == "", "nothing claims success"
    after = _snapshot(work)
    assert sorted(set(after) - set(before)) == [], "nothing was created (no --out folder, no *.tmp)"
    assert after == before, "nothing was changed"
