"""The bulk path of ``to_numbers`` (a column of plain decimal numbers, converted at once) against the
cell-by-cell loop it stands in for: same values (NaN where the loop gives NaN), same count of
decimals, and the loop taken (with its error naming the line) whenever a cell is not plain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from calmtrace.errors import FormatError
from calmtrace.formats import _evidence
from calmtrace.formats._evidence import Grid, _plain_numbers, to_numbers


def _grid(cells: list[str]) -> Grid:
    return Grid(Path("x.txt"), None, None, [(n + 1, [c]) for n, c in enumerate(cells)], "none", False, 1)


def _loop(cells: list[str], monkeypatch) -> tuple[np.ndarray, int]:
    with monkeypatch.context() as m:
        m.setattr(_evidence, "_plain_numbers", lambda cells: None)
        return to_numbers(_grid(cells), 0, "column 1")


@pytest.mark.parametrize("cells", [
    ["812", "797.5", "+801.25", "-3", ".5", "5.", "0.125000"],
    ["1" + "0" * 400, "800"],                                  # too large for a float: NaN in both
    ["٨١٢", "800.0"],                                          # Unicode digits: float() reads them
    [f"{v:.{d}f}" for v, d in zip(np.random.default_rng(1).uniform(300, 1500, 500),
                                  np.random.default_rng(2).integers(0, 5, 500))],
])
def test_bulk_path_equals_the_loop(cells, monkeypatch):
    fast = _plain_numbers(cells)
    assert fast is not None
    want = _loop(cells, monkeypatch)
    np.testing.assert_array_equal(fast[0], want[0])
    assert fast[1] == want[1]


@pytest.mark.parametrize("cells", [
    ["812", "nan", "800"], ["812", "", "800"], ["812", '"800"', "790"], ["8.1e2", "800"], ["812 ", "800"],
    ["812", "abc"], [],
])
def test_anything_not_plain_takes_the_loop(cells, monkeypatch):
    assert _plain_numbers(cells) is None
    if "abc" in cells:
        with pytest.raises(FormatError, match="line 2"):
            to_numbers(_grid(cells), 0, "column 1")
    elif cells:
        got = to_numbers(_grid(cells), 0, "column 1")
        want = _loop(cells, monkeypatch)
        np.testing.assert_array_equal(got[0], want[0])
        assert got[1] == want[1]


def test_one_column_rows_read_like_the_list_of_rows():
    from calmtrace.formats._evidence import OneColumnRows, split_grid

    lines = ["# exported", "812", "", "  797.5 ", "# note", "nan", "801"]
    want = [(2, ["812"]), (4, ["797.5"]), (6, ["nan"]), (7, ["801"])]      # data lines, stripped
    g = split_grid(Path("x.txt"), lines, {})
    assert isinstance(g.rows, OneColumnRows) and g.width == 1 and g.header is None
    assert list(g.rows) == want and len(g.rows) == 4 and bool(g.rows)
    assert g.rows[0] == want[0] and g.rows[-1] == want[-1] and g.rows[1:3] == want[1:3]
    assert type(g.rows[0][0]) is int
    assert g.column(0) == ["812", "797.5", "nan", "801"] and g.column(1) == [""] * 4
    assert g.line_nos == [2, 4, 6, 7] and all(type(n) is int for n in g.line_nos)
    h = split_grid(Path("x.txt"), ["RR", "812", "800"], {})
    assert h.header == ["RR"] and h.header_line == 1 and list(h.rows) == [(2, ["812"]), (3, ["800"])]
