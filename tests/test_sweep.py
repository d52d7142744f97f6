"""Sweeps: the grid equals the individual runs, an interrupted sweep resumes to the same bytes, a real
dask.distributed cluster gives the same data as the local run, and a changed run file is refused."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import hydro
from hydro.errors import ScenarioError
from hydro.results import _host
from hydro.runner import run_scenario
from hydro.scenario import load_scenario
from hydro.sweeps import parse_vary, points, run_sweep, summarise
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
    ds = hydro.open_sweep(local_sweep, short_names=False)  # the full keys, as the points name them
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
    assert subprocess.run(cmd, check=False, capture_output=True).returncode == 0
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


def test_workers_started_in_another_folder_give_the_same_bytes(local_sweep, tmp_path, monkeypatch):
    """A scheduler and two workers started by the dask command line in an unrelated folder, found through a
    scheduler file; the client names the run file relative to its own folder. Workers return the chunks' data and
    the client writes them, so the chunks are byte for byte those of the in-process sweep."""
    dask = Path(sys.executable).parent / "dask"
    elsewhere = tmp_path / "workers_here"
    elsewhere.mkdir()
    scheduler_file = tmp_path / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": elsewhere}
    procs = [subprocess.Popen([str(dask), "scheduler", "--scheduler-file", str(scheduler_file), "--host", "127.0.0.1",
                               "--port", "0", "--dashboard-address", "127.0.0.1:0"], **quiet)]
    try:
        for _ in range(300):
            if scheduler_file.exists() and scheduler_file.stat().st_size:
                break
            time.sleep(0.1)
        procs.append(subprocess.Popen([str(dask), "worker", "--scheduler-file", str(scheduler_file), "--nworkers", "2",
                                       "--nthreads", "1", "--no-dashboard", "--local-directory", str(elsewhere)], **quiet))
        monkeypatch.chdir(RUNS.parent)
        out = run_sweep(Path("runs") / "qosh_tepa_sweep.toml", VARIES, tmp_path / "remote", SMALL,
                        scheduler=str(scheduler_file), scheduler_timeout=60, progress=False)
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(timeout=30)
    assert digests(out) == digests(local_sweep)
    assert not list(elsewhere.glob("*.nc"))  # nothing written where the workers run


# ------------------------------------------------------------------ chunks that do not belong to their slot

TINY = [("hydrology.members", 2), ("time.years", 1)]


def copy_sweep(folder: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(folder, tmp_path / "copy"))


def resume(out: Path) -> None:
    run_sweep(RUNS / "qosh_tepa_sweep.toml", VARIES, out, SMALL, workers=0, progress=False)


def test_a_chunk_copied_over_another_slot_is_refused_on_resume_and_by_readers(local_sweep, tmp_path):
    out = copy_sweep(local_sweep, tmp_path)
    (out / "chunks" / "P0003.nc").write_bytes((out / "chunks" / "P0000.nc").read_bytes())
    expected = (f"{out / 'chunks' / 'P0003.nc'}: sweep point: found <its point is "
                "{'qosh_tepa.withdrawal_km3': 0, 'rule': 'upstream_first'}>, expected "
                "{'qosh_tepa.withdrawal_km3': 6, 'rule': 'icwc_quota'} for slot P0003: delete it or pass --fresh")
    for call in (lambda: resume(out), lambda: hydro.open_sweep(out), lambda: summarise(out)):
        with pytest.raises(ScenarioError) as err:
            call()
        assert [str(p) for p in err.value.problems] == [expected]


def test_a_chunk_of_another_sweep_is_refused(local_sweep, tmp_path):
    other = run_sweep(RUNS / "qosh_tepa_sweep.toml", [("qosh_tepa.withdrawal_km3", [0])], tmp_path / "other", TINY, workers=0, progress=False)
    out = copy_sweep(local_sweep, tmp_path)
    (out / "chunks" / "P0000.nc").write_bytes((other / "chunks" / "P0000.nc").read_bytes())
    with pytest.raises(ScenarioError) as err:
        resume(out)
    [problem] = err.value.problems
    assert problem.file == str(out / "chunks" / "P0000.nc") and problem.key == "sweep_sha256"
    assert "made by another sweep" in str(problem) and str(problem).endswith("delete it or pass --fresh")


@pytest.mark.parametrize("damage", ["random", "truncated"])
def test_a_damaged_chunk_is_refused_naming_it(local_sweep, tmp_path, damage):
    out = copy_sweep(local_sweep, tmp_path)
    chunk = out / "chunks" / "P0002.nc"
    data = chunk.read_bytes()
    chunk.write_bytes(np.random.default_rng(0).bytes(len(data)) if damage == "random" else data[: len(data) // 2])
    with pytest.raises(ScenarioError, match=re.escape(f"{chunk}: <file>: found <cannot be opened as netCDF")) as err:
        resume(out)
    assert len(err.value.problems) == 1 and "delete it or pass --fresh" in str(err.value)
    run_sweep(RUNS / "qosh_tepa_sweep.toml", VARIES, out, SMALL, workers=0, progress=False, fresh=True)
    assert digests(out) == digests(local_sweep)  # --fresh recovers


@pytest.mark.parametrize("damage", ["truncated", "bit flip"])
def test_a_damaged_manifest_is_a_problem_naming_sweep_json(local_sweep, tmp_path, damage):
    out = copy_sweep(local_sweep, tmp_path)
    data = bytearray((out / "sweep.json").read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data[0] ^= 0x01  # '{' -> 'z'
    (out / "sweep.json").write_bytes(bytes(data))
    for call in (lambda: resume(out), lambda: hydro.open_sweep(out)):
        with pytest.raises(ScenarioError, match=re.escape(f"{out / 'sweep.json'}: <file>: found <unreadable: ")):
            call()


def series_run(tmp_path: Path) -> Path:
    text = (RUNS / "qosh_tepa_sweep.toml").read_text()
    text = text.replace('basin = "../basins/amu_darya"', f'basin = "{(RUNS.parent / "basins" / "amu_darya").as_posix()}"')
    text = text.replace('kind = "stochastic"', 'kind = "series"\nseries = "flows.csv"')
    months = [f"{2026 + (9 + i) // 12}-{(9 + i) % 12 + 1:02d}" for i in range(12)]
    (tmp_path / "flows.csv").write_text("month,kokcha\n" + "".join(f"{m},{100 + i}\n" for i, m in enumerate(months)))
    (tmp_path / "series.toml").write_text(text)
    return tmp_path / "series.toml"


def test_a_series_file_edited_between_resumes_is_refused(tmp_path):
    run_file = series_run(tmp_path)
    varies = [("qosh_tepa.withdrawal_km3", [0, 6])]
    out = run_sweep(run_file, varies, tmp_path / "s", TINY, workers=0, progress=False)
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["series_sha256"] == {"flows.csv": hashlib.sha256((tmp_path / "flows.csv").read_bytes()).hexdigest()}
    (out / "chunks" / "P0001.nc").unlink()
    (tmp_path / "flows.csv").write_text((tmp_path / "flows.csv").read_text().replace(",100\n", ",900\n"))
    with pytest.raises(ScenarioError, match=re.escape(f"{out / 'sweep.json'}: sweep: found <made with another series_sha256>")):
        run_sweep(run_file, varies, out, TINY, workers=0, progress=False)


def test_a_point_runs_from_its_input_bundle_without_the_clients_files(tmp_path):
    """What a worker on another machine does: the run file, the whole basin folder and the series file travel as
    bytes; the client's files are gone when the point runs; the chunk is the same as one run from the files, its
    provenance naming the client's paths."""
    import shutil

    from hydro.sweeps import _series_files, compute_point, input_bundle

    project = tmp_path / "project"
    shutil.copytree(RUNS.parent / "basins", project / "basins")
    run_file = series_run(project)
    text = run_file.read_text().replace(f'basin = "{(RUNS.parent / "basins" / "amu_darya").as_posix()}"', 'basin = "basins/amu_darya"')
    run_file.write_text(text)
    scenario = load_scenario(run_file, TINY)
    point = {"qosh_tepa.withdrawal_km3": 6}
    local = compute_point(str(run_file), TINY, point, "summary", "id")
    bundle = input_bundle(run_file, _series_files(run_file, scenario, [("qosh_tepa.withdrawal_km3", [6])]))
    assert set(bundle["series"]) == {"flows.csv"} and "basin.toml" in bundle["basin_files"]
    project.rename(tmp_path / "gone")  # nothing of the client's is readable any more
    shipped = compute_point(str(run_file), TINY, point, "summary", "id", bundle=bundle)
    assert shipped.attrs == local.attrs
    assert shipped.attrs["series"] == str(project / "flows.csv") and shipped.attrs["basin"] == str(project / "basins" / "amu_darya")
    xr.testing.assert_identical(shipped, local)


def test_a_series_sweep_on_a_cluster_gives_the_same_bytes(tmp_path):
    from dask.distributed import LocalCluster

    run_file = series_run(tmp_path)
    varies = [("qosh_tepa.withdrawal_km3", [0, 6])]
    here = run_sweep(run_file, varies, tmp_path / "here", TINY, workers=0, progress=False)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as cluster:
        there = run_sweep(run_file, varies, tmp_path / "there", TINY, scheduler=cluster.scheduler_address, progress=False)
    assert digests(there) == digests(here)


# ------------------------------------------------------------------ staged files of other processes


def test_only_staged_files_of_dead_processes_are_cleaned(tmp_path):
    from hydro.results import clean_stale

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    chunks = tmp_path / "chunks"
    chunks.mkdir()
    mine = chunks / f".P0001.nc.{_host()}.{os.getpid()}.0a1b2c3d.tmp"
    gone = chunks / f".P0002.nc.{_host()}.{dead.pid}.0a1b2c3d.tmp"
    remote = chunks / f".P0003.nc.otherhost.{dead.pid}.0a1b2c3d.tmp"
    for p in (mine, gone, remote):
        p.write_bytes(b"partial")
    assert clean_stale(chunks) == [gone]
    assert mine.exists() and remote.exists() and not gone.exists()


def test_a_chunk_is_staged_under_a_name_carrying_the_writer_pid(tmp_path, monkeypatch):
    from hydro import sweeps as sweep

    names = []
    monkeypatch.setattr(sweep.xr.Dataset, "to_netcdf", lambda self, tmp, **kw: names.append(Path(tmp).name) or Path(tmp).write_bytes(b"x"))
    monkeypatch.setattr(sweep, "summarise", lambda out: None)
    monkeypatch.setattr(sweep, "_check_chunks", lambda *a: None)
    run_sweep(RUNS / "qosh_tepa_sweep.toml", [("qosh_tepa.withdrawal_km3", [0])], tmp_path / "s", TINY, workers=0, progress=False)
    assert len(names) == 1 and re.fullmatch(rf"\.P0000\.nc\.{re.escape(_host())}\.{os.getpid()}\.[0-9a-f]+\.tmp", names[0]), names


# ------------------------------------------------------------------ options checked up front


@pytest.mark.parametrize("varies, message", [
    ([("qosh_tepa.withdrawal_km3", [1, 2]), ("qosh_tepa.withdrawal_km3", [3])],
     "<command line>: --vary qosh_tepa.withdrawal_km3: found <given twice>, expected each key in one --vary only"),
    ([("qosh_tepa.withdrawal_km3", [0, 2, 2])], "<command line>: --vary qosh_tepa.withdrawal_km3: found <2 given more than once>, expected each value once"),
    ([("qosh_tepa.withdrawal_km3", [])], "<command line>: --vary qosh_tepa.withdrawal_km3: found <no values>, expected a non-empty list of values"),
    ([("qosh_tepa.withdrawal_km3", [0, float("nan")])], "<command line>: --vary qosh_tepa.withdrawal_km3: found nan, expected finite numbers (no nan or inf)"),
    ([], "<command line>: --vary: found <missing>, expected at least one KEY=SPEC"),
    ([("qosh_tepa.withdrawal_km3", list(range(200))), ("hydrology.seed", list(range(51)))],
     "<command line>: --vary: found <10,200 sweep points>, expected at most 10,000 points (chunks) in one sweep"),
])
def test_bad_varies_are_refused_before_anything_runs(tmp_path, varies, message):
    with pytest.raises(ScenarioError) as err:
        run_sweep(RUNS / "qosh_tepa_sweep.toml", varies, tmp_path / "s", TINY, workers=0, progress=False)
    assert len(err.value.problems) == 1 and str(err.value.problems[0]).startswith(message), str(err.value)
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("text, message", [
    ("qosh_tepa.withdrawal_km3=0,2,2", "--vary qosh_tepa.withdrawal_km3: found <2 given more than once>, expected each value once"),
    ("qosh_tepa.withdrawal_km3=0,nan", "--vary qosh_tepa.withdrawal_km3: found nan, expected finite numbers (no nan or inf)"),
    ("qosh_tepa.withdrawal_km3=0,inf", "--vary qosh_tepa.withdrawal_km3: found inf, expected finite numbers (no nan or inf)"),
    ("qosh_tepa.withdrawal_km3=0:1e12:1", "--vary qosh_tepa.withdrawal_km3: found '0:1e12:1', expected a range of at most 10,000 values (this one has 1,000,000,000,001)"),
    ("qosh_tepa.withdrawal_km3=0:inf:1", "--vary qosh_tepa.withdrawal_km3: found '0:inf:1', expected a range start:stop:step with step > 0 and stop >= start, all finite"),
    ("qosh_tepa.withdrawal_km3=nan:1:1", "--vary qosh_tepa.withdrawal_km3: found 'nan:1:1', expected a range start:stop:step with step > 0 and stop >= start, all finite"),
    ("qosh_tepa.withdrawal_km3=", "--vary qosh_tepa.withdrawal_km3: found '', expected a comma-separated list of values"),
])
def test_bad_vary_values_are_one_problem_line(text, message):
    with pytest.raises(ScenarioError) as err:
        parse_vary(text)
    assert len(err.value.problems) == 1 and message in str(err.value.problems[0]), str(err.value)


def test_more_workers_than_cores_are_refused(tmp_path):
    cores = os.cpu_count() or 1
    with pytest.raises(ScenarioError, match=re.escape(f"--workers: found {cores + 1}, expected a number of local worker processes from 0 (no dask) to {cores}")):
        run_sweep(RUNS / "qosh_tepa_sweep.toml", VARIES, tmp_path / "s", SMALL, workers=cores + 1, progress=False)
    assert not (tmp_path / "s").exists()


def test_a_scheduler_without_workers_times_out_with_a_message(tmp_path):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        started = time.monotonic()
        with pytest.raises(ScenarioError) as err:
            run_sweep(RUNS / "qosh_tepa_sweep.toml", [("qosh_tepa.withdrawal_km3", [0])], tmp_path / "s", TINY,
                      scheduler=address, progress=False, scheduler_timeout=1)
    assert time.monotonic() - started < 30
    assert str(err.value.problems[0]) == (f"<command line>: --scheduler: found {address!r}, expected a scheduler with workers: the scheduler at "
                                          f"{address} has no workers after 1 s: start dask workers, or run without --scheduler")


def test_an_unreachable_scheduler_is_one_line(tmp_path):
    with pytest.raises(ScenarioError) as err:
        run_sweep(RUNS / "qosh_tepa_sweep.toml", [("qosh_tepa.withdrawal_km3", [0])], tmp_path / "s", TINY,
                  scheduler="tcp://127.0.0.1:1", progress=False, scheduler_timeout=1)
    [problem] = err.value.problems
    assert str(problem).startswith("<command line>: --scheduler: found 'tcp://127.0.0.1:1', expected the address of a running dask scheduler (could not connect")


def test_a_sweep_can_vary_a_basin_figure(tmp_path):
    """[parameters] keys are run-file keys: a sweep over the Kerki-Tuyamuyun loss moves what reaches Khorezm."""
    from hydro import open_sweep
    from hydro.sweeps import run_sweep

    out = run_sweep(RUNS / "qosh_tepa_sweep.toml", [("parameters.reach.lebap.loss_fraction", [0.1337, 0.3])], tmp_path / "s",
                    overrides=[("hydrology.members", 3), ("time.years", 2)], workers=0, progress=False)
    ds = open_sweep(out)
    short = ds.shortfall.sel(node="khorezm").sum(("time", "member")).values
    assert short[1] > short[0]
