"""Sweeps: one run file, many values of some of its keys (the product of every ``--vary``), run as independent
chunks on dask and stored one netCDF file per sweep point.

Layout of a sweep folder::

    DIR/sweep.json        what was swept: run file text and hash, basin hash, package version, varied keys
    DIR/chunks/P0003.nc   one sweep point: dims member, time, node (written under a temporary name, then renamed)
    DIR/sweep.csv         per point and state: mean and dry-year shortfall (km3/yr, %)

A rerun of the same command computes only the chunks that are missing, so an interrupted sweep resumes and ends
with the same bytes as an uninterrupted one; a sweep folder made from another run file, basin or package version
is refused (``fresh=True`` starts it again). Every chunk carries the sweep's identity (``sweep_sha256``, a hash of
the manifest's identity fields) and its own point; :func:`check_chunk` refuses a chunk of another sweep or slot on
resume and in every reader. :func:`open_sweep` opens the folder lazily as one Dataset with a dimension per varied key.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

import hydro
from hydro.errors import Problem, ScenarioError
from hydro.metrics import state_summary
from hydro.results import atomic_file, clean_stale, open_results, sha256_file, write_results

# what a sweep keeps by default: enough for shortfall metrics, charts and the delta
MANIFEST = "sweep.json"
FORMAT_VERSION = 2  # 2: chunks carry sweep_sha256; the manifest holds series_sha256
IDENTITY = ("format_version", "run_file_sha256", "overrides", "basin_sha256", "series_sha256", "package_version", "varies", "detail")
MAX_POINTS = 10_000  # per --vary list and for the whole grid (one chunk file each)
SCHEDULER_TIMEOUT_S = 60.0


def parse_vary(text: str) -> tuple[str, list]:
    """'KEY=0,2,4' or 'KEY=0:12:1' (start:stop:step, stop included) or 'rule=upstream_first,icwc_quota'."""
    if "=" not in text:
        raise ScenarioError([Problem("<command line>", "--vary", text, "KEY=SPEC, e.g. qosh_tepa.withdrawal_km3=0:12:1 or rule=upstream_first,icwc_quota")])
    key, spec = (part.strip() for part in text.split("=", 1))
    if ":" in spec and "," not in spec:
        try:
            start, stop, step = (float(x) for x in spec.split(":"))
            if not all(math.isfinite(x) for x in (start, stop, step)) or step <= 0 or stop < start:
                raise ValueError
        except ValueError:
            raise ScenarioError([Problem("<command line>", f"--vary {key}", spec, "a range start:stop:step with step > 0 and stop >= start, all finite")]) from None
        n = int(np.floor((stop - start) / step + 1e-9)) + 1
        if n > MAX_POINTS:
            raise ScenarioError([Problem("<command line>", f"--vary {key}", spec, f"a range of at most {MAX_POINTS:,} values (this one has {n:,}): a larger step")])
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
    check_varies([(key, values)])
    return key, values


def check_varies(varies: list[tuple[str, list]]) -> None:
    """Refuse duplicate keys, empty or duplicated value lists, NaN/inf values and grids of more than MAX_POINTS."""
    problems = []
    if not varies:
        problems.append(Problem("<command line>", "--vary", "<missing>", "at least one KEY=SPEC, e.g. --vary qosh_tepa.withdrawal_km3=0:12:1"))
    seen_keys = set()
    for key, values in varies:
        where = f"--vary {key}"
        if key in seen_keys:
            problems.append(Problem("<command line>", where, "<given twice>", f"each key in one --vary only: put all its values in one list, e.g. --vary {key}=0,2,4"))
            continue
        seen_keys.add(key)
        values = list(values)
        if not values:
            problems.append(Problem("<command line>", where, "<no values>", "a non-empty list of values"))
            continue
        bad = [v for v in values if isinstance(v, float) and not math.isfinite(v)]
        if bad:
            problems.append(Problem("<command line>", where, bad[0], "finite numbers (no nan or inf)"))
            continue
        twice = []
        for i, v in enumerate(values):
            if any(v == w and type(v) is type(w) or _same_number(v, w) for w in values[:i]) and v not in twice:
                twice.append(v)
        if twice:
            problems.append(Problem("<command line>", where, f"<{', '.join(map(repr, twice))} given more than once>", "each value once"))
        elif len(values) > MAX_POINTS:
            problems.append(Problem("<command line>", where, f"<{len(values):,} values>", f"at most {MAX_POINTS:,} values"))
    if not problems:
        total = math.prod(len(v) for _, v in varies)
        if total > MAX_POINTS:
            problems.append(Problem("<command line>", "--vary", f"<{total:,} sweep points>", f"at most {MAX_POINTS:,} points (chunks) in one sweep"))
    if problems:
        raise ScenarioError(problems)


def _same_number(a, b) -> bool:
    num = (int, float)
    return isinstance(a, num) and isinstance(b, num) and not isinstance(a, bool) and not isinstance(b, bool) and a == b


def points(varies: list[tuple[str, list]]) -> list[dict]:
    """Every combination of the varied values, the last key varying fastest."""
    keys = [k for k, _ in varies]
    return [dict(zip(keys, combo)) for combo in itertools.product(*[v for _, v in varies])]


def _series_files(run_file: Path, scenario, varies) -> dict[str, Path]:
    """The inflow series files the sweep reads: hydrology.series as written -> path (resolved as in scenario.py)."""
    given = dict(varies)
    if "series" not in given.get("hydrology.kind", [scenario.hydrology_kind]):
        return {}
    names = given.get("hydrology.series", [scenario.hydrology.get("series")])
    return {str(n): run_file.parent / str(n) for n in names if n}


def _manifest(run_file: Path, overrides, varies, detail: str) -> dict:
    from hydro.basin import load_basin
    from hydro.scenario import load_scenario

    scenario = load_scenario(run_file, overrides)
    basin = load_basin(scenario.basin_path)
    text = run_file.read_text(encoding="utf-8")
    series = {}
    for name, path in _series_files(run_file, scenario, varies).items():
        if not path.is_file():
            raise ScenarioError([Problem(str(run_file), "hydrology.series", name, f"an existing inflow series file ({path} does not exist)")])
        series[name] = sha256_file(path)
    manifest = {
        "format_version": FORMAT_VERSION,
        "run_file": str(run_file),
        "run_file_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "run_file_text": text,
        "overrides": [[k, v] for k, v in overrides],
        "basin_sha256": basin.sha256,
        "series_sha256": series,
        "package_version": hydro.__version__,
        "varies": [[k, list(v)] for k, v in varies],
        "detail": detail,
    }
    manifest = json.loads(json.dumps(manifest))  # as it reads back from sweep.json
    manifest["sweep_sha256"] = sweep_sha256(manifest)
    return manifest


def sweep_sha256(manifest: dict) -> str:
    """The sweep's identity: sha256 of the manifest's identity fields (what decides every chunk's numbers)."""
    return hashlib.sha256(json.dumps({k: manifest.get(k) for k in IDENTITY}, sort_keys=True).encode()).hexdigest()


def _same_sweep(old: dict, new: dict) -> list[str]:
    """Names of the manifest fields that differ (the run file path may move)."""
    return [k for k in IDENTITY if old.get(k) != new.get(k)]


def read_manifest(folder: str | Path) -> dict:
    """DIR/sweep.json, checked to be a readable sweep manifest (a ScenarioError naming the file otherwise)."""
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or not isinstance(manifest.get("varies"), list):
            raise TypeError("no 'varies' list")
        points([(str(k), list(v)) for k, v in manifest["varies"]])
    except FileNotFoundError:
        raise ScenarioError([Problem(str(path), "<file>", "<missing>", "the manifest of a sweep folder written by hydro sweep")]) from None
    except (OSError, UnicodeDecodeError, ValueError, TypeError) as err:  # JSONDecodeError is a ValueError
        raise ScenarioError([Problem(str(path), "<file>", f"<unreadable: {err}>",
                                     "the JSON manifest written by hydro sweep (damaged: rerun with --fresh to start the sweep again)")]) from None
    return manifest


def _slot(index: int) -> str:
    return f"P{index:04d}"


def check_chunk(path: str | Path, manifest: dict, index: int) -> Problem | None:
    """None if the chunk at `path` was written by this sweep (manifest) for slot `index`, else the Problem."""
    path = Path(path)
    fix = "delete it or pass --fresh"
    try:
        import netCDF4

        with netCDF4.Dataset(path) as nc:
            attrs = {a: nc.getncattr(a) for a in ("sweep_sha256", "sweep_point_json") if a in nc.ncattrs()}
    except Exception as err:  # noqa: BLE001 - any failure to open means the chunk is unusable
        why = getattr(err, "strerror", None) or type(err).__name__
        return Problem(str(path), "<file>", f"<cannot be opened as netCDF: {why}>", f"a chunk written by hydro sweep (damaged or truncated: {fix})")
    if attrs.get("sweep_sha256") != sweep_sha256(manifest):
        return Problem(str(path), "sweep_sha256", f"<made by another sweep ({str(attrs.get('sweep_sha256', 'none'))[:12]})>",
                       f"a chunk of the sweep in {MANIFEST} ({sweep_sha256(manifest)[:12]}): {fix}")
    expected = points([(k, v) for k, v in manifest["varies"]])[index]
    try:
        point = json.loads(attrs.get("sweep_point_json", ""))
    except ValueError:
        point = attrs.get("sweep_point_json")
    if point != json.loads(json.dumps(expected, sort_keys=True)):
        return Problem(str(path), "sweep point", f"<its point is {point}>", f"{expected} for slot {_slot(index)}: {fix}")
    return None


def _check_chunks(folder: Path, manifest: dict, indices) -> None:
    problems = [p for i in indices if (p := check_chunk(folder / "chunks" / f"{_slot(i)}.nc", manifest, i))]
    if problems:
        raise ScenarioError(problems)


def _write_atomic(ds: xr.Dataset, path: Path, float32: bool) -> None:
    """Write a chunk as CF netCDF (hydro.results) under a staged name, renamed into place when complete."""
    with atomic_file(path) as tmp:
        write_results(ds, tmp, float32=float32)


def _check_series(scenario, series_sha256: dict) -> None:
    """Refuse a series file whose bytes are not those the sweep's manifest recorded."""
    if scenario.hydrology_kind != "series" or not series_sha256:
        return
    name = str(scenario.hydrology.get("series"))
    if sha256_file(scenario.series_path) != series_sha256.get(name):
        raise ScenarioError([Problem(str(scenario.series_path), "series_sha256", "<changed since the sweep started>",
                                     f"the file the sweep started with (sha256 {str(series_sha256.get(name))[:12]}): restore it, or pass --fresh")])


def input_bundle(run_file: Path, series: dict[str, Path]) -> dict:
    """Everything a worker needs to run a point without the client's disk: the run file's text, every file of its
    basin folder and the series files (bytes), and the client's paths for the results' provenance."""
    from hydro.scenario import load_scenario

    scenario = load_scenario(run_file)
    basin = Path(os.path.abspath(scenario.basin_path))
    return {
        "run_file": str(run_file), "run_text": run_file.read_text(encoding="utf-8"),
        "basin": str(basin), "basin_as_written": scenario.doc["basin"],
        "basin_files": {str(p.relative_to(basin)): p.read_bytes() for p in sorted(basin.rglob("*")) if p.is_file()},
        "series": {name: path.read_bytes() for name, path in series.items()},
    }


def _materialize(bundle: dict, folder: Path) -> tuple[Path, list]:
    """Write a bundle's inputs under `folder`; returns the run file's path there and the override that points the
    run at the copied basin. Series files keep their place relative to the run file."""
    run = folder / "run" / Path(bundle["run_file"]).name
    run.parent.mkdir(parents=True)
    run.write_text(bundle["run_text"], encoding="utf-8")
    for rel, data in bundle["basin_files"].items():
        (folder / "basin" / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / "basin" / rel).write_bytes(data)
    for name, data in bundle["series"].items():
        target = (run.parent / name).resolve()
        if folder.resolve() not in target.parents:
            raise ScenarioError([Problem(bundle["run_file"], "hydrology.series", name, "a series path relative to the run file, inside its folder tree, to ship it to workers")])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return run, [("basin", str(folder / "basin"))]


def compute_point(run_file: str, overrides: list, point: dict, detail: str = "summary", sweep_id: str = "",
                  series_sha256: dict | None = None, bundle: dict | None = None) -> xr.Dataset:
    """Simulate one sweep point and return its chunk, stamped with `sweep_id` and its point (a dask task: plain
    arguments; the client writes the chunk). With a `bundle` (:func:`input_bundle`) the inputs are written to a
    temporary folder and run from there, so a worker needs no access to the client's disk; the chunk's provenance
    names the client's files, as an in-process run would."""
    import shutil
    import tempfile

    if bundle is None:
        return _compute(run_file, overrides, point, detail, sweep_id, series_sha256)
    folder = Path(tempfile.mkdtemp(prefix="hydro-point-"))
    try:
        run, pointer = _materialize(bundle, folder)
        ds = _compute(str(run), [*pointer, *overrides], point, detail, sweep_id, series_sha256)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    doc = json.loads(ds.attrs["run_config_json"])
    doc["basin"] = bundle["basin_as_written"]
    series = ds.attrs.get("series", "")
    client_series = os.path.abspath(Path(bundle["run_file"]).parent / os.path.relpath(series, run.parent)) if series else ""
    ds.attrs.update(run_file=bundle["run_file"], basin=bundle["basin"], series=client_series,
                    run_config_json=json.dumps(doc, sort_keys=True, default=str),
                    overrides_json=json.dumps([(str(k), v) for k, v in [*[tuple(o) for o in overrides], *point.items()]], default=str))
    return ds


def compute_to_file(path: str, float32: bool, *args) -> str:
    """compute_point(*args) written to the chunk file `path` by the worker itself (a local cluster shares the
    client's disk); returns the path."""
    _write_atomic(compute_point(*args), Path(path), float32=float32)
    return path


def _compute(run_file: str, overrides: list, point: dict, detail: str, sweep_id: str, series_sha256: dict | None) -> xr.Dataset:
    from hydro.runner import run_scenario
    from hydro.scenario import load_scenario

    scenario = load_scenario(run_file, [*[tuple(o) for o in overrides], *point.items()])
    _check_series(scenario, series_sha256 or {})
    if detail == "full":
        ds = run_scenario(scenario)
    else:
        ds = run_scenario(scenario, "summary")
        # stored as float32 anyway: cast here, so a worker sends half the bytes and the client holds half
        ds = ds.assign({v: ds[v].astype(np.float32) for v in ds.data_vars if ds[v].dtype == np.float64 and {"time", "node"} <= set(ds[v].dims)})
    ds.attrs.pop("map_json", None)  # display only, 0.3 MB: a sweep point's report draws no map
    ds.attrs["sweep_point_json"] = json.dumps(point, sort_keys=True)
    ds.attrs["sweep_sha256"] = sweep_id
    ds.attrs["sweep_summary_json"] = json.dumps(point_summary(ds))  # what sweep.csv needs, from the stored numbers
    _check_series(scenario, series_sha256 or {})  # and not edited while it was read
    return ds


def _check_workers(scheduler, workers) -> None:
    """A local cluster has 0 (no dask) to os.cpu_count() workers: more processes than cores only share them."""
    cores = os.cpu_count() or 1
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or not 0 <= workers <= cores):
        raise ScenarioError([Problem("<command line>", "--workers", workers,
                                     f"a number of local worker processes from 0 (no dask) to {cores} (this machine's cores)")])


def _connect(scheduler: str, timeout: float):
    """A dask Client on `scheduler` (an address, or a scheduler file: a JSON file a dask scheduler wrote with
    ``--scheduler-file``) with at least one worker, or a ScenarioError saying why not (within `timeout` s)."""
    from dask.distributed import Client

    is_file = Path(scheduler).suffix == ".json" or Path(scheduler).is_file()
    try:
        if is_file:
            if not Path(scheduler).is_file():
                raise OSError(f"no scheduler file {scheduler}")
            client = Client(scheduler_file=str(scheduler), timeout=timeout)
        else:
            client = Client(scheduler, timeout=timeout)
    except (OSError, ValueError, KeyError) as err:  # TimeoutError is an OSError; a damaged scheduler file a ValueError
        what = "a scheduler file written by a running dask scheduler" if is_file else "the address of a running dask scheduler"
        raise ScenarioError([Problem("<command line>", "--scheduler-file" if is_file else "--scheduler", scheduler, f"{what} (could not connect: {err})")]) from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (OSError, TimeoutError):
        client.close()
        raise ScenarioError([Problem("<command line>", "--scheduler", scheduler,
                                     f"a scheduler with workers: the scheduler at {scheduler} has no workers after {timeout:g} s: "
                                     "start dask workers, or run without --scheduler")]) from None
    return client


def run_sweep(run_file: str | Path, varies: list[tuple[str, list]], out: str | Path, overrides=None, scheduler: str | None = None,
              workers: int | None = None, detail: str = "summary", fresh: bool = False, progress: bool = True,
              scheduler_timeout: float = SCHEDULER_TIMEOUT_S) -> Path:
    """Run (or resume) a sweep into folder `out`; returns the folder. `scheduler` is a dask.distributed address
    (a local cluster of `workers` processes when None; ``workers=0`` runs in this process without dask);
    `scheduler_timeout` (s) bounds the wait for it and its first worker."""
    from hydro.scenario import load_scenario

    run_file, out = Path(os.path.abspath(run_file)), Path(out)  # workers may run in another folder
    overrides = list(overrides or [])
    if detail not in ("summary", "full"):
        raise ScenarioError([Problem("<command line>", "--detail", detail, "'summary' or 'full'")])
    _check_workers(scheduler, workers)
    if not (isinstance(scheduler_timeout, (int, float)) and math.isfinite(scheduler_timeout) and scheduler_timeout > 0):
        raise ScenarioError([Problem("<command line>", "scheduler_timeout", scheduler_timeout, "a time in seconds > 0")])
    check_varies(varies)
    grid = points(varies)
    for point in grid[:1] + grid[-1:]:  # every key and value is checked when a point loads; fail early on the corners
        load_scenario(run_file, [*overrides, *point.items()])
    manifest = _manifest(run_file, overrides, varies, detail)
    chunks = out / "chunks"
    old_path = out / MANIFEST
    if old_path.exists() and not fresh:
        old = read_manifest(out)
        differ = _same_sweep(old, manifest)
        if differ:
            raise ScenarioError([Problem(str(old_path), "sweep", f"<made with another {', '.join(differ)}>",
                                         "the same run file, overrides, basin, inflow series, package version and --vary values to resume; "
                                         "pass --fresh to start this folder again, or choose another --out")])
    if fresh and chunks.exists():
        for p in chunks.glob("*.nc"):
            p.unlink()
    chunks.mkdir(parents=True, exist_ok=True)
    clean_stale(chunks)  # left by an interrupted write
    paths = [chunks / f"{_slot(i)}.nc" for i in range(len(grid))]
    _check_chunks(out, manifest, [i for i, p in enumerate(paths) if p.exists()])  # never merge a foreign chunk
    text = json.dumps(manifest, indent=1, sort_keys=True)
    if not old_path.exists() or old_path.read_bytes() != text.encode():
        with atomic_file(old_path) as tmp:
            tmp.write_text(text, encoding="utf-8")

    todo = [i for i, p in enumerate(paths) if not p.exists()]
    from hydro.progress import bar as progress_bar

    bar = progress_bar(len(grid), "sweep", "chunk", done=len(grid) - len(todo)) if progress else None
    args = {i: (str(run_file), overrides, grid[i], detail, manifest["sweep_sha256"], manifest["series_sha256"]) for i in todo}
    if todo and workers == 0:
        for i, a in args.items():
            _write_atomic(compute_point(*a), paths[i], float32=detail != "full")
            if bar:
                bar.update(1)
    elif todo:
        from dask.distributed import Client, LocalCluster, as_completed

        cluster = None
        if scheduler is None:
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                                   dashboard_address=None, host="127.0.0.1")
            client = Client(cluster)
        else:
            client = _connect(scheduler, scheduler_timeout)
        try:
            if cluster is not None:  # our own processes on this disk: each writes its chunks (compression on every core)
                futures = {client.submit(compute_to_file, str(paths[i]), detail != "full", *a, pure=False): i for i, a in args.items()}
            else:  # the inputs travel with the tasks: workers need no view of the client's disk
                bundle = client.scatter(input_bundle(run_file, _series_files(run_file, load_scenario(run_file, overrides), varies)), broadcast=True)
                futures = {client.submit(compute_point, *a, bundle=bundle, pure=False): i for i, a in args.items()}
            for future in as_completed(futures):
                result = future.result()
                if cluster is None:
                    _write_atomic(result, paths[futures[future]], float32=detail != "full")
                future.release()
                if bar:
                    bar.update(1)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    if bar:
        bar.close()
    summarise(out)
    return out


def _checked_chunks(folder: Path) -> tuple[dict, list, list[Path]]:
    """The manifest, the grid and the chunk paths of a complete sweep whose every chunk belongs to its slot."""
    manifest = read_manifest(folder)
    grid = points(manifest["varies"])
    paths = [folder / "chunks" / f"{_slot(i)}.nc" for i in range(len(grid))]
    missing = [i for i, p in enumerate(paths) if not p.exists()]
    if missing:
        raise ScenarioError([Problem(str(folder), "chunks", f"<{len(missing)} of {len(grid)} missing>", "a complete sweep: rerun the same hydro sweep command to finish it")])
    _check_chunks(folder, manifest, range(len(grid)))
    return manifest, grid, paths


def open_sweep(folder: str | Path) -> xr.Dataset:
    """The sweep in `folder` as one lazily loaded Dataset with a dimension per varied key (every chunk checked)."""
    folder = Path(folder)
    manifest, _, paths = _checked_chunks(folder)
    varies = manifest["varies"]
    datasets = [open_results(p, lazy=True) for p in paths]

    def nest(level: int, offset: int):
        if level == len(varies):
            return datasets[offset]
        size = int(np.prod([len(v) for _, v in varies[level + 1:]])) if level + 1 < len(varies) else 1
        return [nest(level + 1, offset + j * size) for j in range(len(varies[level][1]))]

    keys = [k for k, _ in varies]
    combined = xr.combine_nested(nest(0, 0), concat_dim=keys, combine_attrs="drop_conflicts", coords="minimal", compat="override")
    combined.attrs["sweep_folder"] = str(folder)
    return combined.assign_coords({k: list(v) for k, v in varies})


def point_summary(ds: xr.Dataset) -> list[dict]:
    """Per state of one sweep point: mean and dry-year shortfall (km3/yr and % of demand), each with its 5-95 % band
    over the members and the share of the band's variance from parameter sets, the energy of its plants, and the
    growing-season (April-September) shortfall in km3 per season, all years and dry years: the rows of sweep.csv."""
    from hydro.energy import ENERGY_COLUMNS, monthly, with_energy

    months = monthly(ds)
    tables = {"": with_energy(state_summary(ds), ds, months=months), "dry_": with_energy(state_summary(ds, "dry years"), ds, "dry years", months)}
    columns = ("shortfall_km3", "shortfall_pct", "shortfall_km3_p05", "shortfall_km3_p95", "shortfall_pct_p05", "shortfall_pct_p95",
               "shortfall_from_parameters_pct", *ENERGY_COLUMNS)
    seasons = {"growing_": state_summary(ds, "growing season"), "dry_growing_": state_summary(ds, "dry growing season")}
    in_season = ("shortfall_km3", "shortfall_km3_p05", "shortfall_km3_p95")

    def value(t, state, c):
        return float(t.loc[state, c]) if state in t.index and c in t.columns else np.nan

    return [{"state": state, **{f"{prefix}{c}": value(t, state, c) for prefix, t in tables.items() for c in columns},
             **{f"{prefix}{c}": value(t, state, c) for prefix, t in seasons.items() for c in in_season}}
            for state in tables[""].index]


def _saved_summary(path: Path) -> list[dict]:
    """A chunk's point_summary, as stored with it when it was made (read from its data if it has none)."""
    import netCDF4

    try:
        with netCDF4.Dataset(path) as nc:
            text = nc.getncattr("sweep_summary_json") if "sweep_summary_json" in nc.ncattrs() else None
        if text is not None:
            return json.loads(text)
    except (OSError, ValueError):
        pass
    return point_summary(open_results(path))  # refuses a damaged chunk, naming it


def summarise(folder: str | Path) -> pd.DataFrame:
    """Write DIR/sweep.csv: per sweep point and state, mean and dry-year shortfall (km3/yr and % of demand), from
    the summary each chunk carries (computed from its stored float32 numbers when it was made)."""
    folder = Path(folder)
    _, grid, paths = _checked_chunks(folder)
    rows = [{**point, **row} for point, path in zip(grid, paths) for row in _saved_summary(path)]
    table = pd.DataFrame(rows)
    with atomic_file(folder / "sweep.csv") as tmp:
        table.round(4).to_csv(tmp, index=False)
    return table
