"""Basin figures set from a run's [parameters], and the one-at-a-time sensitivity of Qosh Tepa's cost (issue 13)."""

from __future__ import annotations

import json

import numpy as np

import pytest

from hydro.cli import main
from hydro.errors import ScenarioError
from hydro.runner import prepare, run_scenario
from hydro.scenario import load_scenario
from hydro.sensitivity import parameters, qosh_tepa_cost, sensitivity
from tests.conftest import RUNS

SHORT = [("time.years", 3)]


def test_a_parameter_replaces_the_basin_figure_and_is_recorded():
    scenario = load_scenario(RUNS / "mean_year.toml", [*SHORT, ("parameters.node.vakhsh.annual_flow", "21 km3/yr")])
    network = prepare(scenario).network
    vakhsh = [network.names[i] for i in network.inflow_idx].index("vakhsh")
    assert network.inflow_annual[vakhsh] == pytest.approx(21000.0)
    ds = run_scenario(scenario)
    assert json.loads(ds.attrs["run_config_json"])["parameters"] == {"node": {"vakhsh": {"annual_flow": "21 km3/yr"}}}
    assert "21 km3/yr" in ds.attrs["assumptions_json"]  # the report's assumptions show the value used


def test_a_wildcard_sets_every_node_having_the_figure():
    scenario = load_scenario(RUNS / "mean_year.toml", [*SHORT, ("parameters.node.*.growing_share", 0.7)])
    network = prepare(scenario).network
    assert (network.offtake_growing_share == 0.7).all()


@pytest.mark.parametrize("key, value, expected", [
    ("parameters.node.vakhsh.annual_flw", "21 km3/yr", "did you mean 'node.vakhsh.annual_flow'"),
    ("parameters.node.vakhsh.annual_flow", "lots", "a rate with its unit"),
    ("parameters.node.lebap.return_fraction", 1.5, "a fraction between 0 and 1"),
])
def test_a_bad_parameter_is_refused_naming_the_run_file(key, value, expected):
    with pytest.raises(ScenarioError) as err:
        load_scenario(RUNS / "mean_year.toml", [(key, value)])
    assert "mean_year.toml" in str(err.value) and "parameters" in str(err.value) and expected in str(err.value)


def test_ranged_figures_are_grouped_by_name_source_and_range():
    basin = prepare(load_scenario(RUNS / "mean_year.toml", SHORT)).basin
    groups = {p.label: p for p in parameters(basin)}
    rf = next(p for label, p in groups.items() if label.startswith("return_fraction of"))
    assert len(rf.paths) >= 5 and rf.source == "TEXTBOOK-RF" and (rf.low, rf.high) == (0.20, 0.30)
    assert not any("qosh_tepa" in path and path.endswith(".demand") for p in groups.values() for path in p.paths)


def test_sensitivity_rows_are_the_cost_at_each_end():
    """Each row's ends equal a plain cost evaluation with that parameter set by hand; the base is the run's own."""
    base, table = sensitivity(RUNS / "mean_year.toml", SHORT)
    again = qosh_tepa_cost(RUNS / "mean_year.toml", SHORT)
    assert (base["mean"], base["dry"], base["dry_basis"]) == (again["mean"], again["dry"], again["dry_basis"])
    assert base["mean"] > 0 and base["dry"] > base["mean"]
    row = table[table.parameter.str.startswith("reach lebap -> tuyamuyun")].iloc[0]
    by_hand = qosh_tepa_cost(RUNS / "mean_year.toml", [*SHORT, ("parameters.reach.lebap.loss_fraction", float(row.high))])
    assert row.cost_mean_high_km3 == pytest.approx(by_hand["mean"], abs=1e-12)
    assert row.cost_dry_high_km3 == pytest.approx(by_hand["dry"], abs=1e-12)
    assert row.swing_mean_km3 == pytest.approx(row.cost_mean_high_km3 - row.cost_mean_low_km3)
    swings = table[["swing_mean_km3", "swing_dry_km3"]].abs().max(axis=1)
    assert list(swings) == sorted(swings, reverse=True)


def test_cli_writes_table_and_tornado_and_a_report(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["sensitivity", str(RUNS / "mean_year.toml"), "--set", "time.years=3", "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"sensitivity.csv", "sensitivity.png", "outputs.json"}
    assert "Qosh Tepa's cost to UZB + TKM as the basin file has it" in capsys.readouterr().out
    assert main(["report", str(out)]) == 0
    text = (out / "report.html").read_text(encoding="utf-8")
    assert "Which uncertain figures move the answer" in text and "reach lebap -&gt; tuyamuyun" in text


def test_uncertainty_samples_every_range_and_gives_an_ordered_band():
    from hydro.sensitivity import DISPLAY, uncertainty

    table, band = uncertainty(RUNS / "mean_year.toml", SHORT, samples=6, seed=3)
    again, _ = uncertainty(RUNS / "mean_year.toml", SHORT, samples=6, seed=3)
    assert len(table) == 6 and table.equals(again)  # the same seed, the same sets and costs
    basin = prepare(load_scenario(RUNS / "mean_year.toml", SHORT)).basin
    for p in parameters(basin):
        factor = DISPLAY.get(p.dimension, ("1", 1.0))[1]
        values = table[p.label]
        assert (values >= p.low * factor - 1e-12).all() and (values <= p.high * factor + 1e-12).all()
        assert values.nunique() == 6  # Latin hypercube: one draw in each sixth of the range
    for which in ("mean", "dry"):
        assert band.loc[which, "p05"] <= band.loc[which, "p50"] <= band.loc[which, "p95"]
    # a set's cost is the cost of a plain run with those figures
    p = parameters(basin)
    first = table.iloc[0]
    from hydro.sensitivity import parameter_overrides

    sets = parameter_overrides(p, {q.label: first[q.label] / DISPLAY.get(q.dimension, ("1", 1.0))[1] for q in p})
    assert qosh_tepa_cost(RUNS / "mean_year.toml", [*SHORT, *sets])["mean"] == pytest.approx(first.cost_mean_km3, abs=1e-9)


def test_variance_shares_follow_the_law_of_total_variance():
    from hydro.sensitivity import variance_shares

    costs = np.array([[1.0, 3.0], [5.0, 7.0]])  # set means 2 and 6 (variance 4); within-set variance 1 each
    assert variance_shares(costs) == pytest.approx((0.8, 0.2))
    assert variance_shares(np.array([[1.0], [3.0]])) == pytest.approx((1.0, 0.0))  # one member: all parameters


def test_an_ensemble_costs_its_own_dry_years_and_splits_the_variance():
    from hydro.sensitivity import uncertainty

    ensemble = [("time.years", 4), ("hydrology.members", 8)]
    cost = qosh_tepa_cost(RUNS / "ensemble.toml", ensemble)
    assert cost["dry_basis"] == "dry: water years whose natural flow at Kerki is exceeded in >= 75% of years" and len(cost["members"]) == 8
    assert np.mean(cost["members"]) == pytest.approx(cost["mean"], rel=1e-9)
    _, band = uncertainty(RUNS / "ensemble.toml", ensemble, samples=3, seed=0)
    shares = band.loc["mean", ["from_parameters_pct", "from_hydrology_pct"]]
    assert shares.sum() == pytest.approx(100.0) and (shares > 0).all()
