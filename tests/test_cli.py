"""The command line, in-process: `hydro run` writes its three files, `hydro validate` checks a basin, errors exit 2
with one clear message and leave the output folder as it was."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import hydro
from hydro.cli import main
from hydro.errors import HydroError
from hydro.results import atomic_outputs, open_results
from hydro.variables import BY_NAME
from tests.conftest import AMU_DARYA, ROOT, RUNS

VARIABLES = ("natural_inflow", "inflow", "flow", "demand", "withdrawal", "shortfall", "return_flow", "reach_loss",
             "evaporation", "storage", "spill")
OUTPUTS = ("results.nc", "summary.csv", "shortfall.png")


def listing(folder: Path) -> list[str]:
    """Every entry in `folder` (hidden temp files included), or [] when it does not exist."""
    return sorted(os.listdir(folder)) if folder.exists() else []


def temp_files(folder: Path) -> list[str]:
    return [n for n in listing(folder) if n.startswith(".") or n.endswith(".tmp")]


def assert_clean_error(capsys, command: str, *fragments: str) -> str:
    out, err = capsys.readouterr()
    assert err.startswith(f"hydro {command}: error: "), err
    assert "Traceback" not in err and "Traceback" not in out
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert out == ""  # nothing that looks like a result
    return err


# ------------------------------------------------------------------ a successful run (2 years, shared by the tests)


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "x"
    capture = {}
    import contextlib
    import io

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        capture["rc"] = main(["run", str(RUNS / "mean_year.toml"), "--out", str(out), "--set", "time.years=2"])
    capture["stdout"], capture["stderr"], capture["out"] = stdout.getvalue(), stderr.getvalue(), out
    return capture


def test_run_returns_0_and_writes_three_files(baseline_run):
    assert baseline_run["rc"] == 0, baseline_run["stderr"]
    assert baseline_run["stderr"] == ""
    assert set(OUTPUTS) <= set(listing(baseline_run["out"]))
    assert temp_files(baseline_run["out"]) == []
    for name in OUTPUTS:
        assert (baseline_run["out"] / name).stat().st_size > 0


def test_results_nc_layout(baseline_run):
    with open_results(baseline_run["out"] / "results.nc") as ds:
        assert dict(ds.sizes) == {"member": 1, "time": 12, "node": 29}  # 2 years, the first a warm-up left out
        assert str(ds.time.values[0])[:7] == "2027-10" and "2026-10" in ds.attrs["warmup"]
        assert "qosh_tepa" in ds.node.values and "aral_sea" in ds.node.values
        for name in VARIABLES:
            da = ds[name]
            assert da.dims == ("member", "time", "node"), name
            assert da.attrs["units"] == "hm3", name
            assert da.attrs["long_name"] == BY_NAME[name].long_name, name
            assert np.all(np.isfinite(da.values)), name
        assert ds.time.values[0] == np.datetime64("2027-10-01")
        assert set(ds.state.values) >= {"AFG", "TJK", "UZB", "TKM"}
        # Qosh Tepa takes its 6 km3/yr target in a mean year
        assert float(ds.withdrawal.sel(node="qosh_tepa").sum()) / 1 == pytest.approx(6000.0, rel=1e-6)


def test_results_nc_provenance(baseline_run):
    with xr.open_dataset(baseline_run["out"] / "results.nc") as ds:
        attrs = dict(ds.attrs)
    assert attrs["rule"] == "upstream_first"
    assert attrs["run_file_text"] == (RUNS / "mean_year.toml").read_text(encoding="utf-8")
    from hydro.basin import load_basin

    assert attrs["basin_sha256"] == load_basin(AMU_DARYA).sha256
    assert attrs["package_version"] == hydro.__version__
    assert float(attrs["mass_balance_max_rel"]) < 1e-9
    # the --set override is recorded in the resolved configuration
    assert '"years": 2' in attrs["run_config_json"]


def test_summary_csv(baseline_run):
    summary = pd.read_csv(baseline_run["out"] / "summary.csv", index_col="state")
    assert list(summary.index) == ["AFG", "TJK", "UZB", "TKM"]
    from hydro.energy import ENERGY_COLUMNS
    from hydro.metrics import SUMMARY_COLUMNS

    assert list(summary.columns) == [*SUMMARY_COLUMNS, *ENERGY_COLUMNS]  # Tajikistan's hydropower beside its shortfall
    assert summary.loc["TJK", "energy_twh"] > 10 and summary.energy_twh.drop("TJK").isna().all()
    assert (summary.shortfall_km3_p05 == summary.shortfall_km3).all()  # one member, figures as written: no band
    np.testing.assert_allclose(summary.demand_km3 - summary.withdrawal_km3, summary.shortfall_km3, atol=2e-4)
    assert (summary.shortfall_km3 >= 0).all()


def test_shortfall_png(baseline_run):
    assert (baseline_run["out"] / "shortfall.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stdout_shows_the_summary_table(baseline_run):
    out = baseline_run["stdout"]
    assert "Annual mean per state (km3/yr):" in out
    for column in ("demand_km3", "withdrawal_km3", "shortfall_km3", "shortfall_pct"):
        assert column in out
    lines = out.splitlines()
    for state in ("AFG", "TJK", "UZB", "TKM"):
        assert any(line.startswith(state) for line in lines), state
    assert "12 months from 2027-10 after a 1-year warm-up from 2026-10 (simulated, left out)" in out
    assert f"wrote {baseline_run['out'] / 'results.nc'}" in out


def test_run_with_a_relative_path_from_the_repository(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "rel"
    assert main(["run", "runs/mean_year.toml", "--out", str(out), "--set", "time.years=2", "--set", "qosh_tepa.withdrawal_km3=8"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert re.search(r"Qosh Tepa.* 8 km(3|³)/yr", first), first
    with xr.open_dataset(out / "results.nc") as ds:
        assert ds.attrs["qosh_tepa_withdrawal_km3"] == 8.0


def test_rerun_replaces_the_outputs(tmp_path, capsys):
    out = tmp_path / "again"
    args = ["run", str(RUNS / "mean_year.toml"), "--out", str(out), "--set", "time.years=2"]
    assert main(args) == 0
    assert main([*args, "--set", "qosh_tepa.withdrawal_km3=0"]) == 0
    capsys.readouterr()
    assert set(OUTPUTS) <= set(listing(out))
    assert temp_files(out) == []
    with open_results(out / "results.nc") as ds:
        assert float(ds.withdrawal.sel(node="qosh_tepa").sum()) == 0.0


def test_outputs_have_ordinary_permissions(tmp_path, capsys):
    old = os.umask(0o022)
    try:
        out = tmp_path / "perm"
        assert main(["run", str(RUNS / "mean_year.toml"), "--out", str(out), "--set", "time.years=2"]) == 0
    finally:
        os.umask(old)
    capsys.readouterr()
    for name in OUTPUTS:
        assert (out / name).stat().st_mode & 0o777 == 0o644, name


# ------------------------------------------------------------------ validate


def test_validate_the_shipped_basin(capsys):
    assert main(["validate", str(AMU_DARYA)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith(f"basin {AMU_DARYA}: valid. 29 nodes (7 inflow, 6 junction, 3 reservoir, 11 offtake, 2 terminal), 27 reaches")


def test_validate_relative_path(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["validate", "basins/amu_darya"]) == 0
    assert "basins/amu_darya: valid." in capsys.readouterr().out


def test_validate_a_run_file(capsys):
    assert main(["validate", str(RUNS / "mean_year.toml")]) == 0
    assert f"run file {RUNS / 'mean_year.toml'}" in capsys.readouterr().out


def test_validate_a_broken_basin(tmp_path, capsys):
    folder = tmp_path / "broken"
    shutil.copytree(AMU_DARYA, folder)
    path = folder / "basin.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('value = "650 m3/s"', 'value = "650 m3/sec"', 1), encoding="utf-8")
    assert main(["validate", str(folder)]) == 2
    assert_clean_error(capsys, "validate", str(path), "capacity.value: found '650 m3/sec'", "known units")


def test_validate_a_basin_with_a_list_of_sources(tmp_path, capsys):
    folder = tmp_path / "broken"
    shutil.copytree(AMU_DARYA, folder)
    path = folder / "basin.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('source = "QT-CAP"', 'source = ["QT-CAP", "YB22QT"]', 1), encoding="utf-8")
    assert main(["validate", str(folder)]) == 2
    assert_clean_error(capsys, "validate", "capacity.source")


def test_validate_missing_folder(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope")]) == 2
    assert_clean_error(capsys, "validate", "expected a basin folder holding basin.toml")


# ------------------------------------------------------------------ errors: exit 2, one message, nothing written


def test_bad_set_key(tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["run", str(RUNS / "mean_year.toml"), "--out", str(out), "--set", "time.years=2", "--set", "qosh_tepa.withdrawl_km3=8"])
    assert rc == 2
    err = assert_clean_error(capsys, "run", "--set qosh_tepa.withdrawl_km3: found 8", "(did you mean 'qosh_tepa.withdrawal_km3'?)")
    assert err.count("error:") == 1
    assert not out.exists()


def test_set_without_equals(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(RUNS / "mean_year.toml"), "--out", str(out), "--set", "years"]) == 2
    assert_clean_error(capsys, "run", "expected KEY=VALUE")
    assert not out.exists()


def test_withdrawal_above_canal_capacity(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(RUNS / "mean_year.toml"), "--out", str(out), "--set", "qosh_tepa.withdrawal_km3=25"]) == 2
    assert_clean_error(capsys, "run", "qosh_tepa.withdrawal_km3: found 25.0, expected at most 20.51 km3/yr")
    assert not out.exists()


def test_missing_run_file(tmp_path, capsys):
    out = tmp_path / "out"
    missing = tmp_path / "no_such_run.toml"
    assert main(["run", str(missing), "--out", str(out)]) == 2
    assert_clean_error(capsys, "run", f"{missing}: <file>", "expected an existing run file (TOML)")
    assert not out.exists()


def test_broken_basin(tmp_path, capsys):
    folder = tmp_path / "broken_basin"
    shutil.copytree(AMU_DARYA, folder)
    toml = folder / "basin.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + '\n[[reach]]\nfrom = "kerki"\nto = "aral_sea"\n', encoding="utf-8")
    run = tmp_path / "run.toml"
    run.write_text(f'format_version = 1\nbasin = "{folder.as_posix()}"\n[time]\nstart = "2026-10"\nyears = 2\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(run), "--out", str(out)]) == 2
    assert_clean_error(capsys, "run", f"{toml}: node 'kerki'", "expected exactly one downstream reach")
    assert not out.exists()


def test_unknown_rule(tmp_path, capsys):
    run = tmp_path / "run.toml"
    run.write_text(f'format_version = 1\nbasin = "{AMU_DARYA.as_posix()}"\nrule = "upstream_frist"\n[time]\nstart = "2026-10"\nyears = 2\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(run), "--out", str(out)]) == 2
    assert_clean_error(capsys, "run", f"{run}: rule: found 'upstream_frist'", "(did you mean 'upstream_first'?)")
    assert not out.exists()


def test_bad_series_file(tmp_path, capsys):
    (tmp_path / "flows.csv").write_text("month,kokha\n2026-10,100\n", encoding="utf-8")
    run = tmp_path / "run.toml"
    run.write_text(f'format_version = 1\nbasin = "{AMU_DARYA.as_posix()}"\n[time]\nstart = "2026-10"\nyears = 2\n'
                   '[hydrology]\nkind = "series"\nseries = "flows.csv"\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(run), "--out", str(out)]) == 2
    assert_clean_error(capsys, "run", "column 'kokha'", "(did you mean 'kokcha'?)", "23 months of the run missing")
    assert not out.exists()


def test_failure_while_writing_leaves_existing_outputs_and_no_temp_files(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    args = ["run", str(RUNS / "mean_year.toml"), "--out", str(out), "--set", "time.years=2"]
    assert main(args) == 0
    names = listing(out)
    assert set(OUTPUTS) <= set(names)
    before = {name: (out / name).read_bytes() for name in names}
    capsys.readouterr()

    from hydro import charts

    def broken_save(fig, path, fmt="png"):
        Path(path).write_bytes(b"half a png")
        raise HydroError("disk full while writing the chart")

    monkeypatch.setattr(charts, "save", broken_save)
    assert main([*args, "--set", "qosh_tepa.withdrawal_km3=0"]) == 2
    assert_clean_error(capsys, "run", "disk full while writing the chart")
    assert listing(out) == names  # no .tmp files left behind, nothing renamed into place
    for name in names:
        assert (out / name).read_bytes() == before[name], name


def test_failure_while_writing_a_new_folder_leaves_it_empty(tmp_path, capsys, monkeypatch):
    from hydro import charts

    def broken_save(fig, path, fmt="png"):
        raise HydroError("no space left")

    monkeypatch.setattr(charts, "save", broken_save)
    out = tmp_path / "new"
    assert main(["run", str(RUNS / "mean_year.toml"), "--out", str(out), "--set", "time.years=2"]) == 2
    assert_clean_error(capsys, "run", "no space left")
    assert listing(out) == []


def test_out_is_an_existing_file(tmp_path, capsys):
    out = tmp_path / "a_file"
    out.write_text("keep me", encoding="utf-8")
    assert main(["run", str(RUNS / "mean_year.toml"), "--out", str(out), "--set", "time.years=2"]) == 2
    _, err = capsys.readouterr()
    assert err.startswith("hydro run: error: ") and "Traceback" not in err
    assert out.read_text(encoding="utf-8") == "keep me"
    assert listing(tmp_path) == ["a_file"]


def test_debug_shows_the_exception(tmp_path, capsys):
    from hydro.errors import ScenarioError

    with pytest.raises(ScenarioError):
        main(["--debug", "run", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "out")])


# ------------------------------------------------------------------ atomic_outputs


def test_atomic_outputs_success(tmp_path):
    folder = tmp_path / "out"
    with atomic_outputs(folder) as tmp:
        a, b = tmp("a.txt"), tmp("b.txt")
        assert a.parent == folder and a.name != "a.txt"
        a.write_text("A", encoding="utf-8")
        b.write_text("B", encoding="utf-8")
        assert listing(folder) == sorted([a.name, b.name])  # nothing final before the end
    assert listing(folder) == ["a.txt", "b.txt", "outputs.json"]  # the manifest, written last
    assert (folder / "a.txt").read_text(encoding="utf-8") == "A"


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_atomic_outputs_error_keeps_the_existing_file_and_leaves_no_temp_files(tmp_path, exc):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "results.nc").write_bytes(b"old results")
    with pytest.raises(type(exc)):
        with atomic_outputs(folder) as tmp:
            tmp("results.nc").write_bytes(b"new, complete")
            half = tmp("summary.csv")
            half.write_text("state,dem", encoding="utf-8")
            raise exc
    assert listing(folder) == ["results.nc"]
    assert (folder / "results.nc").read_bytes() == b"old results"


def test_atomic_outputs_error_before_any_file(tmp_path):
    folder = tmp_path / "out"
    with pytest.raises(ValueError):
        with atomic_outputs(folder):
            raise ValueError("nothing staged")
    assert listing(folder) == []


def test_each_problem_is_one_line_on_stderr(tmp_path, capsys):
    """Three mistakes in a run file: three lines, each naming the file, the key, what was found and expected."""
    run = tmp_path / "run.toml"
    text = (RUNS / "mean_year.toml").read_text().replace('basin = "../basins/amu_darya"', f'basin = "{(RUNS.parent / "basins" / "amu_darya").as_posix()}"')
    text = text.replace("years = 30", 'years = "thirty"').replace('start = "2026-10"', 'start = "October"').replace("capacity_m3s = 650", "capacity_m3s = -1")
    run.write_text(text)
    assert main(["run", str(run), "--out", str(tmp_path / "out")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3, lines
    assert all(line.startswith(f"hydro run: error: {run}: ") and ": found " in line and ", expected " in line for line in lines)
    assert not (tmp_path / "out").exists()


def test_run_detail_summary_keeps_the_summary_and_the_same_answer(tmp_path, capsys):
    """--detail summary keeps the summary variables at offtakes, reservoirs, terminals and Kerki as float32, and
    its summary.csv is the full run's to float32 precision (same members, same numbers)."""
    args = ["run", str(RUNS / "ensemble.toml"), "--set", "hydrology.members=20", "--set", "time.years=3"]
    assert main([*args, "--out", str(tmp_path / "full")]) == 0
    assert main([*args, "--detail", "summary", "--out", str(tmp_path / "summary")]) == 0
    full, small = open_results(tmp_path / "full" / "results.nc"), open_results(tmp_path / "summary" / "results.nc")
    assert set(small.kind.values) == {"offtake", "reservoir", "terminal", "junction"} and "kerki" in small.node.values
    assert small.sizes["node"] < full.sizes["node"] and "natural_inflow" not in small and "evaporation" not in small
    assert small.withdrawal.encoding["dtype"] == np.float32
    np.testing.assert_allclose(small.withdrawal.values, full.withdrawal.sel(node=small.node).values, rtol=1e-6, atol=1e-3)
    a = pd.read_csv(tmp_path / "full" / "summary.csv", index_col=0)
    b = pd.read_csv(tmp_path / "summary" / "summary.csv", index_col=0)
    pd.testing.assert_frame_equal(a, b, rtol=1e-5)


# --- the command line's conventions (issue 14) ---------------------------------------------------------------------

def test_usage_errors_input_errors_and_bugs_have_distinct_exit_codes(tmp_path, capsys, monkeypatch):
    from hydro import cli

    with pytest.raises(SystemExit) as usage:
        main(["run", "--no-such-option", str(RUNS / "mean_year.toml")])
    assert usage.value.code == cli.EXIT_USAGE == 64
    assert "usage error" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "o")]) == cli.EXIT_INPUT == 2

    def bug(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setitem(cli.__dict__, "_check", bug)
    assert main(["check", str(tmp_path / "x.nc")]) == cli.EXIT_INTERNAL == 3


def test_debug_quiet_and_verbose_go_before_or_after_the_subcommand(tmp_path, capsys):
    out = tmp_path / "q"
    assert main(["run", str(RUNS / "mean_year.toml"), "--set", "time.years=2", "--out", str(out), "-q"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["-v", "check", str(out / "results.nc")]) == 0
    assert re.search(r"hydro check: exit 0 after [\d.]+ s", capsys.readouterr().out)
    assert main(["check", str(out / "results.nc"), "--debug"]) == 0
    with pytest.raises(SystemExit):
        main(["check", str(out / "results.nc"), "-q", "-v"])


def test_default_output_folders_carry_the_overrides(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(RUNS / "mean_year.toml"), "--set", "time.years=2", "-q"]) == 0
    assert main(["run", str(RUNS / "mean_year.toml"), "--set", "time.years=2", "--set", "hydrology.scale=0.84", "-q"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["mean_year+years=2", "mean_year+years=2+scale=0.84"]


def test_every_subcommand_has_examples_and_the_exit_codes_in_its_help(capsys):
    from hydro.cli import EXAMPLES, _parser

    commands = _parser()._subparsers._group_actions[0].choices
    assert set(commands) == set(EXAMPLES)
    for name, sub in commands.items():
        text = sub.format_help()
        assert "examples:" in text and "64   usage error" in text, name


def test_sel_picks_one_point_of_a_sweep_for_chart_report_and_leverage(tmp_path, capsys):
    """A sweep over three keys: chart, report and leverage take --sel (a key in full or by its last part); without
    it they say which --sel they need instead of failing (issue 14)."""
    from hydro.sweeps import run_sweep

    sweep = tmp_path / "sw"
    run_sweep(RUNS / "mean_year.toml", [("qosh_tepa.withdrawal_km3", [0.0, 6.0]), ("rule", ["upstream_first", "icwc_quota"]),
                                        ("hydrology.scale", [1.0, 0.84])], sweep, [("time.years", 2)], workers=0, progress=False)
    assert main(["chart", str(sweep), "--kind", "heatmap", "--out", str(tmp_path / "h.png")]) == 2
    assert "--sel hydrology.scale=1.0" in capsys.readouterr().err
    assert main(["chart", str(sweep), "--kind", "heatmap", "--sel", "scale=0.84", "--sel", "rule=icwc_quota", "--sel", "withdrawal_km3=6.0",
                 "--out", str(tmp_path / "h.png")]) == 0
    assert main(["chart", str(sweep), "--kind", "withdrawal", "--sel", "scale=0.84", "--out", str(tmp_path / "w.png")]) == 0
    assert main(["chart", str(sweep), "--kind", "heatmap", "--sel", "scale=0.5", "--out", str(tmp_path / "x.png")]) == 2
    assert "one of its values: [1.0, 0.84]" in capsys.readouterr().err
    assert main(["leverage", str(sweep), "--out", str(tmp_path / "lev")]) == 2
    assert main(["leverage", str(sweep), "--sel", "hydrology.scale=0.84", "--samples", "100", "--out", str(tmp_path / "lev")]) == 0
    assert main(["report", str(sweep), "--sel", "scale=0.84", "--out", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Assumptions and sources" in page and "Provenance" in page and "qt-rule" in page
    assert main(["report", str(sweep), "--out", str(tmp_path / "r1.html")]) == 0
    assert "hydrology.scale = 1.0 (its first value; choose another with --sel" in (tmp_path / "r1.html").read_text(encoding="utf-8")


def test_format_xlsx_writes_the_summary_tables_as_a_workbook(tmp_path):
    import openpyxl

    out = tmp_path / "xl"
    assert main(["run", str(RUNS / "mean_year.toml"), "--set", "time.years=2", "--format", "xlsx", "--out", str(out), "-q"]) == 0
    book = openpyxl.load_workbook(out / "summary.xlsx")
    assert book.sheetnames[:2] == ["about", "summary"] and "offtakes" in book.sheetnames
    rows = {r[0]: r for r in book["summary"].iter_rows(values_only=True)}
    csv = pd.read_csv(out / "summary.csv", index_col="state")
    assert rows["UZB"][3] == pytest.approx(csv.loc["UZB", "shortfall_km3"])
    assert "summary.xlsx" in (out / "outputs.json").read_text(encoding="utf-8")
    assert main(["compare", str(RUNS / "rules_compare.toml"), "--set", "time.years=2", "--format", "xlsx", "--out", str(tmp_path / "c"), "-q"]) == 0
    assert openpyxl.load_workbook(tmp_path / "c" / "compare.xlsx").sheetnames == ["about", "compare"]
