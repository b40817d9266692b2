"""The beats' flag column keeps one ``str`` object per distinct flag, not one per beat.

Under pandas 3 a text column round-trips through the arrow string dtype, whose ``to_numpy`` makes a
new Python string for every element: 10 million beats carried ~510 MB of copies of "ok". The values
and the ``object`` dtype are those of the input (checked against the input itself)."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd

from calmtrace.recording import BEAT_FLAGS, Recording


def test_flags_keep_their_values_and_share_one_object_per_value():
    rng = np.random.default_rng(0)
    n = 5000
    rr = rng.uniform(600, 1000, n)
    flags = rng.choice(list(BEAT_FLAGS), n).astype(object)
    flags[::7] = None                                      # missing: read as "ok"
    rec = Recording(datetime(2024, 1, 1, tzinfo=timezone.utc),
                    pd.DataFrame({"t_s": np.cumsum(rr) / 1000.0, "rr_ms": rr,
                                  "flag": pd.Series(flags, dtype=object)}))
    got = rec.beats["flag"]
    assert got.dtype == object
    want = ["ok" if f is None else str(f) for f in flags]
    assert got.to_list() == want and all(type(f) is str for f in got)
    assert len({id(f) for f in got}) == len(set(want))
