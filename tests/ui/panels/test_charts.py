"""Curve thinning: what the live view's curves keep of a long run."""

import numpy as np

from ui.panels import charts


def test_envelope_keeps_ends_spikes_and_dips_within_the_budget():
    values = np.random.default_rng(0).normal(size=5000)
    values[1234], values[4321] = 50.0, -40.0
    idx = charts.envelope_indices(values, max_points=160)
    assert len(idx) <= 160
    assert idx[0] == 0 and idx[-1] == 4999
    assert 1234 in idx and 4321 in idx  # uniform thinning would drop both
    assert np.all(np.diff(idx) > 0)
    assert np.array_equal(charts.envelope_indices(values[:100], 160), np.arange(100))  # short series untouched


def test_envelope_of_non_finite_buckets_keeps_their_first_entry():
    values = np.arange(1000, dtype=float)
    values[100:300] = np.nan
    idx = charts.envelope_indices(values, max_points=20)
    assert len(idx) <= 20 and idx[0] == 0 and idx[-1] == 999
    buckets = np.array_split(np.arange(1000), 9)
    for bucket in buckets:  # every bucket is represented, so a gap in the data stays visible as a gap
        assert np.intersect1d(bucket, idx).size >= 1
