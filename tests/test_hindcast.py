"""hydro hindcast: the recorded years replayed, every published figure against the model (issue 13)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from hydro.basin import load_basin
from hydro.cli import main
from hydro.errors import BasinError, ScenarioError
from hydro.hindcast import FIGURES, hindcast, load_recorded
from hydro.hydrology import kerki_norm_km3, percent_of_norm
from hydro.network import compile_network
from tests.conftest import AMU_DARYA, RUNS

COLUMNS = ["figure", "year", "period", "published", "simulated", "relative_error", "role", "source", "note"]


@pytest.fixture(scope="module")
def table():
    return hindcast(RUNS / "hindcast.toml")


def test_every_published_figure_gets_one_row_with_its_role(table):
    recorded = load_recorded(load_basin(AMU_DARYA))
    assert list(table.columns) == COLUMNS
    assert len(table) == len(recorded) == len(table.drop_duplicates(["figure", "year", "period"]))
    assert set(table[table.year == 2024].role) == {"validation", "input"}
    assert set(table[table.year.isin([2020, 2021, 2023])].role) == {"calibration", "input"}
    assert set(table[table.figure == "nominal_kerki"].role) == {"input"}
    # 2022 has published withdrawals and delta inflow but no recorded flow: listed, not simulated, and said why
    missing = table[table.year == 2022]
    assert len(missing) == 4 and set(missing.role) == {"not replayed"} and missing.simulated.isna().all()
    assert missing.note.str.contains("no natural flow recorded for 2022").all()


def test_relative_error_is_simulated_against_published(table):
    done = table.dropna(subset=["simulated"])
    np.testing.assert_allclose(done.relative_error, (done.simulated - done.published) / done.published, rtol=1e-12)
    assert (done.simulated > 0).all()


def test_the_replayed_flow_at_kerki_is_the_published_one(table):
    """2024 is replayed from its published seasonal volumes: the model's natural flow above Kerki must give them
    back; 2021 is replayed from % of norm: the basin's norm x the percentages, season by season."""
    k = table[table.figure == "nominal_kerki"].set_index(["year", "period"]).simulated
    for period, km3 in {"jan_mar": 5.05, "apr_sep": 43.28, "oct_dec": 8.07, "annual": 56.4}.items():
        assert k[(2024, period)] == pytest.approx(km3, abs=1e-9)
    net = compile_network(load_basin(AMU_DARYA))
    norm, pct = kerki_norm_km3(net), percent_of_norm(net, 2021)
    assert k[(2021, "annual")] == pytest.approx(sum(norm[s] * pct[s] / 100 for s in norm), rel=1e-9)


def test_validate_moves_the_held_out_year(table):
    other = hindcast(RUNS / "hindcast.toml", validate=[2021])
    assert set(other[other.year == 2021].role) == {"validation", "input"}
    assert set(other[other.year == 2024].role) == {"calibration", "input"}
    pd.testing.assert_series_equal(other.simulated, table.simulated)


def test_cli_writes_csv_chart_and_manifest(tmp_path, capsys):
    out = tmp_path / "hc"
    assert main(["hindcast", str(RUNS / "hindcast.toml"), "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"hindcast.csv", "hindcast.png", "outputs.json"}
    assert list(pd.read_csv(out / "hindcast.csv").columns) == COLUMNS
    text = capsys.readouterr().out
    assert "Skill by role" in text and "validation" in text


def _basin_with(tmp_path, csv_text: str):
    folder = tmp_path / "basin"
    shutil.copytree(AMU_DARYA, folder)
    (folder / "recorded_figures.csv").write_text(csv_text, encoding="utf-8")
    return folder


@pytest.mark.parametrize("line, field, expected", [
    ("nurek_outflow,2021,annual,19.0,YB21,", "line 2.figure", "nurek_release"),
    ("nurek_release,2021,summer,19.0,YB21,", "line 2.period", "apr_sep"),
    ("storage_jan1,2021,annual,12.0,YB21,", "line 2.period", "jan1"),
    ("nurek_release,2021,annual,-1,YB21,", "line 2.value_km3", "above 0"),
    ("nurek_release,2021,annual,19.0,YB99,", "line 2.source", "sources.toml"),
    ("nurek_release,twenty,annual,19.0,YB21,", "line 2", "calendar year"),
])
def test_a_bad_recorded_figure_is_refused_naming_file_line_and_field(tmp_path, line, field, expected):
    folder = _basin_with(tmp_path, "figure,year,period,value_km3,source,note\n" + line + "\n")
    with pytest.raises(ScenarioError) as err:
        load_recorded(load_basin(folder))
    text = str(err.value)
    assert "recorded_figures.csv" in text and field in text and expected in text


def test_a_duplicate_recorded_figure_is_refused(tmp_path):
    row = "nurek_release,2021,annual,19.0,YB21,"
    folder = _basin_with(tmp_path, f"figure,year,period,value_km3,source,note\n{row}\n{row}\n")
    with pytest.raises(ScenarioError, match="each figure, year and period once"):
        load_recorded(load_basin(folder))


def test_every_figure_name_is_measurable():
    assert {"nominal_kerki", "nurek_inflow", "nurek_release", "tuyamuyun_inflow", "tuyamuyun_release", "storage_jan1",
            "delta_inflow", "withdrawal_UZB", "withdrawal_TKM"} <= set(FIGURES)


def test_a_historical_year_needs_percentages_or_volumes(tmp_path):
    folder = tmp_path / "basin"
    shutil.copytree(AMU_DARYA, folder)
    path = folder / "historical_years.csv"
    path.write_text(path.read_text(encoding="utf-8") + "2019,,,,YB20,none given,,,\n", encoding="utf-8")
    with pytest.raises(BasinError, match="three percentages of norm .* or three seasonal volumes in km3"):
        load_basin(folder)


def test_validate_checks_the_recorded_figures_too(tmp_path, capsys):
    folder = _basin_with(tmp_path, "figure,year,period,value_km3,source,note\nnurek_outflow,2021,annual,19.0,YB21,\n")
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "recorded_figures.csv" in err and "line 2.figure" in err


def test_report_shows_the_hindcast_alone_and_beside_a_run(tmp_path):
    hc, run = tmp_path / "hc", tmp_path / "run"
    assert main(["hindcast", str(RUNS / "hindcast.toml"), "--out", str(hc)]) == 0
    assert main(["report", str(hc)]) == 0
    text = (hc / "report.html").read_text(encoding="utf-8")
    assert "Hindcast: the model against the recorded years" in text and "validation" in text and "YB24" in text
    assert main(["run", str(RUNS / "mean_year.toml"), "--set", "time.years=2", "--out", str(run)]) == 0
    assert main(["report", str(run), "--hindcast", str(hc)]) == 0
    assert "Hindcast: the model against the recorded years" in (run / "report.html").read_text(encoding="utf-8")
    assert main(["report", str(run), "--hindcast", str(run)]) == 2  # not a hindcast folder


def test_observed_demand_scales_a_state_to_its_recorded_growing_season_use():
    """2024: TKM used 13.96 km3 in Apr-Sep (ICWC-2425). The overrides make Turkmenistan's Apr-Sep demand 13.96 km3
    and leave its Oct-Mar demand as the basin file has it."""
    from hydro.hindcast import observed_demand_overrides
    from hydro.scenario import load_scenario

    basin = load_basin(AMU_DARYA)
    net = compile_network(basin)
    recorded = [r for r in load_recorded(basin) if r.figure == "withdrawal_TKM" and r.year == 2024]
    sets = observed_demand_overrides(net, recorded, 2024)
    scenario = load_scenario(RUNS / "hindcast.toml", sets)
    after = compile_network(load_basin(AMU_DARYA, scenario.parameters))
    tkm = [k for k, i in enumerate(net.offtake_idx) if net.state[i] == "TKM"]
    growing = lambda n: float((n.offtake_demand_annual[tkm] * n.offtake_growing_share[tkm]).sum())  # noqa: E731
    other = lambda n: float((n.offtake_demand_annual[tkm] * (1 - n.offtake_growing_share[tkm])).sum())  # noqa: E731
    assert growing(after) == pytest.approx(13960.0, rel=1e-9)
    assert other(after) == pytest.approx(other(net), rel=1e-9)


def test_observed_demand_turns_recorded_withdrawals_into_inputs():
    table = hindcast(RUNS / "hindcast.toml", observed_demand=True)
    use = table[(table.year == 2024) & table.figure.str.startswith("withdrawal_")]
    assert set(use.role) == {"input"} and use.note.str.contains("observed demand").all()
    assert (use.simulated <= use.published + 1e-9).all()  # demand set to the record: never more than it


def test_a_basin_whose_recorded_years_cannot_be_replayed_still_gets_its_table(tmp_path):
    """Only 2022 figures (no recorded flow that year): every row 'not replayed', an empty skill table, a chart that
    says so, and no traceback."""
    folder = _basin_with(tmp_path, "figure,year,period,value_km3,source,note\ndelta_inflow,2022,annual,2.055,UZGD,\n")
    run = tmp_path / "hindcast.toml"
    run.write_text((RUNS / "hindcast.toml").read_text(encoding="utf-8").replace('"../basins/amu_darya"', f'"{folder}"'), encoding="utf-8")
    assert main(["hindcast", str(run), "--validate", "2022", "--out", str(tmp_path / "o")]) == 0
    table = pd.read_csv(tmp_path / "o" / "hindcast.csv")
    assert list(table.role) == ["not replayed"] and (tmp_path / "o" / "hindcast.png").stat().st_size > 0


def test_sensitivity_needs_ranged_figures(tmp_path, capsys):
    folder = tmp_path / "basin"
    shutil.copytree(AMU_DARYA, folder)
    text = (folder / "basin.toml").read_text(encoding="utf-8")
    import re

    (folder / "basin.toml").write_text(re.sub(r", range = \[[^]]*\]", "", text), encoding="utf-8")
    run = tmp_path / "run.toml"
    run.write_text((RUNS / "mean_year.toml").read_text(encoding="utf-8").replace('"../basins/amu_darya"', f'"{folder}"'), encoding="utf-8")
    for command in (["sensitivity", str(run)], ["uncertainty", str(run), "--samples", "2"]):
        assert main([*command, "--out", str(tmp_path / command[0])]) == 2
        assert "no ranged figure" in capsys.readouterr().err


def test_validate_refuses_a_year_without_published_figures(capsys):
    assert main(["hindcast", str(RUNS / "hindcast.toml"), "--validate", "1999"]) == 2
    err = capsys.readouterr().err
    assert "--validate" in err and "1999" in err and "2024" in err
