"""Sweeps: the grid equals the individual runs, an interrupted sweep resumes to the same bytes, a real
dask.distributed cluster gives the same data as the local run, and a changed run file is refused."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import hydro
from hydro.errors import ScenarioError
from hydro.run import run_scenario
from hydro.scenario import load_scenario
from hydro.sweep import parse_vary, points, run_sweep
from tests.conftest import RUNS

SMALL = [("hydrology.members", 4), ("time.years", 2)]
VARIES = [("qosh_tepa.withdrawal_km3", [0, 6, 12]), ("rule", ["upstream_first", "icwc_quota"])]


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((folder / "chunks").glob("*.nc"))}


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "local"
    run_sweep(RUNS / "qosh_tepa_sweep.toml", VARIES, out, SMALL, workers=0, progress=False)
    return out


@pytest.mark.parametrize("text, key, values", [
    ("qosh_tepa.withdrawal_km3=0:12:1", "qosh_tepa.withdrawal_km3", list(range(13))),
    ("qosh_tepa.withdrawal_km3=0,2.5,5", "qosh_tepa.withdrawal_km3", [0, 2.5, 5]),
    ("qosh_tepa.withdrawal_km3=0:1:0.25", "qosh_tepa.withdrawal_km3", [0.0, 0.25, 0.5, 0.75, 1.0]),
    ("rule=upstream_first,icwc_quota", "rule", ["upstream_first", "icwc_quota"]),
    ("reservoirs.rogun.enabled=false,true", "reservoirs.rogun.enabled", [False, True]),
])
def test_vary_specs(text, key, values):
    assert parse_vary(text) == (key, values)


@pytest.mark.parametrize("text, message", [
    ("qosh_tepa.withdrawal_km3", "--vary: found 'qosh_tepa.withdrawal_km3', expected KEY=SPEC"),
    ("qosh_tepa.withdrawal_km3=5:0:1", "expected a range start:stop:step with step > 0 and stop >= start"),
])
def test_bad_vary_specs(text, message):
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_vary(text)


def test_grid_is_the_product_last_key_fastest():
    assert points(VARIES)[:3] == [{"qosh_tepa.withdrawal_km3": 0, "rule": "upstream_first"},
                                  {"qosh_tepa.withdrawal_km3": 0, "rule": "icwc_quota"},
                                  {"qosh_tepa.withdrawal_km3": 6, "rule": "upstream_first"}]


def test_sweep_equals_the_individual_runs(local_sweep):
    ds = hydro.open_sweep(local_sweep)
    assert set(ds.withdrawal.dims) == {"qosh_tepa.withdrawal_km3", "rule", "member", "time", "node"}
    for point in points(VARIES):
        alone = run_scenario(load_scenario(RUNS / "qosh_tepa_sweep.toml", [*SMALL, *point.items()]))
        got = ds.sel(point)
        for var in ("withdrawal", "shortfall", "storage"):
            expected = alone[var].sel(node=got.node.values).values
            np.testing.assert_allclose(got[var].values, expected, rtol=1e-6, atol=1e-3)  # stored as float32


def test_sweep_csv_has_every_point_and_state(local_sweep):
    import pandas as pd

    table = pd.read_csv(local_sweep / "sweep.csv")
    assert len(table) == 6 * 4  # points x states
    uzb = table[(table.state == "UZB") & (table.rule == "upstream_first")].set_index("qosh_tepa.withdrawal_km3")
    assert uzb.shortfall_km3.is_monotonic_increasing


def test_an_interrupted_sweep_resumes_to_the_same_bytes(local_sweep, tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "hydro.cli", "sweep", str(RUNS / "qosh_tepa_sweep.toml"), "--out", str(out), "--workers", "0",
           "--set", "hydrology.members=4", "--set", "time.years=2",
           "--vary", "qosh_tepa.withdrawal_km3=0,6,12", "--vary", "rule=upstream_first,icwc_quota"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list((out / "chunks").glob("*.nc"))) < 2:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list((out / "chunks").glob("*.nc")))
    assert 1 <= done < 6, done  # killed in the middle
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    assert digests(out) == digests(local_sweep)
    assert not list((out / "chunks").glob(".*.tmp"))


def test_a_changed_run_file_is_refused(local_sweep, tmp_path):
    text = (RUNS / "qosh_tepa_sweep.toml").read_text().replace('capacity_m3s = 650', 'capacity_m3s = 600')
    changed = tmp_path / "changed.toml"
    changed.write_text(text.replace('basin = "../basins/amu_darya"', f'basin = "{(RUNS.parent / "basins" / "amu_darya").as_posix()}"'))
    with pytest.raises(ScenarioError, match="made with another run_file_sha256"):
        run_sweep(changed, VARIES, local_sweep, SMALL, workers=0, progress=False)


def test_a_real_dask_cluster_gives_the_same_data(local_sweep, tmp_path):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as cluster:
        out = run_sweep(RUNS / "qosh_tepa_sweep.toml", VARIES, tmp_path / "cluster", SMALL,
                        scheduler=cluster.scheduler_address, progress=False)
    assert digests(out) == digests(local_sweep)
