"""Saved results: hydro check, hydro rerun, runs killed while writing, and outputs that cannot be written."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr

from hydro.cli import main
from hydro.errors import MassBalanceError, ScenarioError
from hydro.integrity import check_results, rerun
from hydro.results import open_results, write_results
from tests.conftest import AMU_DARYA, RUNS


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("integrity") / "run"
    assert main(["run", str(RUNS / "mean_year.toml"), "--set", "time.years=3", "--out", str(folder)]) == 0
    return folder / "results.nc"


def test_check_passes_a_fresh_run(results, capsys):
    assert main(["check", str(results)]) == 0
    assert "mass balance closes" in capsys.readouterr().out


def test_check_finds_a_tampered_value(results, tmp_path):
    bad = tmp_path / "results.nc"
    ds = open_results(results)
    flow = ds.flow.values.copy()
    flow[0, 5, list(ds.node.values).index("kerki")] += 10.0  # 10 hm3 appear from nowhere at Kerki
    ds["flow"] = (ds.flow.dims, flow, ds.flow.attrs)
    write_results(ds, bad)
    with pytest.raises(MassBalanceError, match="does not close at node 'kerki', month 5"):
        check_results(bad)


def test_check_refuses_a_file_from_another_version(results, tmp_path, capsys):
    old = tmp_path / "results.nc"
    with xr.open_dataset(results) as ds:
        ds.load().assign_attrs(package_version="0.0.1").to_netcdf(old)
    assert main(["check", str(old)]) == 2
    err = capsys.readouterr().err
    assert "attrs.package_version: found '0.0.1', expected" in err and "Traceback" not in err


def test_rerun_reproduces_the_data_exactly(results, capsys):
    assert main(["rerun", str(results)]) == 0
    assert "reproduces every variable exactly" in capsys.readouterr().out


def test_same_inputs_give_byte_identical_data(tmp_path):
    digests = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert main(["run", str(RUNS / "ensemble.toml"), "--set", "hydrology.members=5", "--set", "time.years=2", "--out", str(out)]) == 0
        digests.append(hashlib.sha256((out / "results.nc").read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_rerun_refuses_when_the_basin_changed(results, tmp_path):
    basin = tmp_path / "amu_darya"
    shutil.copytree(AMU_DARYA, basin)
    moved = tmp_path / "results.nc"
    write_results(open_results(results).assign_attrs(basin=str(basin)), moved)
    text = (basin / "basin.toml").read_text().replace('value = "13.0 km3/yr", source = "KK"', 'value = "14.0 km3/yr", source = "KK"')
    (basin / "basin.toml").write_text(text)
    with pytest.raises(ScenarioError, match="attrs.basin_sha256: .*it changed since, so the run cannot be reproduced"):
        rerun(moved)


def test_an_output_folder_that_cannot_be_made(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code = main(["run", str(RUNS / "mean_year.toml"), "--set", "time.years=1", "--out", str(blocker / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "hydro run: error:" in err and str(blocker) in err and "Traceback" not in err


def test_a_run_killed_while_writing_leaves_old_or_new_files(tmp_path):
    """A finished run's files are in place; the same command is killed at several moments; every file is then
    either the old one or a complete new one, never a half-written file under its final name."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "hydro.cli", "run", str(RUNS / "ensemble.toml"), "--set", "hydrology.members=300",
           "--set", "time.years=10", "--out", str(out)]
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    old = {p.name: p.read_bytes() for p in out.iterdir()}
    rng = np.random.default_rng(0)
    for delay in sorted(rng.uniform(0.3, 3.5, size=3)):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for p in out.iterdir():
            if p.name.startswith("."):
                continue  # a temporary file: removed by the next run
            data = p.read_bytes()
            if data != old.get(p.name):
                if p.suffix == ".nc":
                    with xr.open_dataset(p) as ds:
                        assert ds.sizes["member"] == 300
                else:
                    assert len(data) > 0
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_a_run_larger_than_memory_streams_to_disk_with_the_same_data(tmp_path, monkeypatch):
    """With a block budget small enough to force 4 blocks, the streamed file holds the same numbers as the run
    held in memory, and its summaries agree."""
    import hydro.runner

    args = ["run", str(RUNS / "ensemble.toml"), "--set", "hydrology.members=40", "--set", "time.years=2"]
    assert main([*args, "--out", str(tmp_path / "memory")]) == 0
    nodes, months = 29, 24
    monkeypatch.setattr(hydro.runner, "BLOCK_BYTES", 13 * 8 * months * nodes * 12)  # 12 members per block
    assert main([*args, "--out", str(tmp_path / "streamed")]) == 0
    with xr.open_dataset(tmp_path / "memory" / "results.nc") as a, xr.open_dataset(tmp_path / "streamed" / "results.nc") as b:
        for v in ("withdrawal", "storage", "flow", "shortfall"):
            np.testing.assert_array_equal(a[v].values, b[v].values)
        np.testing.assert_array_equal(a.year_type.values, b.year_type.values)
        np.testing.assert_array_equal(a.member.values, b.member.values)
        assert b.attrs["mass_balance_max_rel"] < 1e-9
    assert (tmp_path / "memory" / "summary.csv").read_text() == (tmp_path / "streamed" / "summary.csv").read_text()
    assert check_results(tmp_path / "streamed" / "results.nc")["balance"]["max_rel"] < 1e-9
