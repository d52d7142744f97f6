"""Runs crossing the basin's behavioural parameter sets with the hydrological members, and the bands they give
(issue 13, item 5)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from hydro import metrics, parameter_sets
from hydro.basin import load_basin
from hydro.cli import main
from hydro.errors import ScenarioError
from hydro.runner import run_scenario, run_with_counterparts
from hydro.scenario import load_scenario
from tests.conftest import AMU_DARYA, RUNS

BASELINE = RUNS / "mean_year.toml"


def test_the_shipped_sets_load_and_lie_in_their_ranges(amu_basin):
    sets = parameter_sets.load(amu_basin)
    assert len(sets.values) >= 20 and sets.values.index.is_unique
    assert "reach.lebap.loss_fraction" in sets.values.columns
    assert float(sets.scores.max_calibration.max()) <= float(sets.provenance["tolerance"]) + 1e-9  # behavioural by definition
    assert sets.provenance["run_file"] == "../../runs/hindcast.toml"  # no machine's absolute path in the shipped file


def test_each_set_is_simulated_as_if_its_figures_were_in_the_run_file():
    """Set k of a crossed run equals a plain run with that set's figures in [parameters], member by member."""
    crossed = run_scenario(load_scenario(BASELINE, [("uncertainty.parameter_sets", 3)]))
    assert crossed.sizes["member"] == 3 and list(crossed.hydrological_member.values) == [0, 0, 0]
    chosen = parameter_sets.load(load_basin(AMU_DARYA)).first(3)
    assert list(crossed.parameter_set.values) == [k for k, _ in chosen]
    number, values = chosen[2]
    plain = run_scenario(load_scenario(BASELINE, [(f"parameters.{p}", v) for p, v in values.items()]))
    np.testing.assert_array_equal(crossed.shortfall.isel(member=2).values, plain.shortfall.isel(member=0).values)
    assert not np.array_equal(crossed.shortfall.isel(member=0).values, crossed.shortfall.isel(member=2).values)


def test_the_run_files_own_parameters_win_over_the_sets():
    crossed = run_scenario(load_scenario(BASELINE, [("uncertainty.parameter_sets", 2), ("parameters.reach.lebap.loss_fraction", 0.05)]))
    from hydro.results import saved_networks

    layouts = saved_networks(crossed)
    assert len(layouts) == 2
    for members, layout in layouts:
        assert layout.loss_fraction[layout.index("lebap")] == pytest.approx(0.05)


def test_members_cross_sets_and_the_band_splits_its_variance():
    ds, others = run_with_counterparts(load_scenario(BASELINE, [("uncertainty.parameter_sets", 3), ("hydrology.kind", "stochastic"),
                                                                ("hydrology.members", 4), ("time.years", 5)]))
    assert ds.sizes["member"] == 12 and list(ds.member.values) == list(range(12))
    assert list(ds.hydrological_member.values) == [0, 1, 2, 3] * 3
    assert others["without_qosh_tepa"].sizes["member"] == 12
    summary = metrics.state_summary(ds)
    uzb = summary.loc["UZB"]
    each = metrics.member_shortfall(ds, ["UZB"])
    assert uzb.shortfall_km3_p05 == pytest.approx(np.quantile(each, 0.05)) and uzb.shortfall_km3_p95 == pytest.approx(np.quantile(each, 0.95))
    # the law of total variance by hand: the variance of the set means over the variance of all
    sets = ds.parameter_set.values
    means = {k: each[sets == k].mean() for k in set(sets.tolist())}
    between = np.mean([(means[k] - each.mean()) ** 2 for k in sets])
    assert uzb.shortfall_from_parameters_pct == pytest.approx(100 * between / each.var())
    assert uzb.shortfall_from_parameters_pct + uzb.shortfall_from_hydrology_pct == pytest.approx(100.0)


def test_variance_shares_by_hand():
    values = np.array([1.0, 3.0, 5.0, 7.0])
    assert metrics.variance_shares(values, np.array([0, 0, 1, 1])) == pytest.approx((16 / 20, 4 / 20))
    assert metrics.variance_shares(values, np.zeros(4)) == pytest.approx((0.0, 1.0))
    assert all(np.isnan(metrics.variance_shares(np.ones(4), np.arange(4))))


def test_a_run_without_sets_has_a_hydrology_only_band():
    ds = run_scenario(load_scenario(BASELINE, [("hydrology.kind", "stochastic"), ("hydrology.members", 6), ("time.years", 4)]))
    row = metrics.state_summary(ds).loc["UZB"]
    assert row.shortfall_km3_p05 <= row.shortfall_km3 <= row.shortfall_km3_p95 and row.shortfall_from_parameters_pct == 0.0


def test_asking_for_more_sets_than_the_basin_has_is_refused(amu_basin):
    n = len(parameter_sets.load(amu_basin).values)
    with pytest.raises(ScenarioError, match=rf"uncertainty.parameter_sets.*at most {n}"):
        load_scenario(BASELINE, [("uncertainty.parameter_sets", n + 1)])


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("reach.lebap.loss_fraction", "reach.lebap.loss_fractoin"), "reach.lebap.loss_fractoin"),
    (lambda t: t.replace("node.tuyamuyun.capacity [km3]", "node.tuyamuyun.capacity [hm3]"), "the unit km3"),
    (lambda t: _set_cell(t, "node.tuyamuyun.capacity [km3]", "99"), "within the figure's range"),
])
def test_a_damaged_sets_file_names_the_file_and_column(tmp_path, edit, message):
    folder = tmp_path / "amu"
    shutil.copytree(AMU_DARYA, folder)
    path = folder / "parameter_sets.csv"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(ScenarioError, match=message) as err:
        parameter_sets.load(load_basin(folder))
    assert "parameter_sets.csv" in str(err.value)


def _set_cell(text: str, column: str, value: str) -> str:
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    k = lines[header].split(",").index(column)
    cells = lines[header + 1].split(",")
    cells[k] = value
    lines[header + 1] = ",".join(cells)
    return "\n".join(lines) + "\n"


def test_a_streamed_crossed_run_equals_the_in_memory_one_and_checks(tmp_path, monkeypatch):
    from hydro import runner as run_module
    from hydro.integrity import check_results
    from hydro.results import open_counterparts, open_results

    scenario = load_scenario(BASELINE, [("uncertainty.parameter_sets", 2), ("hydrology.members", 3), ("time.years", 3)])  # no dry year
    whole, others = run_with_counterparts(scenario)
    monkeypatch.setattr(run_module, "BLOCK_BYTES", 13 * 8 * 36 * 30 * 2)  # two members per block
    assert run_module.write_run(scenario, tmp_path / "results.nc") is True
    saved = open_results(tmp_path / "results.nc")
    np.testing.assert_array_equal(saved.parameter_set.values, whole.parameter_set.values)
    np.testing.assert_allclose(saved.shortfall.values, whole.shortfall.values, rtol=0, atol=1e-9)
    stored = open_counterparts(tmp_path / "results.nc")
    np.testing.assert_allclose(stored["without_qosh_tepa"].shortfall.values, others["without_qosh_tepa"].shortfall.values, atol=1e-9)
    assert stored["dry_year"].sizes["member"] == 2  # one dry year per set
    np.testing.assert_allclose(stored["dry_year"].shortfall.values, others["dry_year"].shortfall.values, atol=1e-9)
    assert check_results(tmp_path / "results.nc")["balance"]["max_rel"] < 1e-9


def test_calibrate_install_writes_sets_a_run_can_cross(tmp_path):
    folder = tmp_path / "amu"
    shutil.copytree(AMU_DARYA, folder)
    (folder / "parameter_sets.csv").write_text("set\n", encoding="utf-8")
    runs = tmp_path / "runs"
    runs.mkdir()
    for name in ("hindcast.toml", "mean_year.toml"):
        (runs / name).write_text((RUNS / name).read_text(encoding="utf-8").replace("../basins/amu_darya", "../amu"), encoding="utf-8")
    assert main(["calibrate", str(runs / "hindcast.toml"), "--samples", "8", "--refine", "0", "--tolerance", "0.5",
                 "--install", "--out", str(tmp_path / "cal")]) == 0
    sets = parameter_sets.load(load_basin(folder))
    drawn = pd.read_csv(tmp_path / "cal" / "calibration_sets.csv")
    assert len(sets.values) == int((drawn.behavioural & (drawn.how == "latin hypercube")).sum()) >= 1
    assert main(["run", str(runs / "mean_year.toml"), "--set", "uncertainty.parameter_sets=1", "--out", str(tmp_path / "run")]) == 0
    summary = pd.read_csv(tmp_path / "run" / "summary.csv")
    assert {"shortfall_km3_p05", "shortfall_km3_p95", "shortfall_from_parameters_pct"} <= set(summary.columns)


def test_install_into_a_basin_without_a_sets_file_is_refused(tmp_path, capsys):
    folder = tmp_path / "amu"
    shutil.copytree(AMU_DARYA, folder)
    text = (folder / "basin.toml").read_text(encoding="utf-8")
    (folder / "basin.toml").write_text("\n".join(line for line in text.splitlines() if not line.startswith("parameter_sets")) + "\n", encoding="utf-8")
    run = tmp_path / "hindcast.toml"
    run.write_text((RUNS / "hindcast.toml").read_text(encoding="utf-8").replace("../basins/amu_darya", "amu"), encoding="utf-8")
    assert main(["calibrate", str(run), "--samples", "2", "--refine", "0", "--install", "--out", str(tmp_path / "cal")]) == 2
    assert "parameter_sets" in capsys.readouterr().err and not (tmp_path / "cal").exists()


def test_float32_rounding_is_not_a_spread():
    """A state that never goes short has no variance to split, even when float32 storage leaves crumbs of 1e-8 km3
    (found on a streamed summary run, session 4)."""
    from hydro.metrics import variance_shares

    crumbs = np.array([0.0, 3e-8, 1e-8, 0.0])
    assert all(np.isnan(variance_shares(crumbs, np.array([0, 0, 1, 1]))))
    assert variance_shares(np.array([1.0, 1.2, 2.0, 2.2]), np.array([0, 0, 1, 1]))[0] == pytest.approx(0.25 / 0.26)
