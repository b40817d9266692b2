"""Nothing foreign runs: markup from a client's diary, names and CSV formulas stay inert.

The reports are opened in real Chromium (Debian's ``/usr/bin/chromium`` through Playwright) and
checked by the DOM: every payload would, if it ran, set an attribute on ``<body>`` or create an
element, and none may. The payloads go into every place a user's text reaches: event labels (an
events file), the subject id, the device name and the source file's name. Plotly draws a subset of
HTML in titles, legend names and annotations (``<a href>``, ``<b>``...), so the labels must also
come out as the literal text, with no link.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import calmtrace
from calmtrace.analysis import analyze
from calmtrace.events import Event, Events
from calmtrace.report import write_report, write_trend_report
from calmtrace.sessions import collect_trend
from calmtrace.store import save


#: Each payload, if it ran, would set ``data-xss-<n>`` on <body> or add an element with id xss-<n>.
PAYLOADS = [
    "<img src=x onerror=\"document.body.setAttribute('data-xss-1','1')\">",
    "</script><script>document.body.setAttribute('data-xss-2','1')</script>",
    "<a href=\"javascript:document.body.setAttribute('data-xss-3','1')\">click me</a>",
    "<svg onload=\"document.body.setAttribute('data-xss-4','1')\"></svg>",
    "'\"><iframe id=xss-5 srcdoc=\"<script>parent.document.body.setAttribute('data-xss-5','1')</script>\"></iframe>",
    "<a href=\"https://example.org/\">a link</a> <b id=xss-6>bold</b>",
]


def _hostile_recording(seed: int, week: int = 0):
    rec = calmtrace.simulate("tsst", seed=seed)
    rec = rec.replace(start=rec.start + pd.Timedelta(weeks=week).to_pytimedelta())
    evs = [Event(e.onset_s, e.duration_s, PAYLOADS[i % len(PAYLOADS)], e.kind) for i, e in enumerate(rec.events)]
    evs += [Event(120.0 + 15 * k, 0.0, p, "note") for k, p in enumerate(PAYLOADS)]
    rec = rec.with_events(Events(evs))
    rec.meta.update(subject=PAYLOADS[0], device_name=PAYLOADS[1], model=PAYLOADS[2])
    return rec


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hostile")
    folders = []
    for week in range(3):
        # the folder name itself carries markup too (a file name is text from outside)
        folder = root / "sessions" / f"w{week}<img src=x onerror=document.body.setAttribute('data-xss-7','1')>"
        save(_hostile_recording(week + 1, week), folder)
        folders.append(folder)
    res = analyze(calmtrace.load(folders[0]), source=folders[0])
    assert {e.label for e in res.recording.events} >= set(PAYLOADS)
    return {"session": write_report(res, root / "session.html"),
            "trend": write_trend_report(collect_trend([root / "sessions"]), root / "trend.html")}


@pytest.mark.parametrize("which", ["session", "trend"])
def test_no_markup_from_labels_subjects_or_names_runs_in_the_report(browser, reports, which: str) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(reports[which].resolve().as_uri(), wait_until="load")
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length === "
                           "document.querySelectorAll('.plotly-graph-div').length")
    page.wait_for_timeout(500)   # an <img onerror> fires after its failed load
    # hover and click every annotation and legend entry (a link in them would be followed)
    for el in page.locator(".annotation-text, .legendtext, .gtitle").all()[:40]:
        try:
            el.hover(timeout=500)
            el.click(timeout=500)
        except Exception:
            pass   # hidden behind another element: hovering is not the point, the DOM check is
    attrs = page.evaluate("Array.from(document.body.attributes).map(a => a.name)")
    assert not [a for a in attrs if a.startswith("data-xss")], attrs
    assert page.evaluate("document.querySelectorAll('[id^=xss-], img, iframe, svg a, .js-plotly-plot a:not(.modebar-btn)').length") == 0
    assert dialogs == []
    # the labels are shown as the literal text they are
    text = page.evaluate("document.body.innerText")
    svg_text = page.evaluate("Array.from(document.querySelectorAll('.js-plotly-plot text')).map(t => t.textContent).join('\\n')")
    if which == "session":
        for p in PAYLOADS:
            assert p in text, p
        assert any(PAYLOADS[2] in line for line in svg_text.splitlines()), "an annotation shows the label as text"
    else:
        assert "<img src=x onerror" in text
    page.close()


def test_recovery_csv_is_spreadsheet_safe(tmp_path: Path) -> None:
    """OWASP CSV injection: a label starting with = + - @ tab or CR gets a leading ' in recovery.csv."""
    labels = ["=1+1", "+cmd|' /C calc'!A0", "-2-3", "@SUM(A1:A2)", "\tspeech", "\rmaths", "plain speech"]
    rec = calmtrace.simulate("tsst", seed=1)
    evs = [e for e in rec.events if e.kind != "stressor"]
    evs += [Event(330.0 + 150 * k, 60.0, lab, "stressor") for k, lab in enumerate(labels)]
    save(rec.with_events(Events(evs)), tmp_path / "rec")
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-m", "calmtrace", "analyze", str(tmp_path / "rec"), "--out", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    with open(out / "recovery.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    seen = {r["event_label"] for r in rows}
    expected = {("'" + lab) if lab[:1] in "=+-@\t\r" else lab for lab in labels}
    assert expected <= seen, seen
    assert not any(r["event_label"][:1] in "=+-@\t\r" for r in rows)
    # the recording keeps the exact text
    assert set(labels) <= {e.label for e in calmtrace.load(tmp_path / "rec").events}


def test_an_error_quoting_a_100_mb_line_is_one_short_line(tmp_path: Path) -> None:
    big = tmp_path / "ecg_250hz.csv"
    big.write_text("time_s,ecg_uv\n1," + "9" * 100_000_000 + "\n")
    p = subprocess.run([sys.executable, "-m", "calmtrace", "import", str(big), "--format", "ecg-csv",
                        "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=600)
    assert p.returncode == 2
    assert len(p.stderr.splitlines()) == 1 and len(p.stderr) <= 600 and str(big) in p.stderr, p.stderr[:1000]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", ["toml", "recording-json"])
def test_input_nested_thousands_deep_is_one_line(tmp_path: Path, kind: str) -> None:
    rec = tmp_path / "rec"
    save(calmtrace.simulate("tsst", seed=1), rec)
    if kind == "toml":
        (tmp_path / "deep.toml").write_text("a = " + "[" * 50_000 + "]" * 50_000 + "\n")
        args = ["analyze", str(rec), "--out", str(tmp_path / "out"), "--config", str(tmp_path / "deep.toml")]
    else:
        (rec / "recording.json").write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
        args = ["info", str(rec)]
    p = subprocess.run([sys.executable, "-m", "calmtrace", *args], capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and len(p.stderr.splitlines()) == 1, p.stderr[:2000]
    assert "nested too deeply" in p.stderr and "RecursionError" not in p.stderr
