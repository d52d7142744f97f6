"""hydro compare: the same run under several rules and Qosh Tepa levels, written as netCDF, CSV and PNG."""

from __future__ import annotations

import pandas as pd
import pytest
import xarray as xr

from hydro.cli import main
from hydro.comparison import compare
from tests.conftest import RUNS


@pytest.fixture(scope="module")
def compared():
    return compare(RUNS / "rules_compare.toml", ["upstream_first", "icwc_quota", "kerki_split"], [0.0, 6.0],
                   [("time.years", 2), ("hydrology.scale", 0.84)])


def test_dataset_has_a_rule_and_a_qosh_tepa_dimension(compared):
    ds, _ = compared
    assert list(ds.rule.values) == ["upstream_first", "icwc_quota", "kerki_split"]
    assert list(ds.qosh_tepa_km3.values) == [0.0, 6.0]
    assert ds.withdrawal.dims == ("rule", "qosh_tepa_km3", "member", "time", "node")
    qt = ds.withdrawal.sel(node="qosh_tepa").sum("time").isel(member=0)
    assert float(qt.sel(qosh_tepa_km3=0.0).max()) == 0.0 and float(qt.sel(qosh_tepa_km3=6.0).min()) > 0


def test_table_rows_add_up(compared):
    _, table = compared
    assert set(table.period) == {"all", "dry years", "growing season"}  # x 0.84: every year is dry
    assert len(table) == 3 * 2 * 3 * 4  # rules x levels x periods x states
    pd.testing.assert_series_equal(table.demand_km3 - table.withdrawal_km3, table.shortfall_km3, check_names=False, atol=1e-9)
    # all years are dry here, so the dry-year rows equal the whole-run rows
    dry = table[table.period == "dry years"].reset_index(drop=True)
    whole = table[table.period == "all"].reset_index(drop=True)
    pd.testing.assert_frame_equal(dry.drop(columns="period"), whole.drop(columns="period"))


def test_qosh_tepa_raises_the_downstream_shortfall_under_every_rule(compared):
    _, table = compared
    rows = table[(table.period == "all") & table.state.isin(["UZB", "TKM"])]
    by = rows.groupby(["rule", "qosh_tepa_km3"]).shortfall_km3.sum().unstack()
    assert (by[6.0] > by[0.0] + 0.5).all(), by


def test_cli_compare_writes_its_three_files(tmp_path, capsys):
    out = tmp_path / "cmp"
    code = main(["compare", str(RUNS / "rules_compare.toml"), "--rules", "upstream_first,proportional", "--qosh-tepa", "0,6",
                 "--set", "time.years=2", "--out", str(out)])
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["compare.csv", "compare.nc", "compare.png", "outputs.json"]
    with xr.open_dataset(out / "compare.nc") as ds:
        assert ds.sizes["rule"] == 2 and ds.sizes["qosh_tepa_km3"] == 2
    text = capsys.readouterr().out
    assert "Shortfall (all; km3/yr and % of demand):" in text and "UZB km3/yr  UZB %" in text and "no dry water year in this run" in text


def test_cli_compare_refuses_an_unknown_rule(tmp_path, capsys):
    out = tmp_path / "cmp"
    code = main(["compare", str(RUNS / "rules_compare.toml"), "--rules", "upstream_first,kerki_splt", "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "--rules: found 'kerki_splt', expected an allocation rule" in err and "did you mean 'kerki_split'?" in err
    assert not out.exists()


@pytest.mark.parametrize("rules, levels, message", [
    (["upstream_first"], [0.0, float("nan")], "<command line>: --qosh-tepa: found nan, expected a finite Qosh Tepa target in km3/yr, >= 0"),
    (["upstream_first"], [0.0, float("inf")], "<command line>: --qosh-tepa: found inf, expected a finite Qosh Tepa target in km3/yr, >= 0"),
    (["upstream_first"], [-1.0, 6.0], "<command line>: --qosh-tepa: found -1.0, expected a finite Qosh Tepa target in km3/yr, >= 0"),
    (["upstream_first"], [0.0, 6.0, 6.0], "<command line>: --qosh-tepa: found '0,6,6', expected each Qosh Tepa level once (6 given twice)"),
    (["upstream_first", "icwc_quota", "upstream_first"], [0.0], "<command line>: --rules: found 'upstream_first,icwc_quota,upstream_first', expected each rule once ('upstream_first' given twice)"),
    ([], [0.0], "<command line>: --rules: found <none>, expected at least one rule name"),
])
def test_compare_options_are_checked_up_front(rules, levels, message):
    from hydro.errors import ScenarioError

    with pytest.raises(ScenarioError) as err:
        compare(RUNS / "rules_compare.toml", rules, levels, [("time.years", 1)])
    assert len(err.value.problems) == 1 and str(err.value.problems[0]).startswith(message), str(err.value)


def test_cli_compare_refuses_a_duplicate_level_before_writing(tmp_path, capsys):
    out = tmp_path / "cmp"
    code = main(["compare", str(RUNS / "rules_compare.toml"), "--rules", "upstream_first", "--qosh-tepa", "0,6,6", "--out", str(out)])
    assert code == 2
    assert capsys.readouterr().err.strip() == ("hydro compare: error: <command line>: --qosh-tepa: found '0,6,6', "
                                               "expected each Qosh Tepa level once (6 given twice)")
    assert not out.exists()


def test_policies_are_compared_beside_rules(tmp_path, capsys):
    """--policy nurek=curve,schedule: a policy dimension and column; the schedule releases the table's volumes, so
    Tajik energy and the downstream shortfall differ from the curve's; the chart names rule and policy."""
    out = tmp_path / "cmp"
    code = main(["compare", str(RUNS / "rules_compare.toml"), "--rules", "upstream_first", "--qosh-tepa", "6",
                 "--policy", "nurek=curve,schedule", "--set", "time.years=2", "--out", str(out)])
    assert code == 0
    table = pd.read_csv(out / "compare.csv")
    assert list(dict.fromkeys(table.policy)) == ["nurek curve", "nurek schedule"]
    tjk = table[(table.state == "TJK") & (table.period == "all")].set_index("policy")
    assert tjk.loc["nurek curve", "energy_twh"] != pytest.approx(tjk.loc["nurek schedule", "energy_twh"], rel=1e-3)
    from hydro.results import open_results

    with open_results(out / "compare.nc") as ds:
        assert {"rule", "policy", "qosh_tepa_km3"} <= set(ds.withdrawal.dims)
        release = ds.flow.sel(node="nurek", policy="nurek schedule", rule="upstream_first").isel(qosh_tepa_km3=0, member=0)
        months = release.time.dt.month.values
        assert float(release.values[months == 1][0]) == pytest.approx(1255.8, rel=1e-3)  # hm3, the table's October-March volume
    assert "Energy of each state's plants" in capsys.readouterr().out


@pytest.mark.parametrize("spec", ["nurek", "nurek=", "=curve", "nurek=curve,curve"])
def test_a_bad_policy_option_is_one_line(spec, tmp_path, capsys):
    code = main(["compare", str(RUNS / "rules_compare.toml"), "--rules", "upstream_first", "--policy", spec, "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code != 0 and "--policy" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_a_policy_the_reservoir_cannot_take_names_the_key(tmp_path, capsys):
    code = main(["compare", str(RUNS / "rules_compare.toml"), "--rules", "upstream_first", "--policy", "tuyamuyun=energy", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code != 0 and "reservoirs.tuyamuyun.policy" in err and "energy_demand" in err
    assert not (tmp_path / "x").exists()
