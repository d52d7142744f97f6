"""The stochastic generator keeps its targets; year types; deterministic, historical and shifted hydrology."""

from __future__ import annotations

import numpy as np
import pytest

from hydro import hydrology
from hydro.basin import load_basin
from hydro.network import compile_network
from hydro.runner import prepare, run_scenario
from hydro.scenario import load_scenario
from hydro.stochastic import (Parameters, achieved_statistics, annual_flows, classify, exceedance,
                              reference_sample)
from hydro.timeaxis import TimeAxis
from tests.conftest import AMU_DARYA, RUNS

MEMBERS, YEARS = 2000, 40  # 80,000 generated years: standard error of a correlation ~0.004


@pytest.fixture(scope="module")
def network():
    return compile_network(load_basin(AMU_DARYA))


@pytest.fixture(scope="module")
def params(network):
    return Parameters.of(network)


@pytest.fixture(scope="module")
def flows(params):
    return annual_flows(params, MEMBERS, YEARS, seed=7)


def test_generator_keeps_mean_cv_persistence_and_cross_correlation(network, params, flows):
    names = [network.names[i] for i in network.inflow_idx]
    table = achieved_statistics(flows, names, params)
    np.testing.assert_allclose(table.mean_km3, table.mean_target_km3, rtol=0.005)
    np.testing.assert_allclose(table.cv, table.cv_target, rtol=0.03)
    np.testing.assert_allclose(table.lag1, table.lag1_target, atol=0.02)
    np.testing.assert_allclose(table["cross"], table.cross_target, atol=0.02)


def test_generator_follows_its_parameters(network):
    """A different CV, persistence and correlation are reproduced too (the targets are not baked in)."""
    p = Parameters.of(network, cv=0.25, lag1=0.5, cross_correlation=0.3)
    table = achieved_statistics(annual_flows(p, 1000, 40, seed=3), list(range(len(p.mean))), p)
    np.testing.assert_allclose(table.cv, 0.25, rtol=0.04)
    np.testing.assert_allclose(table.lag1, 0.5, atol=0.03)
    np.testing.assert_allclose(table["cross"], 0.3, atol=0.03)


def test_same_seed_same_members_other_seed_other_members(params):
    a = annual_flows(params, 5, 10, seed=1)
    np.testing.assert_array_equal(a, annual_flows(params, 5, 10, seed=1))
    assert not np.allclose(a, annual_flows(params, 5, 10, seed=2))


def test_monthly_members_keep_the_regime(network, params):
    axis = TimeAxis(np.datetime64("2026-10", "M"), 24)
    monthly = hydrology.stochastic(network, axis, 3000, 11, params)
    clim = hydrology.climatology(network, axis, 1)[0]
    np.testing.assert_allclose(monthly.mean(axis=0), clim, rtol=0.02)
    # every month of a water year is the same multiple of the mean year (fixed fragments)
    ratio = monthly[:, :12] / clim[None, :12]
    np.testing.assert_allclose(ratio, np.broadcast_to(ratio[:, :1], ratio.shape), rtol=1e-12)


def test_recorded_extremes_fall_at_plausible_return_periods(network, params, flows):
    """1947 (52.8 km3) and 1969 (96.3 km3) are WU-AD basin totals against its 74 km3 mean: 0.714 and 1.301 of the
    mean. The generated years at Kerki reach beyond both, with return periods between 10 and 1,000 years."""
    columns = hydrology.forecast_columns(network)
    kerki = flows[:, :, columns].sum(axis=2).ravel()
    mean = params.mean[columns].sum()
    dry, wet = 52.8 / 74.0 * mean, 96.3 / 74.0 * mean
    assert kerki.min() < dry and kerki.max() > wet
    t_dry = 1.0 / np.mean(kerki <= dry)
    t_wet = 1.0 / np.mean(kerki >= wet)
    assert 10 <= t_dry <= 1000 and 10 <= t_wet <= 1000, (t_dry, t_wet)


def test_year_type_shares_match_their_thresholds(network, params, flows):
    columns = hydrology.forecast_columns(network)
    p = exceedance(flows[:, :, columns].sum(axis=2), reference_sample(params, columns))
    types = classify(p)
    np.testing.assert_allclose(np.mean(types == "dry"), 0.25, atol=0.01)
    np.testing.assert_allclose(np.mean(types == "wet"), 0.25, atol=0.01)
    types = classify(p, dry=0.9, wet=0.1)
    np.testing.assert_allclose(np.mean(types == "dry"), 0.10, atol=0.01)


def test_year_type_runs_scale_the_mean_year(network, params):
    factors = {y: hydrology.year_type_scale(network, params, y, None)[0] for y in ("dry", "normal", "wet")}
    assert factors["dry"] < factors["normal"] < factors["wet"]
    assert 0.75 < factors["dry"] < 0.9 and 0.97 < factors["normal"] < 1.0 and 1.1 < factors["wet"] < 1.3
    scenario = load_scenario(RUNS / "dry_year.toml", [("time.years", 2)])
    inputs = prepare(scenario)
    assert set(inputs.year_type.ravel()) == {"dry"}
    np.testing.assert_allclose(inputs.exceedance, 0.875, atol=0.01)  # the middle of the dry class (>= 0.75)


def test_historical_replay_scales_the_seasons_of_2021(network):
    """YB21: the natural flow at Kerki is 71 % of norm in Jan-Mar, 88 % in Apr-Sep, 71 % in Oct-Dec, season by
    season; within it the Vakhsh gets Nurek's recorded inflow (19.26 km3 in the year, 15.47 in Apr-Sep) and the
    other rivers share the rest, each month keeping its river's regime."""
    axis = TimeAxis(np.datetime64("2021-01", "M"), 12)
    replay = hydrology.historical(network, axis, 1, [2021])[0]
    clim = hydrology.climatology(network, axis, 1)[0]
    kerki = hydrology.forecast_columns(network)
    for months, pct in (([0, 1, 2], 71), ([3, 4, 5, 6, 7, 8], 88), ([9, 10, 11], 71)):
        assert replay[months][:, kerki].sum() == pytest.approx(clim[months][:, kerki].sum() * pct / 100, rel=1e-12)
    vakhsh = [network.names[i] for i in network.inflow_idx].index("vakhsh")
    assert replay[:, vakhsh].sum() == pytest.approx(19260.0, rel=1e-12)
    assert replay[3:9, vakhsh].sum() == pytest.approx(15470.0, rel=1e-12)
    ratio = replay / clim  # one factor per river and season: the regime's monthly shape is kept
    for months in ([0, 1, 2], [3, 4, 5, 6, 7, 8], [9, 10, 11]):
        np.testing.assert_allclose(ratio[months], np.repeat(ratio[months][:1], len(months), axis=0), rtol=1e-12)


def test_unknown_replay_year_is_refused():
    from hydro.errors import ScenarioError

    with pytest.raises(ScenarioError, match=r"hydrology.replay: found 2022, expected a recorded year of the basin's historical_years: one of \[2020, 2021, 2023, 2024\]"):
        load_scenario(RUNS / "dry_year.toml", [("hydrology.kind", "historical"), ("hydrology.replay", [2021, 2022])])


def test_melt_shift_moves_volume_into_earlier_months():
    """All the year's water in July (31 days), shifted 31 days earlier: June's 30 days and May's last day,
    shares 30/31 and 1/31."""
    july = np.zeros(12)
    july[6] = 1.0
    shifted = hydrology.shift_earlier(july, 31 / 7)
    expected = np.zeros(12)
    expected[5], expected[4] = 30 / 31, 1 / 31
    np.testing.assert_allclose(shifted, expected, atol=1e-12)


def test_melt_shift_keeps_the_year_and_brings_spring_forward(network):
    shares = hydrology.regime_shares(network)
    shifted = hydrology.regime_shares(network, melt_shift_weeks=4)
    np.testing.assert_allclose(shifted.sum(axis=1), 1.0)
    assert np.all(shifted[:, 3:6].sum(axis=1) > shares[:, 3:6].sum(axis=1))  # more in Apr-Jun
    assert np.all(shifted[:, 7:9].sum(axis=1) < shares[:, 7:9].sum(axis=1))  # less in Aug-Sep


def test_results_carry_year_types_per_member_and_water_year():
    scenario = load_scenario(RUNS / "ensemble.toml", [("hydrology.members", 40), ("time.years", 3)])
    ds = run_scenario(scenario)
    assert ds.year_type.dims == ("member", "time")
    assert set(np.unique(ds.year_type.values)) <= {"dry", "normal", "wet"}
    # one type per member and water year
    for wy in np.unique(ds.water_year.values):
        block = ds.year_type.sel(time=ds.water_year == wy).values
        assert (block == block[:, :1]).all()
    dry = ds.shortfall.where(ds.year_type == "dry").sum() / (ds.year_type == "dry").sum()
    wet = ds.shortfall.where(ds.year_type == "wet").sum() / (ds.year_type == "wet").sum()
    assert float(dry) > float(wet)
