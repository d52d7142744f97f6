"""Reservoir operation (issue 15): policies, Rogun's filling, and compound scenarios, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hydro
from hydro import energy
from hydro.basin import load_basin
from hydro.errors import ScenarioError
from hydro.network import compile_network
from hydro.reservoirs import Filling, demand_factor, operation
from hydro.scenario import load_scenario
from hydro.timeaxis import TimeAxis
from tests.conftest import AMU_DARYA, RUNS

ROGUN_FILLING = {"rogun": {"policy": "curve", "filling": {"start": "2027-10", "years": 10.0, "initial_km3": 0.2, "stage_km3": 13.3}}}


def test_filling_volume_rises_linearly_to_the_stage():
    f = Filling(start=np.datetime64("2027-10", "M"), years=10.0, initial_hm3=200.0, stage_hm3=13300.0)
    ends = np.array(["2027-10", "2027-11", "2032-10", "2037-10", "2040-01"], dtype="datetime64[M]")
    np.testing.assert_allclose(f.volume(ends), [200.0, 200.0 + 13100.0 / 120, 200.0 + 13100.0 / 2, 13300.0, 13300.0])
    starts = np.array(["2027-09", "2027-10", "2037-09", "2037-10"], dtype="datetime64[M]")
    assert f.filling(starts).tolist() == [False, True, True, False]


def test_limit_share_sets_the_pace_and_cuts_the_states_offtakes():
    """0.8 km3 a year of Tajikistan's 9.8 km3 limit fills 13.1 km3 in 16.4 years; its offtakes ask 8.16 % less
    while Rogun fills, and only then."""
    basin = load_basin(AMU_DARYA)
    share = 0.8 / 9.8
    net = compile_network(basin, {"rogun": True}, {"rogun": {"policy": "curve", "filling": {
        "start": "2027-10", "limit_share": share, "initial_km3": 0.2, "stage_km3": 13.3}}})
    filling = net.reservoir_filling[net.position["reservoir"][net.index("rogun")]]
    tjk_limit = sum(net.offtake_demand_annual[k] for k, i in enumerate(net.offtake_idx) if net.state[i] == "TJK")
    assert tjk_limit == pytest.approx(9800.0)
    assert filling.years == pytest.approx(13100.0 / 800.0)
    axis = TimeAxis.from_years("2026-10", 20)
    factor = demand_factor(net, axis)
    tjk = np.array([net.state[i] == "TJK" for i in net.offtake_idx])
    first = int(np.flatnonzero(axis.month_starts == np.datetime64("2027-10"))[0])
    assert np.all(factor[:first] == 1.0) and np.all(factor[first, tjk] == pytest.approx(1 - share)) and np.all(factor[first, ~tjk] == 1.0)
    assert np.all(factor[-1] == 1.0)  # filled by 2044


def test_a_filling_reservoir_holds_at_most_its_stage_and_conserves_water():
    ds = hydro.run(RUNS / "rogun_filling.toml", time__years=6, hydrology__members=3)
    rogun = ds.storage.sel(node="rogun")
    f = Filling(start=np.datetime64("2027-10", "M"), years=(13.3 - 0.2) / (0.0816 * 9.8), initial_hm3=200.0, stage_hm3=13300.0)
    held = f.volume(ds.time.values.astype("datetime64[M]") + 1)
    assert float((rogun - held).max()) <= 1e-6
    assert float(rogun.isel(time=-1).mean()) > float(rogun.isel(time=11).mean())  # it fills
    assert ds.attrs["mass_balance_max_rel"] < 1e-9


def test_schedule_releases_the_tables_volume_each_month():
    """policy = "schedule": Nurek releases the operating table's volume (1.2558 km3 in January, 2.0383 in July)
    unless its storage bounds stop it."""
    ds = hydro.run(RUNS / "mean_year.toml", time__years=3, overrides={"reservoirs.nurek.policy": "schedule"})
    nurek = ds.sel(node="nurek")
    release = (nurek.flow - nurek.spill).isel(member=0).to_series()
    storage = nurek.storage.isel(member=0).to_series()
    inside = (storage > 6000.0 + 1e-6) & (storage < 10500.0 - 1e-6)
    jan = release[(release.index.month == 1) & inside]
    jul = release[(release.index.month == 7) & inside]
    assert len(jan) and np.allclose(jan, 1255.8) and len(jul) and np.allclose(jul, 2038.3)


def test_energy_policy_generates_the_demand_it_asks_at_the_months_head():
    """policy = "energy", energy_weight = a: where the plant's storage and turbines allow, the month's energy (as
    hydro.energy reads it from the results) is a x the table's demand whenever the curve would give less."""
    a = 0.9
    ds = hydro.run(RUNS / "mean_year.toml", time__years=3, overrides={"reservoirs.nurek.policy": "energy", "reservoirs.nurek.energy_weight": a})
    months = energy.monthly(ds).energy_gwh.sel(plant="nurek").isel(member=0)
    curve = hydro.run(RUNS / "mean_year.toml", time__years=3)
    base = energy.monthly(curve).energy_gwh.sel(plant="nurek").isel(member=0)
    storage = ds.storage.sel(node="nurek").isel(member=0)
    demand = a * np.where(np.isin(ds.time.dt.month, (10, 11, 12, 1, 2, 3)), 1081.6, 785.1)
    met = (storage.values > 6000.0 + 1.0) & (ds.spill.sel(node="nurek").isel(member=0).values == 0)
    asked = met & (base.values < demand - 1.0)
    assert asked.sum() >= 3
    np.testing.assert_allclose(months.values[asked], demand[asked], rtol=2e-3)  # three fixed-point passes on the head
    assert np.all(months.values[met] >= demand[met] * (1 - 2e-3))


def test_level_below_the_dead_storage_falls_to_the_tailwater_at_zero():
    plant = {"normal_level": 1290.0, "dead_level": 1220.0, "tailwater_level": 1008.0}
    assert energy.level_m(0.0, plant, 3000.0, 13300.0) == pytest.approx(1008.0)
    assert energy.level_m(1500.0, plant, 3000.0, 13300.0) == pytest.approx(1114.0)
    assert energy.level_m(3000.0, plant, 3000.0, 13300.0) == pytest.approx(1220.0)
    assert energy.level_m(13300.0, plant, 3000.0, 13300.0) == pytest.approx(1290.0)


@pytest.mark.parametrize("overrides, message", [
    ({"reservoirs.nurek.policy": "hydro"}, "reservoirs.nurek.policy: found 'hydro', expected one of 'curve'"),
    ({"reservoirs.nurek.energy_weight": 0.5}, "energy_weight only with policy"),
    ({"reservoirs.nurek.policy": "energy", "reservoirs.nurek.energy_weight": 1.5}, "a share of the energy demand met first"),
    ({"reservoirs.tuyamuyun.policy": "energy"}, "names no energy_demand table"),
    ({"reservoirs.rogun.filling.years": 5}, "either years .* or limit_share"),
    ({"reservoirs.rogun.filling.limit_share": 0}, "either years .* or limit_share"),
    ({"reservoirs.rogun.filling.stage_km3": 20.0}, "at most the capacity 13.3 km3"),
])
def test_bad_operation_options_are_one_clear_line(overrides, message):
    run = RUNS / ("rogun_filling.toml" if "filling" in str(overrides) else "mean_year.toml")
    with pytest.raises(ScenarioError, match=message):
        load_scenario(run, list(overrides.items()))


@settings(max_examples=15, deadline=None)
@given(years=st.floats(1.0, 30.0), initial=st.floats(0.0, 5.0), share=st.floats(0.3, 1.0))
def test_any_filling_keeps_the_bounds_ordered(years, initial, share):
    basin = load_basin(AMU_DARYA)
    net = compile_network(basin, {"rogun": True}, {"rogun": {"policy": "curve", "filling": {
        "start": "2026-10", "years": years, "initial_km3": initial, "stage_km3": initial + share * (13.3 - initial)}}})
    op = operation(net, TimeAxis.from_years("2026-10", 35))
    assert np.all(op.floor <= op.target + 1e-9) and np.all(op.target <= op.ceiling + 1e-9)
    assert np.all(np.diff(op.ceiling, axis=0) >= -1e-9)  # a filling never lowers the dam's stage


def test_attribution_splits_compound_effects():
    """Each effect is a difference from the run without projects; the interaction is what the sum of each alone
    misses, so none + each alone + interaction = both, quantity by quantity."""
    from hydro.attribution import attribute

    values, effects, provenance = attribute(RUNS / "rogun_and_qosh_tepa.toml", [("time.years", 4), ("hydrology.members", 4)])
    assert set(values.combination) == {"none", "qosh_tepa", "rogun", "qosh_tepa+rogun"}
    wide = values.pivot_table(index=["period", "quantity"], columns="combination", values="value")
    e = effects.set_index(["period", "quantity"])
    np.testing.assert_allclose(e.without_projects + e.qosh_tepa_alone + e.rogun_alone + e.interaction, wide["qosh_tepa+rogun"].reindex(e.index), atol=1e-9)
    kerki = e.loc[("all years", "kerki_apr_sep_km3")]
    assert kerki.qosh_tepa_alone < 0 and kerki.rogun_alone < 0  # both take water out of the growing season at Kerki
    assert e.loc[("all years", "kerki_oct_mar_km3")].rogun_alone > 0  # Rogun's regulation moves water into the winter
    assert provenance["projects"]["rogun"] == ["reservoirs.rogun.enabled=False"]


def test_a_policy_sweep_writes_its_tradeoff_chart(tmp_path):
    """hydro sweep over a reservoir's operation: sweep.csv carries the growing-season shortfall and Tajik winter
    energy per point, and tradeoff.png is written beside it (also by hydro chart --kind tradeoff)."""
    import pandas as pd

    from hydro.cli import main

    out = tmp_path / "policy"
    assert main(["sweep", str(RUNS / "nurek_policy.toml"), "--vary", "reservoirs.nurek.energy_weight=0.5,1", "--set", "hydrology.members=3",
                 "--set", "time.years=3", "--workers", "0", "--out", str(out)]) == 0
    table = pd.read_csv(out / "sweep.csv")
    tjk = table[table.state == "TJK"].set_index("reservoirs.nurek.energy_weight")
    assert tjk.loc[1.0, "energy_winter_twh"] > tjk.loc[0.5, "energy_winter_twh"]  # energy first generates more in winter
    assert (table[table.state == "UZB"].growing_shortfall_km3 >= 0).all()
    assert (out / "tradeoff.png").stat().st_size > 10_000
    assert main(["chart", str(out), "--kind", "tradeoff", "--out", str(tmp_path / "t.svg")]) == 0
