"""``_evidence._runs``: the one walk over runs of unusable rows that both gap builders share.

Expected runs come from ``itertools.groupby`` over the rows (an independent way of finding them);
expected gaps are worked out by hand from the intervals written in each test.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from calmtrace.formats import _evidence
from calmtrace.formats._evidence import keep_gaps_for_rows, series_from_rr


def _runs_by_groupby(ok: list[bool]) -> list[tuple[int, int]]:
    out, k = [], 0
    for good, grp in itertools.groupby(ok):
        n = len(list(grp))
        if not good:
            out.append((k, k + n - 1))
        k += n
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.booleans(), max_size=60))
def test_runs_are_the_groups_of_unusable_rows(ok: list[bool]) -> None:
    got = list(_evidence._runs(np.array(ok, dtype=bool)))
    assert got == _runs_by_groupby(ok)
    assert all(isinstance(a, int) and isinstance(b, int) for a, b in got)


def test_runs_at_both_ends_and_none():
    assert list(_evidence._runs(np.array([False, False, True, True, False]))) == [(0, 1), (4, 4)]
    assert list(_evidence._runs(np.ones(4, dtype=bool))) == []
    assert list(_evidence._runs(np.zeros(3, dtype=bool))) == [(0, 2)]
    assert list(_evidence._runs(np.zeros(0, dtype=bool))) == []


def test_series_gaps_over_removed_rows_and_long_intervals():
    # 800, nan, 4000 (too long), 800 x 3, nan, 800 x 5: two runs, rows 1-2 and 6
    rr = np.array([800, np.nan, 4000, 800, 800, 800, np.nan, 800, 800, 800, 800, 800], float)
    meta: dict = {}
    s = series_from_rr(Path("x.txt"), rr, list(range(1, rr.size + 1)), meta)
    # row 1 stands in with the median of the usable ones around it (800 ms); row 2 keeps its 4 s
    assert [(round(a, 9), round(d, 9), r) for a, d, r in s.gaps] == [(0.8, 4.8, "import"), (8.0, 0.8, "import")]
    assert s.keep.sum() == 9


def test_keep_gaps_for_rows_both_ways():
    t_end = np.array([0.8, 1.6, 2.4, 3.2, 4.0, 4.8])
    rr = np.array([800, 800, 800, 800, 800, 800], float)
    ok = np.array([True, False, False, True, True, False])
    # runs_only: each run from the start of its first row's interval to the end of its last row's
    got = keep_gaps_for_rows(t_end, rr, ok, runs_only=True)
    assert [(round(a, 9), round(d, 9), r) for a, d, r in got] == [(0.8, 1.6, "import"), (4.0, 0.8, "import")]
    # otherwise a run ends where the next kept beat's interval begins: rows 1-2 lose 1.6 s; the
    # last run ends with the file
    got = keep_gaps_for_rows(t_end, rr, ok)
    assert [(round(a, 9), round(d, 9), r) for a, d, r in got] == [(0.8, 1.6, "import"), (4.0, 0.8, "import")]
