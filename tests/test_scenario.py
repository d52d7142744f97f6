"""Run files: the shipped ones load, --set overrides apply, and every kind of mistake is reported clearly."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from hydro.allocation import make_rule
from hydro.errors import ScenarioError
from hydro.scenario import apply_overrides, load_scenario, parse_set
from tests.conftest import AMU_DARYA, RUNS


def one(text: str) -> str:
    return re.escape(text)


def run_text(body: str = "", *, header: str | None = None, time: str = 'start = "2026-10"\nyears = 2\n') -> str:
    """A minimal valid run file (absolute basin path) plus `body`."""
    head = header if header is not None else f'format_version = 1\nbasin = "{AMU_DARYA.as_posix()}"\n'
    return head + body + ("\n[time]\n" + time if time is not None else "")


def write_run(tmp_path: Path, text: str, name: str = "run.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ the shipped run files


def test_baseline_loads():
    s = load_scenario(RUNS / "mean_year.toml")
    assert s.name == "mean_year"
    assert s.rule == "upstream_first"
    assert s.basin_path.resolve() == AMU_DARYA.resolve()  # relative to the run file, not the cwd
    assert s.axis.start == np.datetime64("2026-10")
    assert s.axis.months == 30 * 12
    assert s.hydrology_kind == "climatology"
    assert (s.members, s.seed) == (1, 0)
    assert s.series_path is None
    assert s.qosh_tepa.withdrawal_km3 == 6.0
    assert s.qosh_tepa.capacity_m3s == 650.0
    assert s.qosh_tepa.start == np.datetime64("2026-04")
    assert s.qosh_tepa.pattern == "seasonal"
    assert s.qosh_tepa.conveyance_loss == 0.0
    assert s.reservoirs_enabled == {"rogun": False}
    assert isinstance(s.title, str) and s.title


def test_no_qosh_tepa_loads():
    s = load_scenario(RUNS / "no_qosh_tepa.toml")
    assert s.name == "no_qosh_tepa"
    assert s.qosh_tepa.withdrawal_km3 == 0.0
    assert s.basin_path.resolve() == AMU_DARYA.resolve()
    assert s.reservoirs_enabled == {"rogun": False}


def test_loading_does_not_depend_on_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_scenario(RUNS / "mean_year.toml")
    assert s.basin_path.resolve() == AMU_DARYA.resolve()


def test_defaults_of_a_minimal_run_file(tmp_path):
    s = load_scenario(write_run(tmp_path, run_text()))
    assert s.rule == "upstream_first"
    assert s.hydrology_kind == "climatology"
    assert (s.members, s.seed) == (1, 0)
    assert s.qosh_tepa.withdrawal_km3 == 0.0
    assert s.qosh_tepa.capacity_m3s == 650.0
    assert s.qosh_tepa.start is None
    assert s.qosh_tepa.pattern == "seasonal"
    assert s.reservoirs_enabled == {}
    assert s.axis.months == 24


def test_relative_basin_and_series_paths_resolve_from_the_run_file(tmp_path):
    sub = tmp_path / "runs"
    sub.mkdir()
    rel = Path("..") / "basin_link"
    (tmp_path / "basin_link").symlink_to(AMU_DARYA, target_is_directory=True)
    path = write_run(sub, run_text('[hydrology]\nkind = "series"\nseries = "flows.csv"\n',
                                   header=f'format_version = 1\nbasin = "{rel.as_posix()}"\n'))
    s = load_scenario(path)
    assert s.basin_path == sub / rel
    assert s.series_path == sub / "flows.csv"
    assert s.hydrology_kind == "series"


# ------------------------------------------------------------------ --set overrides


@pytest.mark.parametrize(
    "text,key,value",
    [
        ("qosh_tepa.withdrawal_km3=8", "qosh_tepa.withdrawal_km3", 8),
        ("qosh_tepa.withdrawal_km3 = 8.5", "qosh_tepa.withdrawal_km3", 8.5),
        ("time.years=2", "time.years", 2),
        ("time.start=2030-01", "time.start", "2030-01"),  # not TOML: read as a string
        ('time.start="2030-01"', "time.start", "2030-01"),
        ("rule=upstream_first", "rule", "upstream_first"),
        ("reservoirs.rogun.enabled=true", "reservoirs.rogun.enabled", True),
        ("qosh_tepa.pattern=[1,1,1,2,2,2,2,2,2,1,1,1]", "qosh_tepa.pattern", [1, 1, 1, 2, 2, 2, 2, 2, 2, 1, 1, 1]),
        ("title=a=b", "title", "a=b"),
    ],
)
def test_parse_set(text, key, value):
    assert parse_set(text) == (key, value)


def test_set_changes_the_withdrawal():
    s = load_scenario(RUNS / "mean_year.toml", [parse_set("qosh_tepa.withdrawal_km3=8")])
    assert s.qosh_tepa.withdrawal_km3 == 8.0
    assert s.doc["qosh_tepa"]["withdrawal_km3"] == 8
    # the file itself is untouched
    assert load_scenario(RUNS / "mean_year.toml").qosh_tepa.withdrawal_km3 == 6.0


def test_several_sets_apply_in_order():
    s = load_scenario(RUNS / "mean_year.toml", [parse_set("time.years=2"), parse_set("qosh_tepa.withdrawal_km3=3"),
                                               parse_set("qosh_tepa.withdrawal_km3=4"), parse_set("reservoirs.rogun.enabled=true"),
                                               parse_set("qosh_tepa.pattern=uniform"), parse_set("time.start=2030-01")])
    assert s.axis.months == 24
    assert s.axis.start == np.datetime64("2030-01")
    assert s.qosh_tepa.withdrawal_km3 == 4.0
    assert s.qosh_tepa.pattern == "uniform"
    assert s.reservoirs_enabled == {"rogun": True}


def test_set_adds_a_key_the_file_leaves_out(tmp_path):
    s = load_scenario(write_run(tmp_path, run_text()), [parse_set("hydrology.members=3")])
    assert s.members == 3


def test_apply_overrides_does_not_change_its_input():
    doc = {"time": {"years": 30}}
    out = apply_overrides(doc, [("time.years", 2)])
    assert out == {"time": {"years": 2}}
    assert doc == {"time": {"years": 30}}


def test_set_unknown_key_with_did_you_mean():
    with pytest.raises(ScenarioError, match=one("<command line>: --set qosh_tepa.withdrawl_km3: found 8, expected a run-file key: one of [")) as info:
        load_scenario(RUNS / "mean_year.toml", [parse_set("qosh_tepa.withdrawl_km3=8")])
    assert "(did you mean 'qosh_tepa.withdrawal_km3'?)" in str(info.value)


def test_set_unknown_reservoir():
    with pytest.raises(ScenarioError, match=one("reservoirs.rogan: found <unknown reservoir>, expected a reservoir of the basin: one of ['nurek', 'rogun', 'tuyamuyun'] (did you mean 'rogun'?)")):
        load_scenario(RUNS / "mean_year.toml", [parse_set("reservoirs.rogan.enabled=true")])


def test_set_without_equals():
    with pytest.raises(ScenarioError, match=one("<command line>: --set: found 'withdrawal', expected KEY=VALUE, e.g. qosh_tepa.withdrawal_km3=8")):
        parse_set("withdrawal")


def test_set_with_a_wrong_type():
    with pytest.raises(ScenarioError, match=one("time.years: found 'ten', expected a whole number of years from 1 to 1000")):
        load_scenario(RUNS / "mean_year.toml", [parse_set("time.years='ten'")])


def test_set_with_a_wrong_type_names_the_command_line():
    with pytest.raises(ScenarioError) as info:
        load_scenario(RUNS / "mean_year.toml", [parse_set("time.years='ten'")])
    (problem,) = info.value.problems
    assert problem.file == "<command line>" or "--set" in problem.key


# ------------------------------------------------------------------ mistakes in the run file


def test_unknown_key_in_a_section_with_did_you_mean(tmp_path):
    path = write_run(tmp_path, run_text("[qosh_tepa]\nwithdrawl_km3 = 8\n"))
    with pytest.raises(ScenarioError, match=one(f"{path}: qosh_tepa.withdrawl_km3: found <unknown key>, expected a run-file key: one of [")) as info:
        load_scenario(path)
    assert "(did you mean 'qosh_tepa.withdrawal_km3'?)" in str(info.value)


def test_unknown_top_level_key_with_did_you_mean(tmp_path):
    path = write_run(tmp_path, run_text('rules = "upstream_first"\n'))
    with pytest.raises(ScenarioError, match=one(f"{path}: rules: found <unknown key>, expected a run-file key: one of [")) as info:
        load_scenario(path)
    assert "(did you mean 'rule'?)" in str(info.value)


@pytest.mark.parametrize("value,shown", [("'ten'", "'ten'"), ("2.5", "2.5"), ("0", "0"), ("true", "True"), ("1001", "1001")])
def test_years_of_the_wrong_type(tmp_path, value, shown):
    path = write_run(tmp_path, run_text(time=f'start = "2026-10"\nyears = {value}\n'))
    with pytest.raises(ScenarioError, match=one(f"{path}: time.years: found {shown}, expected a whole number of years from 1 to 1000")):
        load_scenario(path)


@pytest.mark.parametrize("value", ['"2026/10"', '"Oct 2026"', '"2026-13"', '"2026-10-01"', '"26-10"', "202610", "2026-10-01"])
def test_start_month_not_yyyy_mm(tmp_path, value):
    path = write_run(tmp_path, run_text(time=f"start = {value}\nyears = 2\n"))
    with pytest.raises(ScenarioError, match=one(f"{path}: time.start: found ")) as info:
        load_scenario(path)
    assert "is not a month; expected 'YYYY-MM', e.g. '2026-10'" in str(info.value)


def test_qosh_tepa_start_not_yyyy_mm(tmp_path):
    path = write_run(tmp_path, run_text('[qosh_tepa]\nstart = "April 2026"\n'))
    with pytest.raises(ScenarioError, match=one(f"{path}: qosh_tepa.start: found 'April 2026', expected 'April 2026' is not a month; expected 'YYYY-MM'")):
        load_scenario(path)


def test_withdrawal_above_what_650_m3s_carries(tmp_path):
    path = write_run(tmp_path, run_text("[qosh_tepa]\nwithdrawal_km3 = 21\ncapacity_m3s = 650\n"))
    with pytest.raises(ScenarioError, match=one(f"{path}: qosh_tepa.withdrawal_km3: found 21.0, expected at most 20.51 km3/yr, what 650 m3/s carries year-round")):
        load_scenario(path)


def test_withdrawal_just_below_the_ceiling_is_allowed(tmp_path):
    ceiling = 650 * 365.25 * 86_400 / 1e9
    assert round(ceiling, 2) == 20.51
    s = load_scenario(write_run(tmp_path, run_text(f"[qosh_tepa]\nwithdrawal_km3 = {ceiling - 1e-9!r}\n")))
    assert s.qosh_tepa.withdrawal_km3 == pytest.approx(ceiling)


def test_withdrawal_above_the_ceiling_by_set():
    with pytest.raises(ScenarioError, match=one("qosh_tepa.withdrawal_km3: found 20.6, expected at most 20.51 km3/yr")):
        load_scenario(RUNS / "mean_year.toml", [parse_set("qosh_tepa.withdrawal_km3=20.6")])


def test_withdrawal_ceiling_follows_the_capacity():
    s = load_scenario(RUNS / "mean_year.toml", [parse_set("qosh_tepa.capacity_m3s=800"), parse_set("qosh_tepa.withdrawal_km3=25")])
    assert s.qosh_tepa.withdrawal_km3 == 25.0
    with pytest.raises(ScenarioError, match=one("found 6.0, expected at most 4.73 km3/yr, what 150 m3/s carries year-round")):
        load_scenario(RUNS / "mean_year.toml", [parse_set("qosh_tepa.capacity_m3s=150")])


@pytest.mark.parametrize("key,value,expected", [
    ("withdrawal_km3", "-1", "an annual target in km3/yr, >= 0"),
    ("withdrawal_km3", '"8 km3/yr"', "an annual target in km3/yr, >= 0"),
    ("capacity_m3s", "0", "the canal head capacity in m3/s, > 0"),
    ("conveyance_loss", "1.0", "a fraction from 0 to below 1"),
    ("pattern", '"summer"', "one of ['seasonal', 'uniform', 'kerki'] or 12 monthly weights from 0 to 1e9, Jan to Dec, not all 0"),
    ("pattern", "[1, 2, 3]", "one of ['seasonal', 'uniform', 'kerki'] or 12 monthly weights from 0 to 1e9, Jan to Dec, not all 0"),
    ("pattern", "[0,0,0,0,0,0,0,0,0,0,0,0]", "one of ['seasonal', 'uniform', 'kerki'] or 12 monthly weights from 0 to 1e9, Jan to Dec, not all 0"),
])
def test_bad_qosh_tepa_values(tmp_path, key, value, expected):
    path = write_run(tmp_path, run_text(f"[qosh_tepa]\n{key} = {value}\n"))
    with pytest.raises(ScenarioError, match=one(f"{path}: qosh_tepa.{key}: found ") + ".*" + one(f", expected {expected}")):
        load_scenario(path)


def test_unknown_reservoir(tmp_path):
    path = write_run(tmp_path, run_text("[reservoirs.rogan]\nenabled = true\n"))
    with pytest.raises(ScenarioError, match=one(f"{path}: reservoirs.rogan: found <unknown reservoir>, expected a reservoir of the basin: one of ['nurek', 'rogun', 'tuyamuyun'] (did you mean 'rogun'?)")):
        load_scenario(path)


def test_reservoir_table_must_hold_enabled_bool(tmp_path):
    path = write_run(tmp_path, run_text('[reservoirs.rogun]\nenabled = "no"\n'))
    with pytest.raises(ScenarioError, match=one(f"{path}: reservoirs.rogun.enabled: found 'no', expected true or false")):
        load_scenario(path)


def test_reservoir_switch_that_is_not_a_reservoir(tmp_path):
    path = write_run(tmp_path, run_text("[reservoirs.kerki]\nenabled = true\n"))
    with pytest.raises(ScenarioError, match=one("reservoirs.kerki: found <unknown reservoir>, expected a reservoir of the basin")):
        load_scenario(path)


def test_unknown_rule_is_refused_when_the_run_file_loads(tmp_path):
    path = write_run(tmp_path, run_text('rule = "upstream_frist"\n'))
    rules = "['icwc_quota', 'kerki_split', 'proportional', 'protocol_566', 'upstream_first']"
    with pytest.raises(ScenarioError, match=one(f"{path}: rule: found 'upstream_frist', expected an allocation rule: one of {rules} (did you mean 'upstream_first'?)")):
        load_scenario(path)
    with pytest.raises(ScenarioError, match=one("<run>: rule: found 'upstream_frist'")):
        make_rule("upstream_frist")


def test_make_rule_known_name():
    assert make_rule("upstream_first").name == "upstream_first"


def test_missing_required_keys(tmp_path):
    path = write_run(tmp_path, "format_version = 1\n")
    with pytest.raises(ScenarioError, match=one("3 problems in run:")) as info:
        load_scenario(path)
    problems = info.value.problems
    assert [(p.key, p.found, p.expected) for p in problems] == [
        ("basin", "<missing>", "a value (required)"),
        ("time.start", "<missing>", "a value (required)"),
        ("time.years", "<missing>", "a value (required)"),
    ]
    assert all(p.file == str(path) for p in problems)
    assert f"{path}: time.years: found <missing>, expected a value (required)" in str(info.value)


def test_missing_format_version(tmp_path):
    path = write_run(tmp_path, run_text(header=f'basin = "{AMU_DARYA.as_posix()}"\n'))
    with pytest.raises(ScenarioError, match=one(f"{path}: format_version: found <missing>, expected a value (required)")):
        load_scenario(path)


@pytest.mark.parametrize("value,shown", [("2", "2"), ('"1"', "'1'"), ("0", "0")])
def test_format_version_wrong(tmp_path, value, shown):
    path = write_run(tmp_path, run_text(header=f'format_version = {value}\nbasin = "{AMU_DARYA.as_posix()}"\n'))
    with pytest.raises(ScenarioError, match=one(f"{path}: format_version: found {shown}, expected 1")):
        load_scenario(path)


def test_series_without_a_series_file(tmp_path):
    path = write_run(tmp_path, run_text('[hydrology]\nkind = "series"\n'))
    with pytest.raises(ScenarioError, match=one(f"{path}: hydrology.series: found <missing>, expected a CSV or netCDF of monthly inflows when hydrology.kind = 'series'")):
        load_scenario(path)


def test_unknown_hydrology_kind(tmp_path):
    path = write_run(tmp_path, run_text('[hydrology]\nkind = "climatolgy"\n'))
    with pytest.raises(ScenarioError, match=one(f"{path}: hydrology.kind: found 'climatolgy', expected one of ['climatology', 'historical', 'series', 'stochastic', 'year_type'] (did you mean 'climatology'?)")):
        load_scenario(path)


def test_section_that_is_not_a_table(tmp_path):
    path = write_run(tmp_path, run_text("qosh_tepa = 6\n"))
    with pytest.raises(ScenarioError, match=one(f"{path}: qosh_tepa: found 6, expected a [qosh_tepa] table")):
        load_scenario(path)


def test_several_problems_reported_together(tmp_path):
    path = write_run(tmp_path, run_text('rule = 5\n[hydrology]\nmembers = 0\n', time='start = "2026/10"\nyears = "ten"\n'))
    with pytest.raises(ScenarioError, match=one("4 problems in run:")) as info:
        load_scenario(path)
    assert sorted(p.key for p in info.value.problems) == ["hydrology.members", "rule", "time.start", "time.years"]


def test_missing_run_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(ScenarioError, match=one(f"{path}: <file>: found {str(path)!r}, expected an existing run file (TOML)")):
        load_scenario(path)


def test_invalid_toml(tmp_path):
    path = write_run(tmp_path, run_text("[qosh_tepa\n"))
    with pytest.raises(ScenarioError, match=one(f"{path}: <toml>: found ")) as info:
        load_scenario(path)
    assert "expected valid TOML" in str(info.value)


def test_missing_basin_folder(tmp_path):
    from hydro.errors import BasinError

    path = write_run(tmp_path, run_text(header='format_version = 1\nbasin = "no_such_basin"\n'))
    with pytest.raises(BasinError, match=one(f"{tmp_path / 'no_such_basin'}: <file>: found {str(tmp_path / 'no_such_basin')!r}, expected a basin folder holding basin.toml")):
        load_scenario(path)


def test_a_basin_edited_between_two_loads_is_checked_again(tmp_path):
    """Validation keeps one copy of a basin per process, keyed by its files: an edit between two loads is seen."""
    import shutil

    shutil.copytree(AMU_DARYA, tmp_path / "basins" / "amu_darya")
    shutil.copytree(RUNS, tmp_path / "runs")
    run = tmp_path / "runs" / "mean_year.toml"
    load_scenario(run, [("reservoirs.rogun.enabled", True)])
    toml = tmp_path / "basins" / "amu_darya" / "basin.toml"
    text = toml.read_text()
    toml.write_text(text.replace('name = "rogun"', 'name = "rogun_renamed"', 1))
    from hydro.errors import ProblemsError

    with pytest.raises(ProblemsError, match="rogun_renamed"):  # the edited file, read again, no longer validates
        load_scenario(run, [("reservoirs.rogun.enabled", True)])
