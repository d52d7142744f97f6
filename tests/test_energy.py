"""Hydropower at Nurek (issue 15, first slice): energy from release and head, checked by hand and against the
published output."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import hydro
from hydro import energy
from hydro.basin import load_basin
from hydro.errors import BasinError
from tests.conftest import AMU_DARYA, RUNS

PLANT = {"normal_level": 910.0, "dead_level": 857.0, "tailwater_level": 653.5, "plant_capacity": 3000.0,
         "turbine_discharge": 117.504, "efficiency": 0.9}  # 1360 m3/s in hm3/day


def test_energy_is_rho_g_volume_head_efficiency_by_hand():
    """1,000 hm3 released in 30 days from a full reservoir: head 910 - 653.5 = 256.5 m, energy = 9810 N/m3 x 1e9 m3
    x 256.5 m x 0.9 / 3.6e12 J/GWh = 629.06 GWh; half-full: head at 883.5 m = 230 m."""
    full = energy.plant_month(1000.0, 10500.0, 10500.0, 30.0, PLANT, 6000.0, 10500.0)
    assert full["head_m"] == pytest.approx(256.5)
    assert full["energy_gwh"] == pytest.approx(9810 * 1e9 * 256.5 * 0.9 / 3.6e12)
    assert full["power_mw"] == pytest.approx(full["energy_gwh"] * 1000 / 720)
    half = energy.plant_month(1000.0, 8000.0, 8500.0, 30.0, PLANT, 6000.0, 10500.0)  # mean storage 8250: half the active
    assert half["head_m"] == pytest.approx(230.0)


def test_the_turbines_and_the_plant_cap_the_energy():
    capped = energy.plant_month(4000.0, 10500.0, 10500.0, 30.0, PLANT, 6000.0, 10500.0)
    assert capped["turbined_hm3"] == pytest.approx(117.504 * 30) and capped["bypass_hm3"] == pytest.approx(4000 - 117.504 * 30)
    small = dict(PLANT, plant_capacity=100.0)
    assert energy.plant_month(1000.0, 10500.0, 10500.0, 30.0, small, 6000.0, 10500.0)["energy_gwh"] == pytest.approx(100 * 720 / 1000)
    empty = energy.plant_month(500.0, 6000.0, 6000.0, 30.0, dict(PLANT, tailwater_level=900.0), 6000.0, 10500.0)
    assert empty["head_m"] == 0.0 and empty["energy_gwh"] == 0.0  # a level below the tailwater gives no head, not a negative one


def test_nurek_reproduces_its_published_output_and_seasonal_release():
    """Mean year, no Qosh Tepa: 11.2 TWh/yr published (WSD-NUREK) and 62-63 % of the release in April-September
    (YB21/23/24)."""
    ds = hydro.run(RUNS / "mean_year.toml", time__years=3, qosh_tepa__withdrawal_km3=0.0)
    row = energy.summary(ds).loc["nurek"]
    assert row.energy_twh == pytest.approx(11.2, rel=0.05)
    assert 0.60 <= row.release_apr_sep_share <= 0.65
    assert row.energy_winter_twh + row.energy_summer_twh == pytest.approx(row.energy_twh)
    monthly = energy.monthly(ds).sel(plant="nurek")
    from hydro.results import saved_network

    by_hand = energy.plant_month(ds.flow.sel(node="nurek").values[0, 5], ds.storage.sel(node="nurek").values[0, 4],
                                 ds.storage.sel(node="nurek").values[0, 5], ds.days.values[5], saved_network(ds).hydropower["nurek"],
                                 6000.0, 10500.0)
    assert monthly.energy_gwh.values[0, 5] == pytest.approx(by_hand["energy_gwh"])
    assert ds.attrs["mass_balance_max_rel"] < 1e-9  # energy is read from the results: the balance is the run's own


def test_the_run_writes_energy_csv(tmp_path, capsys):
    from hydro.cli import main

    assert main(["run", str(RUNS / "mean_year.toml"), "--set", "time.years=2", "--out", str(tmp_path / "r")]) == 0
    assert "Hydropower at nurek:" in capsys.readouterr().out
    import pandas as pd

    table = pd.read_csv(tmp_path / "r" / "energy.csv", index_col="plant")
    assert list(table.index) == ["nurek"] and table.loc["nurek", "energy_twh"] > 10


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace('efficiency = { value = 0.9, source = "TEXTBOOK-EFF"', 'efficiencyx = { value = 0.9, source = "TEXTBOOK-EFF"'), "all of normal_level"),
    (lambda t: t.replace('tailwater_level = { value = "653.5 m"', 'tailwater_level = { value = "860 m"'), "tailwater_level < dead_level < normal_level"),
])
def test_a_plant_needs_all_its_figures_in_order(tmp_path, edit, message):
    folder = tmp_path / "amu"
    shutil.copytree(AMU_DARYA, folder)
    path = folder / "basin.toml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(BasinError, match=message):
        load_basin(folder)


def test_regulation_weighs_the_target_curve_against_a_full_reservoir():
    """reservoirs.nurek.regulation = w: month-end targets w x the basin's curve + (1 - w) x full. At 0 Nurek stays
    full and passes its inflow (less evaporation), so it releases what arrives, season by season."""
    from hydro.basin import load_basin
    from hydro.network import compile_network

    basin = load_basin(AMU_DARYA)
    base = compile_network(basin)
    half = compile_network(basin, operation={"nurek": {"regulation": 0.5}})
    r = list(base.reservoir_idx).index(base.index("nurek"))
    np.testing.assert_allclose(half.reservoir_curve[r], 0.5 * base.reservoir_curve[r] + 0.5)
    held = hydro.run(RUNS / "mean_year.toml", time__years=3, qosh_tepa__withdrawal_km3=0.0, overrides={"reservoirs.nurek.regulation": 0.0})
    nurek = held.sel(node="nurek").isel(member=0)
    arriving = (nurek.inflow + nurek.natural_inflow).values
    np.testing.assert_allclose(nurek.flow.values + nurek.evaporation.values, arriving, rtol=1e-6, atol=1e-6)
    assert energy.summary(held).loc["nurek", "release_apr_sep_share"] > 0.75  # the summer water passes in summer


def test_regulation_outside_0_1_is_refused():
    from hydro.errors import ScenarioError
    from hydro.scenario import load_scenario

    with pytest.raises(ScenarioError, match="reservoirs.nurek.regulation.*a weight from 0"):
        load_scenario(RUNS / "mean_year.toml", [("reservoirs.nurek.regulation", 1.5)])
