"""Metrics: hand-computed performance measures, period selection, exceedance and state tables."""

import numpy as np
import pandas as pd
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


def test_exceeded_discharge_is_the_low_quantile_in_m3s():
    """Volumes of 100 months: 1..100 hm3/day held for 30 days; the flow exceeded in 95 % of months is the 5 %
    quantile: 5.95 hm3/day = 68.87 m3/s (1 hm3/day = 11.574 m3/s)."""
    import xarray as xr

    from hydro.metrics import exceeded_m3s

    days = xr.DataArray(np.full(100, 30.0), dims="time")
    volume = xr.DataArray((np.arange(1, 101) * 30.0)[None, :], dims=("member", "time"))
    assert exceeded_m3s(volume, days, 0.95) == pytest.approx(5.95 * 1e6 / 86400)
    assert exceeded_m3s(volume, days, 0.0) == pytest.approx(100 * 1e6 / 86400)


def test_head_share_is_withdrawal_over_the_river_at_the_head(tmp_path):
    from hydro.cli import main
    from hydro.metrics import head_share
    from hydro.results import counterparts, open_results
    from tests.conftest import RUNS

    assert main(["run", str(RUNS / "mean_year.toml"), "--set", "time.years=3", "--out", str(tmp_path / "b")]) == 0
    table = pd.read_csv(tmp_path / "b" / "qosh_tepa.csv", index_col="month")
    ds = open_results(tmp_path / "b" / "results.nc")
    again = head_share(ds, "qosh_tepa")
    np.testing.assert_allclose(table.share_pct, 100 * table.withdrawal_km3 / table.river_at_head_km3, rtol=1e-3)
    np.testing.assert_allclose(table.withdrawal_km3, again.withdrawal_km3, atol=1e-4)
    assert list(table.index) == list(range(1, 13)) and (table.share_pct > 0).all()
    assert "kerki" in counterparts(tmp_path / "b" / "results.nc", ds)["without"].node.values
    assert main(["run", str(RUNS / "no_qosh_tepa.toml"), "--set", "time.years=3", "--out", str(tmp_path / "n")]) == 0
    assert not (tmp_path / "n" / "qosh_tepa.csv").exists()
