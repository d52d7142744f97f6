"""Leverage scores: the computed water dimension, the score arithmetic, sensitivity, and the shipped indicators."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from hydro import leverage
from hydro.basin import load_basin
from hydro.network import compile_network
from hydro.sweeps import open_sweep, run_sweep
from tests.conftest import AMU_DARYA, RUNS

SMALL_DATA = Path(__file__).parent / "data" / "leverage_small.toml"
LEVELS = [0, 4, 8, 12]


@pytest.fixture(scope="module")
def network():
    return compile_network(load_basin(AMU_DARYA))


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("lev") / "sweep"
    run_sweep(RUNS / "qosh_tepa_sweep.toml", [("qosh_tepa.withdrawal_km3", LEVELS)], out,
              [("hydrology.members", 6), ("time.years", 3), ("rule", "upstream_first")], workers=0, progress=False)
    return open_sweep(out)


def test_water_dimension_grows_with_withdrawal_and_is_zero_outside_the_basin(sweep, network):
    data = leverage.load_leverage(SMALL_DATA)
    result = leverage.from_sweep(data, sweep, network, 8.0, samples=50, seed=1)
    water = result.response.pivot(index="qosh_tepa.withdrawal_km3", columns="state", values="water")
    for s in ("UZB", "TKM"):
        assert np.all(np.diff(water[s].values) > 0), water[s]
        assert water[s].iloc[0] == 0.0  # no Qosh Tepa, no water leverage
    assert (water[["KAZ", "KGZ"]] == 0).all().all()
    assert result.losses.loc["KAZ", "demand_km3"] == 0.0  # zero because the model gives them no Amu Darya demand


def test_afghan_dependence_is_computed_from_the_network(network):
    dep = leverage.afghan_dependence(network)
    # every UZB and TKM offtake lies below Qosh Tepa; only the Surkhandarya and Sherabad join below it
    below = (3.4 + 7.5 * 365.25 * 86400 / 1e9) / 64.6372
    assert dep["UZB"] == pytest.approx(1 - below, rel=1e-3) and dep["TKM"] == pytest.approx(1 - below, rel=1e-3)
    assert 0.4 < dep["TJK"] < 0.8  # the Panj passes Afghan offtakes, the Vakhsh does not
    assert "KAZ" not in dep or dep["KAZ"] == 0.0


def test_more_counter_leverage_scores_lower_all_else_equal():
    """TJK, TKM and UZB have the same indicators in the small file but UZB holds counter-leverage: with equal water
    exposure UZB scores lower by 0.5 x 0.6 = 0.3."""
    data = leverage.load_leverage(SMALL_DATA)
    water = {s: 0.5 for s in data.states}
    table = leverage.scores(data, water)
    assert table.loc["UZB", "score"] < table.loc["TKM", "score"]
    assert table.loc["TKM", "score"] - table.loc["UZB", "score"] == pytest.approx(0.3)
    assert table.loc["TKM", "score"] == pytest.approx(0.5 * 0.5 + 0.25 * 0.4 + 0.25 * 0.5)


def test_sensitivity_rank_shares_add_up(sweep, network):
    data = leverage.load_leverage(SMALL_DATA)
    result = leverage.from_sweep(data, sweep, network, 12.0, samples=200, seed=3)
    np.testing.assert_allclose(result.ranks.sum(axis=1), 1.0)
    np.testing.assert_allclose(result.ranks.sum(axis=0), 1.0)


WEIGHT_EDIT = ("[dimensions.connectivity]\nweight = 0.25", "[dimensions.connectivity]\nweight = 0.35")


@pytest.mark.parametrize("edit, message", [
    (WEIGHT_EDIT, "exposure weights (water, connectivity, security) adding up to 1"),
    (('values.KAZ = { value = 0.2, source = "T"', 'values.KAZ = { value = 0.2, source = "TT"'), "values.KAZ.source: found 'TT', expected a key of the [sources] tables"),
    (('dimension = "security"', 'dimension = "water"'), "expected one of connectivity, security, counter (water is computed)"),
])
def test_bad_leverage_files_are_named(tmp_path, edit, message):
    text = SMALL_DATA.read_text()
    assert edit[0] in text
    path = tmp_path / "lev.toml"
    path.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(leverage.LeverageError, match=re.escape(message)):
        leverage.load_leverage(path)


@pytest.fixture(scope="module")
def shipped(sweep, network):
    data = leverage.load_leverage(AMU_DARYA / "leverage.toml")
    return leverage.from_sweep(data, sweep, network, 8.0, samples=300, seed=0)


def test_shipped_indicators_against_the_assessment(shipped):
    """The assessment's conclusions, quoted, against the model with the shipped indicators (leverage.toml):

    - "Turkmenistan most exposed (water and connectivity)": TKM ranks first;
    - "Tajikistan partly reliant on Taliban border cooperation but holding real counter-leverage": TJK has the
      highest security exposure (the longest border) and the most counter-leverage;
    - "Kazakhstan and Kyrgyzstan, being farther, limited": both score below Turkmenistan and Uzbekistan, with no
      water exposure at all;
    - "Security threats raise Afghanistan's leverage over all of them": every state has a security part > 0.
    """
    t = shipped.table
    assert t.index[0] == "TKM"
    assert t.security.idxmax() == "TJK" and t.counter.idxmax() == "TJK"
    for s in ("KAZ", "KGZ"):
        assert t.loc[s, "water"] == 0.0 and t.loc[s, "score"] < min(t.loc["TKM", "score"], t.loc["UZB", "score"])
    assert (t.security_part > 0).all()
    assert shipped.ranks.loc["TKM", 1] > 0.8  # robust to the sampled weights and indicator ranges


@pytest.mark.xfail(strict=True, reason=(
    "the model disagrees: the assessment says 'Uzbekistan exposed mainly through water, otherwise balanced by trade "
    "and investment', but leverage.toml counts Uzbekistan's large trade with Afghanistan (~814 million USD, 2023) as "
    "connectivity exposure, so connectivity, not water, is Uzbekistan's largest part; the inputs are left as sourced"))
def test_uzbekistan_exposed_mainly_through_water(shipped):
    parts = shipped.table.loc["UZB", ["water_part", "connectivity_part", "security_part"]]
    assert parts.idxmax() == "water_part"


def test_leverage_figure_draws_breakdown_and_response(shipped):
    from hydro import charts

    fig = charts.leverage_figure(shipped, "test")
    top, bottom = fig.axes[:2]
    assert "score" in top.get_ylabel() and "km³/yr" in bottom.get_xlabel()
    assert [t.get_text() for t in top.get_xticklabels()] == list(shipped.table.index)
    xs = bottom.lines[0].get_xdata()
    assert min(xs) == 0 and max(xs) == max(LEVELS)
    charts.plt.close(fig)


# ------------------------------------------------------------------ options checked up front


def problem_lines(call) -> list[str]:
    from hydro.errors import ScenarioError

    with pytest.raises(ScenarioError) as err:
        call()
    return [str(p) for p in err.value.problems]


def test_zero_samples_are_refused(sweep, network):
    data = leverage.load_leverage(SMALL_DATA)
    expected = ["<command line>: --samples: found 0, expected a whole number of samples >= 1"]
    assert problem_lines(lambda: leverage.from_sweep(data, sweep, network, 8.0, samples=0, seed=1)) == expected
    losses = leverage.water_losses(sweep.sel({"qosh_tepa.withdrawal_km3": 8}), sweep.sel({"qosh_tepa.withdrawal_km3": 0}), data.states)
    assert problem_lines(lambda: leverage.sensitivity(data, losses, leverage.afghan_dependence(network), n=0)) == expected


def test_a_withdrawal_that_was_not_swept_is_refused(sweep, network):
    data = leverage.load_leverage(SMALL_DATA)
    assert problem_lines(lambda: leverage.from_sweep(data, sweep, network, 4.5, samples=10, seed=1)) == [
        "<command line>: --withdrawal: found 4.5, expected one of the swept levels [0, 4, 8, 12] km3/yr"]
    assert leverage.from_sweep(data, sweep, network, 4, samples=10, seed=1).withdrawal_km3 == 4.0


def test_the_cli_refuses_a_withdrawal_that_was_not_swept(sweep, tmp_path, capsys):
    from hydro.cli import main

    code = main(["leverage", sweep.attrs["sweep_folder"], "--data", str(SMALL_DATA), "--withdrawal", "4.5", "--out", str(tmp_path / "lev")])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "hydro leverage: error: <command line>: --withdrawal: found 4.5, expected one of the swept levels [0, 4, 8, 12] km3/yr")
    assert not (tmp_path / "lev").exists()


def test_a_rule_the_sweep_does_not_hold_is_refused(sweep, network):
    import pandas as pd
    import xarray as xr

    data = leverage.load_leverage(SMALL_DATA)
    two = xr.concat([sweep, sweep], dim=pd.Index(["upstream_first", "icwc_quota"], name="rule"))
    assert problem_lines(lambda: leverage.from_sweep(data, two, network, 8.0, samples=10, seed=1, rule="kerki_split")) == [
        "<command line>: --rule: found 'kerki_split', expected one of the rules the sweep holds: ['upstream_first', 'icwc_quota']"]
    assert problem_lines(lambda: leverage.select_rule(two, "kerki_split"))  # the same check, for callers that select first
    assert leverage.from_sweep(data, two, network, 8.0, samples=10, seed=1, rule="icwc_quota").withdrawal_km3 == 8.0


def test_a_sweep_without_level_zero_is_refused(sweep, network):
    data = leverage.load_leverage(SMALL_DATA)
    without = sweep.sel({"qosh_tepa.withdrawal_km3": [4, 8, 12]})
    assert problem_lines(lambda: leverage.from_sweep(data, without, network, 8.0, samples=10, seed=1)) == [(
        f"{sweep.attrs['sweep_folder']}: qosh_tepa.withdrawal_km3: found <swept levels [4, 8, 12]>, expected a level of 0 km3/yr "
        "(the run without Qosh Tepa) among the swept levels: add 0 to --vary qosh_tepa.withdrawal_km3")]


# ------------------------------------------------------------------ Tajik electricity, computed from the plants


def test_tajik_electricity_is_computed_from_the_plants(shipped, sweep):
    """Generation is the plants' May-September energy per year, demand the basin's table over the same months
    (5 x 785.1 GWh at Nurek), and Afghanistan's part 1,600 / 2,700 of the surplus, capped at 1,870 + 300 MW x 24 h x
    153 days; the value replaces the recorded 1,600 in TJK's counter-leverage."""
    from hydro.energy import monthly

    row = shipped.electricity.loc["TJK"]
    point = sweep.sel({"qosh_tepa.withdrawal_km3": 8.0}).load()
    months = monthly(point)
    summer = np.isin(months.time.dt.month.values, [5, 6, 7, 8, 9])
    years = point.sizes["member"] * point.sizes["time"] / 12
    assert row.generation_gwh == pytest.approx(float(months.energy_gwh.isel(time=np.flatnonzero(summer)).sum()) / years, rel=1e-9)
    assert row.demand_gwh == pytest.approx(5 * 785.1, rel=1e-6)
    assert row.surplus_gwh == pytest.approx(row.generation_gwh - row.demand_gwh)
    cap = 1870 + 300 * 24 * 153 / 1000
    assert row.cap_gwh == pytest.approx(cap)
    assert row.to_afghanistan_gwh == pytest.approx(min(max(row.surplus_gwh, 0) * 1600 / 2700, cap))
    assert row.value == pytest.approx((row.to_afghanistan_gwh + row.dry_to_afghanistan_gwh) / 2)
    assert row.low <= row.value <= row.high
    assert row.dry_surplus_gwh < row.surplus_gwh  # a dry year leaves less to sell
    expected = np.mean([row.value / 5673, 0.7 / 1.0, 1.0])  # with opposition support and the great-power partner
    assert shipped.table.loc["TJK", "counter"] == pytest.approx(expected)
    assert shipped.recorded.loc["TJK", "counter"] == pytest.approx(np.mean([1600 / 5673, 0.7, 1.0]))
    assert shipped.recorded.loc["UZB", "counter"] == shipped.table.loc["UZB", "counter"]  # UZB's stays as recorded


def test_the_cap_binds_when_the_surplus_outgrows_the_lines(sweep, network):
    text = (AMU_DARYA / "leverage.toml").read_text()
    small_line = (text.replace('link_mw = { value = 300,', 'link_mw = { value = 1,')
                  .replace('exports_gwh = { value = 2700,', 'exports_gwh = { value = 1900,'))
    assert small_line.count("value = 1,") == 1 and "value = 1900," in small_line
    data = leverage.load_leverage("capped.toml", small_line)
    elec = leverage.electricity(data, sweep.sel({"qosh_tepa.withdrawal_km3": 0.0}).load())
    row = elec.loc["TJK"]
    assert row.cap_gwh == pytest.approx(1870 + 24 * 153 / 1000)
    assert row.surplus_gwh * 1600 / 1900 > row.cap_gwh  # Afghanistan's share of the surplus is more than the lines carry
    assert row.to_afghanistan_gwh == pytest.approx(row.cap_gwh) and row.high == pytest.approx(row.cap_gwh)


@pytest.mark.parametrize("edit, message", [
    (('state = "TJK"\nindicator', 'state = "AFG"\nindicator'), "computed[0].state: found 'AFG', expected one of the file's states"),
    (("summer_months = [5, 6, 7, 8, 9]", "summer_months = [5, 13]"), "computed[0].summer_months: found [5, 13], expected a list of distinct calendar months 1-12"),
    (('to_afghanistan_gwh = { value = 1600, range = [1275, 1870]', 'to_afghanistan_gwh = { value = 1600, range = [1275, 2870]'),
     "computed[0].to_afghanistan_gwh: found 1600.0, expected a part of exports_gwh (2700), with its range"),
    (('indicator = "electricity_to_afghanistan"\nsummer', 'indicator = "border_km"\nsummer'), "computed[0].indicator: found 'border_km', expected the name of a counter indicator"),
])
def test_bad_computed_tables_are_named(edit, message):
    text = (AMU_DARYA / "leverage.toml").read_text()
    assert edit[0] in text
    with pytest.raises(leverage.LeverageError, match=re.escape(message)):
        leverage.load_leverage("lev.toml", text.replace(edit[0], edit[1], 1))


def test_a_run_without_the_plants_keeps_the_recorded_value(sweep):
    data = leverage.load_leverage(AMU_DARYA / "leverage.toml")
    no_plant = sweep.sel({"qosh_tepa.withdrawal_km3": 0.0}).load().drop_sel(node="nurek")
    assert not len(leverage.electricity(data, no_plant))
    assert leverage.with_electricity(data, leverage.electricity(data, no_plant)) is data
