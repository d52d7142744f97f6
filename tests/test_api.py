"""The Python interface (hydro.run, compare, sweep, open_results, open_sweep, summary, by_state; issue 14)."""

from __future__ import annotations

import numpy as np
import pytest

import hydro
from hydro.errors import ScenarioError
from tests.conftest import RUNS


def test_run_takes_overrides_as_keywords_or_a_dict_and_equals_the_cli(tmp_path):
    a = hydro.run(RUNS / "mean_year.toml", time__years=2, qosh_tepa__withdrawal_km3=8.0)
    b = hydro.run(RUNS / "mean_year.toml", overrides={"time.years": 2, "qosh_tepa.withdrawal_km3": 8.0})
    np.testing.assert_array_equal(a.withdrawal.values, b.withdrawal.values)
    assert a.attrs["qosh_tepa_withdrawal_km3"] == 8.0
    from hydro.cli import main

    assert main(["run", str(RUNS / "mean_year.toml"), "--set", "time.years=2", "--set", "qosh_tepa.withdrawal_km3=8", "--out", str(tmp_path / "r"), "-q"]) == 0
    saved = hydro.open_results(tmp_path / "r" / "results.nc")
    np.testing.assert_array_equal(saved.withdrawal.values, a.withdrawal.values)
    assert hydro.summary(saved).loc["UZB", "shortfall_km3"] == pytest.approx(hydro.summary(a).loc["UZB", "shortfall_km3"])


def test_a_misspelt_keyword_is_refused_like_a_misspelt_set():
    with pytest.raises(ScenarioError, match="qosh_tepa.withdrawal_km3"):
        hydro.run(RUNS / "mean_year.toml", qosh_tepa__withdrawl_km3=8.0)


def test_compare_returns_the_grid_and_its_table():
    ds, table = hydro.compare(RUNS / "rules_compare.toml", ["upstream_first", "icwc_quota"], [0.0, 6.0], time__years=2)
    assert dict(ds.sizes)["rule"] == 2 and dict(ds.sizes)["qosh_tepa_km3"] == 2
    assert {"shortfall_km3_p05", "shortfall_km3_p95"} <= set(table.columns)


def test_sweep_has_short_dimension_names_and_states_select_on_chunked_data(tmp_path):
    ds = hydro.sweep(RUNS / "mean_year.toml", {"qosh_tepa.withdrawal_km3": [0.0, 6.0], "rule": ["upstream_first"]}, tmp_path / "s",
                     workers=0, time__years=2)
    assert {"withdrawal_km3", "rule"} <= set(ds.dims) and ds.withdrawal_km3.attrs["key"] == "qosh_tepa.withdrawal_km3"
    assert ds.shortfall.chunks is not None  # lazily loaded
    by_state = hydro.by_state(ds.shortfall)
    assert set(by_state.state.values) >= {"UZB", "TKM"}
    uzb = by_state.sel(state="UZB", rule="upstream_first").sum(("member", "time")).values
    assert uzb[1] > uzb[0]  # Qosh Tepa at 6 km3/yr takes water from Uzbekistan
    assert "qosh_tepa.withdrawal_km3" in hydro.open_sweep(tmp_path / "s", short_names=False).sizes


def test_importing_hydro_loads_no_heavy_library():
    import subprocess
    import sys

    code = "import sys, hydro; print(int('xarray' in sys.modules), int('numba' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "0"]


def test_agreements_caps_and_years_from_python():
    small = {"uncertainty.parameter_sets": 0, "hydrology.members": 6, "time.years": 6}
    table = hydro.judge(RUNS / "negotiate.toml", {"cap_4": {"qosh_tepa.withdrawal_km3": 4}, "cap_8": {"qosh_tepa.withdrawal_km3": 8}},
                        overrides=small)
    assert table.loc["cap_4", "afg_withdrawal_km3"] == pytest.approx(4.0, rel=1e-6)
    assert table.loc["cap_8", "UZB_TKM_dry_pct"] > table.loc["cap_4", "UZB_TKM_dry_pct"]
    caps = hydro.admissible(RUNS / "negotiate.toml", ["upstream_first"], [10.0], 8.0, overrides=small)
    assert set(caps.measure) == {"total", "added"} and (caps.withdrawal_km3 <= 8.0).all()
    years = hydro.year_by_year(RUNS / "timeline.toml", overrides=small)
    assert {"shortfall_pct", "leverage_score", "qosh_tepa_withdrawal"} <= set(years.quantity)
