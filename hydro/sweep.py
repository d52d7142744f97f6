"""Sweeps: one run file, many values of some of its keys (the product of every ``--vary``), run as independent
chunks on dask and stored one netCDF file per sweep point.

Layout of a sweep folder::

    DIR/sweep.json        what was swept: run file text and hash, basin hash, package version, varied keys
    DIR/chunks/P0003.nc   one sweep point: dims member, time, node (written under a temporary name, then renamed)
    DIR/sweep.csv         per point and state: mean and dry-year shortfall (km3/yr, %)

A rerun of the same command computes only the chunks that are missing, so an interrupted sweep resumes and ends
with the same bytes as an uninterrupted one; a sweep folder made from another run file, basin or package version
is refused (``fresh=True`` starts it again). :func:`open_sweep` opens the folder lazily as one Dataset with a
dimension per varied key.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

import hydro
from hydro.errors import Problem, ScenarioError
from hydro.metrics import state_summary
from hydro.results import atomic_file

# what a sweep keeps by default: enough for shortfall metrics, charts and the delta
SUMMARY_VARIABLES = ("demand", "withdrawal", "shortfall", "flow", "inflow", "storage", "requirement", "natural_inflow")
SUMMARY_KINDS = ("offtake", "reservoir", "terminal")
SUMMARY_GAUGES = ("kerki",)
MANIFEST = "sweep.json"


def parse_vary(text: str) -> tuple[str, list]:
    """'KEY=0,2,4' or 'KEY=0:12:1' (start:stop:step, stop included) or 'rule=upstream_first,icwc_quota'."""
    if "=" not in text:
        raise ScenarioError([Problem("<command line>", "--vary", text, "KEY=SPEC, e.g. qosh_tepa.withdrawal_km3=0:12:1 or rule=upstream_first,icwc_quota")])
    key, spec = (part.strip() for part in text.split("=", 1))
    if ":" in spec and "," not in spec:
        try:
            start, stop, step = (float(x) for x in spec.split(":"))
            if step <= 0 or stop < start:
                raise ValueError
        except ValueError:
            raise ScenarioError([Problem("<command line>", f"--vary {key}", spec, "a range start:stop:step with step > 0 and stop >= start")]) from None
        n = int(np.floor((stop - start) / step + 1e-9)) + 1
        values = [round(start + i * step, 10) for i in range(n)]
        return key, [int(v) if float(v).is_integer() and all(float(x).is_integer() for x in (start, step)) else v for v in values]
    values = []
    for item in spec.split(","):
        item = item.strip()
        try:
            values.append(tomllib.loads(f"v = {item}")["v"])
        except tomllib.TOMLDecodeError:
            values.append(item)
    if not values or any(v == "" for v in values):
        raise ScenarioError([Problem("<command line>", f"--vary {key}", spec, "a comma-separated list of values")])
    return key, values


def points(varies: list[tuple[str, list]]) -> list[dict]:
    """Every combination of the varied values, the last key varying fastest."""
    keys = [k for k, _ in varies]
    return [dict(zip(keys, combo)) for combo in itertools.product(*[v for _, v in varies])]


def _manifest(run_file: Path, overrides, varies, detail: str) -> dict:
    from hydro.basin import load_basin
    from hydro.scenario import load_scenario

    scenario = load_scenario(run_file, overrides)
    basin = load_basin(scenario.basin_path)
    text = run_file.read_text(encoding="utf-8")
    return {
        "format_version": 1,
        "run_file": str(run_file),
        "run_file_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "run_file_text": text,
        "overrides": [[k, v] for k, v in overrides],
        "basin_sha256": basin.sha256,
        "package_version": hydro.__version__,
        "varies": [[k, list(v)] for k, v in varies],
        "detail": detail,
    }


def _same_sweep(old: dict, new: dict) -> list[str]:
    """Names of the manifest fields that differ (the run file path may move)."""
    keys = ("run_file_sha256", "overrides", "basin_sha256", "package_version", "varies", "detail")
    return [k for k in keys if old.get(k) != new.get(k)]


def _write_atomic(ds: xr.Dataset, path: Path, encoding: dict) -> None:
    with atomic_file(path) as tmp:
        ds.to_netcdf(tmp, engine="netcdf4", encoding=encoding)


def run_point(run_file: str, overrides: list, point: dict, path: str, detail: str = "summary") -> str:
    """Simulate one sweep point and write it to `path` (a dask task: plain arguments, returns the path)."""
    from hydro.run import run_scenario
    from hydro.scenario import load_scenario

    scenario = load_scenario(run_file, [*[tuple(o) for o in overrides], *point.items()])
    if detail == "full":
        ds = run_scenario(scenario)
        encoding = {v: {"zlib": True, "complevel": 1} for v in ds.data_vars}
    else:
        ds = run_scenario(scenario, keep=SUMMARY_VARIABLES)
        wanted = np.isin(ds.kind.values, SUMMARY_KINDS) | np.isin(ds.node.values, SUMMARY_GAUGES)
        ds = ds.isel(node=np.flatnonzero(wanted))
        encoding = {v: {"zlib": True, "complevel": 1, "dtype": "float32"} for v in ds.data_vars if ds[v].dtype.kind == "f" and ds[v].ndim == 3}
        encoding.update({v: {"zlib": True, "complevel": 1} for v in ds.data_vars if v not in encoding})
    ds.attrs["sweep_point_json"] = json.dumps(point, sort_keys=True)
    _write_atomic(ds, Path(path), encoding)
    return path


class Progress:
    """A one-line progress bar on stderr: chunks done, elapsed and estimated time left."""

    def __init__(self, total: int, done: int, stream=None):
        self.total, self.done, self.started = total, done, time.perf_counter()
        self.first = done
        self.stream = stream or sys.stderr

    def step(self) -> None:
        self.done += 1
        elapsed = time.perf_counter() - self.started
        new = self.done - self.first
        left = elapsed / new * (self.total - self.done) if new else float("nan")
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} chunks, "
                          f"{elapsed:5.0f} s elapsed, {left:5.0f} s left ")
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def run_sweep(run_file: str | Path, varies: list[tuple[str, list]], out: str | Path, overrides=None, scheduler: str | None = None,
              workers: int | None = None, detail: str = "summary", fresh: bool = False, progress: bool = True) -> Path:
    """Run (or resume) a sweep into folder `out`; returns the folder. `scheduler` is a dask.distributed address
    (a local cluster of `workers` processes when None; ``workers=0`` runs in this process without dask)."""
    from hydro.scenario import load_scenario

    run_file, out = Path(run_file), Path(out)
    overrides = list(overrides or [])
    if detail not in ("summary", "full"):
        raise ScenarioError([Problem("<command line>", "--detail", detail, "'summary' or 'full'")])
    grid = points(varies)
    for point in grid[:1] + grid[-1:]:  # every key and value is checked when a point loads; fail early on the corners
        load_scenario(run_file, [*overrides, *point.items()])
    manifest = _manifest(run_file, overrides, varies, detail)
    chunks = out / "chunks"
    old_path = out / MANIFEST
    if old_path.exists() and not fresh:
        old = json.loads(old_path.read_text(encoding="utf-8"))
        differ = _same_sweep(old, manifest)
        if differ:
            raise ScenarioError([Problem(str(old_path), "sweep", f"<made with another {', '.join(differ)}>",
                                         "the same run file, overrides, basin, package version and --vary values to resume; "
                                         "pass --fresh to start this folder again, or choose another --out")])
    if fresh and chunks.exists():
        for p in chunks.glob("*.nc"):
            p.unlink()
    chunks.mkdir(parents=True, exist_ok=True)
    for stale in chunks.glob(".*.tmp"):  # left by an interrupted write
        stale.unlink()
    text = json.dumps(manifest, indent=1, sort_keys=True)
    if not old_path.exists() or old_path.read_text(encoding="utf-8") != text:
        with atomic_file(old_path) as tmp:
            tmp.write_text(text, encoding="utf-8")

    paths = [chunks / f"P{i:04d}.nc" for i in range(len(grid))]
    todo = [i for i, p in enumerate(paths) if not p.exists()]
    bar = Progress(len(grid), len(grid) - len(todo)) if progress else None
    args = [(str(run_file), overrides, grid[i], str(paths[i]), detail) for i in todo]
    if todo and workers == 0:
        for a in args:
            run_point(*a)
            if bar:
                bar.step()
    elif todo:
        from dask.distributed import Client, LocalCluster, as_completed

        cluster = None
        if scheduler is None:
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                                   dashboard_address=None, host="127.0.0.1")
            client = Client(cluster)
        else:
            client = Client(scheduler)
        try:
            futures = [client.submit(run_point, *a, pure=False) for a in args]
            for future in as_completed(futures):
                future.result()
                if bar:
                    bar.step()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    summarise(out)
    return out


def open_sweep(folder: str | Path) -> xr.Dataset:
    """The sweep in `folder` as one lazily loaded Dataset with a dimension per varied key."""
    folder = Path(folder)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    varies = [(k, v) for k, v in manifest["varies"]]
    grid = points(varies)
    missing = [i for i in range(len(grid)) if not (folder / "chunks" / f"P{i:04d}.nc").exists()]
    if missing:
        raise ScenarioError([Problem(str(folder), "chunks", f"<{len(missing)} of {len(grid)} missing>", "a complete sweep: rerun the same hydro sweep command to finish it")])
    datasets = [xr.open_dataset(folder / "chunks" / f"P{i:04d}.nc", chunks={}) for i in range(len(grid))]

    def nest(level: int, offset: int):
        if level == len(varies):
            return datasets[offset]
        size = int(np.prod([len(v) for _, v in varies[level + 1:]])) if level + 1 < len(varies) else 1
        return [nest(level + 1, offset + j * size) for j in range(len(varies[level][1]))]

    keys = [k for k, _ in varies]
    combined = xr.combine_nested(nest(0, 0), concat_dim=keys, combine_attrs="drop_conflicts", coords="minimal", compat="override")
    return combined.assign_coords({k: list(v) for k, v in varies})


def summarise(folder: str | Path) -> pd.DataFrame:
    """Write DIR/sweep.csv: per sweep point and state, mean and dry-year shortfall (km3/yr and % of demand)."""
    folder = Path(folder)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    grid = points([(k, v) for k, v in manifest["varies"]])
    rows = []
    for i, point in enumerate(grid):
        with xr.open_dataset(folder / "chunks" / f"P{i:04d}.nc") as ds:
            ds = ds.load()
        mean, dry = state_summary(ds), state_summary(ds, "dry years")
        for state in mean.index:
            rows.append({**point, "state": state,
                         "shortfall_km3": mean.loc[state, "shortfall_km3"], "shortfall_pct": mean.loc[state, "shortfall_pct"],
                         "dry_shortfall_km3": dry.loc[state, "shortfall_km3"] if state in dry.index else np.nan,
                         "dry_shortfall_pct": dry.loc[state, "shortfall_pct"] if state in dry.index else np.nan})
    table = pd.DataFrame(rows)
    with atomic_file(folder / "sweep.csv") as tmp:
        table.round(4).to_csv(tmp, index=False)
    return table
