"""hydro timeline: Qosh Tepa's build-out and a flow trend as run-file options, and the year-by-year figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hydro import leverage, negotiation, timeline
from hydro.cli import main
from hydro.demand import build_out_share
from hydro.results import saved_network
from hydro.runner import run_scenario
from hydro.scenario import load_scenario
from hydro.timeaxis import TimeAxis
from tests.conftest import AMU_DARYA, RUNS

SMALL = [("uncertainty.parameter_sets", 0), ("hydrology.members", 6), ("time.years", 6)]


def test_build_out_share_is_linear_between_its_points_and_flat_beyond():
    axis = TimeAxis.from_years("2026-01", 3)
    share = build_out_share([(np.datetime64("2026-04", "M"), 0.0), (np.datetime64("2027-04", "M"), 1.0)], axis)
    assert share[0] == 0.0 and share[3] == 0.0 and share[15] == 1.0 and share[-1] == 1.0
    assert share[9] == pytest.approx(6 / 12)  # October 2026: six of twelve months along


def test_build_out_and_trend_change_the_run_as_written():
    base = [("time.years", 4), ("hydrology.kind", "climatology")]
    plain = run_scenario(load_scenario(RUNS / "mean_year.toml", base))
    built = run_scenario(load_scenario(RUNS / "mean_year.toml", [*base, ("qosh_tepa.build_out", [["2025-10", 0.0], ["2029-10", 1.0]]),
                                                                  ("hydrology.trend", [[2026, 1.0], [2036, 0.5]])]))
    qt = built.withdrawal.sel(node="qosh_tepa").isel(member=0)
    full = plain.withdrawal.sel(node="qosh_tepa").isel(member=0)
    assert float(qt.sum()) < float(full.sum()) and float(qt[-1]) <= float(full[-1]) + 1e-9
    # the natural flow of water year Y is x (1 - 0.05 (Y - 2026)) of the plain run's
    wy = built.water_year.values
    for year in np.unique(wy):
        ratio = float(built.natural_inflow.isel(member=0, time=np.flatnonzero(wy == year)).sum()) / float(
            plain.natural_inflow.isel(member=0, time=np.flatnonzero(wy == year)).sum())
        assert ratio == pytest.approx(1 - 0.05 * (year - 2026), rel=1e-9)


@pytest.mark.parametrize("key, value, expected", [
    ("qosh_tepa.build_out", [["2028-10", 1.0], ["2026-10", 0.0]], "months increasing"),
    ("qosh_tepa.build_out", [["2026-10", 1.5]], "shares 0-1"),
    ("hydrology.trend", [[2030, 1.0], [2026, 0.9]], "years increasing"),
    ("hydrology.trend", [[2026, 0.0]], "factors > 0"),
])
def test_bad_time_varying_settings_are_named(key, value, expected):
    with pytest.raises(negotiation.ScenarioError, match=expected):
        load_scenario(RUNS / "timeline.toml", [(key, value)])


@pytest.fixture(scope="module")
def table():
    ev = negotiation.Evaluator(RUNS / "timeline.toml", SMALL)
    with_ds = ev.run([], keep_plants=True)
    without_ds = ev.run([(negotiation.QT_KEY, 0.0)])
    data = leverage.load_leverage(AMU_DARYA / "leverage.toml")
    return timeline.timeline(with_ds, without_ds, data, saved_network(with_ds)), with_ds, without_ds


def test_timeline_figures_add_up_by_hand(table):
    t, with_ds, without_ds = table
    years = sorted(set(t.water_year))
    assert years == list(range(2026, 2026 + len(years)))
    qt = t[t.quantity == "qosh_tepa_withdrawal"].set_index("water_year")["mean"]
    assert qt[2026] < qt[years[-1]]  # built out over the years
    # UZB's shortfall in one year, by hand from the offtakes
    off = with_ds.isel(node=np.flatnonzero((with_ds.kind.values == "offtake") & (with_ds.state.values == "UZB")))
    months = np.flatnonzero(with_ds.water_year.values == 2028)
    by_member = off.shortfall.isel(time=months).sum(("node", "time")) / off.demand.isel(time=months).sum(("node", "time")) * 100
    row = t[(t.quantity == "shortfall_pct") & (t.state == "UZB") & (t.water_year == 2028)].iloc[0]
    assert row["mean"] == pytest.approx(float(by_member.mean()), rel=1e-9)
    assert row.p05 <= row["mean"] <= row.p95
    added = t[(t.quantity == "qosh_tepa_added_pct") & (t.state == "UZB+TKM")]
    assert (added["mean"] >= -1e-9).all()  # Qosh Tepa never leaves the lower reaches more water
    scores = t[t.quantity == "leverage_score"]
    assert ((scores.p05 <= scores["mean"] + 1e-9) & (scores["mean"] <= scores.p95 + 1e-9)).all()
    assert ((scores["mean"] >= 0) & (scores["mean"] <= 1)).all()


def test_changes_name_the_years_thresholds_are_crossed():
    t = pd.DataFrame([{"water_year": y, "quantity": q, "state": "UZB+TKM", "mean": v, "p05": v, "p95": v}
                      for y, q, v in [(2026, "shortfall_pct", 4), (2027, "shortfall_pct", 11), (2026, "qosh_tepa_added_pct", 0),
                                      (2027, "qosh_tepa_added_pct", 3)]]
                     + [{"water_year": y, "quantity": "leverage_score", "state": s, "mean": v, "p05": v, "p95": v}
                        for y, s, v in [(2026, "UZB", 0.3), (2026, "TKM", 0.2), (2027, "UZB", 0.2), (2027, "TKM", 0.205)]])
    lines = timeline.changes(t, (5.0, 10.0, 15.0))
    assert "UZB + TKM shortfall reaches 5 % of demand in 2027" in lines
    assert "UZB + TKM shortfall reaches 10 % of demand in 2027" in lines
    assert "UZB + TKM shortfall stays below 15 % of demand" in lines
    assert "2027: the leverage ranking changes from UZB > TKM to TKM = UZB" in lines  # 0.005 apart: a tie


def test_the_timeline_command_writes_its_files(tmp_path, capsys):
    out = tmp_path / "tl"
    assert main(["timeline", str(RUNS / "timeline.toml"), "--out", str(out), *[a for k, v in SMALL for a in ("--set", f"{k}={v}")]]) == 0
    for name in ("timeline.csv", "timeline.png", "timeline.json"):
        assert (out / name).stat().st_size > 0
    assert "qosh_tepa_added_pct" in capsys.readouterr().out
    assert main(["report", str(out)]) == 0
    html = (out / "report.html").read_text()
    assert "<h2>Timeline</h2>" in html and "qosh_tepa_added_pct" in html
    capsys.readouterr()
    assert main(["report", str(out), "--timeline", str(tmp_path)]) != 0  # a folder without timeline.csv
    err = capsys.readouterr().err
    assert "--timeline" in err and len(err.strip().splitlines()) == 1
