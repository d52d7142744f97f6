"""Results that stand on their own: CF-1.11 on disk, one checked reader, moved folders, manifests, staged files,
and the CLI's one-line failures (damaged files, interrupts, a full disk, memory)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hydro
from hydro.cli import main
from hydro.errors import ScenarioError
from hydro.results import (
    MANIFEST,
    atomic_outputs,
    check_outputs,
    from_cf,
    open_counterparts,
    open_results,
    to_cf,
    write_results,
)
from hydro.variables import BY_NAME, NAMES, ROUTED
from tests.conftest import AMU_DARYA, RUNS

CDO = shutil.which("cdo")


def one_error_line(capsys, command: str, *fragments: str) -> str:
    """The command printed exactly one line on stderr, naming every fragment, and no traceback."""
    __tracebackhide__ = True
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"hydro {command}: error: ") or lines[0].startswith(f"hydro {command}: interrupted"), err
    assert "Traceback" not in err + out
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return lines[0]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A copy of the shipped basin and run files, a 3-year run and a 2-rule comparison made from them."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(AMU_DARYA, root / "basins" / "amu_darya")
    shutil.copytree(RUNS, root / "runs")
    run = root / "out" / "run"
    assert main(["run", str(root / "runs" / "mean_year.toml"), "--set", "time.years=3", "--out", str(run)]) == 0
    cmp_ = root / "out" / "cmp"
    assert main(["compare", str(root / "runs" / "rules_compare.toml"), "--rules", "upstream_first,icwc_quota",
                 "--qosh-tepa", "0,6", "--set", "time.years=2", "--out", str(cmp_)]) == 0
    return root


def cf_errors(path: Path) -> list[str]:
    """The high-priority (error) messages of compliance-checker's CF-1.11 suite for `path`."""
    out = path.parent / f"{path.stem}.cf.json"
    exe = Path(sys.executable).parent / "compliance-checker"
    subprocess.run([str(exe), "--test", "cf:1.11", "-f", "json", "-o", str(out), str(path)], capture_output=True, check=False)
    report = json.loads(out.read_text(encoding="utf-8"))["cf:1.11"]
    out.unlink()
    return [f"{x['name']}: {m}" for x in report["high_priorities"] for m in x["msgs"]]


# ------------------------------------------------------------------ CF-1.11 on disk


def test_results_nc_is_cf_with_no_checker_errors(project):
    assert cf_errors(project / "out" / "run" / "results.nc") == []


def test_compare_nc_is_cf_with_no_checker_errors(project):
    assert cf_errors(project / "out" / "cmp" / "compare.nc") == []


def test_cf_layout_on_disk(project):
    with xr.open_dataset(project / "out" / "run" / "results.nc") as ds:
        assert ds.attrs["Conventions"] == "CF-1.11"
        for key in ("title", "history", "source", "references", "institution"):
            assert ds.attrs[key], key
        for name in NAMES:
            var = ds[name]
            assert var.dims == ("time", "member", "node"), name
            assert var.attrs["units"] == "hm3" and var.attrs["long_name"] == BY_NAME[name].long_name
            assert var.attrs["cell_methods"] == ("time: point" if name == "storage" else "time: sum")
        assert ds.time.attrs["standard_name"] == "time" and ds.time.attrs["axis"] == "T"
        bounds = ds[ds.time.attrs["bounds"]].values
        assert (bounds[:, 0] == ds.time.values).all() and (bounds[:-1, 1] == ds.time.values[1:]).all()
        assert ds.member.attrs["standard_name"] == "realization"
        assert ds.node_name.attrs["cf_role"] == "timeseries_id"
        assert "node" not in ds.variables  # an integer dimension: names are node_name
        assert ds.year_type.attrs["flag_meanings"] == "dry normal wet"
        for name, var in ds.variables.items():
            assert "long_name" in var.attrs or "standard_name" in var.attrs or name == "time_bnds", name
            if var.dtype.kind in "iuf" and name != "time_bnds" and "flag_values" not in var.attrs:
                assert var.attrs.get("units") or var.encoding.get("units"), name
    import netCDF4

    with netCDF4.Dataset(project / "out" / "run" / "results.nc") as nc:  # character arrays, not netCDF-4 strings
        assert nc["node_name"].dtype == np.dtype("S1")


@pytest.mark.skipif(CDO is None, reason="CDO is not installed")
def test_cdo_lists_every_variable(project):
    names = subprocess.run([CDO, "-s", "showname", str(project / "out" / "run" / "results.nc")],
                           capture_output=True, text=True, check=True).stdout.split()
    assert set(NAMES) <= set(names)


def test_to_cf_and_back_is_the_identity(project):
    ds = open_results(project / "out" / "run" / "results.nc")
    again = from_cf(to_cf(ds))
    xr.testing.assert_identical(ds.drop_attrs(), again.drop_attrs())


# ------------------------------------------------------------------ self-contained: moved, no basin


def test_results_moved_without_their_basin_still_check_report_chart_and_score(project, tmp_path, capsys, monkeypatch):
    moved = tmp_path / "elsewhere" / "run"
    shutil.copytree(project / "out" / "run", moved)
    hidden = project / "basins" / "hidden"
    (project / "basins" / "amu_darya").rename(hidden)  # the basin folder is gone
    other = tmp_path / "cwd"
    other.mkdir()
    monkeypatch.chdir(other)
    try:
        assert main(["check", str(moved / "results.nc")]) == 0
        assert main(["report", str(moved)]) == 0
        for kind in ("map", "storage", "heatmap", "delta", "exceedance", "shortfall"):
            assert main(["chart", str(moved / "results.nc"), "--kind", kind, "--out", str(tmp_path / f"{kind}.svg")]) == 0
        assert main(["leverage", str(moved), "--samples", "50"]) == 0
        capsys.readouterr()
        assert main(["rerun", str(moved / "results.nc")]) == 2
        one_error_line(capsys, "rerun", "attrs.basin", "expected the basin folder the run used")
    finally:
        hidden.rename(project / "basins" / "amu_darya")
    assert main(["rerun", str(moved / "results.nc")]) == 0  # found again at its absolute path
    assert "reproduces every variable exactly" in capsys.readouterr().out


def test_rerun_finds_the_basin_relative_to_a_moved_project(project, tmp_path, capsys):
    """The whole project (basin and results) is copied elsewhere and the original basin disappears: rerun finds
    the copy by the path relative to the results file; once the copy is edited, it refuses, saying so."""
    copy = tmp_path / "copy"
    shutil.copytree(project / "basins", copy / "basins")
    shutil.copytree(project / "out", copy / "out")
    results = copy / "out" / "run" / "results.nc"
    assert open_results(results).attrs["basin_relative"] == os.path.join("..", "..", "basins", "amu_darya")
    hidden = project / "basins" / "hidden"
    (project / "basins" / "amu_darya").rename(hidden)
    try:
        assert main(["rerun", str(results)]) == 0
        assert "reproduces every variable exactly" in capsys.readouterr().out
        toml = copy / "basins" / "amu_darya" / "basin.toml"
        toml.write_text(toml.read_text().replace('value = "13.0 km3/yr", source = "KK"', 'value = "14.0 km3/yr", source = "KK"'))
        assert main(["rerun", str(results)]) == 2
        one_error_line(capsys, "rerun", "attrs.basin_sha256", "it changed since, so the run cannot be reproduced")
    finally:
        hidden.rename(project / "basins" / "amu_darya")


def test_the_report_reads_stored_counterparts_not_the_basin(project):
    stored = open_counterparts(project / "out" / "run" / "results.nc")
    assert set(stored) == {"without_qosh_tepa", "dry_year", "dry_year_without_qosh_tepa"}
    assert float(stored["without_qosh_tepa"].withdrawal.sel(node="qosh_tepa").sum()) == 0.0
    assert stored["dry_year"].attrs["hydrology"] == "year_type"
    ds = open_results(project / "out" / "run" / "results.nc")
    np.testing.assert_array_equal(stored["without_qosh_tepa"].member.values, ds.member.values)


def test_the_saved_network_matches_the_compiled_one(project):
    from hydro.basin import load_basin
    from hydro.network import compile_network
    from hydro.results import saved_network

    net = compile_network(load_basin(project / "basins" / "amu_darya"))
    saved = saved_network(open_results(project / "out" / "run" / "results.nc"))
    assert saved.names == net.names and saved.state == net.state and saved.kind_name == net.kind_name
    for name in ("downstream", "loss_fraction", "offtake_idx", "offtake_return_to", "offtake_return_fraction",
                 "inflow_idx", "inflow_annual", "offtake_demand_annual", "reservoir_idx", "reservoir_capacity", "reservoir_dead"):
        np.testing.assert_array_equal(getattr(saved, name), getattr(net, name), err_msg=name)
    assert saved.storage_bounds() == net.storage_bounds()


# ------------------------------------------------------------------ the one reader refuses what it cannot trust


@pytest.fixture
def copy_of_run(project, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(project / "out" / "run", folder)
    return folder


@pytest.mark.parametrize("damage, expected", [
    ("truncate", "the file is damaged"),
    ("flip", "expected a results file written by hydro run"),
    ("text", "the file is damaged, truncated or not netCDF"),
    ("empty", "the file is damaged, truncated or not netCDF"),
])
def test_damaged_results_get_one_line(copy_of_run, capsys, damage, expected):
    path = copy_of_run / "results.nc"
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        path.write_bytes(bytes(data[: len(data) // 3]))
    elif damage == "flip":
        rng = np.random.default_rng(1)
        for i in rng.integers(2000, len(data), size=200):
            data[i] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "text":
        path.write_text("not a netCDF file", encoding="utf-8")
    else:
        path.write_bytes(b"")
    for command in (["check", str(path)], ["chart", str(path), "--kind", "map", "--out", str(copy_of_run / "m.png")]):
        code = main(command)
        if damage == "flip" and code == 0:  # the damage missed every byte that matters: the data must still be sound
            capsys.readouterr()
            continue
        assert code == 2
        one_error_line(capsys, command[0], str(path), expected)


def test_results_without_attributes_or_from_another_tool(copy_of_run, capsys):
    path = copy_of_run / "results.nc"
    with xr.open_dataset(path) as ds:
        plain = ds.load()
    plain.attrs = {}
    plain.to_netcdf(copy_of_run / "bare.nc")
    assert main(["check", str(copy_of_run / "bare.nc")]) == 2
    one_error_line(capsys, "check", "attrs.Conventions", "CF-1.11")
    old = plain.assign_attrs(package_version="0.1.0", run_config_json="{}")  # as the first version wrote them
    old.to_netcdf(copy_of_run / "old.nc")
    assert main(["check", str(copy_of_run / "old.nc")]) == 2
    one_error_line(capsys, "check", "attrs.Conventions", "written by an earlier amu-hydro", "run its scenario again")
    xr.Dataset({"x": ("t", [1.0])}, attrs={"Conventions": "CF-1.11"}).to_netcdf(copy_of_run / "other.nc")
    assert main(["check", str(copy_of_run / "other.nc")]) == 2
    one_error_line(capsys, "check", "attrs: found <missing")
    assert main(["check", str(copy_of_run / "missing.nc")]) == 2
    one_error_line(capsys, "check", "missing.nc: <file>: found <missing>")


def test_a_folder_with_a_mixed_output_is_refused(copy_of_run, project, capsys):
    (copy_of_run / "summary.csv").write_text("state,demand_km3\nUZB,1\n", encoding="utf-8")
    assert main(["report", str(copy_of_run)]) == 2
    one_error_line(capsys, "report", "summary.csv", "outputs of different runs must not be mixed")


def test_a_folder_without_its_manifest_is_refused(copy_of_run, capsys):
    (copy_of_run / MANIFEST).unlink()
    assert main(["leverage", str(copy_of_run), "--samples", "10"]) == 2
    one_error_line(capsys, "leverage", "outputs.json", "the folder was not completely written")


# ------------------------------------------------------------------ outputs are never lost or mixed


def test_a_new_run_removes_the_previous_runs_derived_outputs_but_not_user_files(project, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["run", str(project / "runs" / "mean_year.toml"), "--set", "time.years=2", "--out", str(out)]
    assert main(args) == 0
    assert main(["report", str(out)]) == 0
    (out / "my_notes.txt").write_text("mine", encoding="utf-8")
    assert "report.html" in json.loads((out / MANIFEST).read_text())["files"]
    assert main([*args, "--set", "qosh_tepa.withdrawal_km3=2"]) == 0
    assert not (out / "report.html").exists()  # it described the old results
    assert (out / "my_notes.txt").read_text(encoding="utf-8") == "mine"
    check_outputs(out)


def test_a_failed_rename_leaves_the_folder_reading_as_incomplete(tmp_path, monkeypatch):
    folder = tmp_path / "out"
    with atomic_outputs(folder) as tmp:
        tmp("a.txt").write_text("old a")
        tmp("b.txt").write_text("old b")
    real = os.replace
    calls = {"n": 0}

    def failing(src, dst):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.EIO, "input/output error", str(dst))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OSError), atomic_outputs(folder) as tmp:
        tmp("a.txt").write_text("new a")
        tmp("b.txt").write_text("new b")
    monkeypatch.setattr(os, "replace", real)
    with pytest.raises(ScenarioError, match="outputs.json: <file>: found <missing>"):
        check_outputs(folder)


@pytest.mark.parametrize("out, fragment", [
    ("", "--out: found <empty>"),
    ("BASIN", "a folder outside the input folder"),
    ("BASIN/sub", "a folder outside the input folder"),
    ("FILE", "a folder (this is an existing file)"),
])
def test_bad_out_folders_are_refused(project, tmp_path, capsys, out, fragment):
    basin = project / "basins" / "amu_darya"
    before = sorted(p.name for p in basin.iterdir())
    (tmp_path / "file").write_text("x")
    out = out.replace("BASIN", str(basin)).replace("FILE", str(tmp_path / "file"))
    assert main(["run", str(project / "runs" / "mean_year.toml"), "--set", "time.years=1", "--out", out]) == 2
    one_error_line(capsys, "run", fragment)
    assert sorted(p.name for p in basin.iterdir()) == before


def test_rerun_out_never_replaces_its_input(project, tmp_path, capsys):
    folder = tmp_path / "run"
    shutil.copytree(project / "out" / "run", folder)
    before = (folder / "results.nc").read_bytes()
    assert main(["rerun", str(folder / "results.nc"), "--out", str(folder)]) == 2
    one_error_line(capsys, "rerun", "would not replace the input")
    assert (folder / "results.nc").read_bytes() == before


def test_rerun_that_differs_writes_nothing(project, tmp_path, capsys):
    ds = open_results(project / "out" / "run" / "results.nc")
    ds["flow"] = ds.flow + 1.0
    write_results(ds, tmp_path / "tampered.nc")
    assert main(["rerun", str(tmp_path / "tampered.nc"), "--out", str(tmp_path / "again")]) == 2
    one_error_line(capsys, "rerun", "re-run gives different data for ['flow']; nothing was written")
    assert not (tmp_path / "again").exists()


# ------------------------------------------------------------------ every failure is one line


def test_ctrl_c_exits_130_and_writes_nothing(project, tmp_path, capsys, monkeypatch):
    import hydro.runner

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(hydro.runner, "simulate", interrupted)
    out = tmp_path / "out"
    assert main(["run", str(project / "runs" / "mean_year.toml"), "--set", "time.years=1", "--out", str(out)]) == 130
    one_error_line(capsys, "run", "interrupted; nothing was written")
    assert not out.exists()


def test_a_full_disk_is_one_line(project, tmp_path, capsys, monkeypatch):
    """The netCDF library reports a full disk as 'NetCDF: HDF error' (a RuntimeError): the line names the file,
    the free space and says nothing was written."""
    import collections

    def full(self, *args, **kwargs):
        raise RuntimeError("NetCDF: HDF error")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", full)
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 4096, 4096))
    out = tmp_path / "out"
    assert main(["run", str(project / "runs" / "mean_year.toml"), "--set", "time.years=1", "--out", str(out)]) == 2
    line = one_error_line(capsys, "run", f"{out / 'results.nc'}: NetCDF: HDF error", "the disk is full", "nothing was written")
    assert ".tmp" not in line
    assert not out.exists()


def test_memory_is_estimated_before_allocating(project, tmp_path, capsys, monkeypatch):
    import hydro.runner

    monkeypatch.setattr(hydro.runner, "_available_memory", lambda: 2.0 * 2**30)
    out = tmp_path / "big"
    assert main(["run", str(project / "runs" / "ensemble.toml"), "--set", "hydrology.members=100000", "--out", str(out)]) == 2
    line = one_error_line(capsys, "run", "hydrology.members: found 100000", "GiB are available")
    assert "100,000 members x 360 months need about" in line
    assert not out.exists()


def test_an_unexpected_error_is_one_line_with_exit_3(project, tmp_path, capsys, monkeypatch):
    import hydro.runner

    def bug(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(hydro.runner, "simulate", bug)
    assert main(["run", str(project / "runs" / "mean_year.toml"), "--set", "time.years=1", "--out", str(tmp_path / "o")]) == 3
    one_error_line(capsys, "run", "internal error ZeroDivisionError: division by zero", "--debug")


def test_the_table_of_variables_drives_the_simulator_and_the_balance():
    from hydro import simulate

    assert simulate.VARIABLES == NAMES and simulate.MONTH_VARIABLES == ROUTED
    assert set(ROUTED) < set(NAMES)
    assert hydro.__version__


# ------------------------------------------------------------------ sweep chunks are results too


@pytest.fixture(scope="module")
def small_sweep(project):
    from hydro.sweeps import run_sweep

    out = project / "out" / "sweep"
    run_sweep(project / "runs" / "qosh_tepa_sweep.toml", [("qosh_tepa.withdrawal_km3", [0, 6])], out,
              [("hydrology.members", 3), ("time.years", 2)], workers=0, progress=False)
    return out


def test_a_sweep_chunk_is_cf_with_no_checker_errors(small_sweep):
    assert cf_errors(small_sweep / "chunks" / "P0001.nc") == []


def test_a_sweep_chunk_reruns_on_its_own_nodes_and_precision(small_sweep, capsys):
    assert main(["check", str(small_sweep / "chunks" / "P0001.nc")]) == 0
    assert "not checked" in capsys.readouterr().out
    assert main(["rerun", str(small_sweep / "chunks" / "P0001.nc")]) == 0
    assert "reproduces every variable exactly" in capsys.readouterr().out


def test_leverage_of_a_sweep_needs_no_basin(small_sweep, project, tmp_path, capsys):
    moved = tmp_path / "sweep"
    shutil.copytree(small_sweep, moved)
    hidden = project / "basins" / "hidden"
    (project / "basins" / "amu_darya").rename(hidden)
    try:
        assert main(["leverage", str(moved), "--samples", "20"]) == 0
        assert main(["chart", str(moved), "--kind", "withdrawal", "--out", str(tmp_path / "w.png")]) == 0
    finally:
        hidden.rename(project / "basins" / "amu_darya")
    assert "rule upstream_first" in capsys.readouterr().out


def test_a_real_ctrl_c_exits_130_and_leaves_nothing(project, tmp_path):
    """SIGINT from outside while the run simulates or writes: one line, exit 130, no output folder, no staged file."""
    import signal
    import time

    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "hydro.cli", "run", str(project / "runs" / "ensemble.toml"), "--set", "hydrology.members=400",
           "--set", "time.years=10", "--out", str(out)]
    interrupted = 0
    for delay in (2.0, 3.0):
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        printed, err = proc.communicate(timeout=60)
        if proc.returncode == 0 or "wrote " in printed:
            continue  # finished before the signal (or was leaving the interpreter): nothing to check
        interrupted += 1
        assert proc.returncode == 130, err
        assert err.strip().splitlines()[-1] == "hydro run: interrupted; nothing was written", err
        assert "Traceback" not in err
        assert not out.exists() or not [p for p in out.iterdir() if p.name.startswith(".")]
    assert interrupted, "the run finished before every signal: make it longer"


def test_a_streamed_run_reports_charts_and_scores_lazily(project, tmp_path, monkeypatch, capsys):
    """A run streamed block by block (4 blocks here) is read back lazily by every reader, without warnings (the
    chunks on disk align with the reader's), counterparts included."""
    import hydro.results
    import hydro.runner

    monkeypatch.setattr(hydro.runner, "BLOCK_BYTES", 13 * 8 * 24 * 29 * 70)  # 70 members per block
    monkeypatch.setattr(hydro.results, "LAZY_BYTES", 0)  # every command reads it lazily, as a large file
    out = tmp_path / "streamed"
    args = ["run", str(project / "runs" / "ensemble.toml"), "--set", "hydrology.members=260", "--set", "time.years=2"]
    assert main([*args, "--out", str(out)]) == 0
    assert main(["report", str(out)]) == 0
    assert main(["leverage", str(out), "--samples", "20"]) == 0
    assert main(["chart", str(out / "results.nc"), "--kind", "storage", "--out", str(tmp_path / "s.png")]) == 0
    assert main(["check", str(out / "results.nc")]) == 0
    ds = open_results(out / "results.nc", lazy=True)
    without = open_counterparts(out / "results.nc")["without_qosh_tepa"]
    assert ds.sizes["member"] == without.sizes["member"] == 260
    assert float(without.withdrawal.sel(node="qosh_tepa").sum()) == 0.0
    assert cf_errors(out / "results.nc") == []


@pytest.fixture(scope="module")
def pristine(project):
    return (project / "out" / "run" / "results.nc").read_bytes()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=8),
       cut=st.one_of(st.none(), st.floats(0.0, 1.0, exclude_max=True)))
def test_a_damaged_results_file_is_refused_or_reads_the_same(pristine, tmp_path, flips, cut):
    """Any bytes flipped anywhere in a results file, or the file cut short: the one reader and the check either
    refuse it with our own error naming the file, or (a flip in padding or in text that nothing reads) give the
    same volumes as the intact file. Never another exception, never different numbers."""
    from hydro.errors import HydroError
    from hydro.integrity import check_results

    data = bytearray(pristine)
    for where, mask in flips:
        data[int(where * len(data))] ^= mask
    if cut is not None:
        data = data[: int(cut * len(data))]
    path = tmp_path / "damaged.nc"
    path.write_bytes(bytes(data))
    intact = tmp_path / "intact.nc"
    intact.write_bytes(pristine)
    try:
        ds = open_results(path)
        check_results(path)
    except HydroError as err:
        assert str(path) in str(err)
        return
    with open_results(intact) as good:
        for name in NAMES:
            np.testing.assert_array_equal(ds[name].values, good[name].values, err_msg=name)


def test_a_streamed_runs_one_member_dry_year_keeps_one_member(tmp_path, monkeypatch):
    """The dry-year counterpart beside a streamed run had shared the run's unlimited member dimension and read back
    with as many members as the run, all but one empty (found in session 4)."""
    from hydro import runner as run_module
    from hydro.results import open_counterparts
    from hydro.scenario import load_scenario
    from tests.conftest import RUNS

    scenario = load_scenario(RUNS / "mean_year.toml", [("hydrology.members", 5), ("time.years", 2)])  # climatology: no dry year
    monkeypatch.setattr(run_module, "BLOCK_BYTES", 13 * 8 * 24 * 30 * 2)
    assert run_module.write_run(scenario, tmp_path / "r.nc") is True
    stored = open_counterparts(tmp_path / "r.nc")
    assert stored["dry_year"].sizes["member"] == 1 and stored["without_qosh_tepa"].sizes["member"] == 5
    assert np.isfinite(stored["dry_year"].shortfall.values).all()
