"""hydro negotiate: agreements as settings, the largest admissible cap by root search, the Pareto set by NSGA-II."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hydro import negotiation
from hydro.cli import main
from hydro.runner import run_scenario
from hydro.scenario import load_scenario
from tests.conftest import RUNS

SMALL = [("uncertainty.parameter_sets", 0), ("hydrology.members", 8), ("time.years", 12)]


def test_season_pattern_puts_the_share_in_april_september_and_cuts_the_spring():
    w = np.array(negotiation.season_pattern(0.7, 0.0))
    growing = np.isin(np.arange(1, 13), negotiation.GROWING)
    assert w.sum() == pytest.approx(1.0) and w[growing].sum() == pytest.approx(0.7, abs=1e-6)
    cut = np.array(negotiation.season_pattern(0.7, 1.0))
    assert cut[3] == cut[4] == 0.0 and cut.sum() == pytest.approx(1.0)
    assert cut[~growing].sum() / cut[[5, 6, 7, 8]].sum() == pytest.approx(0.3 / (0.7 * 122 / 183), rel=1e-6)


def test_largest_under_by_hand():
    levels = np.array([0.0, 2.0, 4.0])
    assert negotiation._largest_under(levels, np.array([6.0, 8.0, 12.0]), 5.0) == ("none", 0.0)
    assert negotiation._largest_under(levels, np.array([1.0, 2.0, 3.0]), 5.0) == ("all", 4.0)
    assert negotiation._largest_under(levels, np.array([1.0, 3.0, 7.0]), 5.0) == ("interior", pytest.approx(3.0))


def test_non_dominated_by_hand():
    f = np.array([[1, 1], [2, 0], [2, 2], [0, 3], [1, 1]])
    assert negotiation.non_dominated(f).tolist() == [True, True, False, True, True]  # equal rows do not dominate each other


def test_better_than_no_agreement_needs_every_party():
    none = {"afg_withdrawal_km3": 10.0, "UZB_dry_p90_pct": 30.0, "TKM_dry_p90_pct": 25.0}
    table = pd.DataFrame({"afg_withdrawal_km3": [10.0, 11.0, 9.0, 10.0], "UZB_dry_p90_pct": [29.0, 30.0, 20.0, 31.0],
                          "TKM_dry_p90_pct": [25.0, 24.0, 20.0, 20.0]})
    assert negotiation.better_than(table, none).tolist() == [True, True, False, False]


@pytest.fixture(scope="module")
def evaluator():
    return negotiation.Evaluator(RUNS / "negotiate.toml", SMALL)


def test_the_admissible_cap_gives_the_promised_shortfall_as_a_plain_run(evaluator):
    """The cap found for 'Qosh Tepa adds at most 5 %' under icwc_quota, run as a plain scenario (hydro run's own
    path, not the search's), adds 5 % to the UZB + TKM dry-year shortfall."""
    table = negotiation.admissible(evaluator, ["icwc_quota"], [5.0], cap_max_km3=8.0, grid_step_km3=2.0)
    row = table[(table.measure == "added")].iloc[0]
    assert row.status == "interior" and 0 < row.withdrawal_km3 < 8
    assert row.check_pct == pytest.approx(5.0, abs=0.05)
    assert row.withdrawal_p05_km3 <= row.withdrawal_p95_km3

    def plain(cap):
        ds = run_scenario(load_scenario(RUNS / "negotiate.toml", [*SMALL, ("rule", "icwc_quota"), ("qosh_tepa.withdrawal_km3", cap)]), detail="summary")
        return negotiation.figures(ds)["UZB_TKM_dry_pct"]

    assert plain(row.withdrawal_km3) - plain(0.0) == pytest.approx(5.0, abs=0.05)
    total = table[(table.measure == "total")].iloc[0]
    assert total.status == "none" and total.without_qosh_tepa_pct > 5.0  # already above 5 % without Qosh Tepa


def test_more_withdrawal_never_lowers_the_downstream_shortfall(evaluator):
    a = evaluator.measure(negotiation.agreement_settings(2.0, 0.7, 0.0, "upstream_first"))
    b = evaluator.measure(negotiation.agreement_settings(6.0, 0.7, 0.0, "upstream_first"))
    assert b["afg_withdrawal_km3"] > a["afg_withdrawal_km3"]
    assert b["UZB_TKM_dry_pct"] >= a["UZB_TKM_dry_pct"] and b["delta_inflow_km3"] <= a["delta_inflow_km3"]


def test_hydrology_settings_are_refused_as_agreements(evaluator):
    with pytest.raises(negotiation.ScenarioError, match="leave the hydrology alone"):
        evaluator.run([("hydrology.scale", 0.9)])


def test_negotiate_writes_the_front_and_its_files(tmp_path, capsys):
    out = tmp_path / "neg"
    args = ["negotiate", str(RUNS / "negotiate.toml"), "--out", str(out), "--set", "uncertainty.parameter_sets=0",
            "--set", "hydrology.members=6", "--set", "time.years=8", "--set", "negotiate.rules=[\"upstream_first\"]",
            "--set", "negotiate.population=6", "--set", "negotiate.generations=2", "--set", "negotiate.thresholds_pct=[10]"]
    assert main(args) == 0
    for name in ("admissible.csv", "least_cost_season.csv", "pareto.csv", "pareto.nc", "pareto.png", "agreements.csv", "negotiate.json"):
        assert (out / name).stat().st_size > 0, name
    pareto = pd.read_csv(out / "pareto.csv")
    assert len(pareto) == 6 * 2 and pareto.pareto.any()
    front = pareto[pareto.pareto]
    f = front[["afg_withdrawal_km3", "UZB_dry_p90_pct", "TKM_dry_p90_pct", "delta_inflow_km3"]].to_numpy() * [-1, 1, 1, -1]
    assert negotiation.non_dominated(f).all()
    agreements = pd.read_csv(out / "agreements.csv")
    assert {"no agreement", "status quo", "cap_6_none_in_april_may"} <= set(agreements.agreement)
    assert "Pareto set:" in capsys.readouterr().out
    assert main(["report", str(out)]) == 0  # the report of a negotiation folder: admissible caps, front, compromise
    html = (out / "report.html").read_text()
    assert "Which agreement would work?" in html and "Best compromise under the weights" in html and "data:image/png" in html


def test_a_bad_negotiate_key_is_one_line(tmp_path, capsys):
    code = main(["negotiate", str(RUNS / "negotiate.toml"), "--out", str(tmp_path / "x"), "--set", "negotiate.population=2"])
    err = capsys.readouterr().err
    assert code != 0 and "negotiate.population" in err and "4-400" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_the_least_cost_season_costs_no_more_than_the_seasonal_pattern(evaluator):
    table = negotiation.least_cost_season(evaluator, ["upstream_first"], 6.0, max_evaluations=20)
    row = table.iloc[0]
    assert row.afg_withdrawal_km3 == pytest.approx(6.0, rel=1e-3)  # the same water for Afghanistan
    assert row.UZB_TKM_dry_pct <= row.seasonal_UZB_TKM_dry_pct + 1e-9
    assert 0 <= row.growing_share <= 1 and 0 <= row.spring_cut <= 1 and row.evaluations <= 25


def test_the_compromise_balances_the_parties_on_a_straight_front():
    """On a straight front from (Afghanistan 0, UZB 10 %) to (10, 30 %), equal weights meet in the middle; a weighted
    sum would sit at either end."""
    cap = np.linspace(0, 10, 11)
    front = pd.DataFrame({"rule": "r", "cap_km3": cap, "afg_withdrawal_km3": cap, "UZB_dry_p90_pct": 10 + 2 * cap,
                          "TKM_dry_p90_pct": 10 + 2 * cap, "delta_inflow_km3": 8 - 0.4 * cap})
    best = negotiation.compromise(front, {"afghanistan": 1, "uzbekistan": 1})
    assert best.cap_km3 == pytest.approx(5.0) and best.compromise_gap == pytest.approx(0.25)
    leaning = negotiation.compromise(front, {"afghanistan": 3, "uzbekistan": 1})  # Afghanistan's shortfall from its best weighs 3x
    assert leaning.cap_km3 == pytest.approx(8.0)  # 3/4 (1 - 0.8) = 0.15 < 1/4 (0.8) = 0.2; at 7: 0.225


def test_figures_agree_with_the_metrics_summaries(evaluator):
    """The numpy figures equal hydro.metrics' state_summary and member_shortfall on the same results."""
    from hydro.metrics import member_shortfall, state_summary

    ds = evaluator.run(negotiation.agreement_settings(7.0, 0.4, 0.5, "kerki_split"))
    fig = negotiation.figures(ds)
    table = state_summary(ds, "dry years")
    for s in ("UZB", "TKM"):
        assert fig[f"{s}_dry_pct"] == pytest.approx(100 * table.loc[s, "shortfall_km3"] / table.loc[s, "demand_km3"], rel=1e-12)
        p90 = np.nanquantile(member_shortfall(ds, [s], "dry years"), 0.9)
        assert fig[f"{s}_dry_p90_pct"] == pytest.approx(100 * p90 / table.loc[s, "demand_km3"], rel=1e-12)
    assert fig["afg_withdrawal_km3"] == pytest.approx(7.0, rel=1e-6)


def test_a_file_of_agreements_is_judged_side_by_side(tmp_path, capsys):
    path = tmp_path / "agreements.toml"
    path.write_text('[agreements]\ncap_5 = ["qosh_tepa.withdrawal_km3=5"]\nrogun_on = ["reservoirs.rogun.enabled=true"]\n')
    out = tmp_path / "agr"
    args = ["negotiate", str(RUNS / "negotiate.toml"), "--agreements", str(path), "--agreements-only", "--out", str(out),
            *[a for k, v in SMALL for a in ("--set", f"{k}={v}")]]
    assert main(args) == 0
    table = pd.read_csv(out / "agreements.csv").set_index("agreement")
    assert {"no agreement", "status quo", "cap_5", "rogun_on", "afghanistan_in_icwc_6_others_cut"} <= set(table.index)
    assert table.loc["cap_5", "afg_withdrawal_km3"] == pytest.approx(5.0, rel=1e-6)
    assert table.loc["rogun_on", "UZB_dry_pct"] != pytest.approx(table.loc["status quo", "UZB_dry_pct"])  # a network of its own
    assert not (out / "pareto.csv").exists()
    assert main(["report", str(out)]) == 0  # the agreements side by side in a report
    assert "Agreements side by side" in (out / "report.html").read_text()


@pytest.mark.parametrize("text, expected", [
    ("[agreements]\ncap = 5\n", "agreements.cap: found 5, expected a non-empty list of 'KEY=VALUE' run-file settings"),
    ("title = 'x'\n", "agreements: found <missing>"),
    ("[agreements\n", "expected a readable TOML file"),
    ('[agreements]\nbad = ["qosh_tepa.withdrawal_km3=-1"]\n', "agreements.toml: agreements.bad: qosh_tepa.withdrawal_km3: found -1"),
])
def test_a_bad_agreements_file_is_one_line(tmp_path, capsys, text, expected):
    path = tmp_path / "agreements.toml"
    path.write_text(text)
    code = main(["negotiate", str(RUNS / "negotiate.toml"), "--agreements", str(path), "--agreements-only", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code != 0 and expected in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "x").exists()


def test_a_member_without_a_dry_year_has_no_dry_year_figure():
    ev = negotiation.Evaluator(RUNS / "negotiate.toml", [("uncertainty.parameter_sets", 0), ("hydrology.members", 12), ("time.years", 4)])
    ds = ev.run([])
    dry_years = (ds.year_type == "dry").groupby(ds.water_year).any("time").sum("water_year").values
    assert (dry_years == 0).any() and (dry_years > 0).any()  # this sample has both kinds of member
    members = negotiation.figures(ds)["_members_pct"]
    assert np.isnan(members[dry_years == 0]).all() and np.isfinite(members[dry_years > 0]).all()


@pytest.mark.parametrize("settings", [
    [("rule", "icwc_quota")],
    negotiation.agreement_settings(7.0, 0.4, 0.5, "kerki_split"),
    [("reservoirs.rogun.enabled", True), ("qosh_tepa.withdrawal_km3", 5.0)],  # a network of its own
])
def test_judging_on_the_arrays_equals_judging_the_results(evaluator, settings):
    """measure() reads the simulation's arrays without building a Dataset; it gives the Dataset's figures."""
    fast, slow = evaluator.measure(settings), negotiation.figures(evaluator.run(settings))
    assert fast.keys() == slow.keys()
    for key in fast:
        np.testing.assert_allclose(fast[key], slow[key], rtol=1e-12, atol=1e-12, err_msg=key)
