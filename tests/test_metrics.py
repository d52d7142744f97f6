"""Metrics: hand-computed performance measures, period selection, exceedance and state tables."""

import numpy as np
import pytest

from hydro.metrics import exceedance_curve, performance


def test_hashimoto_measures_on_a_hand_computed_series():
    """demand 10 every month; shortfall [0, 5, 3, 0, 0, 2, 0]: months 1, 2 and 5 fail.
    reliability 4/7; recoveries after months 2 and 5: 2 of 3 failed months -> resilience 2/3;
    events [1-2] worst 5/10 and [5] worst 2/10 -> vulnerability 0.35."""
    p = performance([0, 5, 3, 0, 0, 2, 0], [10] * 7)
    assert p["reliability"] == pytest.approx(4 / 7)
    assert p["resilience"] == pytest.approx(2 / 3)
    assert p["vulnerability"] == pytest.approx(0.35)


def test_a_failure_at_the_end_does_not_recover():
    """[0, 0, 4, 6]: one event of two months, worst 6/10; one failure is followed by another, the last has no
    month after it: resilience 0/2."""
    p = performance([0, 0, 4, 6], [10] * 4)
    assert p == pytest.approx({"reliability": 0.5, "resilience": 0.0, "vulnerability": 0.6})


def test_no_failure_is_fully_reliable():
    assert performance([0, 0, 0], [5, 5, 5]) == {"reliability": 1.0, "resilience": 1.0, "vulnerability": 0.0}


def test_tolerance_ignores_small_shortfalls():
    p = performance([0.1, 0.0, 3.0], [10, 10, 10], tolerance=0.05)  # 1 % short is within a 5 % tolerance
    assert p["reliability"] == pytest.approx(2 / 3)


def test_exceedance_curve_plotting_positions():
    p, v = exceedance_curve([3.0, 1.0, 2.0])
    np.testing.assert_allclose(p, [0.25, 0.5, 0.75])
    np.testing.assert_allclose(v, [3.0, 2.0, 1.0])
