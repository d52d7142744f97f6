"""hydro calibrate: the basin's ranged figures fitted to the recorded years, with behavioural sets (issue 13)."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest

from hydro.cli import main
from hydro.fit import calibrate, fit_parameters, score
from hydro.hindcast import hindcast
from hydro.runner import prepare
from hydro.scenario import load_scenario
from tests.conftest import RUNS


@pytest.fixture(scope="module")
def result():
    return calibrate(RUNS / "hindcast.toml", samples=6, refine=4, seed=1)


def test_the_fitted_figures_are_the_ranged_ones_a_replay_uses():
    basin = prepare(load_scenario(RUNS / "hindcast.toml")).basin
    paths = [path for p in fit_parameters(basin) for path in p.paths]
    assert "reach.lebap.loss_fraction" in paths and "node.tuyamuyun.capacity" in paths
    assert not any(p.startswith("stochastic.") or p.endswith(".annual_cv") for p in paths)


def test_set_zero_is_the_basin_as_written_and_the_best_is_the_lowest(result):
    sets = result["sets"]
    assert sets.loc[0, "how"] == "as written" and len(sets) <= 1 + 6 + 4 + 1
    assert score(result["as_written"]) == pytest.approx(score(hindcast(RUNS / "hindcast.toml")))
    assert result["best_index"] == int(sets.rms_calibration.idxmin())
    assert sets.rms_calibration.min() <= sets.loc[0, "rms_calibration"]


def test_behavioural_means_every_calibration_figure_within_tolerance(result):
    """Re-score one behavioural and one other set by hand from their own hindcasts."""
    from hydro.sensitivity import parameter_overrides

    sets = result["sets"]
    for i in (int(sets.behavioural.idxmax()), int((~sets.behavioural).idxmax())):
        values = {p.label: sets.loc[i, p.label] for p in result["params"]}
        table = hindcast(RUNS / "hindcast.toml", parameter_overrides(result["params"], values))
        within = bool((table.loc[table.role == "calibration", "relative_error"].abs() <= 0.15).all())
        assert within == bool(sets.loc[i, "behavioural"])
        assert score(table)["rms_calibration"] == pytest.approx(sets.loc[i, "rms_calibration"])


def test_cli_writes_a_calibrated_parameters_table_a_run_can_use(tmp_path):
    out = tmp_path / "cal"
    assert main(["calibrate", str(RUNS / "hindcast.toml"), "--samples", "3", "--refine", "0", "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"calibration_sets.csv", "calibrated.toml", "hindcast_calibrated.csv",
                                              "hindcast_calibrated.png", "outputs.json"}
    table = tomllib.loads((out / "calibrated.toml").read_text(encoding="utf-8"))["parameters"]
    assert "reach.lebap.loss_fraction" in table
    sets = pd.read_csv(out / "calibration_sets.csv")
    assert any(c.endswith("[km3/yr]") for c in sets.columns) and len(sets) == 4
    scenario = load_scenario(RUNS / "mean_year.toml", [("time.years", 2), *((f"parameters.{k}", v) for k, v in table.items())])
    loss = prepare(scenario).network.loss_fraction
    assert np.isclose(loss, table["reach.lebap.loss_fraction"]).any()


def test_bad_options_are_refused(tmp_path, capsys):
    assert main(["calibrate", str(RUNS / "hindcast.toml"), "--samples", "0", "--out", str(tmp_path / "x")]) == 2
    assert "--samples" in capsys.readouterr().err
